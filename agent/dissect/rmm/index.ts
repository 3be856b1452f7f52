import type { Direction } from '../../flow/flow-observer.js';
import type { FlowRecord } from '../../flow/flow-record.js';
import { Verdict, type DissectContext, type Dissector } from '../dissector.js';
import { RmmMatchers, type Hit } from './matchers.js';
import {
  ANYDESK_CERT_STRINGS, HEAD_BYTES, SCAN_CARRY, nomachineHead, nomachineUdp, radminHead, rdpHead, teamviewerTcpHead, teamviewerUdp, tlsHead, vncHead,
} from './payload-signatures.js';
import { RMM_TOOLS, type RmmTool } from './tools.js';
import { byteView } from '../byte-view.js';

export { RMM_TOOLS } from './tools.js';

/** Budgets: the classifier looks at the start of every TCP/UDP flow, so they are small. */
export const RMM_LIMITS = {
  /** UDP datagrams inspected per direction. */
  maxPacketsPerDirection: 8,
  /** payload() calls per flow before the classifier stops looking (bounds one-sided flows). */
  maxCallsPerFlow: 2048,
  /** Stream-start bytes kept per direction for the head signatures. */
  headBytes: HEAD_BYTES,
  /** Bytes of a TLS stream searched for AnyDesk certificate strings, per direction. */
  maxScanBytes: 8192,
  /** Names, certificates and transactions of earlier dissectors looked at. */
  maxNamesChecked: 32,
  /** Signals kept in the metadata. */
  maxSignals: 8,
} as const;

export type RmmConfidence = 'high' | 'medium' | 'low';

/** What the RMM classifier puts in `FlowRecord.app.rmm`. */
export interface RmmMeta {
  /** Tool id, e.g. `anydesk`, `teamviewer`, `rdp`, `screenconnect`. */
  tool: string;
  name: string;
  /** The strongest signal, e.g. `payload:teamviewer-header`, `sni:*.anydesk.com`, `port:5938`. */
  signal: string;
  /** Every signal that pointed to this tool (bounded). */
  signals: string[];
  confidence: RmmConfidence;
  /** The tool's own protocol, when a payload signature identified it and no other dissector did. */
  protocol?: string;
}

const matchers = new RmmMatchers(RMM_TOOLS);
const byPayload = new Map<string, RmmTool>();
for (const t of RMM_TOOLS) for (const p of t.payload ?? []) byPayload.set(p, t);

/**
 * One direction. Small typed arrays cost ~300 bytes each in V8, and this state exists for every
 * flow, so buffers are allocated only when needed: the head only when the first chunk is shorter
 * than HEAD_BYTES (usually it is not), the scan tail only for TLS streams.
 */
class Side {
  head: Uint8Array | null = null;
  headLen = 0;
  chunks = 0;
  scanned = 0;
  tail: Uint8Array | null = null;
  tailLen = 0;
  /** Head signatures were evaluated on a full (or final) head. */
  headDone = false;
  /** The head starts like a TLS handshake record (the AnyDesk certificate scan applies). */
  tls = false;
  /** The head carries TeamViewer's TCP marker (checked against the other side). */
  teamviewer = false;
}

const EMPTY = new Uint8Array(0);

export interface RmmState {
  sides: [Side, Side];
  udp: boolean;
  /** Payload signature id that matched, if any. */
  payload: string | undefined;
  udpTeamviewer: number;
  udpNomachine: number;
  calls: number;
  emitted: boolean;
}

const PATTERNS = ANYDESK_CERT_STRINGS.map((p) => Buffer.from(p));

/**
 * Native substring search (Buffer#indexOf) over a view of the chunk: a byte-by-byte JS loop for
 * three patterns over up to 8 KiB per direction was the classifier's main cost on TLS flows.
 */
function found(hay: Buffer): boolean {
  for (const p of PATTERNS) if (hay.indexOf(p) >= 0) return true;
  return false;
}

/**
 * A pattern that starts in the carried tail (the previous chunk's last bytes) and ends in this
 * chunk's first `m` bytes. Patterns wholly inside either piece are found by the chunk searches.
 */
function straddles(tail: Uint8Array, tailLen: number, buf: Uint8Array, off: number, m: number): boolean {
  for (const p of ANYDESK_CERT_STRINGS) {
    // The first k bytes of p end the tail, the other p.length - k begin the chunk.
    for (let k = 1; k < p.length; k++) {
      const rest = p.length - k;
      if (k > tailLen || rest > m) continue;
      let j = 0;
      while (j < k && tail[tailLen - k + j] === p[j]) j++;
      if (j < k) continue;
      let i = 0;
      while (i < rest && buf[off + i] === p[k + i]) i++;
      if (i === rest) return true;
    }
  }
  return false;
}

/** Searches the AnyDesk certificate strings in a chunk and across the previous chunk's end. */
function scan(side: Side, buf: Uint8Array, off: number, len: number): boolean {
  const n = Math.min(len, RMM_LIMITS.maxScanBytes - side.scanned);
  if (n <= 0) return false;
  side.scanned += n;
  const tail = (side.tail ??= new Uint8Array(SCAN_CARRY));
  const m = Math.min(n, SCAN_CARRY);
  if (straddles(tail, side.tailLen, buf, off, m) || found(Buffer.from(buf.buffer, buf.byteOffset + off, n))) return true;
  // New tail: the last SCAN_CARRY bytes of (tail + chunk).
  if (n >= SCAN_CARRY) {
    tail.set(byteView(buf, off + n - SCAN_CARRY, off + n), 0);
    side.tailLen = SCAN_CARRY;
  } else {
    const keep = Math.min(SCAN_CARRY, side.tailLen + n);
    const drop = side.tailLen + n - keep; // ≤ tailLen, as keep ≥ n
    tail.copyWithin(0, drop, side.tailLen);
    const at = side.tailLen - drop;
    for (let i = 0; i < n; i++) tail[at + i] = buf[off + i]!;
    side.tailLen = keep;
  }
  return false;
}

/** Evaluates the head signatures of one side on `head` (its first bytes) and records its markers. */
function evaluateHead(s: RmmState, dir: Direction, head: Uint8Array, at: number, n: number, ctx: DissectContext): string | undefined {
  const h = s.sides[dir];
  h.headDone = true;
  h.tls = tlsHead(head, at, n);
  h.teamviewer = teamviewerTcpHead(head, at, n);
  h.head = null;
  if (rdpHead(head, at, n)) return 'rdp-x224';
  if (vncHead(head, at, n)) return 'vnc-rfb';
  if (nomachineHead(head, at, n)) return 'nomachine-nx';
  if (radminHead(head, at, n)) return 'radmin-handshake';
  return teamviewerPair(s, dir, ctx);
}

/** TeamViewer needs its marker on this side and either its port or the marker on the other side too. */
function teamviewerPair(s: RmmState, dir: Direction, ctx: DissectContext): string | undefined {
  if (!s.sides[dir].teamviewer) return undefined;
  const other = s.sides[dir === 0 ? 1 : 0];
  const port = ctx.flow.serverPort === 5938 || ctx.flow.clientPort === 5938;
  return port || other.teamviewer ? 'teamviewer-header' : undefined;
}

function tcpPayload(s: RmmState, dir: Direction, buf: Uint8Array, off: number, len: number, ctx: DissectContext): void {
  const side = s.sides[dir];
  if (!side.headDone) {
    // Head signatures are prefix tests: evaluate once HEAD_BYTES are there (short streams: in finish()).
    // The head is tested in place when the first chunk holds it (the usual case), else gathered.
    let head: Uint8Array | undefined;
    let at = 0;
    if (side.headLen === 0 && len >= HEAD_BYTES) {
      head = buf;
      at = off;
    } else {
      side.head ??= new Uint8Array(HEAD_BYTES);
      const n = Math.min(HEAD_BYTES - side.headLen, len);
      side.head.set(byteView(buf, off, off + n), side.headLen);
      side.headLen += n;
      if (side.headLen === HEAD_BYTES) head = side.head;
    }
    if (head) {
      side.headLen = HEAD_BYTES;
      s.payload ??= evaluateHead(s, dir, head, at, HEAD_BYTES, ctx);
      // TeamViewer needs both heads: re-check the other side once this one is known.
      const other: Direction = dir === 0 ? 1 : 0;
      if (!s.payload && s.sides[other].headDone) s.payload = teamviewerPair(s, other, ctx);
    }
  }
  if (!s.payload && side.tls && scan(side, buf, off, len)) s.payload = 'anydesk-certificate';
  // Certificates travel in clear only before the stream turns encrypted: once the TLS dissector
  // is done with the flow (encrypted application data both ways), the rest of both directions is
  // not worth scanning, and stopping here lets payload delivery for the flow stop too.
  if (side.tls && ctx.finished?.('tls') === true) {
    for (const x of s.sides) if (x.tls) x.scanned = RMM_LIMITS.maxScanBytes;
  }
}

function udpPayload(s: RmmState, dir: Direction, buf: Uint8Array, off: number, len: number, ctx: DissectContext): void {
  const side = s.sides[dir];
  if (side.chunks === 1) side.headLen = Math.min(HEAD_BYTES, len);
  if (nomachineUdp(buf, off, len)) {
    s.udpNomachine++;
    // Two datagrams (or one on NoMachine's port) keep a 6-byte coincidence from naming the tool.
    if (s.udpNomachine >= 2 || ctx.flow.serverPort === 4000 || ctx.flow.clientPort === 4000) s.payload = 'nomachine-udp';
  }
  if (teamviewerUdp(buf, off, len)) {
    s.udpTeamviewer++;
    if (s.udpTeamviewer >= 2 || ctx.flow.serverPort === 5938 || ctx.flow.clientPort === 5938) s.payload = 'teamviewer-header';
  }
}

/** A direction needs no more bytes: UDP after N datagrams; TCP once its head is known (and, for TLS, scanned). */
function sideDone(s: RmmState, side: Side): boolean {
  if (s.udp) return side.chunks >= RMM_LIMITS.maxPacketsPerDirection;
  return side.headDone && (!side.tls || side.scanned >= RMM_LIMITS.maxScanBytes);
}

/** Stands in for the sides of flows the classifier is done with (never written to). */
const FINISHED_SIDES: [Side, Side] = [new Side(), new Side()];
for (const side of FINISHED_SIDES) side.headDone = true;

/**
 * The classifier is done with the flow. Every flow has this state until it ends, so the two
 * Side objects go as soon as finish() cannot need them: a payload signature matched, or both
 * heads were evaluated (TCP), or the flow is UDP (finish() reads no UDP side).
 */
function done(s: RmmState): Verdict {
  if (s.payload || s.udp || (s.sides[0].headDone && s.sides[1].headDone)) s.sides = FINISHED_SIDES;
  return Verdict.Done;
}

// ---------- combining with earlier dissectors' metadata ----------

type Obj = Record<string, unknown>;

function obj(v: unknown): Obj | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : undefined;
}

// collect() runs for every flow: absent or empty inputs give shared empty lists, not new ones.
const NO_STRINGS: readonly string[] = Object.freeze([]);
const NO_OBJECTS: readonly Obj[] = Object.freeze([]);

function strs(v: unknown): readonly string[] {
  if (typeof v === 'string') return [v];
  if (!Array.isArray(v) || v.length === 0) return NO_STRINGS;
  return v.filter((x): x is string => typeof x === 'string').slice(0, RMM_LIMITS.maxNamesChecked);
}

function objs(v: unknown): readonly Obj[] {
  if (!Array.isArray(v) || v.length === 0) return NO_OBJECTS;
  // One array, not three (slice, map, filter): this runs for every HTTP and DNS flow.
  const out: Obj[] = [];
  const n = Math.min(v.length, RMM_LIMITS.maxNamesChecked);
  for (let i = 0; i < n; i++) {
    const o = obj(v[i]);
    if (o) out.push(o);
  }
  return out;
}

interface Signal {
  hit: Hit;
  signal: string;
  confidence: RmmConfidence;
}

/** `host:port` → `host` (what `/:\d+$/` removed), without a regular expression per flow. */
function withoutPort(host: string): string {
  const colon = host.lastIndexOf(':');
  if (colon < 0 || colon === host.length - 1) return host;
  for (let i = colon + 1; i < host.length; i++) {
    const c = host.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return host;
  }
  return host.slice(0, colon);
}

/** Signals in priority order: payload, certificate, ALPN, SNI, HTTP, DNS, port. */
function collect(s: RmmState, record: FlowRecord): Signal[] {
  const out: Signal[] = [];
  if (s.payload) {
    const tool = byPayload.get(s.payload);
    if (tool) out.push({ hit: { tool, rule: s.payload }, signal: `payload:${s.payload}`, confidence: 'high' });
  }
  const tls = obj(record.app.tls);
  const quic = obj(record.app.quic);
  if (tls || quic) tlsSignals(out, tls, quic);
  const http = obj(record.app.http);
  if (http) {
    for (const tx of objs(http.transactions)) {
      if (typeof tx.host === 'string') {
        const h = matchers.domain(withoutPort(tx.host));
        if (h) out.push({ hit: h, signal: `http.host:${h.rule}`, confidence: 'medium' });
      }
      if (typeof tx.userAgent === 'string') {
        const h = matchers.userAgent(tx.userAgent);
        if (h) out.push({ hit: h, signal: `http.user_agent:${h.rule}`, confidence: 'medium' });
      }
    }
  }
  const dns = obj(record.app.dns);
  if (dns) {
    for (const q of objs(dns.queries)) {
      if (typeof q.name !== 'string') continue;
      const h = matchers.domain(q.name);
      if (h) out.push({ hit: h, signal: `dns:${h.rule}`, confidence: 'medium' });
    }
  }
  if (out.length === 0 && record.c2s.payloadBytes > 0 && record.s2c.payloadBytes > 0) {
    const h = matchers.port(record.transport, record.server.port);
    if (h) out.push({ hit: h, signal: `port:${record.server.port}`, confidence: 'low' });
  }
  return out;
}

/** Certificate, ALPN and SNI signals of TLS / QUIC metadata, in that order. */
function tlsSignals(out: Signal[], tls: Obj | undefined, quic: Obj | undefined): void {
  for (const cert of objs(tls?.serverCertificates)) {
    for (const [label, values] of [
      ['CN', [...strs(cert.subjectCN), ...strs(cert.issuerCN)]],
      ['O', [...strs(cert.subjectO), ...strs(cert.issuerO)]],
      ['SAN', strs(cert.san)],
    ] as const) {
      for (const v of values) {
        const h = matchers.cert(v) ?? (label === 'SAN' ? matchers.domain(v) : undefined);
        if (h) out.push({ hit: h, signal: `cert:${label}=${v}`, confidence: 'high' });
      }
    }
  }
  for (const a of [...strs(tls?.alpn), ...strs(quic?.alpn)]) {
    const h = matchers.alpn(a);
    if (h) out.push({ hit: h, signal: `alpn:${a}`, confidence: 'high' });
  }
  for (const [kind, sni] of [['sni', tls?.sni], ['quic.sni', quic?.sni]] as const) {
    if (typeof sni !== 'string') continue;
    const h = matchers.domain(sni);
    if (h) out.push({ hit: h, signal: `${kind}:${h.rule}`, confidence: 'high' });
  }
}

/**
 * Remote-access / RMM tool classifier (keep it LAST in the registry): probes every TCP/UDP flow,
 * tests byte signatures on the first packets, and in finish() combines them with the metadata
 * of earlier dissectors (TLS SNI/certificates/ALPN, QUIC SNI, HTTP host/user agent, DNS names)
 * against the tool table in tools.ts. Emits one `rmm.session` event per recognised flow.
 */
export const rmmDissector: Dissector<RmmState, RmmMeta> = {
  name: 'rmm',
  transports: ['tcp', 'udp'],
  limits: RMM_LIMITS,

  probe() {
    return true;
  },

  create(ctx) {
    return { sides: [new Side(), new Side()], udp: ctx.flow.protocol === 17, payload: undefined, udpTeamviewer: 0, udpNomachine: 0, calls: 0, emitted: false };
  },

  payload(s, dir, buf, off, len, _tsUs, ctx) {
    const side = s.sides[dir];
    if (!sideDone(s, side)) {
      side.chunks++;
      if (s.udp) udpPayload(s, dir, buf, off, len, ctx);
      else tcpPayload(s, dir, buf, off, len, ctx);
    }
    if (s.payload) return done(s);
    if (++s.calls >= RMM_LIMITS.maxCallsPerFlow) {
      ctx.count('limit.calls');
      return done(s);
    }
    return sideDone(s, s.sides[0]) && sideDone(s, s.sides[1]) ? done(s) : Verdict.More;
  },

  finish(s, record, ctx) {
    // Heads shorter than HEAD_BYTES that were never evaluated (short flows).
    for (const dir of [0, 1] as const) {
      const side = s.sides[dir];
      if (!s.udp && !side.headDone && side.headLen > 0) s.payload ??= evaluateHead(s, dir, side.head ?? EMPTY, 0, side.headLen, ctx);
    }
    const signals = collect(s, record);
    const best = signals[0];
    if (!best) return undefined;
    const tool = best.hit.tool;
    const meta: RmmMeta = {
      tool: tool.tool,
      name: tool.name,
      signal: best.signal,
      signals: [...new Set(signals.filter((x) => x.hit.tool === tool).map((x) => x.signal))].slice(0, RMM_LIMITS.maxSignals),
      confidence: best.confidence,
    };
    if (s.payload && tool.protocol && record.appProtocol === undefined) meta.protocol = tool.protocol;
    if (!s.emitted) {
      s.emitted = true;
      ctx.emit('rmm.session', record.startUs, { tool: meta.tool, signal: meta.signal, confidence: meta.confidence, serverPort: record.server.port, transport: record.transport });
    }
    return meta;
  },

  appProtocol: (m) => m.protocol,

  ecs(m) {
    const rmm: Record<string, unknown> = { tool: m.tool, name: m.name, signal: m.signal, signals: m.signals, confidence: m.confidence };
    return { picket: { rmm } };
  },
};
