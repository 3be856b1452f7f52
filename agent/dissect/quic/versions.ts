/**
 * QUIC version numbers → what a passive observer can do with them.
 *
 * Sources (checked against public implementations, see the report of this folder's author):
 * - RFC 9001 §5.2: v1 salt 0x38762cf7f55934b34d179ae6a4c80cadccbb7f0a, labels "quic key/iv/hp".
 * - RFC 9369 §3.3: v2 (0x6b3343cf) salt 0x0dede3def700a6db819381be6e269dcbf9bd2ed9, labels
 *   "quicv2 key/iv/hp", and long-header types Retry 0b00, Initial 0b01, 0-RTT 0b10, Handshake 0b11.
 * - draft-ietf-quic-tls-NN §5.2: drafts 21–22 salt 0x7fbcdb0e…, 23–28 0xc3eef712…, 29–32 0xafbfec28…;
 *   drafts 33–34 already use the v1 salt (Wireshark packet-quic.c and lsquic agree).
 * - mvfst (quic/handshake, QuicConstants.h): 0xfaceb001 (MVFST_D24) uses the draft-22 salt;
 *   0xfaceb002 (MVFST) and its aliases 0xfaceb00e/0xfaceb010/0xfaceb011/0xfaceb013 the draft-23 salt;
 *   0xfaceb003 (QUIC_V1_ALIAS) the v1 salt.
 * - Google: Q050 salt 0x504574ef…, T050 0x7ff579e5…, T051 0x7a4edef4… (Wireshark); Q046 and older
 *   carry the CHLO in clear text (gQUIC crypto); Q050 puts a CHLO, T05x a TLS ClientHello, in
 *   IETF-style encrypted Initial packets.
 */

/** How the bytes after a long header / public header are laid out. */
export const Layout = {
  /** RFC 8999 long header with 1-byte CID lengths, varint token/length (IETF, mvfst, Q050, T05x). */
  Ietf: 0,
  /** gQUIC Q046: long header with DCIL/SCIL nibbles, no token/length fields, clear-text payload. */
  Q046: 1,
  /** gQUIC up to Q043: public header (flags, 8-byte CID, version, packet number), clear text. */
  LegacyGquic: 2,
  /** Version Negotiation (version 0). */
  VersionNegotiation: 3,
  /** Unknown or reserved version: only the invariant header can be read. */
  Opaque: 4,
} as const;
export type Layout = (typeof Layout)[keyof typeof Layout];

/** What the Initial packets of a version carry once decrypted. */
export const Handshake = { None: 0, Tls: 1, GquicCrypto: 2 } as const;
export type Handshake = (typeof Handshake)[keyof typeof Handshake];

export interface QuicVersionInfo {
  readonly wire: number;
  /** `v1`, `v2`, `draft-29`, `mvfst-faceb002`, `Q046`, `T050`, `forcing-vn`, `version-negotiation`, `unknown`. */
  readonly name: string;
  readonly layout: Layout;
  /** HKDF-Extract salt of the Initial secrets; absent when Initial packets are not decryptable. */
  readonly salt?: Uint8Array;
  /** HKDF label prefix for key/iv/hp: `quic ` (v1 and older) or `quicv2 ` (RFC 9369). */
  readonly labelPrefix: string;
  /** Long-header packet type bits use the RFC 9369 (v2) assignment. */
  readonly v2Types: boolean;
  readonly handshake: Handshake;
  /** Initial payloads use gQUIC frame numbering (Q050/T050/T051: CRYPTO is 0x08, PING 0x07). */
  readonly gquicFrames: boolean;
  /** A real protocol version (false for reserved 0x?a?a?a?a and unknown numbers). */
  readonly known: boolean;
}

function hex(s: string): Uint8Array {
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(i * 2, i * 2 + 2), 16);
  return out;
}

const SALT_V1 = hex('38762cf7f55934b34d179ae6a4c80cadccbb7f0a');
const SALT_V2 = hex('0dede3def700a6db819381be6e269dcbf9bd2ed9');
const SALT_D22 = hex('7fbcdb0e7c66bbe9193a96cd21519ebd7a02644a');
const SALT_D23 = hex('c3eef712c72ebb5a11a7d2432bb46365bef9f502');
const SALT_D29 = hex('afbfec289993d24c9e9786f19c6111e04390a899');
const SALT_Q050 = hex('504574efd066fe2f9d945cfcdbd3a7f0d3b56b45');
const SALT_T050 = hex('7ff579e5acd072915580304c43a2367c60488310');
const SALT_T051 = hex('7a4edef4e7ccee5fa4506c19124fc8ccda6e033d');

export const QUIC_V1 = 0x00000001;
export const QUIC_V2 = 0x6b3343cf;

function ietf(wire: number, name: string, salt: Uint8Array, v2 = false, handshake: Handshake = Handshake.Tls, gquicFrames = false): QuicVersionInfo {
  return { wire, name, layout: Layout.Ietf, salt, labelPrefix: v2 ? 'quicv2 ' : 'quic ', v2Types: v2, handshake, gquicFrames, known: true };
}

function opaque(wire: number, name: string, known: boolean, layout: Layout = Layout.Opaque): QuicVersionInfo {
  return { wire, name, layout, labelPrefix: 'quic ', v2Types: false, handshake: Handshake.None, gquicFrames: false, known };
}

/** Versions that are not derived from a rule (drafts and gQUIC digits are). */
const FIXED = new Map<number, QuicVersionInfo>([
  [QUIC_V1, ietf(QUIC_V1, 'v1', SALT_V1)],
  [QUIC_V2, ietf(QUIC_V2, 'v2', SALT_V2, true)],
  [0xfaceb001, ietf(0xfaceb001, 'mvfst-faceb001', SALT_D22)],
  [0xfaceb002, ietf(0xfaceb002, 'mvfst-faceb002', SALT_D23)],
  [0xfaceb003, ietf(0xfaceb003, 'mvfst-faceb003', SALT_V1)],
  [0xfaceb00e, ietf(0xfaceb00e, 'mvfst-faceb00e', SALT_D23)],
  [0xfaceb010, ietf(0xfaceb010, 'mvfst-faceb010', SALT_D23)],
  [0xfaceb011, ietf(0xfaceb011, 'mvfst-faceb011', SALT_D23)],
  [0xfaceb013, ietf(0xfaceb013, 'mvfst-faceb013', SALT_D23)],
  [0x51303530, ietf(0x51303530, 'Q050', SALT_Q050, false, Handshake.GquicCrypto, true)],
  [0x54303530, ietf(0x54303530, 'T050', SALT_T050, false, Handshake.Tls, true)],
  [0x54303531, ietf(0x54303531, 'T051', SALT_T051, false, Handshake.Tls, true)],
  // draft-ietf-quic-v2-01..: provisional number, before RFC 9369 assigned 0x6b3343cf.
  [0x709a50c4, opaque(0x709a50c4, 'v2-draft', true, Layout.Ietf)],
]);

const DRAFTS: QuicVersionInfo[] = [];
for (let d = 21; d <= 34; d++) {
  const salt = d <= 22 ? SALT_D22 : d <= 28 ? SALT_D23 : d <= 32 ? SALT_D29 : SALT_V1;
  DRAFTS[d] = ietf(0xff000000 + d, `draft-${d}`, salt);
}

const GQUIC = new Map<number, QuicVersionInfo>();
const VN = opaque(0, 'version-negotiation', true, Layout.VersionNegotiation);
const UNKNOWN_CACHE = new Map<number, QuicVersionInfo>();

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** True for versions of the form 0x?a?a?a?a (RFC 9000 §15: reserved to exercise version negotiation). */
export function isForcingVn(v: number): boolean {
  return (v & 0x0f0f0f0f) === 0x0a0a0a0a;
}

/** True for Google QUIC version tags `Q0dd` / `T0dd` (ASCII). */
export function isGquicTag(v: number): boolean {
  const a = v >>> 24;
  return (a === 0x51 || a === 0x54) && isDigit((v >>> 16) & 0xff) && isDigit((v >>> 8) & 0xff) && isDigit(v & 0xff);
}

/** Google version number (the three digits), or -1. */
export function gquicNumber(v: number): number {
  if (!isGquicTag(v)) return -1;
  return (((v >>> 16) & 0xff) - 0x30) * 100 + (((v >>> 8) & 0xff) - 0x30) * 10 + ((v & 0xff) - 0x30);
}

/**
 * Describes a version number from the wire. Never allocates for known versions (tables are built
 * once); unknown numbers get a cached opaque entry (the cache is bounded).
 */
export function quicVersion(v: number): QuicVersionInfo {
  v >>>= 0;
  if (v === 0) return VN;
  const fixed = FIXED.get(v);
  if (fixed) return fixed;
  if (v >>> 8 === 0xff0000) {
    const d = DRAFTS[v & 0xff];
    if (d) return d;
    return cachedUnknown(v, `draft-${v & 0xff}`, true);
  }
  if (isGquicTag(v)) {
    let g = GQUIC.get(v);
    if (!g) {
      const n = gquicNumber(v);
      const name = String.fromCharCode(v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff);
      // T0xx other than T050/T051 (handled above) and Q05x+ are IETF-style but their salts are not public.
      const layout = n <= 43 ? Layout.LegacyGquic : n <= 47 ? Layout.Q046 : Layout.Ietf;
      g = opaque(v, name, true, layout);
      GQUIC.set(v, g);
    }
    return g;
  }
  if (isForcingVn(v)) return cachedUnknown(v, 'forcing-vn', false);
  if (v >>> 4 === 0xfaceb00) return cachedUnknown(v, `mvfst-${v.toString(16)}`, true);
  return cachedUnknown(v, 'unknown', false);
}

function cachedUnknown(v: number, name: string, known: boolean): QuicVersionInfo {
  let u = UNKNOWN_CACHE.get(v);
  if (!u) {
    u = opaque(v, name, known, Layout.Ietf);
    if (UNKNOWN_CACHE.size >= 256) UNKNOWN_CACHE.clear(); // bounded; entries are cheap to rebuild
    UNKNOWN_CACHE.set(v, u);
  }
  return u;
}

/** `0x00000001` form used in records. */
export function versionHex(v: number): string {
  return `0x${(v >>> 0).toString(16).padStart(8, '0')}`;
}

/** Long-header packet type normalised to v1 numbering: 0 Initial, 1 0-RTT, 2 Handshake, 3 Retry. */
export function longPacketType(firstByte: number, info: QuicVersionInfo): number {
  const t = (firstByte >> 4) & 3;
  return info.v2Types ? (t + 3) & 3 : t;
}

export const PT_INITIAL = 0;
export const PT_0RTT = 1;
export const PT_HANDSHAKE = 2;
export const PT_RETRY = 3;
