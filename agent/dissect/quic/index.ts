/**
 * QUIC dissector (RFC 8999/9000/9001, RFC 9369 v2, IETF drafts 21–34, mvfst, gQUIC).
 *
 * Per flow: parses long headers (coalesced packets too), decrypts the client's Initial packets
 * with keys derived from the DCID, reassembles the ClientHello from CRYPTO frames (out of order,
 * across packets) and fingerprints it with the TLS dissector's parser (SNI, ALPN, JA4 `q`, JA3).
 * gQUIC up to Q046 carries its CHLO in clear text (SNI, UAID tags); Q050 in encrypted Initials.
 *
 * Across flows (dissector-level state, see cid-table.ts): the connection IDs chosen by client and
 * server are filed per connection; a flow on a new 5-tuple whose short-header DCID is one of them
 * is linked to the earlier flow(s) (`migrations`). This catches NAT rebinding and clients that keep
 * their CID when moving; RFC 9000 §9.5 asks a migrating client to switch to a fresh CID (issued in
 * encrypted NEW_CONNECTION_ID frames), and such a move cannot be linked from the wire.
 *
 * Recognition (probe + payload), strongest first: a decrypted client Initial or clear-text gQUIC
 * CHLO; long headers of a known version (CID lengths ≤ 20; Version Negotiation only when it lists
 * a version we know); a short header whose DCID is a CID from the table (migration); a gQUIC REJ
 * from the server; and, for flows to/from port 443 with short headers only, nDPI's heuristic
 * (3 client short headers with the same first 8 DCID bytes and different last bytes).
 * `version` is the client's first version (what nDPI reports); a later one after Version
 * Negotiation is `finalVersion`. Initial keys come from the first Initial's DCID (RFC 9001 §5.2:
 * they do not change when the client adopts the server's CID), falling back to the packet's own
 * DCID (after a Retry, or when the first Initial was not captured).
 */
import type { Direction } from '../../flow/flow-observer.js';
import type { FlowRecord } from '../../flow/flow-record.js';
import { Verdict, type DissectContext, type Dissector } from '../dissector.js';
import { parseClientHelloMessage, ja3, ja4 } from '../tls/client-hello.js';
import { CidTable, hexOf, QuicConnection, type FlowRef } from './cid-table.js';
import { AddResult, CryptoStream } from './crypto-stream.js';
import { decryptLongPacket, MAX_HEADER_COPY } from './decrypt.js';
import { walkInitialFrames, type FrameSink, type FrameWalk } from './frames.js';
import { findTag, parseGquicMessage, TAG_CHLO, TAG_REJ } from './gquic-crypto.js';
import { Form, MAX_CID_LEN, PacketHeader, parseLegacyGquicHeader, parseLongHeader } from './header.js';
import { deriveClientInitialKeys, type InitialKeys } from './initial-keys.js';
import { migrationFrom, quicEcs, type QuicDetection, type QuicMeta, type QuicMigrationFrom } from './meta.js';
import {
  Handshake,
  isForcingVn,
  isGquicTag,
  Layout,
  PT_0RTT,
  PT_HANDSHAKE,
  PT_INITIAL,
  PT_RETRY,
  quicVersion,
  versionHex,
  type QuicVersionInfo,
} from './versions.js';

export type { QuicMeta } from './meta.js';

/** Declared budgets of the QUIC dissector. */
export const QUIC_LIMITS = {
  /** Datagrams inspected per flow. */
  packetsPerFlow: 32,
  /** QUIC packets walked in one datagram (coalescing). */
  packetsPerDatagram: 8,
  /** CRYPTO stream bytes buffered to rebuild the ClientHello. */
  cryptoBytes: 65_536,
  /** Disjoint CRYPTO ranges held while reassembling. */
  cryptoRanges: 64,
  /** Frames walked in one decrypted Initial. */
  framesPerPacket: 512,
  /** ACK ranges accepted in one ACK frame. */
  ackRanges: 256,
  /** Initial token bytes accepted (tokens from Retry/NEW_TOKEN are ~100–300 bytes). */
  tokenBytes: 1024,
  /** Initial key sets derived per flow (first DCID, Retry DCID, one more). */
  keySets: 3,
  /** Versions kept from a Version Negotiation packet. */
  vnVersions: 16,
  /** Connection IDs remembered across flows (LRU). */
  cidTableEntries: 65_536,
  /** A remembered CID older than this does not link flows. */
  cidIdleSeconds: 600,
  /** Shortest CID used to link flows. */
  minLinkCidLength: 4,
  /** Flows remembered per connection. */
  flowsPerConnection: 16,
  /** gQUIC message entries parsed. */
  gquicEntries: 128,
  /** Bytes scanned for a gQUIC CHLO/REJ tag after the packet header. */
  gquicScanBytes: 96,
  /** Bytes kept of a gQUIC SNI/UAID value. */
  gquicValueBytes: 256,
  /** Client short headers needed by the port-443 heuristic. */
  shortHeaderHeuristicPackets: 3,
  /** Bytes of the DCID compared by the short-header heuristic (the shortest common server CID). */
  shortHeaderPrefix: 8,
  /** Reason-phrase bytes kept from a CONNECTION_CLOSE. */
  closeReasonBytes: 128,
} as const;

/** Strength of the evidence behind `detection` (a stronger one replaces a weaker one). */
const DETECTION_RANK: Readonly<Record<QuicDetection, number>> = { initial: 5, long_header: 4, migration: 3, gquic_rej: 2, short_header_heuristic: 1 };

const CH_PENDING = 0;
const CH_DONE = 1;
const CH_FAILED = 2;

/** Per-flow state (small; the CRYPTO buffer exists only while a ClientHello is being rebuilt). */
export class QuicState {
  packets = 0;
  clientDir: Direction = 0;
  dirKnown = false;
  confirmed = false;
  detection: QuicDetection = 'long_header';
  firstVersion = -1;
  lastClientVersion = -1;
  info: QuicVersionInfo | null = null;
  origDcid: Uint8Array | null = null;
  keys: InitialKeys[] = [];
  largestPn = -1;
  crypto: CryptoStream | null = null;
  chState = CH_PENDING;
  meta: QuicMeta = {
    version: 'unknown',
    versionName: 'unknown',
    detection: 'long_header',
    alpn: [],
    initialPackets: 0,
    packetsDecrypted: 0,
    coalesced: 0,
    zeroRtt: 0,
    retry: 0,
    retryFollowed: false,
    cryptoFrames: 0,
  };
  retryScid = '';
  /** Any server packet seen. */
  serverSeen = false;
  /** A server Initial/Handshake seen: its SCID (the CID of client short headers) is known. */
  serverCidSeen = false;
  conn: QuicConnection | null = null;
  readonly self: FlowRef;
  migratedFrom: FlowRef[] = [];
  shStage = 0;
  shPrefix: Uint8Array | null = null;
  shLast = -1;
  shFailed = false;
  gquicLegacy = false;

  constructor(ctx: DissectContext) {
    this.self = { uid: ctx.flow.uid, clientPort: ctx.flow.clientPort, serverPort: ctx.flow.serverPort };
  }
}

/** Options of a QUIC dissector instance (tests use a fresh instance per capture). */
export interface QuicDissectorOptions {
  limits?: Partial<Record<keyof typeof QUIC_LIMITS, number>>;
}

/** The dissector plus its cross-flow CID table (exposed for tests and metrics). */
export type QuicDissector = Dissector<QuicState, QuicMeta> & { readonly cids: CidTable };

/** Builds a QUIC dissector with its own connection-ID table. */
export function createQuicDissector(opts: QuicDissectorOptions = {}): QuicDissector {
  const L = { ...QUIC_LIMITS, ...opts.limits };
  const cids = new CidTable({ maxEntries: L.cidTableEntries, minLinkLength: L.minLinkCidLength, idleUs: L.cidIdleSeconds * 1e6 });
  const h = new PacketHeader();
  const scratch = Buffer.alloc(MAX_HEADER_COPY);
  const walk: FrameWalk = { frames: 0, cryptoFrames: 0, ping: 0, ack: 0, stop: '' };

  // The frame sink writes into the state of the flow being processed (set before each walk).
  let cur: QuicState | null = null;
  let curCtx: DissectContext | null = null;
  const sink: FrameSink = {
    crypto(offset, buf, off, len) {
      const s = cur!;
      if (s.chState !== CH_PENDING) return;
      s.crypto ??= new CryptoStream(L.cryptoBytes, L.cryptoRanges);
      const r = s.crypto.add(offset, buf, off, len);
      if (r === AddResult.BeyondLimit) curCtx!.count('limit.crypto_bytes');
      else if (r === AddResult.TooManyRanges) curCtx!.count('limit.crypto_ranges');
    },
    close(errorCode, frameType, reason) {
      const s = cur!;
      let text = '';
      const n = Math.min(reason.length, L.closeReasonBytes);
      for (let i = 0; i < n; i++) {
        const c = reason[i]!;
        text += c >= 0x20 && c < 0x7f ? String.fromCharCode(c) : '?';
      }
      s.meta.close ??= { errorCode, frameType, reason: text };
    },
  };

  function confirm(s: QuicState, how: QuicDetection): void {
    if (!s.confirmed || DETECTION_RANK[how] > DETECTION_RANK[s.detection]) s.detection = how;
    s.confirmed = true;
  }

  function noteVersion(s: QuicState, v: number, info: QuicVersionInfo, fromClient: boolean): void {
    if (fromClient) {
      // The client's first version wins (a server packet may have been captured first).
      if (s.lastClientVersion < 0) {
        s.firstVersion = v;
        s.info = info;
      } else if (v !== s.firstVersion) s.meta.finalVersion = versionHex(v);
      s.lastClientVersion = v;
    } else if (s.firstVersion < 0) {
      s.firstVersion = v;
      s.info = info;
    }
    if (s.conn) s.conn.version = s.firstVersion;
  }

  function connection(s: QuicState, tsUs: number): QuicConnection {
    if (!s.conn) {
      s.conn = new QuicConnection(L.flowsPerConnection);
      s.conn.addFlow(s.self);
      s.conn.version = s.firstVersion;
      shareHello(s);
    }
    s.conn.lastUs = tsUs;
    return s.conn;
  }

  function learnCid(s: QuicState, buf: Uint8Array, off: number, len: number, tsUs: number, ctx: DissectContext): void {
    if (len < L.minLinkCidLength || len > MAX_CID_LEN) return;
    if (cids.register(buf, off, len, connection(s, tsUs), tsUs)) ctx.count('limit.cid_table');
  }

  function keysFor(s: QuicState, info: QuicVersionInfo, dcid: Uint8Array, ctx: DissectContext): InitialKeys | undefined {
    const hex = hexOf(dcid, 0, dcid.length);
    for (const k of s.keys) if (k.dcidHex === hex && k.version === info.wire) return k;
    if (s.keys.length >= L.keySets) {
      ctx.count('limit.key_sets');
      return undefined;
    }
    const k = deriveClientInitialKeys(info, dcid, hex);
    if (k) s.keys.push(k);
    return k;
  }

  /** Decrypts a client Initial: keys of the first DCID (RFC 9001 §5.2), then of this packet's DCID (after Retry). */
  function clientInitial(s: QuicState, buf: Uint8Array, start: number, tsUs: number, ctx: DissectContext): void {
    const info = h.info;
    if (!info.salt || s.chState !== CH_PENDING) return;
    const dcid = buf.subarray(h.dcidOff, h.dcidOff + h.dcidLen);
    s.origDcid ??= Uint8Array.from(dcid);
    const first = keysFor(s, info, s.origDcid, ctx);
    let res = first ? decryptLongPacket(buf, start, h, first, s.largestPn, scratch) : undefined;
    if ((!res || !res.ok) && !equalBytes(dcid, s.origDcid)) {
      const k = keysFor(s, info, dcid, ctx);
      if (k) res = decryptLongPacket(buf, start, h, k, s.largestPn, scratch);
    }
    if (!res) return;
    if (!res.ok) {
      ctx.count(`malformed.${res.reason}`);
      return;
    }
    s.meta.packetsDecrypted++;
    if (res.value.packetNumber > s.largestPn) s.largestPn = res.value.packetNumber;
    cur = s;
    curCtx = ctx;
    walkInitialFrames(res.value.payload, sink, L.framesPerPacket, L.ackRanges, walk, info.gquicFrames);
    cur = null;
    curCtx = null;
    s.meta.cryptoFrames += walk.cryptoFrames;
    if (walk.stop) ctx.count(walk.stop.startsWith('limit.') ? walk.stop : `malformed.${walk.stop}`);
    confirm(s, 'initial');
    tryClientHello(s, info, tsUs, ctx);
    // Keys are only needed until the ClientHello is settled.
    if (s.chState !== CH_PENDING) s.keys.length = 0;
  }

  function tryClientHello(s: QuicState, info: QuicVersionInfo, tsUs: number, ctx: DissectContext): void {
    const c = s.crypto;
    if (!c || s.chState !== CH_PENDING) return;
    const have = c.contiguous;
    if (have < 4) return;
    const head = c.view(4);
    if (info.handshake === Handshake.GquicCrypto || head[0] !== 1) {
      // Q050: a gQUIC CHLO inside CRYPTO frames. Wait for its entries, parse what is there.
      const whole = c.view(have);
      if (findTag(whole, 0, 4, TAG_CHLO, 4) !== 0) {
        s.chState = CH_FAILED;
        ctx.count('malformed.crypto_not_client_hello');
        c.release();
        return;
      }
      const m = parseGquicMessage(whole, 0, whole.length, L.gquicEntries, L.gquicValueBytes);
      if (m.ok && m.value.truncated && have < L.cryptoBytes) return; // more CRYPTO data to come
      applyGquic(s, m);
      s.chState = m.ok ? CH_DONE : CH_FAILED;
      if (!m.ok) ctx.count(`${m.kind === 'limit' ? 'limit' : 'malformed'}.${m.reason}`);
      c.release();
      return;
    }
    const len = (head[1]! << 16) | (head[2]! << 8) | head[3]!;
    if (4 + len > L.cryptoBytes) {
      s.chState = CH_FAILED;
      ctx.count('limit.client_hello_bytes');
      c.release();
      return;
    }
    if (have < 4 + len) return;
    const r = parseClientHelloMessage(c.view(4 + len));
    if (!r.ok) {
      s.chState = CH_FAILED;
      ctx.count(`malformed.${r.reason}`);
      c.release();
      return;
    }
    const ch = r.value;
    const m = s.meta;
    if (ch.sni !== undefined) m.sni = ch.sni;
    m.alpn = ch.alpn.slice();
    const j4 = ja4(ch, 'q');
    m.ja4 = j4.ja4;
    m.ja4r = j4.ja4_r;
    const j3 = ja3(ch);
    m.ja3 = j3.md5;
    m.ja3String = j3.string;
    m.clientHelloBytes = len;
    s.chState = CH_DONE;
    shareHello(s);
    const ev: Record<string, unknown> = { version: versionHex(info.wire), alpn: m.alpn, ja4: m.ja4 };
    if (m.sni !== undefined) ev.sni = m.sni;
    ctx.emit('quic.client_hello', tsUs, ev);
    c.release();
    s.crypto = null;
  }

  /** Lets later flows of the connection report the SNI/ALPN/JA4 of this flow's ClientHello. */
  function shareHello(s: QuicState): void {
    const m = s.meta;
    if (!s.conn || s.chState !== CH_DONE || s.migratedFrom.length > 0) return;
    const hello: { sni?: string; alpn: string[]; ja4?: string } = { alpn: m.alpn };
    if (m.sni !== undefined) hello.sni = m.sni;
    if (m.ja4 !== undefined) hello.ja4 = m.ja4;
    s.conn.hello = hello;
  }

  function applyGquic(s: QuicState, m: ReturnType<typeof parseGquicMessage>): void {
    if (!m.ok) return;
    if (m.value.sni !== undefined) s.meta.sni = m.value.sni;
    if (m.value.userAgent !== undefined) s.meta.userAgent = m.value.userAgent;
  }

  /** Clear-text gQUIC (≤ Q046): look for the CHLO (client) or REJ (server) after the header. */
  function gquicClearText(s: QuicState, buf: Uint8Array, from: number, end: number, fromClient: boolean, ctx: DissectContext): void {
    if (fromClient) {
      if (s.chState !== CH_PENDING) return;
      const at = findTag(buf, from, end, TAG_CHLO, L.gquicScanBytes);
      if (at < 0) return;
      const m = parseGquicMessage(buf, at, end, L.gquicEntries, L.gquicValueBytes);
      if (!m.ok) {
        ctx.count(`${m.kind === 'limit' ? 'limit' : 'malformed'}.${m.reason}`);
        s.chState = CH_FAILED;
        return;
      }
      applyGquic(s, m);
      s.chState = CH_DONE;
      confirm(s, 'initial');
    } else if (findTag(buf, from, end, TAG_REJ, L.gquicScanBytes) >= 0) {
      confirm(s, 'gquic_rej');
    }
  }

  function longPacket(s: QuicState, dir: Direction, buf: Uint8Array, start: number, tsUs: number, ctx: DissectContext): void {
    const info = h.info;
    const v = h.version;
    const type = h.type;
    if (!s.dirKnown) {
      // Version Negotiation and Retry only come from servers.
      if (v === 0 || type === PT_RETRY) s.clientDir = (1 - dir) as Direction;
      else s.clientDir = dir;
      s.dirKnown = true;
    }
    const fromClient = dir === s.clientDir;
    if (!fromClient) s.serverSeen = true;
    if (v === 0) {
      if (!plausibleVn(buf, start, h.end)) {
        ctx.count('malformed.version_negotiation');
        return;
      }
      // RFC 9000 §17.2.1: the supported versions follow the CIDs.
      const n = Math.min(h.vnCount, L.vnVersions);
      if (h.vnCount > L.vnVersions) ctx.count('limit.vn_versions');
      const list: string[] = [];
      for (let i = 0; i < n; i++) {
        const p = h.vnOff + i * 4;
        list.push(versionHex((buf[p]! << 24) | (buf[p + 1]! << 16) | (buf[p + 2]! << 8) | buf[p + 3]!));
      }
      s.meta.versionNegotiation = list;
      if (s.firstVersion < 0) {
        s.firstVersion = 0;
        s.info = info;
      }
      confirm(s, 'long_header');
      return;
    }
    if (!info.known && !isForcingVn(v)) {
      ctx.count('malformed.unknown_version');
      return;
    }
    noteVersion(s, v, info, fromClient);
    confirm(s, 'long_header');
    if (info.layout === Layout.Q046) {
      s.gquicLegacy = true;
      const pnLen = (h.firstByte & 3) + 1;
      gquicClearText(s, buf, h.pnOffset + pnLen, h.end, fromClient, ctx);
      return;
    }
    // Learn the CIDs that will appear as short-header DCIDs.
    if (h.scidLen > 0) {
      const hex = hexOf(buf, h.scidOff, h.scidLen);
      if (fromClient) s.meta.scid ??= hex;
      else if (type !== PT_RETRY) s.meta.serverCid = hex;
      learnCid(s, buf, h.scidOff, h.scidLen, tsUs, ctx);
    }
    if (fromClient) {
      if (type === PT_INITIAL) {
        s.meta.initialPackets++;
        const dcidHex = hexOf(buf, h.dcidOff, h.dcidLen);
        s.meta.dcid ??= dcidHex;
        if (s.retryScid && dcidHex === s.retryScid) s.meta.retryFollowed = true;
        clientInitial(s, buf, start, tsUs, ctx);
      } else if (type === PT_0RTT) s.meta.zeroRtt++;
    } else if (type === PT_RETRY) {
      s.meta.retry++;
      s.retryScid = hexOf(buf, h.scidOff, h.scidLen);
      ctx.emit('quic.retry', tsUs, { version: versionHex(v) });
    } else if (type === PT_HANDSHAKE || type === PT_INITIAL) {
      s.serverCidSeen = true;
    }
  }

  function shortPacket(s: QuicState, dir: Direction, buf: Uint8Array, start: number, end: number, tsUs: number, ctx: DissectContext): void {
    if (!s.conn) {
      const hit = cids.lookupShort(buf, start + 1, end, tsUs);
      if (hit && !hit.conn.flows.some((f) => f.uid === s.self.uid)) {
        const prev = hit.conn.flows.slice();
        s.migratedFrom = prev;
        if (!hit.conn.addFlow(s.self)) ctx.count('limit.flows_per_connection');
        s.conn = hit.conn;
        hit.conn.lastUs = tsUs;
        if (s.firstVersion < 0 && hit.conn.version >= 0) {
          s.firstVersion = hit.conn.version;
          s.info = quicVersion(hit.conn.version);
        }
        confirm(s, 'migration');
        ctx.emit('quic.migration', tsUs, { from: prev.map((f) => f.uid), cid: hit.cid });
        return;
      }
    }
    if (s.confirmed || s.shFailed) return;
    // nDPI-style fallback for captures without any long header: the side talking to 443 is the
    // client; its short headers keep one DCID (≥ 8 bytes for common servers) while the encrypted
    // bytes change.
    const toServer443 = dir === 0 ? s.self.serverPort === 443 : s.self.clientPort === 443;
    if (!toServer443) return;
    const n = L.shortHeaderPrefix;
    if (end - start < 1 + n + 1) return;
    const last = buf[end - 1]!;
    if (!s.shPrefix) {
      s.shPrefix = buf.slice(start + 1, start + 1 + n);
      s.shStage = 1;
      s.shLast = last;
      return;
    }
    for (let i = 0; i < n; i++) {
      if (s.shPrefix[i] !== buf[start + 1 + i]) {
        s.shFailed = true;
        return;
      }
    }
    if (last === s.shLast) {
      s.shFailed = true;
      return;
    }
    s.shLast = last;
    if (++s.shStage >= L.shortHeaderHeuristicPackets) confirm(s, 'short_header_heuristic');
  }

  function done(s: QuicState): boolean {
    if (!s.confirmed) return false;
    if (s.detection === 'migration' || s.detection === 'short_header_heuristic' || s.detection === 'gquic_rej') return true;
    // Keep watching until the ClientHello is settled and the server's CID is learned (a Retry or
    // Version Negotiation is not the answer yet: a new Initial follows).
    return s.chState !== CH_PENDING && (s.serverCidSeen || (s.gquicLegacy && s.serverSeen));
  }

  const dissector: QuicDissector = {
    name: 'quic',
    transports: ['udp'],
    limits: L,
    cids,

    probe(buf, off, len, _dir, ctx) {
      if (len < 1) return false;
      const b0 = buf[off]!;
      if (b0 & 0x80) {
        if (len < 7) return false;
        const v = ((buf[off + 1]! << 24) | (buf[off + 2]! << 16) | (buf[off + 3]! << 8) | buf[off + 4]!) >>> 0;
        const info = quicVersion(v);
        if (!info.known && !isForcingVn(v)) return false;
        if (v === 0) return plausibleVn(buf, off, off + len);
        if (info.layout === Layout.Q046) return true;
        const dl = buf[off + 5]!;
        if (dl > MAX_CID_LEN || len < 7 + dl) return false;
        return buf[off + 6 + dl]! <= MAX_CID_LEN;
      }
      // Short header (fixed bit possibly greased, RFC 9287) whose DCID is a CID we know: migration.
      if (cids.knowsShort(buf, off + 1, off + len)) return true;
      if ((b0 & 0x40) === 0) {
        // gQUIC public header: client packet with CID + version, or a server REJ.
        if ((b0 & 0x09) === 0x09 && len >= 13) {
          const v = ((buf[off + 9]! << 24) | (buf[off + 10]! << 16) | (buf[off + 11]! << 8) | buf[off + 12]!) >>> 0;
          return isGquicTag(v) && quicVersion(v).layout === Layout.LegacyGquic;
        }
        if (b0 === 0x08 && len >= 1 + 8 + 1 + 12 + 16) return findTag(buf, off + 22, off + len, TAG_REJ, 16) >= 0;
        return false;
      }
      // Short header to/from 443: the nDPI-style heuristic decides later.
      return ctx.flow.serverPort === 443 || ctx.flow.clientPort === 443;
    },

    create(ctx) {
      return new QuicState(ctx);
    },

    payload(s, dir, buf, off, len, tsUs, ctx) {
      if (++s.packets > L.packetsPerFlow) {
        ctx.count('limit.packets_per_flow');
        return s.confirmed ? Verdict.Done : Verdict.Reject;
      }
      const end = off + len;
      let p = off;
      let n = 0;
      while (p < end) {
        if (n >= L.packetsPerDatagram) {
          ctx.count('limit.packets_per_datagram');
          break;
        }
        const b0 = buf[p]!;
        if (b0 & 0x80) {
          const fail = parseLongHeader(buf, p, end, h, L.tokenBytes);
          if (fail) {
            ctx.count(`malformed.${fail.reason}`);
            break;
          }
          n++;
          longPacket(s, dir, buf, p, tsUs, ctx);
          if (h.end <= p) break; // cannot happen (header ≥ 7 bytes), keeps the loop provably bounded
          p = h.end;
          continue;
        }
        // RFC 9287 lets peers grease the fixed bit (0x40), so on a flow known to be IETF QUIC any
        // header without 0x80 is a short header.
        if (b0 & 0x40 || (s.info !== null && !s.gquicLegacy && s.info.layout === Layout.Ietf) || (!s.gquicLegacy && cids.knowsShort(buf, p + 1, end))) {
          n++;
          shortPacket(s, dir, buf, p, end, tsUs, ctx);
        } else if (n === 0 && b0 !== 0) {
          const fail = parseLegacyGquicHeader(buf, p, end, h);
          if (!fail) {
            n++;
            // Only client packets carry the version during the handshake (server packets never do).
            const fromClient = h.version !== 0 || (s.dirKnown && dir === s.clientDir);
            if (!s.dirKnown && fromClient) {
              s.clientDir = dir;
              s.dirKnown = true;
            }
            if (fromClient) {
              noteVersion(s, h.version, h.info, true);
              s.gquicLegacy = true;
              confirm(s, 'long_header');
            } else s.serverSeen = true;
            const pnBits = (h.firstByte >> 4) & 3;
            const pnLen = pnBits === 0 ? 1 : pnBits === 1 ? 2 : pnBits === 2 ? 4 : 6;
            gquicClearText(s, buf, h.pnOffset + pnLen, end, fromClient, ctx);
          }
        }
        break; // short headers and gQUIC public headers run to the end of the datagram
      }
      if (n > 1) s.meta.coalesced++;
      if (s.shFailed && !s.confirmed) return Verdict.Reject;
      return done(s) ? Verdict.Done : Verdict.More;
    },

    finish(s, record: FlowRecord) {
      // Addresses become known here; flows linked later (or earlier) share this ref.
      s.self.clientIp = record.client.ip;
      s.self.serverIp = record.server.ip;
      if (!s.confirmed) return undefined;
      const m = s.meta;
      m.detection = s.detection;
      if (s.firstVersion >= 0) {
        m.version = versionHex(s.firstVersion);
        m.versionName = (s.info ?? quicVersion(s.firstVersion)).name;
      }
      if (s.migratedFrom.length > 0) {
        const from: QuicMigrationFrom[] = s.migratedFrom.map(migrationFrom);
        m.migrations = { count: from.length, from };
        // The migrated flow carries no handshake: report the connection's (marked by detection=migration).
        const hello = s.conn?.hello;
        if (hello && m.sni === undefined && m.ja4 === undefined) {
          if (hello.sni !== undefined) m.sni = hello.sni;
          if (hello.ja4 !== undefined) m.ja4 = hello.ja4;
          m.alpn = hello.alpn.slice();
        }
      }
      if (s.conn) {
        const idx = s.conn.flows.findIndex((f) => f.uid === s.self.uid);
        const later = s.conn.flows.slice(idx + 1).map((f) => f.uid);
        if (idx >= 0 && later.length > 0) m.migratedTo = later;
      }
      // A fresh object each time: interim records must not share mutable state with the flow.
      return { ...m, alpn: m.alpn.slice() };
    },

    appProtocol() {
      return 'quic';
    },

    ecs: quicEcs,
  };
  return dissector;
}

/**
 * A Version Negotiation packet worth believing: CIDs of at most 20 bytes (they echo a v1/v2
 * client's), a non-empty list of whole 4-byte versions, and at least one version we know among
 * the first 16 (random UDP with a high first bit and four zero bytes is not rare).
 */
function plausibleVn(buf: Uint8Array, off: number, end: number): boolean {
  if (end - off < 7) return false;
  const dl = buf[off + 5]!;
  if (dl > MAX_CID_LEN || off + 6 + dl >= end) return false;
  const sl = buf[off + 6 + dl]!;
  const list = off + 7 + dl + sl;
  if (sl > MAX_CID_LEN || list >= end || (end - list) % 4 !== 0) return false;
  const n = Math.min((end - list) / 4, 16);
  for (let i = 0; i < n; i++) {
    const p = list + i * 4;
    const v = ((buf[p]! << 24) | (buf[p + 1]! << 16) | (buf[p + 2]! << 8) | buf[p + 3]!) >>> 0;
    if (v !== 0 && quicVersion(v).known) return true;
  }
  return false;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The registered instance (one CID table for the process). */
export const quicDissector = createQuicDissector();
