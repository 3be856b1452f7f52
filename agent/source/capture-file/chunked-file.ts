import { closeSync, openSync, readSync, fstatSync } from 'node:fs';

/** Bytes of file kept in memory at once; records never span more than this. */
export const DEFAULT_CHUNK_BYTES = 4 * 1024 * 1024;

/**
 * Reads a file through one fixed buffer so memory does not grow with file size. Parsers ask for
 * `ensure(n)` bytes at `pos`; when they are not buffered, the unread tail is moved to the front
 * and the rest of the buffer refilled. A record larger than the buffer can never be ensured,
 * which is how oversized (corrupt) length fields are caught without allocating for them.
 */
export class ChunkedFile {
  readonly buf: Buffer;
  /** Read position within `buf`. */
  pos = 0;
  /** Bytes of valid data in `buf`. */
  end = 0;
  /** File offset of `buf[0]`. */
  private base = 0;
  private fd: number;
  private eof = false;
  readonly size: number;

  constructor(path: string, chunkBytes = DEFAULT_CHUNK_BYTES) {
    this.fd = openSync(path, 'r');
    const st = fstatSync(this.fd);
    if (st.isDirectory()) {
      closeSync(this.fd);
      throw Object.assign(new Error(`${path} is a directory`), { code: 'EISDIR' });
    }
    this.size = st.size;
    this.buf = Buffer.allocUnsafe(chunkBytes);
  }

  /** File offset of the read position (for progress and error messages). */
  get offset(): number {
    return this.base + this.pos;
  }

  get available(): number {
    return this.end - this.pos;
  }

  /** Makes `n` bytes available at `pos`; false at end of file or when `n` exceeds the buffer. */
  ensure(n: number): boolean {
    if (this.end - this.pos >= n) return true;
    if (n > this.buf.length || this.eof) return false;
    this.refill();
    return this.end - this.pos >= n;
  }

  private refill(): void {
    const tail = this.end - this.pos;
    if (tail > 0 && this.pos > 0) this.buf.copyWithin(0, this.pos, this.end);
    this.base += this.pos;
    this.pos = 0;
    this.end = tail;
    while (this.end < this.buf.length) {
      const n = readSync(this.fd, this.buf, this.end, this.buf.length - this.end, this.base + this.end);
      if (n === 0) {
        this.eof = true;
        break;
      }
      this.end += n;
    }
  }

  /** Skips `n` bytes, possibly beyond the buffer (seeks); false when that passes end of file. */
  skip(n: number): boolean {
    if (this.end - this.pos >= n) {
      this.pos += n;
      return true;
    }
    const target = this.base + this.pos + n;
    if (target > this.size) return false;
    this.base = target;
    this.pos = 0;
    this.end = 0;
    this.eof = false;
    return true;
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}
