import { parseKexInit, parseVersionLine, SSH_MSG_KEXINIT, SSH_MSG_NEWKEYS, type KexInit, type SshVersion } from './parser.js';

/** Budgets of one direction of an SSH connection. */
export interface SshSideLimits {
  /** Bytes of one line of the version exchange (RFC 4253 §4.2: 255 with CR LF). */
  readonly maxLineBytes: number;
  /** Lines before the `SSH-` line (RFC 4253 §4.2 lets a server send some). */
  readonly maxPreBannerLines: number;
  /** Largest binary packet buffered (packet_length + 4). */
  readonly maxPacketBytes: number;
  /** Binary packets looked at before KEXINIT. */
  readonly maxPacketsBeforeKex: number;
  readonly maxNameListBytes: number;
}

const BANNER = 0;
const PACKETS = 1;
const DONE = 2;

/**
 * Incremental parser of one direction: the identification line (after optional other lines),
 * then binary packets until KEXINIT. Bytes can arrive in any chunking; the result is the same.
 * Memory: one line buffer and one packet buffer, both capped.
 */
export class SshSide {
  phase = BANNER;
  version: SshVersion | undefined;
  kex: KexInit | undefined;
  preBannerLines = 0;
  /** Why this side stopped early (malformed input or a limit), if it did. */
  problem: string | undefined;
  problemIsLimit = false;
  /** Something other than SSH was seen before any identification line. */
  notSsh = false;
  private line: Uint8Array;
  private lineLen = 0;
  private lineOverflow = false;
  private pkt: Uint8Array | null = null;
  private pktNeed = 0;
  private pktHave = 0;
  private readonly hdr = new Uint8Array(5);
  private hdrHave = 0;
  private packets = 0;

  constructor(private readonly limits: SshSideLimits) {
    this.line = new Uint8Array(limits.maxLineBytes);
  }

  get done(): boolean {
    return this.phase === DONE;
  }

  private stop(reason: string | undefined, isLimit = false): void {
    this.phase = DONE;
    if (reason && !this.problem) {
      this.problem = reason;
      this.problemIsLimit = isLimit;
    }
    this.pkt = null;
  }

  push(buf: Uint8Array, off: number, len: number): void {
    let p = off;
    const e = Math.min(buf.length, off + len);
    while (p < e && this.phase !== DONE) {
      p = this.phase === BANNER ? this.banner(buf, p, e) : this.packet(buf, p, e);
    }
  }

  /** Consumes bytes of the version exchange up to and including one LF. */
  private banner(buf: Uint8Array, p: number, e: number): number {
    while (p < e) {
      const c = buf[p++]!;
      if (c === 0x0a) {
        this.endLine();
        return p;
      }
      if (this.lineLen < this.line.length) this.line[this.lineLen++] = c;
      else this.lineOverflow = true;
    }
    return p;
  }

  private endLine(): void {
    let n = this.lineLen;
    if (n > 0 && this.line[n - 1] === 0x0d) n--;
    this.lineLen = 0;
    const overflow = this.lineOverflow;
    this.lineOverflow = false;
    const v = parseVersionLine(this.line, 0, n);
    if (v.ok) {
      this.version = v.value;
      if (overflow) this.problem ??= 'version.too_long';
      // SSH-1 (not 1.99) has no KEXINIT: nothing more to read.
      if (v.value.protoVersion.startsWith('1.') && v.value.protoVersion !== '1.99') this.stop(undefined);
      else this.phase = PACKETS;
      return;
    }
    if (this.preBannerLines === 0 && this.version === undefined && n >= 4 && !isText(this.line, n)) this.notSsh = true;
    if (++this.preBannerLines > this.limits.maxPreBannerLines) this.stop('pre_banner_lines', true);
  }

  /** Consumes bytes of binary packets; parses KEXINIT when one is complete. */
  private packet(buf: Uint8Array, p: number, e: number): number {
    if (this.pkt === null) {
      // packet_length (4) + padding_length (1)
      while (this.hdrHave < 5 && p < e) this.hdr[this.hdrHave++] = buf[p++]!;
      if (this.hdrHave < 5) return p;
      const h = this.hdr;
      const plen = ((h[0]! << 24) >>> 0) + ((h[1]! << 16) | (h[2]! << 8) | h[3]!);
      const pad = h[4]!;
      this.hdrHave = 0;
      // RFC 4253 §6: padding ≥ 4, total a multiple of 8 (not enforced: some stacks differ).
      if (plen < pad + 2 || plen < 5) {
        this.stop('packet.length');
        return p;
      }
      if (plen + 4 > this.limits.maxPacketBytes) {
        // A text line where a packet should be (e.g. "Protocol mismatch.") reads as a huge length.
        if (isText(h, 5)) this.stop('packet.text');
        else this.stop('packet_bytes', true);
        return p;
      }
      this.pktNeed = plen - 1 - pad;
      this.pktHave = 0;
      this.pkt = new Uint8Array(plen - 1);
    }
    const pk = this.pkt;
    const want = pk.length - this.pktHave;
    const n = Math.min(want, e - p);
    pk.set(buf.subarray(p, p + n), this.pktHave);
    this.pktHave += n;
    p += n;
    if (this.pktHave < pk.length) return p;
    this.pkt = null;
    this.packets++;
    const msg = pk[0];
    if (msg === SSH_MSG_KEXINIT) {
      const k = parseKexInit(pk, 0, this.pktNeed, this.limits.maxNameListBytes);
      if (k.ok) {
        this.kex = k.value;
        this.stop(undefined);
      } else this.stop(k.reason, k.kind === 'limit');
      return p;
    }
    if (msg === SSH_MSG_NEWKEYS) this.stop('kexinit.missing');
    else if (this.packets >= this.limits.maxPacketsBeforeKex) this.stop('packets_before_kex', true);
    return p;
  }
}

function isText(b: Uint8Array, n: number): boolean {
  for (let i = 0; i < n; i++) {
    const c = b[i]!;
    if ((c < 0x20 && c !== 0x09 && c !== 0x0d) || c > 0x7e) return false;
  }
  return true;
}
