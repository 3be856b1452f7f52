import { ChunkedFile } from './chunked-file.js';
import { PcapReader, PCAP_MAGICS } from './pcap-reader.js';
import { PcapngReader } from './pcapng-reader.js';
import type { CaptureReader } from './capture-reader.js';

/** Why a capture file cannot be read at all (one line for a person). */
export class CaptureOpenError extends Error {}

function swap32(v: number): number {
  return (((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24)) >>> 0;
}

/** Opens a capture file and picks the reader by its magic number. */
export function openCapture(path: string, chunkBytes?: number): CaptureReader {
  let file: ChunkedFile;
  try {
    file = new ChunkedFile(path, chunkBytes);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : String(code ?? err);
    throw new CaptureOpenError(`${path}: cannot open (${why})`);
  }
  if (!file.ensure(4)) {
    file.close();
    throw new CaptureOpenError(`${path}: empty or too short to be a capture file`);
  }
  const magic = file.buf.readUInt32BE(file.pos);
  if (magic === 0x0a0d0d0a) return new PcapngReader(file);
  if (PCAP_MAGICS.has(magic) || PCAP_MAGICS.has(swap32(magic))) {
    if (!file.ensure(24)) {
      file.close();
      throw new CaptureOpenError(`${path}: truncated pcap file header`);
    }
    return new PcapReader(file, magic);
  }
  file.close();
  const hint = magic === 0x1f8b0800 || magic >>> 16 === 0x1f8b ? ' (gzip-compressed: gunzip it first)' : '';
  throw new CaptureOpenError(`${path}: not a pcap or pcapng file (magic 0x${magic.toString(16).padStart(8, '0')})${hint}`);
}
