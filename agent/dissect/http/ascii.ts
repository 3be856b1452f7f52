/**
 * Byte-level helpers for text protocols (HTTP/1.x heads, WebSocket handshakes). They work on
 * `[start, end)` ranges of a buffer so that uninteresting header lines are skipped without
 * creating strings; only values worth keeping are decoded, and always with a length cap.
 */

const utf8 = new TextDecoder('utf-8', { fatal: false });

/** ASCII bytes of a lower-case literal, for case-insensitive comparisons. */
export function lit(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i) & 0xff;
  return out;
}

/** True when `buf[start, end)` equals the lower-case literal `l`, ignoring ASCII case. */
export function equalsCi(buf: Uint8Array, start: number, end: number, l: Uint8Array): boolean {
  if (end - start !== l.length) return false;
  for (let i = 0; i < l.length; i++) {
    let c = buf[start + i]!;
    if (c >= 0x41 && c <= 0x5a) c |= 0x20;
    if (c !== l[i]) return false;
  }
  return true;
}

/** True when `buf[start, …)` begins with the literal `l` (exact case). */
export function startsWith(buf: Uint8Array, start: number, end: number, l: Uint8Array): boolean {
  if (end - start < l.length) return false;
  for (let i = 0; i < l.length; i++) if (buf[start + i] !== l[i]) return false;
  return true;
}

/**
 * Index of the first byte `b` in `[start, end)`, or -1. A plain loop: `Uint8Array.indexOf` would
 * scan past `end` to the end of the underlying buffer, which may be a large capture read buffer.
 */
export function indexOfByte(buf: Uint8Array, b: number, start: number, end: number): number {
  for (let i = start; i < end; i++) if (buf[i] === b) return i;
  return -1;
}

/** Index of the last byte `b` in `[start, end)`, or -1. */
export function lastIndexOfByte(buf: Uint8Array, b: number, start: number, end: number): number {
  for (let i = end - 1; i >= start; i--) if (buf[i] === b) return i;
  return -1;
}

/** Index of the first occurrence of `needle` in `buf[start, end)` (exact bytes), or -1. */
export function indexOfBytes(buf: Uint8Array, start: number, end: number, needle: Uint8Array): number {
  const first = needle[0];
  const last = end - needle.length;
  for (let i = start; i <= last; i++) {
    if (buf[i] !== first) continue;
    let j = 1;
    while (j < needle.length && buf[i + j] === needle[j]) j++;
    if (j === needle.length) return i;
  }
  return -1;
}

/** True when `needle` occurs in `buf[start, end)` (exact bytes). */
export function containsBytes(buf: Uint8Array, start: number, end: number, needle: Uint8Array): boolean {
  return indexOfBytes(buf, start, end, needle) >= 0;
}

function isOws(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

/** First index in `[start, end)` that is not optional white space (SP / HTAB). */
export function skipOws(buf: Uint8Array, start: number, end: number): number {
  while (start < end && isOws(buf[start]!)) start++;
  return start;
}

/** End of `[start, end)` with trailing optional white space removed. */
export function trimOwsEnd(buf: Uint8Array, start: number, end: number): number {
  while (end > start && isOws(buf[end - 1]!)) end--;
  return end;
}

const latin1Slice = (Buffer.prototype as unknown as { latin1Slice(this: Uint8Array, start: number, end: number): string }).latin1Slice;

/** Slots of the string intern table (a power of two) and the longest value interned. */
const INTERN_SLOTS = 1024;
const INTERN_MAX = 256;
const interned: Array<string | undefined> = new Array<string | undefined>(INTERN_SLOTS).fill(undefined);

/**
 * Decodes `[start, end)` as UTF-8 (invalid sequences replaced), keeping at most `maxBytes` bytes.
 *
 * Header values repeat across flows (methods, versions, hosts, user agents, content types,
 * server names): short ASCII values come from a direct-mapped intern table, so flows share one
 * string instead of each holding a copy, and a hit allocates nothing. A slot holds the last
 * value that hashed there; a hit is confirmed character by character.
 */
export function text(buf: Uint8Array, start: number, end: number, maxBytes: number): string {
  if (end - start > maxBytes) end = start + maxBytes;
  if (end <= start) return '';
  const len = end - start;
  let h = 0x811c9dc5;
  let high = 0;
  for (let i = start; i < end; i++) {
    const c = buf[i]!;
    high |= c;
    h = Math.imul(h ^ c, 0x01000193);
  }
  // Non-ASCII: UTF-8 proper. ASCII: latin1 gives the same string, several times faster.
  if (high >= 0x80) return utf8.decode(new Uint8Array(buf.buffer, buf.byteOffset + start, len));
  if (len > INTERN_MAX) return latin1Slice.call(buf, start, end);
  const slot = (h >>> 0) & (INTERN_SLOTS - 1);
  const known = interned[slot];
  if (known !== undefined && known.length === len) {
    let i = 0;
    while (i < len && known.charCodeAt(i) === buf[start + i]) i++;
    if (i === len) return known;
  }
  const s = latin1Slice.call(buf, start, end);
  interned[slot] = s;
  return s;
}

/** True when the lower-case literal `needle` occurs in `buf[start, end)`, ignoring ASCII case. */
export function containsCi(buf: Uint8Array, start: number, end: number, needle: Uint8Array): boolean {
  const last = end - needle.length;
  for (let i = start; i <= last; i++) {
    let j = 0;
    for (; j < needle.length; j++) {
      let c = buf[i + j]!;
      if (c >= 0x41 && c <= 0x5a) c |= 0x20;
      if (c !== needle[j]) break;
    }
    if (j === needle.length) return true;
  }
  return false;
}

/** RFC 9110 `tchar` (token characters), used for methods and header names. */
export function isTchar(c: number): boolean {
  if ((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a)) return true;
  switch (c) {
    case 0x21: // !
    case 0x23: // #
    case 0x24: // $
    case 0x25: // %
    case 0x26: // &
    case 0x27: // '
    case 0x2a: // *
    case 0x2b: // +
    case 0x2d: // -
    case 0x2e: // .
    case 0x5e: // ^
    case 0x5f: // _
    case 0x60: // `
    case 0x7c: // |
    case 0x7e: // ~
      return true;
    default:
      return false;
  }
}

/**
 * A decimal number of at most `maxDigits` digits in `[start, end)` (nothing else allowed), or -1.
 * 15 digits keep every accepted value exact in a float64.
 */
export function parseDecimal(buf: Uint8Array, start: number, end: number, maxDigits = 15): number {
  const n = end - start;
  if (n <= 0 || n > maxDigits) return -1;
  let v = 0;
  for (let i = start; i < end; i++) {
    const d = buf[i]! - 0x30;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
  }
  return v;
}

/** A hexadecimal number of at most `maxDigits` digits in `[start, end)`, or -1 (13 digits < 2^53). */
export function parseHex(buf: Uint8Array, start: number, end: number, maxDigits = 13): number {
  const n = end - start;
  if (n <= 0 || n > maxDigits) return -1;
  let v = 0;
  for (let i = start; i < end; i++) {
    const c = buf[i]!;
    let d: number;
    if (c >= 0x30 && c <= 0x39) d = c - 0x30;
    else if (c >= 0x61 && c <= 0x66) d = c - 0x57;
    else if (c >= 0x41 && c <= 0x46) d = c - 0x37;
    else return -1;
    v = v * 16 + d;
  }
  return v;
}

/** True when a comma-separated header value (e.g. `Connection: keep-alive, Upgrade`) lists `token` (any case). */
export function hasToken(value: string | undefined, token: string): boolean {
  if (!value) return false;
  const want = token.toLowerCase();
  let start = 0;
  // Bounded by the value length (values are capped when kept).
  while (start <= value.length) {
    let end = value.indexOf(',', start);
    if (end < 0) end = value.length;
    const item = value.slice(start, end).trim().toLowerCase();
    // `websocket` also matches `WebSocket/13`-style product tokens with a version.
    if (item === want || item.startsWith(`${want}/`)) return true;
    start = end + 1;
  }
  return false;
}
