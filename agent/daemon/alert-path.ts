/**
 * Detection to outputs, shared by `picket run` and `picket replay`:
 *
 *   DetectPort → candidates → AlertAggregator (allow-list) → each new/updated alert →
 *     counts by severity, --alerts-jsonl line, AlertPublisher (queue + MQTT)
 *
 * Alerts carry the sensor id and site when a broker is configured, so the JSON line is the same
 * alert the collector receives.
 */
import type { Alert, Severity } from '../alert/alert.js';
import { alertJsonLine } from '../alert/alert-json.js';
import { AlertAggregator, type AggregatorConfig, type AlertChange } from '../alert/aggregator.js';
import type { AllowListConfig } from '../alert/allow-list.js';
import type { DetectConfig } from '../detect/detect-stage.js';
import type { AnomalyHooks } from '../detect/anomaly/anomaly-hooks.js';
import type { AlertPublisher } from '../sink/mqtt/alert-publisher.js';
import type { ZoneConfig } from '../util/zones.js';
import type { PicketConfig } from './config-schema.js';
import { createDetectPort, type DetectPort } from './detect-port.js';
import type { JsonlFile } from './jsonl-file.js';
import { ReloadableAllowList } from './reloadable-allow-list.js';

export interface AlertPathOptions {
  detect: DetectConfig;
  allow: AllowListConfig;
  aggregator: Partial<AggregatorConfig>;
  jsonl?: JsonlFile | undefined;
  publisher?: AlertPublisher | undefined;
  /** Stamped on every alert (the broker's sensor id and site). */
  stamp?: { sensorId: string; site: string } | undefined;
  /** Model holder and live learner for the anomaly detector. */
  anomaly?: AnomalyHooks | undefined;
}

/** Zones as the config writes them (`trust: [...]`, `guest: [...]`, `dmz: [...]`) → ZoneConfig. */
export function zoneConfig(zones: PicketConfig['zones']): ZoneConfig {
  const extra: Record<string, string[]> = {};
  for (const [name, list] of Object.entries(zones)) if (name !== 'trust' && name !== 'guest') extra[name] = list;
  return { trust: zones.trust ?? [], guest: zones.guest ?? [], extra };
}

/** The detection part of the config. */
export function detectConfig(c: PicketConfig): DetectConfig {
  return { zones: zoneConfig(c.zones), detectors: c.detectors };
}

export class AlertPath {
  /** Alerts opened, by severity at opening. */
  readonly counts: Record<Severity, number> = { low: 0, medium: 0, high: 0, critical: 0 };
  /** Alert lines sent to the outputs (new + updates). */
  sent = 0;
  readonly allow: ReloadableAllowList;
  readonly aggregator: AlertAggregator;
  readonly detect: DetectPort;

  /** Throws a one-line Error for a bad allow-list entry, zone or detector setting. */
  constructor(private readonly o: AlertPathOptions) {
    this.allow = new ReloadableAllowList(o.allow);
    this.aggregator = new AlertAggregator({ sink: (a, change) => this.output(a, change), config: o.aggregator, allow: this.allow });
    this.detect = createDetectPort(this.aggregator, o.detect, o.anomaly);
  }

  private output(alert: Alert, change: AlertChange): void {
    if (change === 'new') this.counts[alert.severity]++;
    this.sent++;
    if (this.o.stamp) {
      alert.sensorId = this.o.stamp.sensorId;
      alert.site = this.o.stamp.site;
    }
    this.o.jsonl?.line(alertJsonLine(alert));
    this.o.publisher?.publish(alert);
  }

  /** New thresholds, zones and allow-list; nothing changes when any of them is invalid (throws). */
  reconfigure(detect: DetectConfig, allow: AllowListConfig): void {
    // Validate the allow-list before the detectors are swapped, so a failure leaves both as they were.
    const probe = new ReloadableAllowList(allow);
    this.detect.reconfigure(detect);
    this.allow.replace(allow);
    void probe;
  }
}
