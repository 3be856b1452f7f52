import type { RawPacket } from '../raw-packet.js';
import { bump, MAX_FRAME_BYTES, type CaptureReader } from './capture-reader.js';
import type { ChunkedFile } from './chunked-file.js';

/**
 * Classic libpcap files: microsecond and nanosecond magics, both byte orders, and the
 * "modified" (Kuznetzov) variant whose record headers carry 8 extra bytes.
 */
export const PCAP_MAGICS: ReadonlyMap<number, { nano: boolean; extra: number }> = new Map([
  [0xa1b2c3d4, { nano: false, extra: 0 }],
  [0xa1b23c4d, { nano: true, extra: 0 }],
  [0xa1b2cd34, { nano: false, extra: 8 }],
]);

function swap32(v: number): number {
  return (((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24)) >>> 0;
}

export class PcapReader implements CaptureReader {
  readonly format: string;
  readonly errors = new Map<string, number>();
  readonly skipped = new Map<string, number>();
  private readonly little: boolean;
  private readonly nano: boolean;
  private readonly recordHeader: number;
  private readonly linkType: number;
  private done = false;

  /** `magicBE` is the first 4 bytes read big-endian; the caller has checked it is a pcap magic (either order). */
  constructor(
    private readonly file: ChunkedFile,
    magicBE: number,
  ) {
    const direct = PCAP_MAGICS.get(magicBE);
    const kind = direct ?? PCAP_MAGICS.get(swap32(magicBE))!;
    // Written by a big-endian host when the magic reads correctly as big-endian.
    this.little = direct === undefined;
    this.nano = kind.nano;
    this.recordHeader = 16 + kind.extra;
    const b = file.buf;
    const p = file.pos;
    this.linkType = (this.little ? b.readUInt32LE(p + 20) : b.readUInt32BE(p + 20)) & 0xffff;
    file.pos += 24;
    this.format = `pcap (${this.nano ? 'ns' : 'µs'}, ${this.little ? 'little' : 'big'}-endian${kind.extra ? ', modified' : ''})`;
  }

  get offset(): number {
    return this.file.offset;
  }

  next(p: RawPacket): boolean {
    if (this.done) return false;
    const f = this.file;
    const rh = this.recordHeader;
    if (!f.ensure(rh)) {
      if (f.available > 0) bump(this.errors, 'pcap.truncated_record_header');
      this.done = true;
      return false;
    }
    const b = f.buf;
    const o = f.pos;
    let sec: number, frac: number, incl: number, orig: number;
    if (this.little) {
      sec = b.readUInt32LE(o);
      frac = b.readUInt32LE(o + 4);
      incl = b.readUInt32LE(o + 8);
      orig = b.readUInt32LE(o + 12);
    } else {
      sec = b.readUInt32BE(o);
      frac = b.readUInt32BE(o + 4);
      incl = b.readUInt32BE(o + 8);
      orig = b.readUInt32BE(o + 12);
    }
    if (incl > MAX_FRAME_BYTES) {
      // A length no capture could have: the file is corrupt from here on and there is no way to
      // resynchronise a classic pcap, so stop reading this file (as tcpdump does).
      bump(this.errors, 'pcap.record_too_large');
      this.done = true;
      return false;
    }
    if (!f.ensure(rh + incl)) {
      bump(this.errors, 'pcap.truncated_record');
      this.done = true;
      return false;
    }
    // ensure() may have moved the unread bytes to the front of the buffer.
    const at = f.pos;
    p.buf = b;
    p.off = at + rh;
    p.capLen = incl;
    p.wireLen = orig < incl ? incl : orig;
    p.tsUs = sec * 1e6 + (this.nano ? frac / 1000 : frac);
    p.linkType = this.linkType;
    p.ifIndex = 0;
    f.pos = at + rh + incl;
    return true;
  }

  close(): void {
    this.file.close();
  }
}
