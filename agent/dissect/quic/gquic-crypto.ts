import { incomplete, limitHit, malformed, ok, type ParseResult } from '../../util/result.js';

/**
 * Google QUIC crypto handshake messages ("QUIC Crypto" design doc, Chromium
 * quic/core/crypto/crypto_framer.cc): tag (4 ASCII bytes, e.g. `CHLO`, `REJ\0`, `SHLO`),
 * entry count (u16 LE), 2 padding bytes, then `count` pairs of (tag, end offset u32 LE) and the
 * values packed one after another. Up to Q046 the client's CHLO travels in clear text in a STREAM
 * frame of stream 1; Q050 carries it inside encrypted Initial CRYPTO frames.
 */
export const TAG_CHLO = 0x43484c4f; // "CHLO"
export const TAG_REJ = 0x52454a00; // "REJ\0"
export const TAG_SHLO = 0x53484c4f; // "SHLO"
const TAG_SNI = 0x534e4900; // "SNI\0"
const TAG_UAID = 0x55414944; // "UAID"
const TAG_VER = 0x56455200; // "VER\0"

export interface GquicMessage {
  tag: number;
  entries: number;
  sni?: string;
  userAgent?: string;
  /** Version tag requested in the CHLO (`VER`), e.g. `Q043`. */
  ver?: string;
  /** True when values past the captured bytes were left out. */
  truncated: boolean;
}

function be32(b: Uint8Array, p: number): number {
  return ((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) >>> 0;
}

/** Printable ASCII or undefined (values that are not text are not reported). */
function ascii(b: Uint8Array, s: number, e: number, max: number): string | undefined {
  const n = Math.min(e - s, max);
  let out = '';
  for (let i = 0; i < n; i++) {
    const c = b[s + i]!;
    if (c < 0x20 || c > 0x7e) return undefined;
    out += String.fromCharCode(c);
  }
  return out;
}

/**
 * Finds `tag` (4 bytes, big-endian as read) within [off, min(end, off + window)). Bounded scan.
 * Returns the offset or -1.
 */
export function findTag(b: Uint8Array, off: number, end: number, tag: number, window: number): number {
  const last = Math.min(end, off + window) - 4;
  const t0 = tag >>> 24;
  for (let p = off; p <= last; p++) {
    if (b[p] === t0 && be32(b, p) === tag) return p;
  }
  return -1;
}

/**
 * Parses the message at `off`. Values that lie beyond `end` (the CHLO continues in a later packet
 * we do not reassemble) are skipped and `truncated` is set. Bounded by `maxEntries`.
 */
export function parseGquicMessage(b: Uint8Array, off: number, end: number, maxEntries: number, maxValue: number): ParseResult<GquicMessage> {
  if (end - off < 8) return incomplete('gquic.message_short');
  const tag = be32(b, off);
  const entries = b[off + 4]! | (b[off + 5]! << 8);
  if (entries > maxEntries) return limitHit('gquic.entries');
  const idx = off + 8;
  const values = idx + entries * 8;
  const msg: GquicMessage = { tag, entries, truncated: false };
  let prevEnd = 0;
  for (let i = 0; i < entries; i++) {
    const e = idx + i * 8;
    if (e + 8 > end) {
      msg.truncated = true;
      break;
    }
    const t = be32(b, e);
    const vEnd = b[e + 4]! | (b[e + 5]! << 8) | (b[e + 6]! << 16) | ((b[e + 7]! << 24) >>> 0);
    if (vEnd < prevEnd) return malformed('gquic.offsets');
    const vs = values + prevEnd;
    const ve = values + vEnd;
    prevEnd = vEnd;
    if (ve > end) {
      msg.truncated = true;
      continue;
    }
    if (t === TAG_SNI) {
      const s = ascii(b, vs, ve, maxValue);
      if (s !== undefined) msg.sni = s;
    } else if (t === TAG_UAID) {
      const s = ascii(b, vs, ve, maxValue);
      if (s !== undefined) msg.userAgent = s;
    } else if (t === TAG_VER) {
      const s = ascii(b, vs, ve, 4);
      if (s !== undefined) msg.ver = s;
    }
  }
  return ok(msg);
}
