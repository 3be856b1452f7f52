/**
 * TLS inside a proxy tunnel: an HTTP CONNECT exchange (RFC 9110 §9.3.6) or a SOCKS4/SOCKS5
 * (RFC 1928) handshake comes first, then the TLS records. We recognise the client's opening and
 * then scan each direction, bounded, for the start of its hello record.
 */
import type { Direction } from '../../flow/flow-observer.js';
import { MAX_RECORD_LENGTH } from './record-stream.js';

export type TunnelKind = 'http-connect' | 'socks4' | 'socks5';

const CONNECT = [0x43, 0x4f, 0x4e, 0x4e, 0x45, 0x43, 0x54, 0x20]; // "CONNECT "

/** The tunnel a client's first payload opens, if any. */
export function tunnelPreamble(buf: Uint8Array, off: number, len: number): TunnelKind | undefined {
  if (len >= CONNECT.length && CONNECT.every((c, i) => buf[off + i] === c)) return 'http-connect';
  const v = buf[off];
  // SOCKS4/4a CONNECT: VN=4 CD=1 DSTPORT DSTIP USERID NUL [DOMAIN NUL]
  if (v === 4 && len >= 9 && buf[off + 1] === 1 && buf[off + len - 1] === 0) return 'socks4';
  // SOCKS5 greeting: VER=5 NMETHODS METHODS…, possibly followed at once by the request (VER=5).
  if (v === 5 && len >= 3) {
    const n = buf[off + 1]!;
    if (n >= 1 && n <= 16 && (len === 2 + n || (len > 2 + n && buf[off + 2 + n] === 5))) return 'socks5';
  }
  return undefined;
}

/**
 * Finds where a direction's TLS starts after a tunnel preamble: the first record header
 * (handshake, version 3.x, sane length) whose first handshake byte is this side's hello.
 * Keeps the last 5 bytes so a header split across segments is still found.
 */
export class HelloScanner {
  /** Bytes scanned so far. */
  scanned = 0;
  /** Set once the limit passed without a hello. */
  exhausted = false;
  private readonly win = new Uint8Array(5);
  private fill = 0;

  constructor(
    private readonly dir: Direction,
    private readonly maxBytes: number,
  ) {}

  /**
   * Scans `buf[off, off+len)`. Returns the offset of the byte after the record header when the
   * hello starts there (`header()` then holds the 5 header bytes), or -1.
   */
  scan(buf: Uint8Array, off: number, len: number): number {
    const want = this.dir === 0 ? 1 : 2;
    const w = this.win;
    for (let i = off; i < off + len; i++) {
      if (this.scanned++ >= this.maxBytes) {
        this.exhausted = true;
        return -1;
      }
      const b = buf[i]!;
      if (this.fill === 5) {
        const rl = (w[3]! << 8) | w[4]!;
        if (b === want && w[0] === 0x16 && w[1] === 3 && w[2]! <= 4 && rl >= 4 && rl <= MAX_RECORD_LENGTH) return i;
        w.copyWithin(0, 1);
        w[4] = b;
      } else w[this.fill++] = b;
    }
    return -1;
  }

  /** The record header just before the offset `scan` returned. */
  header(): Uint8Array {
    return this.win;
  }
}
