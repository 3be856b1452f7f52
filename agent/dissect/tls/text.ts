/**
 * Wire bytes → display text. Printable ASCII (0x20–0x7e, except `\`) is kept; every other byte is
 * written as `\xNN`, so a hostile name can neither inject control characters into logs nor
 * collide with a clean one.
 */
export function printable(bytes: Uint8Array, start = 0, end = bytes.length): string {
  // Usually every byte is plain: then one native latin1 decode instead of a string per byte.
  let i = start;
  while (i < end && bytes[i]! >= 0x20 && bytes[i]! < 0x7f && bytes[i] !== 0x5c) i++;
  if (i === end) return latin1Slice.call(bytes, start, end);
  let s = '';
  for (let i = start; i < end; i++) {
    const b = bytes[i]!;
    s += b >= 0x20 && b < 0x7f && b !== 0x5c ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`;
  }
  return s;
}

const HEX = '0123456789abcdef';

const latin1Slice = (Buffer.prototype as unknown as { latin1Slice(this: Uint8Array, start: number, end: number): string }).latin1Slice;

/** Lower-case hex of bytes. */
export function hex(bytes: Uint8Array, sep = ''): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) {
    if (i > 0 && sep) s += sep;
    const b = bytes[i]!;
    s += HEX[b >> 4]! + HEX[b & 15]!;
  }
  return s;
}

/** A 16-bit value as 4 lower-case hex digits (the JA4 list format). */
export function hex4(v: number): string {
  return HEX[(v >> 12) & 15]! + HEX[(v >> 8) & 15]! + HEX[(v >> 4) & 15]! + HEX[v & 15]!;
}
