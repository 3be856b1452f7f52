/**
 * TLS after a plaintext preamble: an HTTP CONNECT exchange (RFC 9110 §9.3.6), a SOCKS4/SOCKS5
 * (RFC 1928) handshake, a STARTTLS upgrade (SMTP RFC 3207, POP3/IMAP RFC 2595, FTP RFC 4217), or
 * RDP's X.224 connection request/confirm with TLS security ([MS-RDPBCGR] 1.3.1.1) comes first, then the TLS records. We recognise the opening (the client's for proxies, the
 * server's greeting for STARTTLS) and then scan each direction, bounded, for its hello record.
 */
import type { Direction } from '../../flow/flow-observer.js';
import { MAX_RECORD_LENGTH } from './record-stream.js';

export type TunnelKind = 'http-connect' | 'socks4' | 'socks5' | 'starttls' | 'rdp';

const CONNECT = [0x43, 0x4f, 0x4e, 0x4e, 0x45, 0x43, 0x54, 0x20]; // "CONNECT "

function ascii(buf: Uint8Array, off: number, len: number, text: string): boolean {
  if (len < text.length) return false;
  for (let i = 0; i < text.length; i++) if (buf[off + i] !== text.charCodeAt(i)) return false;
  return true;
}

/**
 * The preamble a direction's first payload opens, if any: a proxy request from the client, or a
 * mail/file-transfer greeting from the server (which may later say STARTTLS / STLS / AUTH TLS).
 */
export function tunnelPreamble(buf: Uint8Array, off: number, len: number, dir: Direction = 0): TunnelKind | undefined {
  if (dir === 1) {
    // SMTP and FTP "220 " / "220-", POP3 "+OK", IMAP "* OK".
    const code220 = ascii(buf, off, len, '220') && (buf[off + 3] === 0x20 || buf[off + 3] === 0x2d);
    return code220 || ascii(buf, off, len, '+OK') || ascii(buf, off, len, '* OK') ? 'starttls' : undefined;
  }
  if (len >= CONNECT.length && CONNECT.every((c, i) => buf[off + i] === c)) return 'http-connect';
  const v = buf[off];
  // RDP: TPKT (version 3, reserved 0, length) carrying an X.224 Connection Request (code 0xE0).
  if (v === 3 && len >= 7 && buf[off + 1] === 0 && ((buf[off + 2]! << 8) | buf[off + 3]!) === len && (buf[off + 5]! & 0xf0) === 0xe0) {
    return 'rdp';
  }
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
