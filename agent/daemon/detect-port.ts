/**
 * The daemon's view of detection: one small interface between the sources/pipeline and the
 * DetectStage, so the composition root does not depend on how detection is built inside, and a
 * threshold reload (SIGHUP) can replace the stage without touching the flow table.
 *
 *   packets → FlowTable ─ observer (flowStart/packet/flowEnd) ─┐
 *   dissector events ───────────────────── event() ────────────┤→ DetectStage → candidates → sink
 *   NetFlow records ────────────────────── record() ───────────┤
 *   wall clock (live) ──────────────────── tick() ─────────────┘
 */
import type { DecodedPacket } from '../decode/decoded-packet.js';
import type { DissectEvent } from '../dissect/dissector.js';
import type { Flow } from '../flow/flow.js';
import type { Direction, FlowObserver } from '../flow/flow-observer.js';
import type { FlowRecord } from '../flow/flow-record.js';
import type { FlowTable } from '../flow/flow-table.js';
import type { CandidateSink } from '../detect/detector.js';
import { DetectStage, type DetectConfig } from '../detect/detect-stage.js';
import { DETECTORS } from '../detect/registry.js';
import type { AnomalyHooks } from '../detect/anomaly/anomaly-hooks.js';
import type { DetectorInfo } from './config-loader.js';

export interface DetectPort {
  /** Hooks for the flow table; compose after the dissect stage (its flowEnd sees their metadata). */
  readonly observer: FlowObserver;
  /** Lets events resolve endpoints from the table's keys. */
  attach(table: FlowTable): void;
  event(e: DissectEvent): void;
  /** Records that do not come through the flow table (NetFlow/IPFIX). */
  record(r: FlowRecord): void;
  /** Wall-clock time for a quiet link (µs since the epoch). */
  tick(nowUs: number): void;
  /** End of input: detectors evaluate what is pending and the sink finishes. */
  finish(): void;
  /** New thresholds and zones; throws a one-line Error when they are not valid. */
  reconfigure(config: DetectConfig): void;
  /** `<detector>.<what>` → count. */
  counters(): ReadonlyMap<string, number>;
}

/** The registered detectors, for config validation. */
export function registeredDetectors(): readonly DetectorInfo[] {
  return DETECTORS.map((f) => ({ name: f.name, defaults: f.defaults as Readonly<Record<string, unknown>> }));
}

/**
 * DetectStage behind the port. The observer forwards to the current stage, so reconfigure()
 * can swap the stage while the flow table (and every flow's counters) stays as it is.
 */
class StageDetectPort implements DetectPort {
  private stage: DetectStage;
  private table: FlowTable | undefined;
  readonly observer: FlowObserver;

  constructor(
    private readonly sink: CandidateSink,
    config: DetectConfig,
    private readonly anomaly: AnomalyHooks | undefined,
  ) {
    this.stage = this.build(config);
    // Only the hooks DetectStage implements, so the flow table skips the others on the hot path.
    this.observer = {
      flowStart: (f: Flow) => this.stage.flowStart(f),
      packet: (f: Flow, d: Direction, p: DecodedPacket) => this.stage.packet(f, d, p),
      flowEnd: (f: Flow, r: FlowRecord) => this.stage.flowEnd(f, r),
    };
  }

  attach(table: FlowTable): void {
    this.table = table;
    this.stage.attach(table);
  }

  event(e: DissectEvent): void {
    this.stage.event(e);
  }

  record(r: FlowRecord): void {
    this.stage.record(r);
  }

  tick(nowUs: number): void {
    this.stage.tick(nowUs);
  }

  finish(): void {
    this.stage.finish();
  }

  reconfigure(config: DetectConfig): void {
    const s = this.stage as DetectStage & { reconfigure?: (c: DetectConfig) => void };
    if (typeof s.reconfigure === 'function') {
      s.reconfigure(config);
      return;
    }
    // Build first: a bad config throws here and the running stage stays.
    const next = this.build(config);
    if (this.table) next.attach(this.table);
    next.tick(this.stage.now());
    this.stage = next;
  }

  counters(): ReadonlyMap<string, number> {
    return this.stage.counters;
  }

  private build(config: DetectConfig): DetectStage {
    return new DetectStage({ sink: this.sink, config, ...(this.anomaly ? { anomaly: this.anomaly } : {}) });
  }
}

/**
 * The detection the daemon and `picket replay` use. Swapping the implementation is this one line.
 * `anomaly` gives the anomaly detector its model holder (the daemon's ModelSlot) and live learner.
 */
export function createDetectPort(sink: CandidateSink, config: DetectConfig, anomaly?: AnomalyHooks): DetectPort {
  return new StageDetectPort(sink, config, anomaly);
}
