/**
 * The JSON-lines form of an alert (`picket inspect --alerts`, `--alerts-jsonl`), with Elastic
 * Common Schema names where ECS has one and everything else under `picket.alert.*`. Objects are
 * nested (`{"event":{"id":…}}`), not dotted keys, so ECS consumers and `jq .event.id` both work.
 *
 * Mapping:
 *   @timestamp, event.end   ← lastUs            event.start       ← firstUs
 *   event.id                ← id (ULID)         event.kind        = "alert"
 *   event.severity          ← 1..4 (low..critical)
 *   rule.name               ← detector          message           ← reason
 *   threat.technique.id     ← technique         threat.tactic.name ← tactic (MITRE ATT&CK)
 *   source.ip/.port, destination.ip/.port       network.protocol  ← appProtocol
 *   observer.name           ← sensorId          observer.geo.name ← site
 *   picket.alert.{severity, score, category, count, zones, evidence, model_version}
 */
import { SEVERITY_RANK, type Alert, type AlertEndpoint, type AlertEvidence } from './alert.js';

export interface EcsEndpoint {
  ip: string;
  port?: number;
}

export interface EcsAlertEvidence {
  sni?: string;
  ja3?: string;
  ja4?: string;
  http_host?: string;
  user_agent?: string;
  dns_name?: string;
  rmm_tool?: string;
  values?: Record<string, number | string>;
}

/** The ECS-shaped object written as one JSON line per alert. */
export interface EcsAlert {
  '@timestamp': string;
  event: { id: string; kind: 'alert'; start: string; end: string; severity: number };
  rule: { name: string };
  threat?: { technique?: { id: string }; tactic?: { name: string } };
  source: EcsEndpoint;
  destination: EcsEndpoint;
  message: string;
  network?: { protocol: string };
  observer?: { name?: string; geo?: { name: string } };
  picket: {
    alert: {
      severity: Alert['severity'];
      score: number;
      category: string;
      count: number;
      zones: { source: string; destination: string };
      evidence?: EcsAlertEvidence;
      model_version?: string;
    };
  };
}

/** ISO 8601 with milliseconds from µs since the epoch; the epoch itself for a non-finite time. */
export function isoFromUs(us: number): string {
  const ms = Math.floor(us / 1000);
  return new Date(Number.isFinite(ms) && Math.abs(ms) <= 8.64e15 ? ms : 0).toISOString();
}

function endpoint(e: AlertEndpoint): EcsEndpoint {
  return e.port === undefined ? { ip: e.ip } : { ip: e.ip, port: e.port };
}

function evidence(ev: AlertEvidence): EcsAlertEvidence | undefined {
  const out: EcsAlertEvidence = {};
  if (ev.sni) out.sni = ev.sni;
  if (ev.ja3) out.ja3 = ev.ja3;
  if (ev.ja4) out.ja4 = ev.ja4;
  if (ev.httpHost) out.http_host = ev.httpHost;
  if (ev.userAgent) out.user_agent = ev.userAgent;
  if (ev.dnsName) out.dns_name = ev.dnsName;
  if (ev.rmmTool) out.rmm_tool = ev.rmmTool;
  if (ev.values && Object.keys(ev.values).length > 0) out.values = { ...ev.values };
  return Object.keys(out).length > 0 ? out : undefined;
}

/** Builds the ECS object for one alert; keys are inserted in the documented order. */
export function alertToEcs(alert: Alert): EcsAlert {
  const end = isoFromUs(alert.lastUs);
  const out = {} as EcsAlert;
  out['@timestamp'] = end;
  out.event = {
    id: alert.id,
    kind: 'alert',
    start: isoFromUs(alert.firstUs),
    end,
    severity: SEVERITY_RANK[alert.severity] ?? 0,
  };
  out.rule = { name: alert.detector };
  if (alert.technique || alert.tactic) {
    const threat: NonNullable<EcsAlert['threat']> = {};
    if (alert.technique) threat.technique = { id: alert.technique };
    if (alert.tactic) threat.tactic = { name: alert.tactic };
    out.threat = threat;
  }
  out.source = endpoint(alert.source);
  out.destination = endpoint(alert.destination);
  out.message = alert.reason;
  if (alert.appProtocol) out.network = { protocol: alert.appProtocol };
  if (alert.sensorId || alert.site) {
    const observer: NonNullable<EcsAlert['observer']> = {};
    if (alert.sensorId) observer.name = alert.sensorId;
    if (alert.site) observer.geo = { name: alert.site };
    out.observer = observer;
  }
  const picket: EcsAlert['picket']['alert'] = {
    severity: alert.severity,
    score: alert.score,
    category: alert.category,
    count: alert.count,
    zones: { source: alert.source.zone, destination: alert.destination.zone },
  };
  const ev = evidence(alert.evidence);
  if (ev) picket.evidence = ev;
  if (alert.modelVersion) picket.model_version = alert.modelVersion;
  out.picket = { alert: picket };
  return out;
}

/** One JSON line (no trailing newline) for an alert. */
export function alertJsonLine(alert: Alert): string {
  return JSON.stringify(alertToEcs(alert));
}
