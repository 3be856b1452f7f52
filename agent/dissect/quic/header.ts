import { malformed, incomplete, type ParseFailure } from '../../util/result.js';
import { Layout, longPacketType, quicVersion, PT_INITIAL, PT_RETRY, type QuicVersionInfo } from './versions.js';

/** RFC 9000 §17.2: connection IDs of QUIC v1/v2 (and the drafts) are at most 20 bytes. */
export const MAX_CID_LEN = 20;
/** RFC 8999 §5.1: version-independent long headers allow up to 255 bytes. */
const MAX_INVARIANT_CID_LEN = 255;

export const Form = { Long: 0, Short: 1, LegacyGquic: 2 } as const;
export type Form = (typeof Form)[keyof typeof Form];

/**
 * One parsed packet header. Offsets index the caller's buffer; one object is reused by a parser
 * for every packet (no per-packet allocation) and is valid until the next parse.
 */
export class PacketHeader {
  form: Form = Form.Long;
  firstByte = 0;
  version = 0;
  info: QuicVersionInfo = quicVersion(0);
  /** Normalised long-header type (versions.PT_*); -1 for short/legacy headers. */
  type = -1;
  dcidOff = 0;
  dcidLen = 0;
  scidOff = 0;
  scidLen = 0;
  tokenOff = 0;
  tokenLen = 0;
  /** Offset of the (protected) packet number; -1 when the layout has none we can locate. */
  pnOffset = -1;
  /** Offset just past this packet (coalesced packets follow). */
  end = 0;
  /** Version Negotiation: offset and count of the supported-version list. */
  vnOff = 0;
  vnCount = 0;
}

const F_SHORT_BUF = malformed('header.short');
const F_CID = malformed('header.cid_length');
const F_LENGTH = malformed('header.length');
const F_TRUNC = incomplete('header.truncated');
const F_TOKEN = malformed('header.token_length');
const F_FLAGS = malformed('header.gquic_flags');

/** QUIC varint at `p` (RFC 9000 §16): value, or -1 past `end`. Writes its size to `sz[0]`. */
export function varintAt(buf: Uint8Array, p: number, end: number, sz: Int32Array): number {
  if (p >= end) return -1;
  const first = buf[p]!;
  const n = 1 << (first >> 6);
  if (p + n > end) return -1;
  let v = first & 0x3f;
  for (let i = 1; i < n; i++) v = v * 256 + buf[p + i]!;
  sz[0] = n;
  return v;
}

const SZ = new Int32Array(1);

/**
 * Parses the long header at `off` (first byte has 0x80). Version-specific fields are read for the
 * layouts we know; anything else is bounded by the invariants (RFC 8999). Returns undefined on
 * success (fields in `h`) or the failure.
 */
export function parseLongHeader(buf: Uint8Array, off: number, end: number, h: PacketHeader, maxToken: number): ParseFailure | undefined {
  if (end - off < 7) return F_SHORT_BUF;
  const b0 = buf[off]!;
  const version = ((buf[off + 1]! << 24) | (buf[off + 2]! << 16) | (buf[off + 3]! << 8) | buf[off + 4]!) >>> 0;
  const info = quicVersion(version);
  h.form = Form.Long;
  h.firstByte = b0;
  h.version = version;
  h.info = info;
  h.tokenLen = 0;
  h.pnOffset = -1;
  h.vnCount = 0;
  let p = off + 5;
  if (info.layout === Layout.Q046) {
    // DCIL/SCIL nibbles (draft ≤ 21 style): length + 3 when non-zero.
    const l = buf[p++]!;
    const dl = l >> 4 ? (l >> 4) + 3 : 0;
    const sl = l & 15 ? (l & 15) + 3 : 0;
    h.dcidOff = p;
    h.dcidLen = dl;
    h.scidOff = p + dl;
    h.scidLen = sl;
    p += dl + sl;
    if (p > end) return F_TRUNC;
    h.type = (b0 >> 4) & 3;
    h.pnOffset = p;
    h.end = end;
    return undefined;
  }
  const maxCid = info.layout === Layout.Ietf && info.known ? MAX_CID_LEN : MAX_INVARIANT_CID_LEN;
  const dl = buf[p++]!;
  if (dl > maxCid) return F_CID;
  h.dcidOff = p;
  h.dcidLen = dl;
  p += dl;
  if (p >= end) return F_TRUNC;
  const sl = buf[p++]!;
  if (sl > maxCid) return F_CID;
  h.scidOff = p;
  h.scidLen = sl;
  p += sl;
  if (p > end) return F_TRUNC;
  if (info.layout === Layout.VersionNegotiation) {
    h.type = -1;
    h.vnOff = p;
    h.vnCount = (end - p) >> 2;
    h.end = end;
    return undefined;
  }
  if (info.layout !== Layout.Ietf || !info.salt) {
    // Opaque (unknown, reserved, or not decryptable): only the invariants are meaningful.
    h.type = longPacketType(b0, info);
    h.end = end;
    return undefined;
  }
  const type = longPacketType(b0, info);
  h.type = type;
  if (type === PT_RETRY) {
    h.tokenOff = p;
    h.tokenLen = Math.max(0, end - p - 16);
    h.end = end;
    return undefined;
  }
  if (type === PT_INITIAL) {
    const tl = varintAt(buf, p, end, SZ);
    if (tl < 0) return F_TRUNC;
    p += SZ[0]!;
    if (tl > maxToken || tl > end - p) return F_TOKEN;
    h.tokenOff = p;
    h.tokenLen = tl;
    p += tl;
  }
  const len = varintAt(buf, p, end, SZ);
  if (len < 0) return F_TRUNC;
  p += SZ[0]!;
  if (len > end - p) return F_LENGTH;
  h.pnOffset = p;
  h.end = p + len;
  return undefined;
}

/**
 * Parses a gQUIC public header (Q043 and older): flags, optional 8-byte CID, optional version,
 * packet number of 1/2/4/6 bytes. The payload after it is clear text during the handshake.
 */
export function parseLegacyGquicHeader(buf: Uint8Array, off: number, end: number, h: PacketHeader): ParseFailure | undefined {
  if (end - off < 2) return F_SHORT_BUF;
  const flags = buf[off]!;
  // 0x80 is reserved (0); 0x40 was multipath (never deployed).
  if (flags & 0xc0) return F_FLAGS;
  let p = off + 1;
  h.form = Form.LegacyGquic;
  h.firstByte = flags;
  h.type = -1;
  h.scidLen = 0;
  h.dcidLen = 0;
  h.dcidOff = p;
  h.tokenLen = 0;
  h.vnCount = 0;
  if (flags & 0x08) {
    h.dcidLen = 8;
    p += 8;
  }
  h.version = 0;
  if (flags & 0x01) {
    if (p + 4 > end) return F_TRUNC;
    h.version = ((buf[p]! << 24) | (buf[p + 1]! << 16) | (buf[p + 2]! << 8) | buf[p + 3]!) >>> 0;
    p += 4;
  }
  h.info = quicVersion(h.version);
  const pnBits = (flags >> 4) & 3;
  const pnLen = pnBits === 0 ? 1 : pnBits === 1 ? 2 : pnBits === 2 ? 4 : 6;
  if (p + pnLen > end) return F_TRUNC;
  h.pnOffset = p;
  h.end = end;
  return undefined;
}
