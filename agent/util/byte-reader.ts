/**
 * A bounds-checked cursor over bytes from the wire.
 *
 * Every read checks the remaining length first and, instead of throwing, latches `failed` and
 * returns 0 / an empty view. A parser can run a sequence of reads and test `failed` once at the
 * end, which keeps parsers short without ever reading past the end of a buffer. Nothing here
 * allocates except `bytes()` returning a subarray view (no copy).
 */
export class ByteReader {
  private pos: number;
  private readonly end: number;
  /** Set by the first read that did not fit; stays set. */
  failed = false;

  constructor(
    readonly buf: Uint8Array,
    start = 0,
    end = buf.length,
  ) {
    this.pos = Math.max(0, start);
    this.end = Math.min(buf.length, Math.max(this.pos, end));
  }

  get offset(): number {
    return this.pos;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  /** True when `n` more bytes are available. */
  has(n: number): boolean {
    return n >= 0 && this.pos + n <= this.end;
  }

  private need(n: number): boolean {
    if (this.failed || n < 0 || this.pos + n > this.end) {
      this.failed = true;
      return false;
    }
    return true;
  }

  u8(): number {
    if (!this.need(1)) return 0;
    return this.buf[this.pos++]!;
  }

  u16(): number {
    if (!this.need(2)) return 0;
    const b = this.buf;
    const p = this.pos;
    this.pos = p + 2;
    return (b[p]! << 8) | b[p + 1]!;
  }

  u24(): number {
    if (!this.need(3)) return 0;
    const b = this.buf;
    const p = this.pos;
    this.pos = p + 3;
    return (b[p]! << 16) | (b[p + 1]! << 8) | b[p + 2]!;
  }

  u32(): number {
    if (!this.need(4)) return 0;
    const b = this.buf;
    const p = this.pos;
    this.pos = p + 4;
    return ((b[p]! << 24) >>> 0) + ((b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!);
  }

  u16le(): number {
    if (!this.need(2)) return 0;
    const b = this.buf;
    const p = this.pos;
    this.pos = p + 2;
    return b[p]! | (b[p + 1]! << 8);
  }

  u32le(): number {
    if (!this.need(4)) return 0;
    const b = this.buf;
    const p = this.pos;
    this.pos = p + 4;
    return (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16)) + ((b[p + 3]! << 24) >>> 0);
  }

  /** 64-bit big-endian as a float64 (exact below 2^53, which covers lengths and counters). */
  u64(): number {
    const hi = this.u32();
    const lo = this.u32();
    return hi * 0x1_0000_0000 + lo;
  }

  /** QUIC variable-length integer (RFC 9000 §16); exact below 2^53. */
  varint(): number {
    if (!this.need(1)) return 0;
    const first = this.buf[this.pos]!;
    const len = 1 << (first >> 6);
    if (!this.need(len)) return 0;
    let v = first & 0x3f;
    for (let i = 1; i < len; i++) v = v * 256 + this.buf[this.pos + i]!;
    this.pos += len;
    return v;
  }

  /** A view (no copy) of the next `n` bytes; empty when they are not all there. */
  bytes(n: number): Uint8Array {
    if (!this.need(n)) return this.buf.subarray(0, 0);
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  skip(n: number): boolean {
    if (!this.need(n)) return false;
    this.pos += n;
    return true;
  }

  /** Peek a byte at `pos + ahead` without moving; -1 when out of range. */
  peek(ahead = 0): number {
    const p = this.pos + ahead;
    return p >= 0 && p < this.end ? this.buf[p]! : -1;
  }

  /** A reader over the next `n` bytes (for length-prefixed structures); advances past them. */
  sub(n: number): ByteReader {
    if (!this.need(n)) return new ByteReader(this.buf, this.end, this.end).fail();
    const r = new ByteReader(this.buf, this.pos, this.pos + n);
    this.pos += n;
    return r;
  }

  private fail(): this {
    this.failed = true;
    return this;
  }
}
