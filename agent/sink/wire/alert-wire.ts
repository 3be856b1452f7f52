/**
 * Alert ⇄ protobuf bytes (proto/picket/v1/alert.proto). The sensor encodes; collectors decode
 * bytes from the broker, which are hostile: decoding never throws, caps the size and returns a
 * ParseResult with a reason that can become a counter label.
 */
import type { Alert, AlertEndpoint, AlertEvidence, Severity } from '../../alert/alert.js';
import { limitHit, malformed, ok, type ParseResult } from '../../util/result.js';
import { picket } from '../generated/picket.js';
import { int64ToNumber, numberToInt64, numberToUint } from './int64.js';

const pb = picket.v1;

/** Largest alert message accepted by decodeAlert (an alert is normally < 2 KiB). */
export const MAX_ALERT_BYTES = 256 * 1024;

const SEVERITY_TO_PB: Readonly<Record<Severity, picket.v1.Severity>> = {
  low: pb.Severity.SEVERITY_LOW,
  medium: pb.Severity.SEVERITY_MEDIUM,
  high: pb.Severity.SEVERITY_HIGH,
  critical: pb.Severity.SEVERITY_CRITICAL,
};

const SEVERITY_FROM_PB: readonly (Severity | undefined)[] = [undefined, 'low', 'medium', 'high', 'critical'];

function endpointToPb(e: AlertEndpoint): picket.v1.Endpoint.$Properties {
  const out: picket.v1.Endpoint.$Properties = { ip: e.ip, zone: e.zone };
  if (e.port !== undefined) out.port = numberToUint(e.port, 0xffff);
  return out;
}

function evidenceToPb(ev: AlertEvidence): picket.v1.Evidence.$Properties {
  const out: picket.v1.Evidence.$Properties = {};
  if (ev.sni) out.sni = ev.sni;
  if (ev.ja3) out.ja3 = ev.ja3;
  if (ev.ja4) out.ja4 = ev.ja4;
  if (ev.httpHost) out.httpHost = ev.httpHost;
  if (ev.userAgent) out.userAgent = ev.userAgent;
  if (ev.dnsName) out.dnsName = ev.dnsName;
  if (ev.rmmTool) out.rmmTool = ev.rmmTool;
  if (ev.values) {
    const values: Record<string, picket.v1.EvidenceValue.$Properties> = {};
    for (const [k, v] of Object.entries(ev.values)) values[k] = typeof v === 'number' ? { number: v } : { text: String(v) };
    out.values = values;
  }
  return out;
}

/**
 * Encodes an alert. `sensorId`/`site` given here override the alert's own (the publisher stamps
 * them from its configuration).
 */
export function encodeAlert(alert: Alert, sensorId?: string, site?: string): Uint8Array {
  const msg: picket.v1.Alert.$Properties = {
    id: alert.id,
    sensorId: sensorId ?? alert.sensorId ?? '',
    site: site ?? alert.site ?? '',
    firstSeenUs: numberToInt64(alert.firstUs),
    lastSeenUs: numberToInt64(alert.lastUs),
    severity: SEVERITY_TO_PB[alert.severity] ?? pb.Severity.SEVERITY_UNSPECIFIED,
    score: alert.score,
    category: alert.category,
    detector: alert.detector,
    technique: alert.technique,
    tactic: alert.tactic,
    source: endpointToPb(alert.source),
    destination: endpointToPb(alert.destination),
    appProtocol: alert.appProtocol ?? '',
    evidence: evidenceToPb(alert.evidence),
    reason: alert.reason,
    count: numberToUint(alert.count),
    modelVersion: alert.modelVersion ?? '',
  };
  return pb.Alert.encode(msg).finish();
}

function endpointFromPb(e: picket.v1.Endpoint.$Properties | null | undefined): AlertEndpoint {
  if (!e) return { ip: '', zone: '' };
  const out: AlertEndpoint = { ip: e.ip ?? '', zone: e.zone ?? '' };
  // proto3 `optional`: presence is an own property on the decoded message.
  if (Object.prototype.hasOwnProperty.call(e, 'port') && e.port != null) out.port = e.port;
  return out;
}

function evidenceFromPb(e: picket.v1.Evidence.$Properties | null | undefined): AlertEvidence {
  const out: AlertEvidence = {};
  if (!e) return out;
  if (e.sni) out.sni = e.sni;
  if (e.ja3) out.ja3 = e.ja3;
  if (e.ja4) out.ja4 = e.ja4;
  if (e.httpHost) out.httpHost = e.httpHost;
  if (e.userAgent) out.userAgent = e.userAgent;
  if (e.dnsName) out.dnsName = e.dnsName;
  if (e.rmmTool) out.rmmTool = e.rmmTool;
  const entries = e.values ? Object.entries(e.values) : [];
  if (entries.length > 0) {
    const values: Record<string, number | string> = {};
    for (const [k, v] of entries) {
      if (v.value === 'number') values[k] = v.number ?? 0;
      else if (v.value === 'text') values[k] = v.text ?? '';
    }
    out.values = values;
  }
  return out;
}

/** Decodes an alert from broker bytes; never throws. */
export function decodeAlert(bytes: Uint8Array, maxBytes = MAX_ALERT_BYTES): ParseResult<Alert> {
  if (bytes.length > maxBytes) return limitHit('alert.too_large');
  let m: picket.v1.Alert;
  try {
    m = pb.Alert.decode(bytes);
  } catch {
    return malformed('alert.protobuf');
  }
  const severity = SEVERITY_FROM_PB[m.severity];
  if (!severity) return malformed('alert.severity');
  if (!m.id) return malformed('alert.id_missing');
  const alert: Alert = {
    id: m.id,
    firstUs: int64ToNumber(m.firstSeenUs),
    lastUs: int64ToNumber(m.lastSeenUs),
    severity,
    score: m.score,
    category: m.category,
    detector: m.detector,
    technique: m.technique,
    tactic: m.tactic,
    source: endpointFromPb(m.source),
    destination: endpointFromPb(m.destination),
    evidence: evidenceFromPb(m.evidence),
    reason: m.reason,
    count: int64ToNumber(m.count),
  };
  if (m.sensorId) alert.sensorId = m.sensorId;
  if (m.site) alert.site = m.site;
  if (m.appProtocol) alert.appProtocol = m.appProtocol;
  if (m.modelVersion) alert.modelVersion = m.modelVersion;
  return ok(alert);
}
