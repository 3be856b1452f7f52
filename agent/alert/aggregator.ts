/**
 * Turns alert candidates into alerts: one alert per (detector, source, target) and window, that
 * grows (first/last time, count, highest score and severity, latest evidence and reason) instead
 * of repeating. A 65 k-port scan is one alert with count 65 536.
 *
 * Ids and updates (the contract with the MQTT publisher and the collector):
 * - An alert is sent to the sink once as `new`, then as `update` whenever it changed, at most once
 *   per `updateIntervalSec` of packet time (at once when its severity rises), and a last time when
 *   it closes if it changed since. **Updates keep the alert's id** and carry a higher count and
 *   later `lastUs`; the collector replaces the stored alert with the same id.
 * - A window closes when no occurrence came for `windowSec` after the last one; the next
 *   occurrence opens a new alert with a new id.
 * - Ids are ULIDs whose time part is the packet time at which the alert opened (capture time
 *   offline, wall time live), so ids sort like the alerts' start.
 */
import type { Alert, Severity } from './alert.js';
import { SEVERITY_RANK } from './alert.js';
import type { AlertCandidate, CandidateSink } from '../detect/detector.js';
import { UlidGenerator } from '../util/ulid.js';
import { AllowList, type AllowListConfig, type AllowReason } from './allow-list.js';

export type AlertChange = 'new' | 'update';

/** Receives each alert when it opens and each time it is updated (a snapshot the sink may keep). */
export type AlertSink = (alert: Alert, change: AlertChange) => void;

export interface AggregatorConfig {
  /** An alert stays open while occurrences come within this many seconds of its last one. */
  windowSec: number;
  /** Minimum packet-time seconds between two updates of one alert (severity increases go at once). */
  updateIntervalSec: number;
  /** Open alerts kept; beyond it the least recently active one is closed (and counted). */
  maxOpen: number;
}

export const DEFAULT_AGGREGATOR: AggregatorConfig = { windowSec: 900, updateIntervalSec: 30, maxOpen: 10_000 };

export interface AggregatorStats {
  candidates: number;
  opened: number;
  updatesSent: number;
  closed: number;
  /** Closed early because `maxOpen` was reached. */
  evicted: number;
  /** Candidates dropped by the allow-list, per reason. */
  allowed: Record<AllowReason, number>;
}

interface Open {
  alert: Alert;
  key: string;
  /** Changed since it was last sent. */
  dirty: boolean;
  sentUs: number;
  sentSeverity: Severity;
}

export interface AggregatorOptions {
  sink: AlertSink;
  config?: Partial<AggregatorConfig>;
  allow?: AllowListConfig | AllowList;
  /** Id source (tests inject a deterministic one); its clock is replaced by packet time. */
  random?: (buf: Uint8Array) => void;
}

export class AlertAggregator implements CandidateSink {
  readonly stats: AggregatorStats = {
    candidates: 0, opened: 0, updatesSent: 0, closed: 0, evicted: 0, allowed: { host: 0, domain: 0, ja4: 0, detector: 0 },
  };
  readonly config: AggregatorConfig;
  readonly allow: AllowList;
  private readonly open = new Map<string, Open>();
  private readonly sink: AlertSink;
  private readonly ids: UlidGenerator;
  private nowUs = 0;

  constructor(opts: AggregatorOptions) {
    this.sink = opts.sink;
    this.config = { ...DEFAULT_AGGREGATOR, ...opts.config };
    this.allow = opts.allow instanceof AllowList ? opts.allow : new AllowList(opts.allow ?? {});
    this.ids = new UlidGenerator({ now: () => this.nowUs / 1000, ...(opts.random ? { random: opts.random } : {}) });
  }

  /** Open alerts now. */
  get openCount(): number {
    return this.open.size;
  }

  candidate(c: AlertCandidate): void {
    this.stats.candidates++;
    const why = this.allow.match(c);
    if (why) {
      this.stats.allowed[why]++;
      return;
    }
    if (c.lastUs > this.nowUs) this.nowUs = c.lastUs;
    const key = `${c.detector}|${c.aggregateSource ?? c.source.ip}|${c.aggregateTarget ?? targetOf(c)}`;
    let o = this.open.get(key);
    const windowUs = this.config.windowSec * 1e6;
    if (o && c.firstUs - o.alert.lastUs > windowUs) {
      this.close(o);
      o = undefined;
    }
    if (!o) {
      if (this.open.size >= this.config.maxOpen) this.evictOldest();
      const alert = fromCandidate(c, this.ids.next());
      o = { alert, key, dirty: false, sentUs: this.nowUs, sentSeverity: alert.severity };
      this.open.set(key, o);
      this.stats.opened++;
      this.sink(snapshot(alert), 'new');
      return;
    }
    merge(o.alert, c);
    // Most recently active last: eviction and expiry scan from the front.
    this.open.delete(key);
    this.open.set(key, o);
    o.dirty = true;
    if (SEVERITY_RANK[o.alert.severity] > SEVERITY_RANK[o.sentSeverity] || this.nowUs - o.sentUs >= this.config.updateIntervalSec * 1e6) this.send(o);
  }

  /** Sends due updates and closes alerts whose window ended. */
  tick(nowUs: number): void {
    if (nowUs > this.nowUs) this.nowUs = nowUs;
    const windowUs = this.config.windowSec * 1e6;
    const intervalUs = this.config.updateIntervalSec * 1e6;
    for (const o of [...this.open.values()]) {
      if (this.nowUs - o.alert.lastUs > windowUs) this.close(o);
      else if (o.dirty && this.nowUs - o.sentUs >= intervalUs) this.send(o);
    }
  }

  /** End of input: every changed alert is sent once more; alerts stay open (a later file may continue them). */
  finish(nowUs: number): void {
    if (nowUs > this.nowUs) this.nowUs = nowUs;
    for (const o of this.open.values()) if (o.dirty) this.send(o);
  }

  /** Current state of every open alert (copies). */
  openAlerts(): Alert[] {
    return [...this.open.values()].map((o) => snapshot(o.alert));
  }

  private send(o: Open): void {
    o.dirty = false;
    o.sentUs = this.nowUs;
    o.sentSeverity = o.alert.severity;
    this.stats.updatesSent++;
    this.sink(snapshot(o.alert), 'update');
  }

  private close(o: Open): void {
    if (o.dirty) this.send(o);
    this.open.delete(o.key);
    this.stats.closed++;
  }

  private evictOldest(): void {
    const first = this.open.values().next();
    if (first.done) return;
    this.stats.evicted++;
    this.close(first.value);
  }
}

function targetOf(c: AlertCandidate): string {
  return c.destination.port === undefined ? c.destination.ip : `${c.destination.ip}:${c.destination.port}`;
}

function fromCandidate(c: AlertCandidate, id: string): Alert {
  const a: Alert = {
    id,
    firstUs: c.firstUs,
    lastUs: c.lastUs,
    severity: c.severity,
    score: clamp01(c.score),
    category: c.category,
    detector: c.detector,
    technique: c.technique,
    tactic: c.tactic,
    source: { ...c.source },
    destination: { ...c.destination },
    evidence: copyEvidence(c.evidence),
    reason: c.reason,
    count: Math.max(1, c.count),
  };
  if (c.appProtocol) a.appProtocol = c.appProtocol;
  if (c.modelVersion) a.modelVersion = c.modelVersion;
  return a;
}

function merge(a: Alert, c: AlertCandidate): void {
  if (c.firstUs < a.firstUs) a.firstUs = c.firstUs;
  if (c.lastUs > a.lastUs) a.lastUs = c.lastUs;
  a.count += Math.max(1, c.count);
  const s = clamp01(c.score);
  if (s > a.score) a.score = s;
  if (SEVERITY_RANK[c.severity] > SEVERITY_RANK[a.severity]) a.severity = c.severity;
  // The detector's latest view (cumulative numbers) replaces the older one.
  a.reason = c.reason;
  a.evidence = copyEvidence(c.evidence);
  // The detector's latest classification wins (T1071 → T1071.001 once the SNI is known, a flood
  // first seen as volumetric turns out to be a SYN flood).
  a.technique = c.technique;
  a.tactic = c.tactic;
  if (!a.appProtocol && c.appProtocol) a.appProtocol = c.appProtocol;
}

function clamp01(x: number): number {
  return Number.isFinite(x) ? Math.min(1, Math.max(0, Math.round(x * 1000) / 1000)) : 0;
}

function copyEvidence(e: Alert['evidence']): Alert['evidence'] {
  const out: Alert['evidence'] = { ...e };
  if (e.values) out.values = { ...e.values };
  return out;
}

function snapshot(a: Alert): Alert {
  const s: Alert = { ...a, source: { ...a.source }, destination: { ...a.destination }, evidence: copyEvidence(a.evidence) };
  return s;
}
