/**
 * What the store hands out: alert rows as the HTTP API returns them (JSON-ready, camelCase),
 * and the mapping from SQLite rows.
 */
import type { AlertEvidence, Severity } from '../../agent/alert/alert.js';
import { countryName } from '../geo/country-codes.js';

export const SEVERITY_NAMES: readonly Severity[] = ['low', 'medium', 'high', 'critical'];

/** 1..4 → name; anything else (a corrupted row) reads as low. */
export function severityName(rank: number): Severity {
  return SEVERITY_NAMES[rank - 1] ?? 'low';
}

export interface EndpointView {
  ip: string;
  port?: number;
  zone: string;
  /** ISO alpha-2, `internal`, or '' (unknown/reserved). */
  country: string;
  /** "Germany", "internal", "unknown". */
  countryName: string;
}

/** One alert in a list. */
export interface AlertSummary {
  id: string;
  site: string;
  sensorId: string;
  firstUs: number;
  lastUs: number;
  /** ISO 8601 of lastUs. */
  time: string;
  severity: Severity;
  score: number;
  category: string;
  detector: string;
  technique: string;
  tactic: string;
  source: EndpointView;
  destination: EndpointView;
  protocol: string;
  reason: string;
  count: number;
  receivedUs: number;
  /** Times a newer version of this alert replaced the stored one. */
  updates: number;
}

/** One alert with everything (GET /api/alerts/:id). */
export interface AlertDetail extends AlertSummary {
  evidence: AlertEvidence;
  modelVersion: string;
  updatedUs: number;
}

/** Column list matching AlertRow. */
export const SUMMARY_COLUMNS =
  'id, site, sensor_id, first_us, last_us, severity, score, category, detector, technique, tactic, src_ip, src_port, src_zone, src_country, dst_ip, dst_port, dst_zone, dst_country, protocol, reason, count, received_us, updates';

export interface AlertRow {
  id: string;
  site: string;
  sensor_id: string;
  first_us: number;
  last_us: number;
  severity: number;
  score: number;
  category: string;
  detector: string;
  technique: string;
  tactic: string;
  src_ip: string;
  src_port: number | null;
  src_zone: string;
  src_country: string;
  dst_ip: string;
  dst_port: number | null;
  dst_zone: string;
  dst_country: string;
  protocol: string;
  reason: string;
  count: number;
  received_us: number;
  updates: number;
}

export interface AlertDetailRow extends AlertRow {
  evidence: string;
  model_version: string;
  updated_us: number;
}

/** Display name of a stored country value. */
export function countryLabel(code: string): string {
  if (code === 'internal') return 'internal';
  if (code === '') return 'unknown';
  return countryName(code);
}

function endpointView(ip: string, port: number | null, zone: string, country: string): EndpointView {
  const e: EndpointView = { ip, zone, country, countryName: countryLabel(country) };
  if (port !== null) e.port = port;
  return e;
}

export function isoFromUs(us: number): string {
  const ms = Math.floor(us / 1000);
  return new Date(Number.isFinite(ms) && Math.abs(ms) <= 8.64e15 ? ms : 0).toISOString();
}

export function toSummary(r: AlertRow): AlertSummary {
  return {
    id: r.id,
    site: r.site,
    sensorId: r.sensor_id,
    firstUs: r.first_us,
    lastUs: r.last_us,
    time: isoFromUs(r.last_us),
    severity: severityName(r.severity),
    score: r.score,
    category: r.category,
    detector: r.detector,
    technique: r.technique,
    tactic: r.tactic,
    source: endpointView(r.src_ip, r.src_port, r.src_zone, r.src_country),
    destination: endpointView(r.dst_ip, r.dst_port, r.dst_zone, r.dst_country),
    protocol: r.protocol,
    reason: r.reason,
    count: r.count,
    receivedUs: r.received_us,
    updates: r.updates,
  };
}

export function toDetail(r: AlertDetailRow): AlertDetail {
  let evidence: AlertEvidence = {};
  try {
    evidence = JSON.parse(r.evidence) as AlertEvidence;
  } catch {
    // Written by this collector; unreadable only if the file was edited by hand.
  }
  return { ...toSummary(r), evidence, modelVersion: r.model_version, updatedUs: r.updated_us };
}
