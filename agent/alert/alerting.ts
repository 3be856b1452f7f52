/**
 * The detect → aggregate wiring the commands share (`picket inspect --alerts`, `picket eval`,
 * tests): build one, add `detect` to the pipeline's observers after the dissectors, send the
 * dissectors' events to `event`, and call `finish` after the pipeline finished.
 */
import type { Alert } from './alert.js';
import { AlertAggregator, type AggregatorConfig, type AlertChange, type AlertSink } from './aggregator.js';
import type { AllowListConfig } from './allow-list.js';
import type { DissectEvent } from '../dissect/dissector.js';
import { DetectStage, type DetectConfig } from '../detect/detect-stage.js';
import type { AnyDetectorFactory } from '../detect/detector.js';
import type { HostVolumeBaseline } from '../detect/host-volume-baseline.js';
import type { AnomalyHooks } from '../detect/anomaly/anomaly-hooks.js';
import type { FlowTable } from '../flow/flow-table.js';
import { BoundedMap } from '../detect/state/bounded-map.js';

/** Detection and alerting settings (a `detection:` section of the daemon's YAML). */
export interface AlertingConfig {
  detect?: DetectConfig;
  allow?: AllowListConfig;
  aggregate?: Partial<AggregatorConfig>;
}

export interface AlertingOptions {
  config?: AlertingConfig;
  /** Every new alert and every update (same id, higher count). */
  onAlert?: AlertSink;
  onFlowScore?: (uid: string, score: number) => void;
  factories?: readonly AnyDetectorFactory[];
  volume?: HostVolumeBaseline;
  /** Anomaly model / live learner for the `anomaly` detector. */
  anomaly?: AnomalyHooks;
  /** Random source for alert ids (deterministic tests). */
  random?: (buf: Uint8Array) => void;
  /** Latest states kept for `alerts()` (oldest dropped beyond it; a daemon publishing through onAlert can use a small number). */
  keepAlerts?: number;
}

export class Alerting {
  /** The flow observer to run after the dissectors (its flowEnd must see their metadata). */
  readonly detect: DetectStage;
  readonly aggregator: AlertAggregator;
  /** The latest state of every alert raised, by id (bounded). */
  private readonly latest: BoundedMap<string, Alert>;

  constructor(opts: AlertingOptions = {}) {
    const cfg = opts.config ?? {};
    this.latest = new BoundedMap(opts.keepAlerts ?? 100_000);
    const onAlert = opts.onAlert;
    const sink: AlertSink = (a: Alert, change: AlertChange) => {
      this.latest.set(a.id, a);
      onAlert?.(a, change);
    };
    this.aggregator = new AlertAggregator({
      sink,
      ...(cfg.aggregate ? { config: cfg.aggregate } : {}),
      ...(cfg.allow ? { allow: cfg.allow } : {}),
      ...(opts.random ? { random: opts.random } : {}),
    });
    this.detect = new DetectStage({
      sink: this.aggregator,
      ...(cfg.detect ? { config: cfg.detect } : {}),
      ...(opts.factories ? { factories: opts.factories } : {}),
      ...(opts.volume ? { volume: opts.volume } : {}),
      ...(opts.onFlowScore ? { onFlowScore: opts.onFlowScore } : {}),
      ...(opts.anomaly ? { anomaly: opts.anomaly } : {}),
    });
  }

  /** A dissector event (pass as DissectStage `onEvent`). */
  readonly event = (e: DissectEvent): void => this.detect.event(e);

  /** Optional: lets events be resolved to endpoints from the flow table as soon as a flow starts. */
  attach(pipeline: { table: FlowTable }): void {
    this.detect.attach(pipeline.table);
  }

  private finished = false;

  /** End of input: pending evaluations run and every changed alert is sent once more (once). */
  finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.detect.finish();
  }

  /** Final state of every alert, sorted by first time (then id). */
  alerts(): Alert[] {
    return [...this.latest.values()].sort((a, b) => a.firstUs - b.firstUs || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }
}
