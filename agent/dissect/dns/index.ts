import type { Direction } from '../../flow/flow-observer.js';
import type { FlowRecord } from '../../flow/flow-record.js';
import { Verdict, type DissectContext, type Dissector } from '../dissector.js';
import { className, opcodeName, rcodeName, typeName, RCODE_NXDOMAIN, TYPE_A, TYPE_AAAA } from './constants.js';
import { nameMetrics, splitDomain } from './domain-metrics.js';
import { copyDnsMessage, newDnsMessage, parseDnsMessage, type DnsMessage, type DnsMessageLimits } from './message.js';
import type { DnsAnswerMeta, DnsEdnsMeta, DnsMeta, DnsQueryMeta } from './meta.js';
import { NameReader } from './name.js';
import { TcpFramer } from './tcp-framer.js';
import { dnsEcs } from './ecs.js';

export type { DnsMeta, DnsQueryMeta, DnsAnswerMeta } from './meta.js';

/** Budgets of the DNS dissector (per message and per flow). */
export const DNS_LIMITS = {
  maxQuestions: 4,
  maxRecordsPerSection: 64,
  maxNamesPerMessage: 128,
  maxPointerHops: 64,
  maxDataChars: 256,
  /** Messages parsed per flow (then the dissector is done with the flow). */
  maxMessagesPerFlow: 1000,
  /** DNS-over-TCP messages larger than this are counted from their header only. */
  maxTcpMessageBytes: 16384,
  /** Distinct query names kept in the metadata. */
  maxQueryNames: 16,
  /** Answers kept in the metadata. */
  maxAnswers: 32,
  maxResolvedIps: 16,
  /** Queries waiting for their response (matched by id). */
  maxPending: 64,
  maxMalformedReasons: 16,
  /** Answer data strings carried by one dns.query event. */
  maxEventAnswers: 8,
} as const;

const MESSAGE_LIMITS: DnsMessageLimits = DNS_LIMITS;
const DNS_PORT = 53;

interface Pending {
  id: number;
  name: string;
  qtype: number;
  tsUs: number;
}

/** Per-flow DNS state (kept small: names and answers are bounded lists). */
export interface DnsState {
  transport: 'udp' | 'tcp';
  framer: TcpFramer | undefined;
  messages: number;
  first: DnsMessage | undefined;
  firstResponse: DnsMessage | undefined;
  answers: DnsAnswerMeta[];
  resolvedIps: string[];
  /**
   * Distinct query names (≤ maxQueryNames) and their QTYPE numbers, searched linearly: a short
   * array beats building a `type|name` string key for every message.
   */
  queries: DnsQueryMeta[];
  queryTypes: number[];
  queryCount: number;
  responseCount: number;
  nxdomain: number;
  truncated: number;
  txtBytes: number;
  maxSize: number;
  edns: DnsEdnsMeta | undefined;
  malformed: Set<string>;
  /**
   * Queries waiting for a response, oldest first (≤ maxPending). A short array searched by id:
   * usually one or two entries, and a Map rehashed on its constant inserts and deletes.
   */
  pending: Pending[];
}

/** One decoder per process: names are decoded into its scratch buffer. */
const names = new NameReader(DNS_LIMITS.maxPointerHops);
/** Every message is parsed into this one; the few a flow keeps are copied. */
const scratch = newDnsMessage();

function pendingIndex(s: DnsState, id: number): number {
  for (let i = 0; i < s.pending.length; i++) if (s.pending[i]!.id === id) return i;
  return -1;
}

/**
 * The first message of a TCP stream on port 53 must look like DNS (valid opcode, few questions,
 * parses cleanly): other payload does run on TCP 53 (nDPI's results show a PE download there).
 * UDP datagrams on port 53 are taken as DNS, as nDPI does, and their oddities flagged.
 */
function plausibleTcpStart(buf: Uint8Array, off: number, len: number, whole: boolean): boolean {
  if (len < 12) return false;
  const opcode = (buf[off + 2]! >> 3) & 0xf;
  const qd = (buf[off + 4]! << 8) | buf[off + 5]!;
  if (opcode === 3 || opcode > 6 || qd > 16) return false;
  if (!whole) return true;
  const r = parseDnsMessage(buf, off, len, MESSAGE_LIMITS, names);
  return r.ok && r.value.problems.length === 0;
}

/** UDP datagrams on port 53 without a single parsable header before the flow is given up. */
const MAX_JUNK_DATAGRAMS = 8;

function flagsOf(m: DnsMessage): string[] {
  const f: string[] = [];
  if (m.aa) f.push('AA');
  if (m.tc) f.push('TC');
  if (m.rd) f.push('RD');
  if (m.ra) f.push('RA');
  if (m.ad) f.push('AD');
  if (m.cd) f.push('CD');
  return f;
}

function onMessage(s: DnsState, buf: Uint8Array, off: number, len: number, tsUs: number, ctx: DissectContext, headerOnly: boolean): void {
  if (s.messages >= DNS_LIMITS.maxMessagesPerFlow) return;
  s.messages++;
  if (len > s.maxSize) s.maxSize = len;
  const res = parseDnsMessage(buf, off, headerOnly ? Math.min(len, 12) : len, MESSAGE_LIMITS, names, scratch);
  if (!res.ok) {
    ctx.count(`malformed.${res.reason}`);
    addMalformed(s, res.reason);
    return;
  }
  const m = res.value;
  if (headerOnly) {
    m.size = len;
    m.questions = [];
  }
  // Opcodes 3 and 7-15 are unassigned (IANA DNS OpCodes registry).
  if (m.opcode === 3 || m.opcode > 6) m.problems.push('header.opcode');
  for (const r of m.problems) {
    ctx.count(`malformed.${r}`);
    addMalformed(s, r);
  }
  for (const l of m.limits) ctx.count(`limit.${l}`);
  s.first ??= copyDnsMessage(m);
  if (m.edns && !s.edns) s.edns = { udpSize: m.edns.udpSize, do: m.edns.do, version: m.edns.version, options: m.edns.options };
  if (m.qr) onResponse(s, m, tsUs, ctx);
  else onQuery(s, m, tsUs, ctx);
}

function addMalformed(s: DnsState, reason: string): void {
  if (s.malformed.size < DNS_LIMITS.maxMalformedReasons) s.malformed.add(reason);
}

function findQuery(s: DnsState, name: string, type: number): DnsQueryMeta | undefined {
  for (let i = 0; i < s.queries.length; i++) if (s.queryTypes[i] === type && s.queries[i]!.name === name) return s.queries[i];
  return undefined;
}

/** Counts the message's first question under its name; returns that name's entry, if kept. */
function noteQuestion(s: DnsState, m: DnsMessage, ctx: DissectContext): DnsQueryMeta | undefined {
  const q = m.questions[0];
  if (!q) return undefined;
  const known = findQuery(s, q.name, q.type);
  if (known) {
    if (!m.qr) known.count++;
    return known;
  }
  if (s.queries.length >= DNS_LIMITS.maxQueryNames) {
    ctx.count('limit.query_names');
    return undefined;
  }
  const mm = nameMetrics(q.name);
  const entry: DnsQueryMeta = { name: q.name, type: typeName(q.type), count: m.qr ? 0 : 1, ...mm };
  s.queries.push(entry);
  s.queryTypes.push(q.type);
  return entry;
}

function onQuery(s: DnsState, m: DnsMessage, tsUs: number, ctx: DissectContext): void {
  s.queryCount++;
  noteQuestion(s, m, ctx);
  const q = m.questions[0];
  if (!q) return;
  const at = pendingIndex(s, m.id);
  if (at >= 0) {
    // Same id reused before an answer: the earlier query went unanswered (or was retransmitted).
    const prev = s.pending[at]!;
    s.pending.splice(at, 1);
    if (prev.name !== q.name || prev.qtype !== q.type) emitQuery(ctx, m.id, prev, undefined);
  } else if (s.pending.length >= DNS_LIMITS.maxPending) {
    ctx.count('limit.pending');
    const old = s.pending.shift()!;
    emitQuery(ctx, old.id, old, undefined);
  }
  s.pending.push({ id: m.id, name: q.name, qtype: q.type, tsUs });
}

function onResponse(s: DnsState, m: DnsMessage, tsUs: number, ctx: DissectContext): void {
  s.responseCount++;
  s.firstResponse ??= copyDnsMessage(m);
  if ((m.rcode & 0xf) === RCODE_NXDOMAIN) s.nxdomain++;
  if (m.tc) s.truncated++;
  s.txtBytes += m.txtBytes;
  const known = noteQuestion(s, m, ctx);
  const q = m.questions[0];
  if (known && known.responseCode === undefined) known.responseCode = rcodeName(m.rcode);
  for (const a of m.answers) {
    if (s.answers.length >= DNS_LIMITS.maxAnswers) {
      ctx.count('limit.answers');
      break;
    }
    const am: DnsAnswerMeta = { name: a.name, type: typeName(a.type), class: className(a.class), ttl: a.ttl, size: a.size };
    if (a.data !== undefined) am.data = a.data;
    s.answers.push(am);
    if ((a.type === TYPE_A || a.type === TYPE_AAAA) && a.data !== undefined && s.resolvedIps.length < DNS_LIMITS.maxResolvedIps && !s.resolvedIps.includes(a.data)) {
      s.resolvedIps.push(a.data);
    }
  }
  const at = pendingIndex(s, m.id);
  const p = at >= 0 ? s.pending[at] : undefined;
  if (p && (!q || (q.type === p.qtype && (q.name === p.name || q.name.toLowerCase() === p.name.toLowerCase())))) {
    s.pending.splice(at, 1);
    emitQuery(ctx, m.id, p, m, tsUs, true);
  } else if (q && ctx.wantsEvents !== false) {
    // The response of a query this flow never showed (capture started late, or one-way capture).
    emitQuery(ctx, m.id, { id: m.id, name: q.name, qtype: q.type, tsUs }, m, tsUs, false);
  }
}

/** One `dns.query` event: the query and, when it came, its response. */
function emitQuery(ctx: DissectContext, id: number, q: Pending, resp: DnsMessage | undefined, respUs = 0, matched = false): void {
  if (ctx.wantsEvents === false) return; // nobody listens: skip building the event
  const data: Record<string, unknown> = { name: q.name, qtype: typeName(q.qtype), id };
  if (resp) {
    data.responseCode = rcodeName(resp.rcode);
    const answers: string[] = [];
    let minTtl = -1;
    for (const a of resp.answers) {
      if (minTtl < 0 || a.ttl < minTtl) minTtl = a.ttl;
      if (answers.length < DNS_LIMITS.maxEventAnswers && a.data !== undefined) answers.push(a.data);
    }
    data.answers = answers;
    data.answerCount = resp.ancount;
    if (minTtl >= 0) data.minTtl = minTtl;
    if (matched) data.rttUs = Math.round(respUs - q.tsUs);
    else data.responseOnly = true;
  } else data.unanswered = true;
  ctx.emit('dns.query', q.tsUs, data);
}

function buildMeta(s: DnsState): DnsMeta | undefined {
  const first = s.first;
  if (!first) return undefined;
  const head = s.firstResponse ?? first;
  const meta: DnsMeta = {
    transport: s.transport,
    id: first.id,
    opCode: opcodeName(first.opcode),
    headerFlags: flagsOf(head),
    answers: s.answers.slice(),
    resolvedIps: s.resolvedIps.slice(),
    queries: s.queries.map((q) => ({ ...q })),
    queryCount: s.queryCount,
    responseCount: s.responseCount,
    nxdomain: s.nxdomain,
    truncated: s.truncated,
    txtBytes: s.txtBytes,
    maxMessageSize: s.maxSize,
    malformed: [...s.malformed],
    unanswered: s.pending.length,
  };
  if (s.firstResponse) meta.responseCode = rcodeName(s.firstResponse.rcode);
  const q = first.questions[0] ?? s.firstResponse?.questions[0];
  if (q) {
    const question: NonNullable<DnsMeta['question']> = { name: q.name, type: typeName(q.type), class: className(q.class) };
    const split = splitDomain(q.name);
    if (split) {
      question.registeredDomain = split.registeredDomain;
      question.topLevelDomain = split.topLevelDomain;
      if (split.subdomain) question.subdomain = split.subdomain;
    }
    meta.question = question;
  }
  if (s.edns) meta.edns = { ...s.edns };
  return meta;
}

/**
 * DNS over UDP and TCP (RFC 1035, RFC 7766 framing) on port 53: header, questions, answers,
 * EDNS(0), per-flow counts, lexical features of the names, and one `dns.query` event per query
 * matched with its response by id.
 */
export const dnsDissector: Dissector<DnsState, DnsMeta> = {
  name: 'dns',
  transports: ['udp', 'tcp'],
  limits: DNS_LIMITS,

  probe(_buf, _off, len, _dir, ctx) {
    const f = ctx.flow;
    if (f.serverPort !== DNS_PORT && f.clientPort !== DNS_PORT) return false;
    return len > 0;
  },

  create(ctx) {
    const tcp = ctx.flow.protocol === 6;
    return {
      transport: tcp ? 'tcp' : 'udp',
      framer: tcp ? new TcpFramer(DNS_LIMITS.maxTcpMessageBytes) : undefined,
      messages: 0,
      first: undefined,
      firstResponse: undefined,
      answers: [],
      resolvedIps: [],
      queries: [],
      queryTypes: [],
      queryCount: 0,
      responseCount: 0,
      nxdomain: 0,
      truncated: 0,
      txtBytes: 0,
      maxSize: 0,
      edns: undefined,
      malformed: new Set(),
      pending: [],
    };
  },

  payload(s, dir: Direction, buf, off, len, tsUs, ctx) {
    if (s.framer) {
      s.framer.push(dir, buf, off, len, (b, o, l, whole) => {
        if (s.messages === 0 && !plausibleTcpStart(b, o, l, whole)) return false;
        onMessage(s, b, o, l, tsUs, ctx, !whole);
        if (!whole) ctx.count('limit.tcp_message_bytes');
        return s.messages < DNS_LIMITS.maxMessagesPerFlow;
      });
      if (s.framer.rejected) return s.messages === 0 ? Verdict.Reject : Verdict.Done;
    } else {
      onMessage(s, buf, off, len, tsUs, ctx, false);
      if (s.first === undefined && s.messages >= MAX_JUNK_DATAGRAMS) return Verdict.Reject;
    }
    if (s.messages >= DNS_LIMITS.maxMessagesPerFlow) {
      ctx.count('limit.messages');
      return Verdict.Done;
    }
    return Verdict.More;
  },

  gap(s, dir) {
    // Framing is lost in this direction: later bytes cannot be split into messages.
    s.framer?.lose(dir);
    return s.framer?.dead() ? Verdict.Done : Verdict.More;
  },

  finish(s, record: FlowRecord, ctx) {
    if (!record.partial && s.pending.length > 0) {
      for (const p of s.pending) emitQuery(ctx, p.id, p, undefined);
      const meta = buildMeta(s);
      s.pending.length = 0;
      return meta;
    }
    return buildMeta(s);
  },

  appProtocol: () => 'dns',
  ecs: dnsEcs,
};
