/**
 * The detect stage: runs the registered detectors on packets (rate detectors only), dissector
 * events and flow records, and hands their alert candidates to a sink (the alert aggregator).
 *
 * Wiring (see cli/inspect.ts):
 *   const detect = new DetectStage({ sink: aggregator });
 *   const dissect = new DissectStage({ onEvent: (e) => detect.event(e) });
 *   const pipeline = new PacketPipeline({ observer: composeObservers(dissect, detect), onRecord });
 *   detect.attach(pipeline.table);
 * composeObservers calls dissect.flowEnd before detect.flowEnd, so `record()` sees the metadata.
 */
import type { DecodedPacket } from '../decode/decoded-packet.js';
import type { Flow } from '../flow/flow.js';
import type { Direction, FlowObserver } from '../flow/flow-observer.js';
import type { FlowRecord } from '../flow/flow-record.js';
import type { FlowTable } from '../flow/flow-table.js';
import type { DissectEvent } from '../dissect/dissector.js';
import { wordsToString } from '../util/ip-format.js';
import { ZoneMap, type ZoneConfig } from '../util/zones.js';
import type {
  AlertCandidate, AnyDetectorFactory, CandidateSink, DetectContext, Detector, DetectorState, FlowFacts,
} from './detector.js';
import { DEFAULT_EWMA_BASELINE, EwmaVolumeBaseline, type HostVolumeBaseline } from './host-volume-baseline.js';
import type { AnomalyHooks } from './anomaly/anomaly-hooks.js';
import { BoundedMap } from './state/bounded-map.js';
import { DETECTORS } from './registry.js';

/** Detection settings (the daemon loads them from YAML; every part is optional). */
export interface DetectConfig {
  zones?: ZoneConfig;
  /** Per detector name: `false` disables it, an object overlays its thresholds on the defaults. */
  detectors?: Readonly<Record<string, boolean | Readonly<Record<string, unknown>>>>;
}

export interface DetectStageOptions {
  sink: CandidateSink;
  config?: DetectConfig;
  /** Detectors to run (default: every registered one). */
  factories?: readonly AnyDetectorFactory[];
  /** Host outbound-volume baseline (default: a per-host EWMA). */
  volume?: HostVolumeBaseline;
  /** Per-flow anomaly scores reported by anomaly detectors. */
  onFlowScore?: (uid: string, score: number) => void;
  /** Anomaly model (fixed or a reloadable holder) and live learner for the `anomaly` detector. */
  anomaly?: AnomalyHooks;
}

/** Flows remembered as "already alerted" for anomaly scoring and baseline poisoning checks. */
const ALERTED_FLOWS = 65_536;
const TICK_US = 1e6;
/** Events held while their flow's first packet is processed (a response-first DNS datagram). */
const MAX_PENDING_EVENTS = 64;

/**
 * Resolves a detector's configuration: defaults overlaid with the configured values. Throws a
 * one-line error for unknown settings or wrong types (a typo must not silently keep a default).
 */
export function resolveDetectorConfig(f: AnyDetectorFactory, given: Readonly<Record<string, unknown>> | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = { ...f.defaults };
  if (!given) return out;
  for (const [k, v] of Object.entries(given)) {
    if (k === 'enabled') continue;
    if (!(k in f.defaults)) {
      throw new Error(`detectors.${f.name}: unknown setting "${k}" (known: ${Object.keys(f.defaults).join(', ')})`);
    }
    const want = (f.defaults as Record<string, unknown>)[k];
    if (typeof want !== typeof v || Array.isArray(want) !== Array.isArray(v)) {
      throw new Error(`detectors.${f.name}.${k}: expected ${Array.isArray(want) ? 'a list' : typeof want}, got ${JSON.stringify(v)}`);
    }
    out[k] = v;
  }
  return out;
}

export class DetectStage implements FlowObserver {
  readonly zones: ZoneMap;
  readonly volume: HostVolumeBaseline;
  readonly detectors: readonly Detector[];
  /** `<detector>.<what>` → count. */
  readonly counters = new Map<string, number>();
  /** Candidates raised, per detector. */
  readonly raised = new Map<string, number>();
  /** CPU ms per detector (all hooks), when `timing` is on (benchmarks). */
  readonly timeMs = new Map<string, number>();
  timing = false;
  private readonly packetDetectors: Detector[];
  private readonly eventDetectors: Detector[];
  private readonly recordDetectors: Detector[];
  private readonly sink: CandidateSink;
  private readonly alerted = new BoundedMap<string, true>(ALERTED_FLOWS);
  private readonly onFlowScore: ((uid: string, score: number) => void) | undefined;
  private readonly anomalyHooks: AnomalyHooks | undefined;
  private table: FlowTable | undefined;
  /** Live flows by uid (events carry only the uid). */
  private readonly live = new Map<string, Flow>();
  /** Endpoint facts of live flows that had events, built on first use. */
  private readonly facts = new Map<string, FlowFacts>();
  /** Client/server address words per flow slot (flow.id), copied when the flow starts. */
  private addrs = new Uint32Array(4096 * 8);
  private versions = new Uint8Array(4096);
  /** Events of a flow whose first packet is still being processed (its addresses come with it). */
  private readonly pending: DissectEvent[] = [];
  /** The flow created by the last flowStart: its next packet is its first. */
  private starting: Flow | undefined;
  private nowUs = 0;
  private nextTickUs = 0;
  private current = '';

  constructor(opts: DetectStageOptions) {
    const cfg = opts.config ?? {};
    this.zones = new ZoneMap(cfg.zones ?? {});
    this.volume = opts.volume ?? new EwmaVolumeBaseline(DEFAULT_EWMA_BASELINE);
    this.sink = opts.sink;
    this.onFlowScore = opts.onFlowScore;
    this.anomalyHooks = opts.anomaly;
    const factories = opts.factories ?? DETECTORS;
    const known = new Set(factories.map((f) => f.name));
    for (const name of Object.keys(cfg.detectors ?? {})) {
      if (!known.has(name)) throw new Error(`detectors: unknown detector "${name}" (known: ${[...known].join(', ')})`);
    }
    const list: Detector[] = [];
    for (const f of factories) {
      const given = cfg.detectors?.[f.name];
      if (given === false || (typeof given === 'object' && given.enabled === false)) continue;
      const conf = resolveDetectorConfig(f, typeof given === 'object' ? given : undefined);
      this.current = f.name;
      list.push(f.create(conf, this.contextFor(f.name)));
    }
    this.detectors = list;
    this.packetDetectors = list.filter((d) => d.packet);
    this.eventDetectors = list.filter((d) => d.event);
    this.recordDetectors = list.filter((d) => d.record);
  }

  /** A context whose counters and candidates carry the detector's name. */
  private contextFor(name: string): DetectContext {
    const stage = this;
    return {
      zones: this.zones,
      volume: this.volume,
      emit: (c) => stage.emit(name, c),
      now: () => stage.nowUs,
      count: (what, n = 1) => stage.bump(`${name}.${what}`, n),
      flowAlerted: (uid) => stage.flowAlerted(uid),
      scoreFlow: (uid, s) => stage.scoreFlow(uid, s),
      ...(this.anomalyHooks ? { anomaly: this.anomalyHooks } : {}),
    };
  }

  private emit(_detector: string, cand: AlertCandidate): void {
    this.raised.set(cand.detector, (this.raised.get(cand.detector) ?? 0) + 1);
    if (cand.flowUid) this.alerted.set(cand.flowUid, true);
    if (cand.lastUs > this.nowUs) this.advance(cand.lastUs);
    this.sink.candidate(cand);
  }

  /** Latest time seen, µs. */
  now(): number {
    return this.nowUs;
  }

  flowAlerted(uid: string): boolean {
    return this.alerted.peek(uid) !== undefined;
  }

  scoreFlow(uid: string, score: number): void {
    this.onFlowScore?.(uid, score);
  }

  private bump(key: string, n: number): void {
    this.counters.set(key, (this.counters.get(key) ?? 0) + n);
  }

  /** Lets events be resolved to endpoints from the flow table's keys as soon as a flow starts. */
  attach(table: FlowTable): void {
    this.table = table;
  }

  // ---- FlowObserver ----

  flowStart(flow: Flow): void {
    this.starting = flow;
    this.live.set(flow.uid, flow);
    const id = flow.id;
    if (id >= this.versions.length) this.grow(id);
    const t = this.table;
    if (t) {
      // Key words: client address (4), server address (4) — written before flowStart is called.
      const k = id * 10;
      const a = this.addrs;
      for (let i = 0; i < 8; i++) a[id * 8 + i] = t.keys[k + i]!;
      this.versions[id] = flow.ipVersion;
    } else this.versions[id] = 0;
  }

  packet(flow: Flow, dir: Direction, pkt: DecodedPacket): void {
    const isNew = this.starting === flow;
    if (isNew) {
      this.starting = undefined;
      if (this.versions[flow.id] === 0) {
        // No table attached: take the addresses from the first packet.
        const base = flow.id * 8;
        const c = dir === 0 ? pkt.src : pkt.dst;
        const s = dir === 0 ? pkt.dst : pkt.src;
        for (let i = 0; i < 4; i++) {
          this.addrs[base + i] = c[i]!;
          this.addrs[base + 4 + i] = s[i]!;
        }
        this.versions[flow.id] = pkt.ipVersion;
        if (this.pending.length > 0) this.replay();
      }
    }
    const ts = pkt.tsUs;
    if (ts > this.nowUs) {
      this.nowUs = ts;
      if (ts >= this.nextTickUs) this.runTick(ts);
    }
    const list = this.packetDetectors;
    if (this.timing) {
      for (let i = 0; i < list.length; i++) {
        const t0 = performance.now();
        list[i]!.packet!(pkt, flow, dir, isNew);
        this.addTime(list[i]!.name, t0);
      }
      return;
    }
    for (let i = 0; i < list.length; i++) {
      try {
        list[i]!.packet!(pkt, flow, dir, isNew);
      } catch {
        // A detector bug must not stop the packet path: count it, keep going.
        this.bump(`${list[i]!.name}.internal_error`, 1);
      }
    }
  }

  private addTime(name: string, t0: number): void {
    this.timeMs.set(name, (this.timeMs.get(name) ?? 0) + performance.now() - t0);
  }

  flowEnd(flow: Flow, record: FlowRecord): void {
    this.record(record);
    if (!record.partial) {
      this.live.delete(flow.uid);
      this.facts.delete(flow.uid);
    }
  }

  // ---- other entry points ----

  /** A finished (or interim) flow record with dissector metadata. NetFlow records come here too. */
  record(r: FlowRecord): void {
    if (r.endUs > this.nowUs) this.advance(r.endUs);
    if (this.recordDetectors.length === 0) return;
    const zones = { client: this.zones.zoneOf(r.client.ip), server: this.zones.zoneOf(r.server.ip) };
    for (const d of this.recordDetectors) this.safely(d, () => d.record!(r, zones));
  }

  /** A dissector event (DissectStage `onEvent`). */
  event(e: DissectEvent): void {
    if (e.tsUs > this.nowUs) this.advance(e.tsUs);
    if (this.eventDetectors.length === 0) return;
    const f = this.factsOf(e.flowUid);
    if (!f) {
      const flow = this.live.get(e.flowUid);
      if (flow && this.versions[flow.id] === 0 && this.pending.length < MAX_PENDING_EVENTS) this.pending.push(e);
      else this.bump('stage.event_without_flow', 1);
      return;
    }
    for (const d of this.eventDetectors) this.safely(d, () => d.event!(e, f));
  }

  /** Time moved without packets (live capture on a quiet link): wall-clock µs. */
  tick(nowUs: number): void {
    if (nowUs > this.nowUs) this.advance(nowUs);
  }

  /** End of input: detectors evaluate what is pending, then the sink finishes. */
  finish(): void {
    for (const d of this.detectors) if (d.finish) this.safely(d, () => d.finish!(this.nowUs));
    this.sink.finish?.(this.nowUs);
  }

  /** State sizes per detector. */
  states(): Map<string, DetectorState> {
    const out = new Map<string, DetectorState>();
    for (const d of this.detectors) out.set(d.name, d.state());
    const v = this.volume.size();
    out.set('stage', {
      entries: this.live.size + this.facts.size + this.alerted.size + v.entries,
      capacity: ALERTED_FLOWS + v.capacity,
      evictions: this.alerted.evictions + v.evictions,
      bytes: this.addrs.byteLength + this.versions.byteLength + (this.live.size + this.facts.size) * 120 + this.alerted.size * 80 + v.entries * 120,
    });
    return out;
  }

  private advance(ts: number): void {
    this.nowUs = ts;
    if (ts >= this.nextTickUs) this.runTick(ts);
  }

  private runTick(ts: number): void {
    this.nextTickUs = ts + TICK_US;
    for (const d of this.detectors) if (d.tick) this.safely(d, () => d.tick!(ts));
    this.sink.tick?.(ts);
  }

  /** A detector bug must not take the sensor down: count it, keep going. */
  private safely(d: Detector, fn: () => void): void {
    const t0 = this.timing ? performance.now() : 0;
    try {
      fn();
    } catch {
      this.bump(`${d.name}.internal_error`, 1);
    }
    if (this.timing) this.addTime(d.name, t0);
  }

  /** Events that came during a flow's first packet, before its addresses were known. */
  private replay(): void {
    const list = this.pending.splice(0);
    for (const e of list) this.event(e);
  }

  private grow(id: number): void {
    let n = this.versions.length;
    while (n <= id) n *= 2;
    const a = new Uint32Array(n * 8);
    a.set(this.addrs);
    const v = new Uint8Array(n);
    v.set(this.versions);
    this.addrs = a;
    this.versions = v;
  }

  private factsOf(uid: string): FlowFacts | undefined {
    const cached = this.facts.get(uid);
    if (cached) return cached;
    const flow = this.live.get(uid);
    if (!flow) return undefined;
    const id = flow.id;
    const version = this.versions[id]!;
    if (version === 0) return undefined;
    const a = this.addrs;
    const b = id * 8;
    const clientIp = wordsToString(version, a, b);
    const serverIp = wordsToString(version, a, b + 4);
    const f: FlowFacts = {
      uid,
      protocol: flow.protocol,
      clientIp,
      serverIp,
      clientPort: flow.clientPort,
      serverPort: flow.serverPort,
      clientZone: this.zones.zoneOfWords(version, a, b),
      serverZone: this.zones.zoneOfWords(version, a, b + 4),
    };
    this.facts.set(uid, f);
    return f;
  }
}
