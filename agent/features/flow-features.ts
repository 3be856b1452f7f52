/**
 * Per-flow feature vectors: a FlowRecord (+ the dissectors' metadata in `record.app`) becomes a
 * Float64Array laid out as FEATURE_SPECS (feature-schema.ts). L7 families are NaN when their
 * dissector said nothing (and always for NetFlow records); the Isolation Forest treats NaN as
 * "below every split" (see detect/iforest/README.md).
 *
 * One extractor per stream of records: the host-context features and "fingerprint seen before"
 * depend on the records that came earlier, so training and scoring must feed records through
 * an extractor in capture order (the anomaly detector owns one). Cost: a few hundred ns per
 * flow; no allocation beyond what reading metadata strings needs.
 */
import type { FlowRecord } from '../flow/flow-record.js';
import type { TlsMeta } from '../dissect/tls/meta.js';
import type { DnsMeta } from '../dissect/dns/meta.js';
import type { QuicMeta } from '../dissect/quic/meta.js';
import type { HttpMeta } from '../dissect/http/index.js';
import type { Http2Meta } from '../dissect/http2/index.js';
import type { WebSocketMeta } from '../dissect/websocket/index.js';
import type { RmmMeta } from '../dissect/rmm/index.js';
import { ZoneMap, type ZoneConfig, type ZoneName } from '../util/zones.js';
import {
  addressQueryType, certMatchesSni, DEFAULT_KNOWN_BAD_JA3, DEFAULT_KNOWN_BAD_JA4, DEFAULT_SUSPICIOUS_PORTS, rareMethod,
  riskyContentType, SeenSet, tunnelQueryType, uaClass, UaClass,
} from './classifiers.js';
import { FEATURE_COUNT, featureIndex } from './feature-schema.js';
import { HostContext, type HostContextConfig, type HostCounts } from './host-context.js';

export interface FeatureConfig {
  /** Zones (default RFC 1918 & co = trust); or a ZoneMap shared with the detectors. */
  zones?: ZoneConfig | ZoneMap;
  suspiciousPorts?: readonly number[];
  knownBadJa3?: readonly string[];
  knownBadJa4?: readonly string[];
  /** Host-context window and LRU size. */
  host?: Partial<HostContextConfig>;
  /** TLS fingerprints remembered for `tls.fp_unseen` (default 4096). */
  seenFingerprints?: number;
}

/** What an extractor holds, for memory reports. */
export interface FeatureState {
  hosts: number;
  hostCapacity: number;
  hostEvictions: number;
  fingerprints: number;
  bytes: number;
}

const RMM_LONG_US = 8 * 3600e6;
const MS = 1e3;

// Slot indices, resolved once by name so the schema list stays the only place that orders them.
const I = {
  bytesOut: featureIndex('bytes_out_log'),
  bytesIn: featureIndex('bytes_in_log'),
  pktsOut: featureIndex('packets_out_log'),
  pktsIn: featureIndex('packets_in_log'),
  duration: featureIndex('duration_log'),
  bps: featureIndex('bytes_per_s_log'),
  pps: featureIndex('packets_per_s_log'),
  bppOut: featureIndex('bytes_per_packet_out'),
  bppIn: featureIndex('bytes_per_packet_in'),
  byteShare: featureIndex('sent_byte_share'),
  pktShare: featureIndex('sent_packet_share'),
  ratio: featureIndex('bytes_ratio_log'),
  oneWay: featureIndex('one_way'),
  portWellKnown: featureIndex('dst_port_well_known'),
  portSuspicious: featureIndex('dst_port_suspicious'),
  portHigh: featureIndex('dst_port_high'),
  srcPortLow: featureIndex('src_port_low'),
  tcp: featureIndex('proto_tcp'),
  udp: featureIndex('proto_udp'),
  icmp: featureIndex('proto_icmp'),
  handshake: featureIndex('tcp_handshake'),
  rst: featureIndex('tcp_rst'),
  retrans: featureIndex('tcp_retransmit_share'),
  iat: featureIndex('iat_mean_out_log'),
  sizeStd: featureIndex('pkt_size_std_out'),
  uaMissing: featureIndex('http.ua_missing'),
  uaScript: featureIndex('http.ua_script'),
  uaBrowser: featureIndex('http.ua_browser'),
  get: featureIndex('http.method_get'),
  post: featureIndex('http.method_post'),
  rareMethod: featureIndex('http.method_rare'),
  status: featureIndex('http.status_class'),
  httpErr: featureIndex('http.error_share'),
  risky: featureIndex('http.risky_content_type'),
  requests: featureIndex('http.requests_log'),
  qAddr: featureIndex('dns.qtype_address'),
  qTunnel: featureIndex('dns.qtype_tunnel'),
  entropy: featureIndex('dns.name_entropy'),
  labels: featureIndex('dns.label_count'),
  nameLen: featureIndex('dns.name_length'),
  digits: featureIndex('dns.digit_ratio'),
  respSize: featureIndex('dns.response_size_log'),
  nx: featureIndex('dns.nxdomain_share'),
  txt: featureIndex('dns.txt_bytes_log'),
  queries: featureIndex('dns.queries_log'),
  names: featureIndex('dns.distinct_names_log'),
  tlsVersion: featureIndex('tls.version'),
  sniMissing: featureIndex('tls.sni_missing'),
  fpBad: featureIndex('tls.fp_known_bad'),
  fpUnseen: featureIndex('tls.fp_unseen'),
  certValid: featureIndex('tls.cert_valid'),
  selfSigned: featureIndex('tls.cert_self_signed'),
  expired: featureIndex('tls.cert_expired'),
  certAge: featureIndex('tls.cert_age_days_log'),
  certValidity: featureIndex('tls.cert_validity_days_log'),
  sniMismatch: featureIndex('tls.sni_mismatch'),
  fatal: featureIndex('tls.fatal_alert'),
  quicStd: featureIndex('quic.version_standard'),
  quicG: featureIndex('quic.version_gquic'),
  zeroRtt: featureIndex('quic.zero_rtt_log'),
  migrations: featureIndex('quic.migrations'),
  quicSni: featureIndex('quic.sni_missing'),
  callType: featureIndex('grpc.call_type'),
  grpcErr: featureIndex('grpc.error_share'),
  calls: featureIndex('grpc.calls_log'),
  maxMsg: featureIndex('grpc.max_message_log'),
  msgRatio: featureIndex('grpc.message_size_ratio_log'),
  wsRate: featureIndex('ws.frame_rate_log'),
  wsEntropy: featureIndex('ws.payload_entropy'),
  wsBinary: featureIndex('ws.binary_ratio'),
  wsFrames: featureIndex('ws.frames_log'),
  rmmTool: featureIndex('rmm.tool'),
  rmmDuration: featureIndex('rmm.duration_risk'),
  rmmZone: featureIndex('rmm.zone_anomaly'),
  rmmTargets: featureIndex('rmm.multi_target_log'),
  srcInternal: featureIndex('zone.src_internal'),
  dstInternal: featureIndex('zone.dst_internal'),
  srcGuest: featureIndex('zone.src_guest'),
  transition: featureIndex('zone.transition'),
  inbound: featureIndex('zone.external_inbound'),
  lateral: featureIndex('zone.internal_lateral'),
  outbound: featureIndex('zone.outbound'),
  hostDsts: featureIndex('host.src_distinct_dsts_log'),
  hostPorts: featureIndex('host.src_distinct_ports_log'),
  hostSrcs: featureIndex('host.dst_distinct_srcs_log'),
  hostFlows: featureIndex('host.src_flows_log'),
} as const;

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj | undefined => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : undefined);
const bit = (b: boolean): number => (b ? 1 : 0);
const log1p = Math.log1p;
const fin = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : NaN);

/** Versions the TLS dissector reports as "1.2" etc. → 12; SSL 3.0 → 3. */
function tlsVersionNumber(code: number | undefined): number {
  if (code === undefined) return NaN;
  if (code === 0x0300) return 3;
  if (code >= 0x0301 && code <= 0x0304) return 10 + (code - 0x0301);
  return NaN;
}

export class FeatureExtractor {
  readonly zones: ZoneMap;
  private readonly suspicious: Uint8Array;
  private readonly badJa3: ReadonlySet<string>;
  private readonly badJa4: ReadonlySet<string>;
  private readonly seen: SeenSet;
  private readonly hosts: HostContext;
  private readonly counts: HostCounts = { srcDistinctDsts: 0, srcDistinctPorts: 0, srcRmmTargets: 0, srcFlows: 0, dstDistinctSrcs: 0 };
  /** The row returned by `extract` when the caller gives none (overwritten by the next call). */
  private readonly row = new Float64Array(FEATURE_COUNT);

  constructor(cfg: FeatureConfig = {}) {
    this.zones = cfg.zones instanceof ZoneMap ? cfg.zones : new ZoneMap(cfg.zones ?? {});
    this.suspicious = new Uint8Array(65536);
    for (const p of cfg.suspiciousPorts ?? DEFAULT_SUSPICIOUS_PORTS) if (Number.isInteger(p) && p >= 0 && p < 65536) this.suspicious[p] = 1;
    this.badJa3 = new Set((cfg.knownBadJa3 ?? DEFAULT_KNOWN_BAD_JA3).map((s) => s.toLowerCase()));
    this.badJa4 = new Set((cfg.knownBadJa4 ?? DEFAULT_KNOWN_BAD_JA4).map((s) => s.toLowerCase()));
    this.seen = new SeenSet(cfg.seenFingerprints ?? 4096);
    this.hosts = new HostContext(cfg.host ?? {});
  }

  /**
   * The feature vector of one record. Writes into `out` when given (length ≥ FEATURE_COUNT),
   * else into a row owned by the extractor that the next call overwrites. Zones may be passed
   * when the caller already classified the endpoints.
   */
  extract(r: FlowRecord, zones?: { client: ZoneName; server: ZoneName }, out: Float64Array = this.row): Float64Array {
    const x = out;
    x.fill(NaN, 0, FEATURE_COUNT);
    const clientZone = zones?.client ?? this.zones.zoneOf(r.client.ip);
    const serverZone = zones?.server ?? this.zones.zoneOf(r.server.ip);
    const rmm = obj(r.app['rmm']) as RmmMeta | undefined;
    this.l4(r, x);
    this.zone(clientZone, serverZone, x);
    const app = r.app;
    const http = obj(app['http']) as HttpMeta | undefined;
    const h2 = obj(app['http2']) as Http2Meta | undefined;
    if (http || h2) this.http(http, h2, x);
    const dns = obj(app['dns']) as DnsMeta | undefined;
    if (dns) this.dns(dns, x);
    const tls = obj(app['tls']) as TlsMeta | undefined;
    if (tls) this.tls(tls, r.startUs, x);
    const quic = obj(app['quic']) as QuicMeta | undefined;
    if (quic) this.quic(quic, x);
    if (h2 && Array.isArray(h2.grpcCalls) && h2.grpcCalls.length > 0) this.grpc(h2, x);
    const ws = obj(app['websocket']) as WebSocketMeta | undefined;
    if (ws) this.websocket(ws, x);
    const isRmm = rmm !== undefined && typeof rmm.tool === 'string';
    this.hosts.observe(r.client.ip, r.server.ip, r.server.port, r.protocol, r.endUs, isRmm, this.counts);
    const c = this.counts;
    x[I.hostDsts] = log1p(c.srcDistinctDsts);
    x[I.hostPorts] = log1p(c.srcDistinctPorts);
    x[I.hostSrcs] = log1p(c.dstDistinctSrcs);
    x[I.hostFlows] = log1p(c.srcFlows);
    if (r.origin === 'packets') x[I.rmmTool] = bit(isRmm);
    if (isRmm) {
      x[I.rmmDuration] = Math.min(1, Math.max(0, r.endUs - r.startUs) / RMM_LONG_US);
      x[I.rmmZone] = bit(clientZone === 'untrust' || clientZone === 'guest');
      x[I.rmmTargets] = log1p(c.srcRmmTargets);
    }
    return x;
  }

  /** Hosts and fingerprints held, for memory reports. */
  state(): FeatureState {
    const h = this.hosts.size();
    return { hosts: h.entries, hostCapacity: h.capacity, hostEvictions: h.evictions, fingerprints: this.seen.size, bytes: h.bytes + this.seen.size * 120 + 65536 };
  }

  private l4(r: FlowRecord, x: Float64Array): void {
    const out = r.c2s;
    const inn = r.s2c;
    const bytes = out.bytes + inn.bytes;
    const packets = out.packets + inn.packets;
    const durUs = Math.max(0, r.endUs - r.startUs);
    const durS = Math.max(durUs / 1e6, 1e-3);
    x[I.bytesOut] = log1p(out.bytes);
    x[I.bytesIn] = log1p(inn.bytes);
    x[I.pktsOut] = log1p(out.packets);
    x[I.pktsIn] = log1p(inn.packets);
    x[I.duration] = log1p(durUs / MS);
    x[I.bps] = log1p(bytes / durS);
    x[I.pps] = log1p(packets / durS);
    x[I.bppOut] = out.packets > 0 ? out.bytes / out.packets : 0;
    x[I.bppIn] = inn.packets > 0 ? inn.bytes / inn.packets : 0;
    x[I.byteShare] = bytes > 0 ? out.bytes / bytes : 0;
    x[I.pktShare] = packets > 0 ? out.packets / packets : 0;
    x[I.ratio] = Math.log((1 + out.bytes) / (1 + inn.bytes));
    x[I.oneWay] = bit(inn.packets === 0);
    const port = r.server.port;
    x[I.portWellKnown] = bit(port > 0 && port < 1024);
    x[I.portSuspicious] = this.suspicious[port & 0xffff]!;
    x[I.portHigh] = bit(port >= 49152);
    x[I.srcPortLow] = bit(r.client.port > 0 && r.client.port < 1024);
    const p = r.protocol;
    x[I.tcp] = bit(p === 6);
    x[I.udp] = bit(p === 17);
    x[I.icmp] = bit(p === 1 || p === 58);
    if (p === 6) {
      const t = r.tcp;
      if (t) {
        x[I.handshake] = bit(t.handshake);
        x[I.rst] = bit(t.rstClient || t.rstServer);
        if (r.origin === 'packets' && packets > 0) x[I.retrans] = Math.min(1, t.retransmits / packets);
      } else if (out.tcpFlags) {
        // NetFlow: flags only.
        const fl = out.tcpFlags;
        const fr = inn.tcpFlags;
        x[I.handshake] = bit(fl.syn > 0 && (fr?.syn ?? 0) > 0 && fl.ack > 0);
        x[I.rst] = bit(fl.rst > 0 || (fr?.rst ?? 0) > 0);
      }
    }
    if (out.iat) x[I.iat] = log1p(Math.max(0, out.iat.mean) / MS);
    if (out.size) x[I.sizeStd] = out.size.stddev;
  }

  private zone(client: ZoneName, server: ZoneName, x: Float64Array): void {
    const ci = client !== 'untrust';
    const si = server !== 'untrust';
    x[I.srcInternal] = bit(ci);
    x[I.dstInternal] = bit(si);
    x[I.srcGuest] = bit(client === 'guest');
    x[I.transition] = bit(client !== server);
    x[I.inbound] = bit(!ci && si);
    x[I.lateral] = bit(ci && si);
    x[I.outbound] = bit(ci && !si);
  }

  private http(http: HttpMeta | undefined, h2: Http2Meta | undefined, x: Float64Array): void {
    let ua: string | undefined;
    let method: string | undefined;
    let status: number | undefined;
    let responses = 0;
    let errors = 0;
    let requests = 0;
    let rare = false;
    let risky = false;
    const txs = http && Array.isArray(http.transactions) ? http.transactions : [];
    const reqs = h2 && Array.isArray(h2.requests) ? h2.requests : [];
    if (txs.length === 0 && reqs.length === 0) {
      if (!http) return; // an HTTP/2 connection with no request seen says nothing about HTTP
    }
    for (let i = 0; i < txs.length && i < 64; i++) {
      const tx = txs[i]!;
      if (i === 0) {
        ua = typeof tx.userAgent === 'string' ? tx.userAgent : undefined;
        method = tx.method;
        status = tx.status;
      }
      if (rareMethod(tx.method)) rare = true;
      if (riskyContentType(tx.responseContentType)) risky = true;
    }
    for (let i = 0; i < reqs.length && i < 64; i++) {
      const rq = reqs[i]!;
      if (txs.length === 0 && i === 0) {
        ua = typeof rq.userAgent === 'string' ? rq.userAgent : undefined;
        method = rq.method;
        status = rq.status;
      }
      if (rareMethod(rq.method)) rare = true;
      if (riskyContentType(rq.responseContentType)) risky = true;
      if (typeof rq.status === 'number') {
        responses++;
        if (rq.status >= 400) errors++;
      }
    }
    if (http) {
      requests += fin(http.requests) || 0;
      const sc = obj(http.statusClasses) ?? {};
      for (const [k, v] of Object.entries(sc)) {
        const n = fin(v) || 0;
        responses += n;
        if (k === '4xx' || k === '5xx') errors += n;
      }
    }
    requests += reqs.length;
    const cls = uaClass(ua);
    x[I.uaMissing] = bit(cls === UaClass.Missing);
    x[I.uaScript] = bit(cls === UaClass.Script);
    x[I.uaBrowser] = bit(cls === UaClass.Browser);
    const m = method?.toUpperCase();
    x[I.get] = bit(m === 'GET' || m === 'HEAD');
    x[I.post] = bit(m === 'POST');
    x[I.rareMethod] = bit(rare);
    x[I.status] = typeof status === 'number' && status >= 100 && status < 600 ? Math.floor(status / 100) : 0;
    x[I.httpErr] = responses > 0 ? errors / responses : 0;
    x[I.risky] = bit(risky);
    x[I.requests] = log1p(requests);
  }

  private dns(d: DnsMeta, x: Float64Array): void {
    const qs = Array.isArray(d.queries) ? d.queries : [];
    let entropy = 0;
    let labels = 0;
    let len = 0;
    let digits = 0;
    let tunnel = tunnelQueryType(d.question?.type);
    for (let i = 0; i < qs.length && i < 256; i++) {
      const q = qs[i]!;
      if (q.entropy > entropy) entropy = q.entropy;
      if (q.labelCount > labels) labels = q.labelCount;
      if (typeof q.name === 'string' && q.name.length > len) len = q.name.length;
      if (q.digitRatio > digits) digits = q.digitRatio;
      if (!tunnel && tunnelQueryType(q.type)) tunnel = true;
    }
    const responses = fin(d.responseCount) || 0;
    x[I.qAddr] = bit(addressQueryType(d.question?.type ?? qs[0]?.type));
    x[I.qTunnel] = bit(tunnel);
    x[I.entropy] = entropy;
    x[I.labels] = labels;
    x[I.nameLen] = len;
    x[I.digits] = digits;
    x[I.respSize] = responses > 0 ? log1p(fin(d.maxMessageSize) || 0) : 0;
    x[I.nx] = responses > 0 ? Math.min(1, (fin(d.nxdomain) || 0) / responses) : 0;
    x[I.txt] = log1p(fin(d.txtBytes) || 0);
    x[I.queries] = log1p(fin(d.queryCount) || 0);
    x[I.names] = log1p(qs.length);
  }

  private tls(t: TlsMeta, startUs: number, x: Float64Array): void {
    x[I.tlsVersion] = tlsVersionNumber(t.versionCode);
    x[I.sniMissing] = bit(typeof t.sni !== 'string' || t.sni.length === 0);
    const ja3 = typeof t.ja3 === 'string' ? t.ja3.toLowerCase() : undefined;
    const ja4 = typeof t.ja4 === 'string' ? t.ja4.toLowerCase() : undefined;
    x[I.fpBad] = bit((ja3 !== undefined && this.badJa3.has(ja3)) || (ja4 !== undefined && this.badJa4.has(ja4)));
    const fp = ja4 ?? ja3;
    if (fp !== undefined) x[I.fpUnseen] = bit(!this.seen.touch(fp));
    x[I.fatal] = bit(Array.isArray(t.alerts) && t.alerts.some((a) => a.level === 'fatal'));
    const leaf = Array.isArray(t.serverCertificates) ? t.serverCertificates[0] : undefined;
    if (!leaf) return;
    const selfSigned = leaf.selfSigned === true;
    const nb = leaf.notBeforeUs;
    const na = leaf.notAfterUs;
    const expired = (na !== undefined && startUs > na) || (nb !== undefined && startUs < nb);
    x[I.selfSigned] = bit(selfSigned);
    x[I.expired] = bit(expired);
    if (nb !== undefined) x[I.certAge] = log1p(Math.max(0, (startUs - nb) / 86_400e6));
    if (nb !== undefined && na !== undefined) x[I.certValidity] = log1p(Math.max(0, (na - nb) / 86_400e6));
    let mismatch = false;
    if (typeof t.sni === 'string' && t.sni.length > 0) {
      mismatch = !certMatchesSni(t.sni, Array.isArray(leaf.san) ? leaf.san : [], leaf.subjectCN);
      x[I.sniMismatch] = bit(mismatch);
    }
    x[I.certValid] = bit(!selfSigned && !expired && !mismatch);
  }

  private quic(q: QuicMeta, x: Float64Array): void {
    const name = typeof q.versionName === 'string' ? q.versionName : '';
    x[I.quicStd] = bit(name === 'v1' || name === 'v2');
    x[I.quicG] = bit(/^[QT]0\d\d$/.test(name));
    x[I.zeroRtt] = log1p(fin(q.zeroRtt) || 0);
    x[I.migrations] = Math.min(64, fin(q.migrations?.count) || 0);
    x[I.quicSni] = bit(typeof q.sni !== 'string' || q.sni.length === 0);
  }

  private grpc(h2: Http2Meta, x: Float64Array): void {
    const calls = h2.grpcCalls;
    let type = 0;
    let errors = 0;
    let max = 0;
    const sizes: number[] = [];
    for (let i = 0; i < calls.length && i < 64; i++) {
      const c = calls[i]!;
      const t = c.callType === 'bidirectional' ? 3 : c.callType === 'client_streaming' ? 2 : c.callType === 'server_streaming' ? 1 : 0;
      if (t > type) type = t;
      if ((typeof c.status === 'number' && c.status !== 0) || c.rstCode !== undefined) errors++;
      for (const list of [c.requestSizes, c.responseSizes]) {
        if (!Array.isArray(list)) continue;
        for (let k = 0; k < list.length && sizes.length < 512; k++) {
          const s = list[k]!;
          if (s > max) max = s;
          sizes.push(s);
        }
      }
    }
    x[I.callType] = type;
    x[I.grpcErr] = calls.length > 0 ? errors / Math.min(calls.length, 64) : 0;
    x[I.calls] = log1p(calls.length);
    x[I.maxMsg] = log1p(max);
    if (sizes.length > 0) {
      sizes.sort((a, b) => a - b);
      const median = sizes[sizes.length >> 1]!;
      x[I.msgRatio] = Math.log2((max + 1) / (median + 1));
    }
  }

  private websocket(w: WebSocketMeta, x: Float64Array): void {
    x[I.wsRate] = log1p(fin(w.frameRate) || 0);
    const e = Math.max(fin(w.entropyClient) || 0, fin(w.entropyServer) || 0);
    x[I.wsEntropy] = e;
    x[I.wsBinary] = fin(w.binaryRatio) || 0;
    x[I.wsFrames] = log1p(fin(w.frames) || 0);
  }
}
