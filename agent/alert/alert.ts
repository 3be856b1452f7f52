/**
 * An alert candidate as detectors produce it. The wire form is proto/picket/v1/alert.proto; the
 * JSON form (`picket inspect --alerts`, `--alerts-jsonl`) is built by alert/alert-json.ts.
 */

export type Severity = 'low' | 'medium' | 'high' | 'critical';

export const SEVERITY_RANK: Readonly<Record<Severity, number>> = { low: 1, medium: 2, high: 3, critical: 4 };

export type Zone = 'trust' | 'untrust' | string;

export interface AlertEndpoint {
  ip: string;
  port?: number;
  zone: Zone;
}

/** Evidence carried with an alert; well-known keys are typed, detectors may add numeric/text extras. */
export interface AlertEvidence {
  sni?: string;
  ja3?: string;
  ja4?: string;
  httpHost?: string;
  userAgent?: string;
  dnsName?: string;
  rmmTool?: string;
  /** Any other values that fired (thresholds, measured values), for the analyst. */
  values?: Record<string, number | string>;
}

export interface Alert {
  /** ULID: unique and sortable by creation time. */
  id: string;
  /** Set by the publisher from configuration. */
  sensorId?: string;
  site?: string;
  /** First and last time (µs since epoch) of the activity the alert covers. */
  firstUs: number;
  lastUs: number;
  severity: Severity;
  /** 0..1 */
  score: number;
  /** e.g. `scan`, `brute_force`, `c2`, `tunnel`, `exfiltration`, `dos`, `lateral`, `mining`, `rmm`, `anomaly`. */
  category: string;
  /** Detector (rule) name, e.g. `port_scan`, `beacon`. */
  detector: string;
  technique: string;
  tactic: string;
  source: AlertEndpoint;
  destination: AlertEndpoint;
  appProtocol?: string;
  evidence: AlertEvidence;
  /** One line for a human. */
  reason: string;
  /** How many occurrences were aggregated into this alert. */
  count: number;
  modelVersion?: string;
}
