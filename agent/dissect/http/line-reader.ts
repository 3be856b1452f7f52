import { indexOfByte } from './ascii.js';

const EMPTY = new Uint8Array(0);

/**
 * Splits a byte stream that arrives in arbitrary pieces into lines (LF or CRLF terminated),
 * without copying when a line lies inside one piece. A line that straddles pieces is gathered in
 * a buffer that grows on demand up to `maxLine` bytes; beyond that the rest of the line is
 * dropped (the kept prefix is still delivered, flagged `truncated`), so memory stays bounded
 * whatever the peer sends.
 */
export class LineReader {
  private acc: Uint8Array = EMPTY;
  private accLen = 0;
  /** The current partial line already passed maxLine. */
  private overflow = false;
  /** After next() returned with `complete`: the line is `lineBuf[lineStart, lineEnd)`, without CR/LF. */
  lineBuf: Uint8Array = EMPTY;
  lineStart = 0;
  lineEnd = 0;
  /** The last call completed a line. */
  complete = false;
  /** The completed line was longer than maxLine and was cut. */
  truncated = false;

  constructor(readonly maxLine: number) {}

  /** Forgets a partial line (e.g. after a capture gap). */
  reset(): void {
    this.accLen = 0;
    this.overflow = false;
    this.complete = false;
  }

  /** Bytes currently held for a partial line. */
  get held(): number {
    return this.accLen;
  }

  /**
   * Consumes bytes from `buf[off, end)` up to and including the next LF. Returns the offset
   * after what was consumed; `complete` tells whether a whole line is now available.
   */
  next(buf: Uint8Array, off: number, end: number): number {
    this.complete = false;
    if (off >= end) return off;
    const nl = indexOfByte(buf, 10, off, end);
    const found = nl >= 0;
    const stop = found ? nl : end;
    if (found && this.accLen === 0 && !this.overflow) {
      // Fast path: the whole line is in this piece.
      let e = nl;
      let truncated = false;
      if (e > off && buf[e - 1] === 13) e--;
      if (e - off > this.maxLine) {
        e = off + this.maxLine;
        truncated = true;
      }
      this.lineBuf = buf;
      this.lineStart = off;
      this.lineEnd = e;
      this.truncated = truncated;
      this.complete = true;
      return nl + 1;
    }
    this.append(buf, off, stop);
    if (!found) return end;
    let e = this.accLen;
    if (!this.overflow && e > 0 && this.acc[e - 1] === 13) e--;
    let truncated = this.overflow;
    if (e > this.maxLine) {
      e = this.maxLine;
      truncated = true;
    }
    this.lineBuf = this.acc;
    this.lineStart = 0;
    this.lineEnd = e;
    this.truncated = truncated;
    this.complete = true;
    this.accLen = 0;
    this.overflow = false;
    return nl + 1;
  }

  private append(buf: Uint8Array, start: number, end: number): void {
    let n = end - start;
    if (n <= 0) return;
    const room = this.maxLine + 1 - this.accLen; // +1 keeps a CR that precedes the LF
    if (n > room) {
      n = room;
      this.overflow = true;
    }
    if (n <= 0) return;
    const need = this.accLen + n;
    if (need > this.acc.length) {
      let size = this.acc.length === 0 ? 256 : this.acc.length * 2;
      while (size < need) size *= 2;
      const cap = this.maxLine + 1;
      const grown = new Uint8Array(size < cap ? size : cap);
      grown.set(this.acc.subarray(0, this.accLen));
      this.acc = grown;
    }
    this.acc.set(buf.subarray(start, start + n), this.accLen);
    this.accLen += n;
  }
}
