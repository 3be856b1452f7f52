/**
 * The detector contract: what a behavioural (or anomaly, or baseline) detector sees and how it
 * raises alert candidates. One detector = one file exporting a DetectorFactory, listed with one
 * line in registry.ts. The DetectStage calls the hooks a detector implements and nothing else.
 *
 * Entry points, cheapest first:
 * - `packet`  every packet (new flows flagged): O(1), allocation-free; only rate detectors use it.
 * - `event`   typed dissector events (`dns.query`, `http.response`, `grpc.call`...).
 * - `record`  every exported flow record, after the dissectors put their metadata on it.
 * - `tick`    time moves (packet time offline, wall time live), about once a second.
 * - `finish`  end of input: evaluate whatever is still pending.
 */
import type { DecodedPacket } from '../decode/decoded-packet.js';
import type { Flow } from '../flow/flow.js';
import type { Direction } from '../flow/flow-observer.js';
import type { FlowRecord } from '../flow/flow-record.js';
import type { DissectEvent } from '../dissect/dissector.js';
import type { AlertEndpoint, AlertEvidence, Severity } from '../alert/alert.js';
import type { ZoneMap, ZoneName } from '../util/zones.js';
import type { HostVolumeBaseline } from './host-volume-baseline.js';
import type { AnomalyHooks } from './anomaly/anomaly-hooks.js';

/** What a detector raises; the alert stage aggregates candidates into alerts. */
export interface AlertCandidate {
  /** Detector (rule) name, `ddos`, `port_scan`... */
  detector: string;
  /** `scan`, `brute_force`, `c2`, `tunnel`, `exfiltration`, `dos`, `lateral`, `mining`, `rmm`, `anomaly`... */
  category: string;
  technique: string;
  tactic: string;
  severity: Severity;
  /** 0..1 */
  score: number;
  source: AlertEndpoint;
  destination: AlertEndpoint;
  /**
   * Aggregation key parts: one alert per (detector, source, target) and window. Defaults: the
   * source ip and `destination ip:port`. A horizontal scan uses `tcp/22` as target, a DDoS uses
   * `*` as source (spoofed sources must not make a million alerts).
   */
  aggregateSource?: string;
  aggregateTarget?: string;
  appProtocol?: string;
  evidence: AlertEvidence;
  /** One line for a human, with the numbers that fired. */
  reason: string;
  /** Activity the candidate covers, µs since the epoch. */
  firstUs: number;
  lastUs: number;
  /** Occurrences this candidate stands for (probes, attempts, connections) since the last one. */
  count: number;
  /** The flow that triggered it, when there is one (used to keep alerting flows out of baselines). */
  flowUid?: string;
  modelVersion?: string;
}

/** Where candidates go (the alert aggregator implements it). */
export interface CandidateSink {
  candidate(c: AlertCandidate): void;
  /** Time moved (µs); lets the sink close windows and send due updates. */
  tick?(nowUs: number): void;
  /** End of input. */
  finish?(nowUs: number): void;
}

/** The endpoints of a live flow, for events (which carry only the flow uid). */
export interface FlowFacts {
  readonly uid: string;
  readonly protocol: number;
  readonly clientIp: string;
  readonly serverIp: string;
  readonly clientPort: number;
  readonly serverPort: number;
  readonly clientZone: ZoneName;
  readonly serverZone: ZoneName;
}

/** Handed to every detector at creation. */
export interface DetectContext {
  readonly zones: ZoneMap;
  /** Per-host outbound volume baseline (the host-baseline work replaces the default EWMA). */
  readonly volume: HostVolumeBaseline;
  /** Raise a candidate (allow-lists and aggregation happen downstream). */
  emit(c: AlertCandidate): void;
  /** Latest time seen, µs (packet time offline). */
  now(): number;
  /** Counts a named condition under `<detector>.<what>` (limits hit, evictions, skipped input). */
  count(what: string, n?: number): void;
  /** True when some detector already raised a candidate for this flow (anomaly scoring skips those). */
  flowAlerted(uid: string): boolean;
  /** Reports a per-flow anomaly score (anomaly detectors; `picket eval --model` reads these). */
  scoreFlow(uid: string, score: number): void;
  /** Model and live learner for the `anomaly` detector (DetectStageOptions.anomaly). */
  readonly anomaly?: AnomalyHooks;
}

/** State sizes of a detector, for memory reports and metrics. */
export interface DetectorState {
  /** Entries held now and the declared maximum (summed over the detector's tables). */
  entries: number;
  capacity: number;
  /** Entries dropped to stay within capacity (not expiries). */
  evictions: number;
  /** Approximate bytes held (typed arrays and per-entry estimates). */
  bytes: number;
}

/** A running detector; implement only the hooks you need. */
export interface Detector {
  readonly name: string;
  /** Every packet; `isNew` for the first packet of a flow. Must be O(1) and allocation-free. */
  packet?(pkt: DecodedPacket, flow: Flow, dir: Direction, isNew: boolean): void;
  event?(e: DissectEvent, flow: FlowFacts): void;
  record?(r: FlowRecord, zones: { client: ZoneName; server: ZoneName }): void;
  tick?(nowUs: number): void;
  finish?(nowUs: number): void;
  state(): DetectorState;
}

/** MITRE ATT&CK mapping a detector declares (for docs and the registry listing). */
export interface Mitre {
  technique: string;
  tactic: string;
}

/** One registry entry: a name, typed thresholds with defaults, and a constructor. */
export interface DetectorFactory<C extends object = object> {
  readonly name: string;
  /** One line for `--help`-style listings and docs. */
  readonly description: string;
  readonly mitre: readonly Mitre[];
  /** Thresholds and limits; configuration overlays a partial object on these. */
  readonly defaults: Readonly<C>;
  create(config: C, ctx: DetectContext): Detector;
}

/** Erases the config type for the registry list. */
export type AnyDetectorFactory = DetectorFactory<any>; // eslint-disable-line @typescript-eslint/no-explicit-any
