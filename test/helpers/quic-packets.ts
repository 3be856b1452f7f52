/**
 * Builds QUIC packets for tests that need cases no capture has (Retry then re-sent Initial,
 * coalescing, CRYPTO frames out of order, hostile lengths). Initial packets are protected exactly
 * as RFC 9001 §5 says (AES-128-GCM payload, AES-128-ECB header protection), with the keys of
 * agent/dissect/quic/initial-keys.ts — which the RFC vector test and the real captures validate.
 */
import { createCipheriv } from 'node:crypto';
import { deriveClientInitialKeys, deriveHpKey } from '../../agent/dissect/quic/initial-keys.js';
import { quicVersion } from '../../agent/dissect/quic/versions.js';

export type LongType = 'initial' | '0rtt' | 'handshake' | 'retry';

const V1_TYPES: Record<LongType, number> = { initial: 0, '0rtt': 1, handshake: 2, retry: 3 };
const V2_TYPES: Record<LongType, number> = { initial: 1, '0rtt': 2, handshake: 3, retry: 0 };

export function varint(v: number): number[] {
  if (v < 0x40) return [v];
  if (v < 0x4000) return [0x40 | (v >> 8), v & 0xff];
  if (v < 0x40000000) return [0x80 | (v >>> 24), (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff];
  const hi = Math.floor(v / 2 ** 32);
  return [0xc0 | (hi >>> 24), (hi >> 16) & 0xff, (hi >> 8) & 0xff, hi & 0xff, (v >>> 24) & 0xff, (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff];
}

export function hexBytes(h: string): Uint8Array {
  return Uint8Array.from(Buffer.from(h, 'hex'));
}

export function cryptoFrame(offset: number, data: Uint8Array): Uint8Array {
  return Uint8Array.from([0x06, ...varint(offset), ...varint(data.length), ...data]);
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  return Uint8Array.from(Buffer.concat(parts.map((p) => Buffer.from(p))));
}

function u16(v: number): number[] {
  return [v >> 8, v & 0xff];
}

function ext(type: number, body: number[]): number[] {
  return [...u16(type), ...u16(body.length), ...body];
}

/** A TLS 1.3 ClientHello handshake message (type 1 + u24 length) as QUIC clients send it. */
export function clientHello(opts: { sni?: string; alpn?: string[]; padTo?: number } = {}): Uint8Array {
  const exts: number[] = [];
  if (opts.sni !== undefined) {
    const name = [...Buffer.from(opts.sni)];
    exts.push(...ext(0x0000, [...u16(name.length + 3), 0, ...u16(name.length), ...name]));
  }
  exts.push(...ext(0x000a, [...u16(4), ...u16(0x001d), ...u16(0x0017)]));
  exts.push(...ext(0x000d, [...u16(4), ...u16(0x0403), ...u16(0x0804)]));
  if (opts.alpn) {
    const list = opts.alpn.flatMap((a) => [a.length, ...Buffer.from(a)]);
    exts.push(...ext(0x0010, [...u16(list.length), ...list]));
  }
  exts.push(...ext(0x002b, [2, ...u16(0x0304)]));
  exts.push(...ext(0x0033, [...u16(36), ...u16(0x001d), ...u16(32), ...new Array<number>(32).fill(7)]));
  exts.push(...ext(0x0039, [0x01, 0x02, 0x40, 0x64]));
  if (opts.padTo) {
    const cur = 2 + 32 + 1 + 2 + 6 + 2 + 2 + exts.length;
    if (opts.padTo > cur + 4) exts.push(...ext(0x0015, new Array<number>(opts.padTo - cur - 4).fill(0)));
  }
  const body = [...u16(0x0303), ...new Array<number>(32).fill(1), 0, ...u16(6), ...u16(0x1301), ...u16(0x1302), ...u16(0x1303), 1, 0, ...u16(exts.length), ...exts];
  return Uint8Array.from([1, body.length >> 16, (body.length >> 8) & 0xff, body.length & 0xff, ...body]);
}

export interface LongPacketSpec {
  version: number;
  type: LongType;
  dcid: Uint8Array;
  scid: Uint8Array;
  token?: Uint8Array;
  /** Plain frames (protected for Initial packets of versions with a salt; sent as is otherwise). */
  payload: Uint8Array;
  pn?: number;
  pnLen?: 1 | 2 | 3 | 4;
  /** Derive the protection keys from this DCID instead (the client's first DCID). */
  keyDcid?: Uint8Array;
  /** Do not protect (for non-Initial types the dissector does not decrypt). */
  plain?: boolean;
}

/** A long-header packet; Initial packets are protected like a real client's. */
export function longPacket(s: LongPacketSpec): Uint8Array {
  const info = quicVersion(s.version);
  const typeBits = (info.v2Types ? V2_TYPES : V1_TYPES)[s.type];
  const pnLen = s.pnLen ?? 2;
  const pn = s.pn ?? 0;
  const protect = !s.plain && s.type === 'initial' && info.salt !== undefined;
  let payload = s.payload;
  // Header protection samples 16 bytes starting 4 bytes after the packet number.
  const minPayload = 20 - pnLen;
  if (payload.length < minPayload) payload = concat(payload, new Uint8Array(minPayload - payload.length));
  const len = pnLen + payload.length + (protect ? 16 : 0);
  const head = [
    0xc0 | (typeBits << 4) | (pnLen - 1),
    (s.version >>> 24) & 0xff, (s.version >> 16) & 0xff, (s.version >> 8) & 0xff, s.version & 0xff,
    s.dcid.length, ...s.dcid, s.scid.length, ...s.scid,
  ];
  if (s.type === 'initial') head.push(...varint(s.token?.length ?? 0), ...(s.token ?? []));
  head.push(0x40 | (len >> 8), len & 0xff);
  const pnOffset = head.length;
  for (let i = pnLen - 1; i >= 0; i--) head.push((pn >> (8 * i)) & 0xff);
  const header = Uint8Array.from(head);
  if (!protect) return concat(header, payload);
  const keyDcid = s.keyDcid ?? s.dcid;
  const keys = deriveClientInitialKeys(info, keyDcid, Buffer.from(keyDcid).toString('hex'))!;
  const nonce = Buffer.from(keys.iv);
  for (let i = 0; i < 4; i++) nonce[11 - i]! ^= (pn >> (8 * i)) & 0xff;
  const c = createCipheriv('aes-128-gcm', keys.key, nonce);
  c.setAAD(header);
  const ct = Buffer.concat([c.update(payload), c.final(), c.getAuthTag()]);
  const pkt = Buffer.concat([Buffer.from(header), ct]);
  const hp = createCipheriv('aes-128-ecb', deriveHpKey(info, keyDcid)!, null);
  hp.setAutoPadding(false);
  const mask = hp.update(pkt.subarray(pnOffset + 4, pnOffset + 20));
  pkt[0]! ^= mask[0]! & 0x0f;
  for (let i = 0; i < pnLen; i++) pkt[pnOffset + i]! ^= mask[1 + i]!;
  return Uint8Array.from(pkt);
}

/** A Retry packet (RFC 9000 §17.2.5): token then a 16-byte integrity tag (not verified by Picket). */
export function retryPacket(version: number, dcid: Uint8Array, scid: Uint8Array, token: Uint8Array): Uint8Array {
  const info = quicVersion(version);
  const t = info.v2Types ? V2_TYPES.retry : V1_TYPES.retry;
  return Uint8Array.from([
    0xc0 | (t << 4), (version >>> 24) & 0xff, (version >> 16) & 0xff, (version >> 8) & 0xff, version & 0xff,
    dcid.length, ...dcid, scid.length, ...scid, ...token, ...new Array<number>(16).fill(0xaa),
  ]);
}

/** A Version Negotiation packet (RFC 9000 §17.2.1). */
export function vnPacket(dcid: Uint8Array, scid: Uint8Array, versions: number[]): Uint8Array {
  return Uint8Array.from([
    0x80 | 0x2a, 0, 0, 0, 0, dcid.length, ...dcid, scid.length, ...scid,
    ...versions.flatMap((v) => [(v >>> 24) & 0xff, (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff]),
  ]);
}

/** A 1-RTT short-header packet with `dcid` and `n` opaque bytes (looks encrypted). */
export function shortPacket(dcid: Uint8Array, n: number, seed = 1): Uint8Array {
  const body: number[] = [];
  let x = seed * 2654435761;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    body.push(x >>> 24);
  }
  return Uint8Array.from([0x40 | (seed & 0x1f), ...dcid, ...body]);
}
