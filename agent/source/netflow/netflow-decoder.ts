import type { FlowRecord } from '../../flow/flow-record.js';
import { incomplete, limitHit, malformed, ok, type ParseResult } from '../../util/result.js';
import { countError, emptyCounters, NetflowError, type NetflowCounters } from './counters.js';
import { Slot } from './fields.js';
import { FlowScratch, readRecord } from './flow-scratch.js';
import { PendingSets, type ExportContext } from './pending-sets.js';
import { applyOptionsRecord, samplingFor } from './sampling.js';
import { SessionTable, type ExporterSession } from './session.js';
import { Template, type EnterpriseFieldCounter } from './template.js';
import { TemplateSetParser, type ParsedTemplate, type TemplateSink } from './template-sets.js';
import { toFlowRecord, resolveTimes, type FlowTimes } from './to-flow-record.js';

/** Limits and timeouts of the decoder. Every limit that is hit is counted by name. */
export interface NetflowDecoderOptions {
  /** Templates not refreshed for this long are dropped (RFC 7011 §8.4 template lifetime). Default 30 min. */
  templateTimeoutMs?: number;
  /** Exporter sessions (address, port, version, domain) tracked at once. Default 4096. */
  maxSessions?: number;
  /** Templates per session. Default 1024. */
  maxTemplatesPerSession?: number;
  /** Fields per template. Default 512. */
  maxFieldsPerTemplate?: number;
  /** Sampler ids remembered per session. Default 256. */
  maxSamplersPerSession?: number;
  /** How long a data set waits for its template. Default 10 s. */
  pendingTimeoutMs?: number;
  /** Data sets held while waiting for templates (0 disables buffering). Default 1024. */
  maxPendingSets?: number;
  /** Bytes held while waiting for templates. Default 4 MiB. */
  maxPendingBytes?: number;
  /** Interval applied when the exporter says nothing about sampling. Default 1. */
  defaultSamplingInterval?: number;
  /**
   * `exporter` (default): templates belong to (exporter address, observation domain / source
   * id), as in pmacct and GoFlow2 — real exporters change UDP source port without resending
   * templates (pmacct test 112: Cisco IOS XR). `exporter-port`: (address, UDP source port,
   * domain), the RFC 7011 §8.4 Transport Session, for hosts running several exporters that
   * share a domain id.
   */
  templateScope?: 'exporter-port' | 'exporter';
  /** Distinct (enterprise, field) pairs counted; the rest are counted under `other`. Default 256. */
  maxEnterpriseFieldKeys?: number;
}

type Required<T> = { [K in keyof T]-?: T[K] };

export const DEFAULT_DECODER_OPTIONS: Readonly<Required<NetflowDecoderOptions>> = {
  templateTimeoutMs: 30 * 60_000,
  maxSessions: 4096,
  maxTemplatesPerSession: 1024,
  maxFieldsPerTemplate: 512,
  maxSamplersPerSession: 256,
  pendingTimeoutMs: 10_000,
  maxPendingSets: 1024,
  maxPendingBytes: 4 * 1024 * 1024,
  defaultSamplingInterval: 1,
  templateScope: 'exporter',
  maxEnterpriseFieldKeys: 256,
};

/** v5 record and header sizes (Cisco NetFlow v5 export format). */
const V5_HEADER = 24;
const V5_RECORD = 48;
const V5_MAX_RECORDS = 30;

function u16(b: Uint8Array, p: number): number {
  return (b[p]! << 8) | b[p + 1]!;
}

function u32(b: Uint8Array, p: number): number {
  return ((b[p]! << 24) >>> 0) + ((b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!);
}

/**
 * Decodes NetFlow v5, v9 (RFC 3954) and IPFIX (RFC 7011) export datagrams into FlowRecords.
 *
 * Pure with respect to I/O: give it datagrams with the exporter's address/port and a clock value;
 * it calls `onFlow` for every flow record and never throws on input bytes (every problem becomes
 * a counter, see `stats()`). Templates, options (sampling, system init time) and data sets that
 * wait for their template are kept per exporter session, bounded and expired.
 */
export class NetflowDecoder {
  private readonly o: Required<NetflowDecoderOptions>;
  private readonly c: NetflowCounters = emptyCounters();
  private readonly sessions: SessionTable;
  private readonly pending: PendingSets;
  private readonly parser: TemplateSetParser;
  private readonly s = new FlowScratch();
  private readonly times: FlowTimes = { startMs: 0, endMs: 0, revStartMs: 0, revEndMs: 0, unanchored: false };
  private readonly ctx: ExportContext = { version: 9, exportMs: 0, sysUptimeMs: -1 };
  private readonly enterprise = new Map<string, EnterpriseFieldCounter>();
  private readonly enterpriseOther: EnterpriseFieldCounter = { pen: -1, id: -1, records: 0 };
  private lastSweepMs = -Infinity;
  // Per-datagram state used by the template sink (set before parsing template sets).
  private session: ExporterSession | undefined;
  private nowMs = 0;
  private readonly sink: TemplateSink;

  /** `onFlow` is called synchronously from decode(); an exception it throws propagates out of decode(). */
  constructor(
    private readonly onFlow: (r: FlowRecord) => void,
    options: NetflowDecoderOptions = {},
  ) {
    this.o = { ...DEFAULT_DECODER_OPTIONS, ...options };
    this.sessions = new SessionTable(this.o, this.o.templateScope === 'exporter-port');
    this.pending = new PendingSets(this.o);
    this.parser = new TemplateSetParser(Math.max(1, this.o.maxFieldsPerTemplate), this.c);
    this.sink = {
      template: (t) => this.learn(t),
      withdraw: (id) => {
        if (this.session?.templates.delete(id)) this.c.templatesWithdrawn++;
      },
      withdrawAll: (options) => {
        const s = this.session;
        if (!s) return;
        for (const [id, t] of s.templates) {
          if (t.isOptions === options) {
            s.templates.delete(id);
            this.c.templatesWithdrawn++;
          }
        }
      },
    };
  }

  /**
   * Decodes one export datagram. Returns the number of flow records delivered, or the first
   * problem that stopped decoding (records before it were delivered; all problems are counted).
   */
  decode(msg: Uint8Array, exporterIp: string, exporterPort: number, nowMs: number = Date.now()): ParseResult<number> {
    const c = this.c;
    c.packets++;
    c.bytes += msg.length;
    if (nowMs - this.lastSweepMs >= 1000) this.sweep(nowMs);
    if (msg.length < 2) {
      countError(c, NetflowError.shortHeader);
      return incomplete(NetflowError.shortHeader);
    }
    const before = c.records;
    const version = u16(msg, 0);
    let r: ParseResult<number>;
    try {
      if (version === 5) r = this.v5(msg, exporterIp);
      else if (version === 9) r = this.v9(msg, exporterIp, exporterPort, nowMs);
      else if (version === 10) r = this.ipfix(msg, exporterIp, exporterPort, nowMs);
      else {
        countError(c, NetflowError.badVersion);
        return malformed(NetflowError.badVersion);
      }
    } finally {
      this.session = undefined;
    }
    return r.ok ? ok(c.records - before) : r;
  }

  /** Expires templates and buffered data sets (called from decode() at most once a second too). */
  sweep(nowMs: number = Date.now()): void {
    this.lastSweepMs = nowMs;
    const expiredSets = this.pending.expire(nowMs);
    if (expiredSets > 0) {
      countError(this.c, NetflowError.pendingExpired, expiredSets);
      this.c.unknownTemplateSets += expiredSets;
    }
    this.c.templatesExpired += this.sessions.sweep(nowMs, this.o.templateTimeoutMs);
  }

  /** A snapshot of the counters (enterprise field counts included). */
  stats(): NetflowCounters {
    const out: NetflowCounters = { ...this.c, errors: { ...this.c.errors }, enterpriseFields: {} };
    for (const [k, e] of this.enterprise) if (e.records > 0) out.enterpriseFields[k] = e.records;
    if (this.enterpriseOther.records > 0) out.enterpriseFields.other = this.enterpriseOther.records;
    return out;
  }

  /** Templates currently known, over all sessions. */
  get templateCount(): number {
    return this.sessions.templateCount();
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  /** Data sets waiting for their template. */
  get pendingSets(): number {
    return this.pending.size;
  }

  // ---- NetFlow v5 ----------------------------------------------------------------------

  private v5(b: Uint8Array, exporterIp: string): ParseResult<number> {
    const c = this.c;
    c.packetsV5++;
    if (b.length < V5_HEADER) {
      countError(c, NetflowError.shortHeader);
      return incomplete(NetflowError.shortHeader);
    }
    const count = u16(b, 2);
    const fit = Math.floor((b.length - V5_HEADER) / V5_RECORD);
    const n = Math.min(count, fit);
    const ctx = this.ctx;
    ctx.version = 5;
    ctx.sysUptimeMs = u32(b, 4);
    ctx.exportMs = u32(b, 8) * 1000 + Math.floor(u32(b, 12) / 1e6);
    const domain = (b[20]! << 8) | b[21]!; // engine type · engine id
    // Top 2 bits: sampling mode; low 14 bits: interval (0 = not sampled).
    const interval = u16(b, 22) & 0x3fff;
    const sampling = interval > 0 ? interval : this.o.defaultSamplingInterval;
    const s = this.s;
    for (let i = 0; i < n; i++) {
      const p = V5_HEADER + i * V5_RECORD;
      s.reset();
      s.set(Slot.SrcV4, b, p, 4);
      s.set(Slot.DstV4, b, p + 4, 4);
      s.set(Slot.InIf, b, p + 12, 2);
      s.set(Slot.OutIf, b, p + 14, 2);
      s.set(Slot.Packets, b, p + 16, 4);
      s.set(Slot.Octets, b, p + 20, 4);
      s.set(Slot.StartSysUptime, b, p + 24, 4);
      s.set(Slot.EndSysUptime, b, p + 28, 4);
      s.set(Slot.SrcPort, b, p + 32, 2);
      s.set(Slot.DstPort, b, p + 34, 2);
      s.set(Slot.TcpFlags, b, p + 37, 1);
      s.set(Slot.Protocol, b, p + 38, 1);
      s.set(Slot.Tos, b, p + 39, 1);
      s.set(Slot.SrcAs, b, p + 40, 2);
      s.set(Slot.DstAs, b, p + 42, 2);
      this.deliver(ctx, undefined, exporterIp, domain, sampling);
    }
    if (count !== fit || count > V5_MAX_RECORDS) {
      countError(c, NetflowError.v5BadCount);
      if (count > fit) return incomplete(NetflowError.v5BadCount);
    }
    return ok(n);
  }

  // ---- NetFlow v9 ----------------------------------------------------------------------

  private v9(b: Uint8Array, exporterIp: string, exporterPort: number, nowMs: number): ParseResult<number> {
    const c = this.c;
    c.packetsV9++;
    if (b.length < 20) {
      countError(c, NetflowError.shortHeader);
      return incomplete(NetflowError.shortHeader);
    }
    const ctx = this.ctx;
    ctx.version = 9;
    ctx.sysUptimeMs = u32(b, 4);
    ctx.exportMs = u32(b, 8) * 1000;
    const domain = u32(b, 16);
    const session = this.sessions.get(exporterIp, exporterPort, 9, domain, nowMs);
    if (!session) {
      countError(c, NetflowError.sessionLimit);
      return limitHit(NetflowError.sessionLimit);
    }
    this.session = session;
    this.nowMs = nowMs;
    // RFC 3954 §5.1: the sequence counts export packets of this source id.
    const seq = u32(b, 12);
    this.c.exportPacketsLost += this.sequenceGap(session, seq);
    session.nextSequence = (seq + 1) >>> 0;
    return this.sets(b, 20, b.length, 9);
  }

  // ---- IPFIX ---------------------------------------------------------------------------

  private ipfix(b: Uint8Array, exporterIp: string, exporterPort: number, nowMs: number): ParseResult<number> {
    const c = this.c;
    c.packetsIpfix++;
    if (b.length < 16) {
      countError(c, NetflowError.shortHeader);
      return incomplete(NetflowError.shortHeader);
    }
    const len = u16(b, 2);
    if (len < 16 || len > b.length) {
      countError(c, NetflowError.badMessageLength);
      return malformed(NetflowError.badMessageLength);
    }
    const ctx = this.ctx;
    ctx.version = 10;
    ctx.sysUptimeMs = -1;
    ctx.exportMs = u32(b, 4) * 1000;
    const domain = u32(b, 12);
    const session = this.sessions.get(exporterIp, exporterPort, 10, domain, nowMs);
    if (!session) {
      countError(c, NetflowError.sessionLimit);
      return limitHit(NetflowError.sessionLimit);
    }
    this.session = session;
    this.nowMs = nowMs;
    // The IPFIX sequence (RFC 7011 §3.1: data records sent before this message) is not checked:
    // exporters disagree on it (softflowd counts flow records only, including this message's).
    return this.sets(b, 16, len, 10);
  }

  /** Walks the (Flow)Sets of a v9 packet or IPFIX message, `b[p, end)`. */
  private sets(b: Uint8Array, p: number, end: number, version: 9 | 10): ParseResult<number> {
    const c = this.c;
    const session = this.session!;
    // Every set is ≥ 4 bytes, so this loop runs at most (end - p) / 4 times.
    while (end - p >= 4) {
      const id = u16(b, p);
      const len = u16(b, p + 2);
      if (len < 4 || p + len > end) {
        countError(c, NetflowError.badSetLength);
        return malformed(NetflowError.badSetLength);
      }
      const body = p + 4;
      const setEnd = p + len;
      if (version === 10) {
        if (id === 2 || id === 3) this.parser.ipfix(b, body, setEnd, id === 3, this.sink);
        else if (id >= 256) this.dataSet(session, id, b, body, setEnd, this.ctx);
        else countError(c, NetflowError.reservedSetId);
      } else {
        if (id === 0) this.parser.v9Templates(b, body, setEnd, this.sink);
        else if (id === 1) this.parser.v9Options(b, body, setEnd, this.sink);
        else if (id >= 256) this.dataSet(session, id, b, body, setEnd, this.ctx);
        else countError(c, NetflowError.reservedSetId);
      }
      p = setEnd;
    }
    // 1–3 trailing bytes: padding after the last set.
    return ok(0);
  }

  /** Packets missing before `seq` (0 when in order or unknown); backwards or huge jumps resynchronise. */
  private sequenceGap(session: ExporterSession, seq: number): number {
    const expected = session.nextSequence;
    if (expected < 0 || seq === expected) return 0;
    const gap = (seq - expected) >>> 0;
    if (gap >= 0x8000_0000) {
      this.c.sequenceResets++;
      return 0;
    }
    return gap;
  }

  /** Template sink: stores (or refreshes) a template and decodes data that waited for it. */
  private learn(p: ParsedTemplate): void {
    const session = this.session;
    if (!session) return;
    const c = this.c;
    const existing = session.templates.get(p.id);
    if (existing && existing.sameLayout(p)) {
      existing.refreshedMs = this.nowMs;
      return;
    }
    if (!existing && session.templates.size >= this.o.maxTemplatesPerSession) {
      countError(c, NetflowError.templateLimit);
      return;
    }
    const t = new Template(p, this.nowMs, session.version === 9);
    if (t.minLength === 0) {
      countError(c, NetflowError.templateZeroLength);
      if (existing) session.templates.delete(p.id);
      return;
    }
    for (let i = 0; i < t.pens.length; i++) {
      const pen = t.pens[i]!;
      if (pen !== 0 && t.slots[i] === Slot.Skip) t.enterpriseCounters.push(this.enterpriseCounter(pen, t.ids[i]!));
    }
    session.templates.set(p.id, t);
    if (existing) c.templatesReplaced++;
    else c.templatesLearned++;
    const waiting = this.pending.take(session, p.id);
    for (const w of waiting) {
      c.setsDecodedLate++;
      this.dataSet(session, p.id, w.body, 0, w.body.length, w.ctx);
    }
  }

  private enterpriseCounter(pen: number, id: number): EnterpriseFieldCounter {
    const key = `${pen}:${id}`;
    let e = this.enterprise.get(key);
    if (!e) {
      if (this.enterprise.size >= this.o.maxEnterpriseFieldKeys) return this.enterpriseOther;
      e = { pen, id, records: 0 };
      this.enterprise.set(key, e);
    }
    return e;
  }

  /** A data set `b[p, end)` for template `id`: decoded now, or buffered until its template arrives. */
  private dataSet(session: ExporterSession, id: number, b: Uint8Array, p: number, end: number, ctx: ExportContext): void {
    const c = this.c;
    const t = session.templates.get(id);
    if (!t) {
      if (this.pending.add(session, id, b.subarray(p, end), ctx, this.nowMs)) {
        c.setsBuffered++;
        return;
      }
      c.unknownTemplateSets++;
      countError(c, this.o.maxPendingSets <= 0 ? NetflowError.unknownTemplate : NetflowError.pendingOverflow);
      return;
    }
    const s = this.s;
    const exporterIp = session.exporterIp;
    let n = 0;
    let truncated = false;
    // Each record consumes ≥ minLength ≥ 1 bytes, so at most (end - p) records.
    while (end - p >= t.minLength) {
      s.reset();
      const q = readRecord(t, b, p, end, s);
      if (q < 0) {
        countError(c, NetflowError.truncatedRecord);
        truncated = true;
        break;
      }
      p = q;
      n++;
      if (s.badFields > 0) countError(c, NetflowError.badFieldLength, s.badFields);
      if (t.isOptions) {
        c.optionsRecords++;
        if (!applyOptionsRecord(s, session, this.o.maxSamplersPerSession)) countError(c, NetflowError.samplerLimit);
        continue;
      }
      this.deliver(ctx, session, exporterIp, session.domain, samplingFor(s, session, this.o.defaultSamplingInterval));
    }
    // Fewer bytes than one record are padding (RFC 7011 §3.3.1); a non-empty set with no record is not.
    if (n === 0 && !truncated && end - p >= 4) countError(c, NetflowError.setShorterThanRecord);
    t.records += n;
    if (!t.isOptions) for (const e of t.enterpriseCounters) e.records += n;
  }

  private deliver(ctx: ExportContext, session: ExporterSession | undefined, exporterIp: string, domain: number, sampling: number): void {
    const c = this.c;
    const s = this.s;
    const times = resolveTimes(s, ctx, session ? session.systemInitMs : -1, this.times);
    if (times.unanchored) c.recordsUnanchoredTime++;
    const rec = toFlowRecord(s, ctx, exporterIp, domain, sampling, times);
    if (!rec) {
      c.recordsWithoutAddresses++;
      return;
    }
    c.records++;
    this.onFlow(rec);
  }
}
