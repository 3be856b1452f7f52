/**
 * On-disk framing of queue records in segment files. Each record:
 *
 *   offset  size  field
 *   0       4     magic "PQQ1" (resynchronisation point after damage)
 *   4       4     body length (u32 LE)
 *   8       4     CRC-32 of the body (u32 LE, zlib.crc32)
 *   12      8     sequence number (u32 LE low, u32 LE high)
 *   20      1     severity rank 1..4
 *   21      1     id length (≤ 255)
 *   22      2     reserved, 0
 *   24      n     id (UTF-8), then the payload (encoded alert) to the end of the body
 *
 * Segment files are our own but may be damaged by a crash (torn tail) or by the disk: scanning
 * checks every length against what is left and against a cap, verifies the checksum, and on a
 * mismatch searches forward for the next magic instead of giving up on the rest of the file.
 */
import { crc32 } from 'node:zlib';
import { MAX_ID_BYTES, MAX_PAYLOAD_BYTES, RECORD_OVERHEAD, type SeverityRank } from './alert-queue.js';

export const HEADER_BYTES = 12;
const BODY_FIXED = RECORD_OVERHEAD - HEADER_BYTES;
const MAGIC = Buffer.from('PQQ1', 'latin1');
const MAGIC_U32 = MAGIC.readUInt32LE(0);
/** Largest body a valid record can have; larger lengths are damage. */
export const MAX_BODY_BYTES = BODY_FIXED + MAX_ID_BYTES + MAX_PAYLOAD_BYTES;

/** Writes one record at `off` in `buf` (which must have room); returns its size. */
export function writeRecord(buf: Buffer, off: number, seq: number, severity: SeverityRank, id: Uint8Array, payload: Uint8Array): number {
  const bodyLen = BODY_FIXED + id.length + payload.length;
  const body = off + HEADER_BYTES;
  MAGIC.copy(buf, off);
  buf.writeUInt32LE(bodyLen, off + 4);
  buf.writeUInt32LE(seq % 0x1_0000_0000, body);
  buf.writeUInt32LE(Math.floor(seq / 0x1_0000_0000), body + 4);
  buf[body + 8] = severity;
  buf[body + 9] = id.length;
  buf[body + 10] = 0;
  buf[body + 11] = 0;
  buf.set(id, body + BODY_FIXED);
  buf.set(payload, body + BODY_FIXED + id.length);
  buf.writeUInt32LE(crc32(buf.subarray(body, body + bodyLen)), off + 8);
  return HEADER_BYTES + bodyLen;
}

/** A valid record found by scanning. */
export interface ScannedRecord {
  seq: number;
  severity: SeverityRank;
  id: string;
  /** Offset of the record in the segment and its total size. */
  off: number;
  size: number;
  /** Payload position relative to `off`, and length. */
  payloadOff: number;
  payloadLen: number;
}

export interface ScanResult {
  records: ScannedRecord[];
  /** Damaged regions followed by a valid record. */
  corrupt: number;
  /** Start of a damaged region that runs to the end of the data, or -1. */
  badTail: number;
}

/** Size of the valid record at `off`, or -1 when the bytes there are not one. */
export function recordAt(buf: Uint8Array, off: number): number {
  if (off < 0 || off + RECORD_OVERHEAD > buf.length) return -1;
  const dv = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  if (dv.readUInt32LE(off) !== MAGIC_U32) return -1;
  const bodyLen = dv.readUInt32LE(off + 4);
  if (bodyLen < BODY_FIXED || bodyLen > MAX_BODY_BYTES || off + HEADER_BYTES + bodyLen > buf.length) return -1;
  const body = off + HEADER_BYTES;
  const severity = dv[body + 8]!;
  const idLen = dv[body + 9]!;
  if (severity < 1 || severity > 4 || BODY_FIXED + idLen > bodyLen) return -1;
  if (crc32(dv.subarray(body, body + bodyLen)) !== dv.readUInt32LE(off + 8)) return -1;
  return HEADER_BYTES + bodyLen;
}

/** Parses a record already validated by recordAt. */
function parseRecord(buf: Buffer, off: number, size: number): ScannedRecord {
  const body = off + HEADER_BYTES;
  const idLen = buf[body + 9]!;
  return {
    seq: buf.readUInt32LE(body) + buf.readUInt32LE(body + 4) * 0x1_0000_0000,
    severity: buf[body + 8] as SeverityRank,
    id: buf.toString('utf8', body + BODY_FIXED, body + BODY_FIXED + idLen),
    off,
    size,
    payloadOff: RECORD_OVERHEAD + idLen,
    payloadLen: size - RECORD_OVERHEAD - idLen,
  };
}

/** Every valid record in a segment's bytes, skipping damaged regions (bounded by the buffer length). */
export function scanSegment(buf: Buffer): ScanResult {
  const records: ScannedRecord[] = [];
  let corrupt = 0;
  let badStart = -1;
  let pos = 0;
  while (pos < buf.length) {
    const size = recordAt(buf, pos);
    if (size > 0) {
      if (badStart >= 0) {
        corrupt++;
        badStart = -1;
      }
      records.push(parseRecord(buf, pos, size));
      pos += size;
      continue;
    }
    if (badStart < 0) badStart = pos;
    // Resynchronise on the next magic; indexOf is bounded by the buffer.
    const next = buf.indexOf(MAGIC, pos + 1);
    if (next < 0) break;
    pos = next;
  }
  return { records, corrupt, badTail: badStart };
}
