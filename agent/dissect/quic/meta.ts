import type { FlowRef } from './cid-table.js';

/** How a flow was recognised as QUIC (strongest evidence first). */
export type QuicDetection =
  | 'initial' // a client Initial decrypted (or a clear-text gQUIC CHLO parsed)
  | 'long_header' // long headers of a known version, nothing decrypted
  | 'migration' // short headers whose DCID belongs to a connection seen on another flow
  | 'gquic_rej' // gQUIC server REJ message (server-only captures)
  | 'short_header_heuristic'; // ≥ 3 client short headers to port 443 with one stable DCID prefix

/** A previous flow of the same connection (connection migration / NAT rebinding). */
export interface QuicMigrationFrom {
  uid: string;
  clientPort: number;
  serverPort: number;
  clientIp?: string;
  serverIp?: string;
}

/** What the QUIC dissector puts on a flow record (`record.app.quic`). */
export interface QuicMeta {
  /** Wire version of the client's first long header, `0x00000001`; `unknown` when none was seen. */
  version: string;
  /** `v1`, `v2`, `draft-29`, `mvfst-faceb002`, `Q046`, `T050`, `forcing-vn`, `unknown`... */
  versionName: string;
  /** The client's later version when it changed (after Version Negotiation). */
  finalVersion?: string;
  detection: QuicDetection;
  sni?: string;
  alpn: string[];
  ja4?: string;
  ja4r?: string;
  /** JA3 MD5 and its clear string. */
  ja3?: string;
  ja3String?: string;
  /** gQUIC CHLO user agent (`UAID`). */
  userAgent?: string;
  /** DCID of the client's first Initial, hex. */
  dcid?: string;
  /** Client's SCID, hex (the DCID of server → client short headers). */
  scid?: string;
  /** Server's SCID, hex (the DCID of client → server short headers). */
  serverCid?: string;
  /** Client Initial packets seen / decrypted. */
  initialPackets: number;
  packetsDecrypted: number;
  /** Datagrams carrying more than one QUIC packet. */
  coalesced: number;
  /** 0-RTT packets sent by the client. */
  zeroRtt: number;
  /** Retry packets sent by the server. */
  retry: number;
  /** The client re-sent its Initial with the Retry's SCID as DCID. */
  retryFollowed: boolean;
  /** Versions offered in Version Negotiation packets (hex), when one was seen. */
  versionNegotiation?: string[];
  /** Length of the ClientHello (handshake body) reassembled from CRYPTO frames. */
  clientHelloBytes?: number;
  cryptoFrames: number;
  /** CONNECTION_CLOSE seen in an Initial. */
  close?: { errorCode: number; frameType: number; reason: string };
  /** Earlier flows of this connection (this flow is the migrated one). */
  migrations?: { count: number; from: QuicMigrationFrom[] };
  /** Later flows this connection moved to, when known when this record was built. */
  migratedTo?: string[];
}

/** Copies a FlowRef into the record form (the shared ref may still be updated later). */
export function migrationFrom(r: FlowRef): QuicMigrationFrom {
  const m: QuicMigrationFrom = { uid: r.uid, clientPort: r.clientPort, serverPort: r.serverPort };
  if (r.clientIp !== undefined) m.clientIp = r.clientIp;
  if (r.serverIp !== undefined) m.serverIp = r.serverIp;
  return m;
}

/** ECS form: TLS facts under `tls.client.*`, the rest under `picket.quic.*`. */
export function quicEcs(m: QuicMeta): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const client: Record<string, unknown> = {};
  if (m.sni !== undefined) client.server_name = m.sni;
  if (m.ja4 !== undefined) client.ja4 = m.ja4;
  if (m.ja3 !== undefined) client.ja3 = m.ja3;
  if (Object.keys(client).length > 0) out.tls = { client };
  if (m.userAgent !== undefined) out.user_agent = { original: m.userAgent };
  const q: Record<string, unknown> = {
    version: m.version,
    version_name: m.versionName,
    detection: m.detection,
    alpn: m.alpn,
    initial_packets: m.initialPackets,
    packets_decrypted: m.packetsDecrypted,
    coalesced: m.coalesced,
    zero_rtt: m.zeroRtt,
    retry: m.retry,
    crypto_frames: m.cryptoFrames,
  };
  if (m.finalVersion !== undefined) q.final_version = m.finalVersion;
  if (m.ja4r !== undefined) q.ja4_r = m.ja4r;
  if (m.ja3String !== undefined) q.ja3_string = m.ja3String;
  if (m.dcid !== undefined) q.dcid = m.dcid;
  if (m.scid !== undefined) q.scid = m.scid;
  if (m.serverCid !== undefined) q.server_cid = m.serverCid;
  if (m.retryFollowed) q.retry_followed = true;
  if (m.versionNegotiation !== undefined) q.version_negotiation = { versions: m.versionNegotiation };
  if (m.clientHelloBytes !== undefined) q.client_hello_bytes = m.clientHelloBytes;
  if (m.close !== undefined) q.close = { error_code: m.close.errorCode, frame_type: m.close.frameType, reason: m.close.reason };
  if (m.migrations !== undefined) {
    q.migrations = {
      count: m.migrations.count,
      from: m.migrations.from.map((f) => ({
        uid: f.uid,
        client: f.clientIp !== undefined ? { ip: f.clientIp, port: f.clientPort } : { port: f.clientPort },
        server: f.serverIp !== undefined ? { ip: f.serverIp, port: f.serverPort } : { port: f.serverPort },
      })),
    };
  }
  if (m.migratedTo !== undefined) q.migrated_to = m.migratedTo;
  out.picket = { quic: q };
  return out;
}
