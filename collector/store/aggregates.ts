/**
 * Aggregates for the dashboard, over the same filters as the alert list: KPIs with deltas
 * against the previous window of equal length, a time series in fixed windows (5 minutes by
 * default, aligned to the clock so windows do not shift between refreshes), the most active
 * sources with their country, targeted ports, protocols and categories, and the status banner.
 */
import type { AlertStore } from './alert-store.js';
import { whereClause, type AlertFilter } from './alert-filter.js';
import { countryLabel } from './rows.js';
import type { SensorView } from './sensor-table.js';

export interface Kpi {
  value: number;
  previous: number;
  /** value - previous. */
  delta: number;
}

export interface Kpis {
  fromUs: number;
  toUs: number;
  previousFromUs: number;
  events: Kpi;
  alerts: Kpi;
  uniqueSources: Kpi;
  sensorsOnline: Kpi & { total: number };
  bySeverity: { low: number; medium: number; high: number; critical: number };
  meanScore: number;
  maxScore: number;
}

export interface TimeBucket {
  /** Window start, µs since the epoch. */
  startUs: number;
  alerts: number;
  events: number;
  /** Mean alert score in the window, 0 when empty. */
  meanScore: number;
  maxSeverity: number;
}

export interface TopEntry {
  key: string;
  alerts: number;
  events: number;
  maxScore: number;
}

export interface SourceEntry extends TopEntry {
  country: string;
  countryName: string;
  lastUs: number;
}

export interface CountryEntry {
  country: string;
  countryName: string;
  alerts: number;
  sources: number;
}

export interface TopLists {
  sources: SourceEntry[];
  countries: CountryEntry[];
  ports: TopEntry[];
  protocols: TopEntry[];
  categories: TopEntry[];
  techniques: TopEntry[];
}

export type StatusLevel = 'ok' | 'attention' | 'alert';

export interface StatusBanner {
  level: StatusLevel;
  /** One line: "All clear", "Needs attention: ...". */
  headline: string;
  reasons: string[];
}

/** Largest number of windows a time series may have. */
export const MAX_BUCKETS = 2016;

function kpi(value: number, previous: number): Kpi {
  return { value, previous, delta: value - previous };
}

interface WindowStats {
  alerts: number;
  events: number;
  sources: number;
  low: number;
  medium: number;
  high: number;
  critical: number;
  mean: number | null;
  max: number | null;
}

function windowStats(store: AlertStore, f: AlertFilter): WindowStats {
  const w = whereClause(f);
  return store
    .statements()
    .get(
      `SELECT COUNT(*) AS alerts, COALESCE(SUM(count), 0) AS events, COUNT(DISTINCT src_ip) AS sources,
        COALESCE(SUM(severity = 1), 0) AS low, COALESCE(SUM(severity = 2), 0) AS medium,
        COALESCE(SUM(severity = 3), 0) AS high, COALESCE(SUM(severity = 4), 0) AS critical,
        AVG(score) AS mean, MAX(score) AS max FROM alerts ${w.sql}`,
    )
    .get(...w.params) as WindowStats;
}

/** KPIs for [fromUs, toUs) against [2·fromUs − toUs, fromUs). Sensors: online now vs one window ago. */
export function kpis(store: AlertStore, f: AlertFilter & { fromUs: number; toUs: number }, staleAfterUs: number, nowUs: number): Kpis {
  const len = f.toUs - f.fromUs;
  const cur = windowStats(store, f);
  const prev = windowStats(store, { ...f, fromUs: f.fromUs - len, toUs: f.fromUs });
  const sensors = store.sensors.list(staleAfterUs);
  const onlineNow = sensors.filter((s) => s.health === 'online').length;
  const onlineBefore = store.sensors.onlineAtUs(nowUs - len);
  return {
    fromUs: f.fromUs,
    toUs: f.toUs,
    previousFromUs: f.fromUs - len,
    events: kpi(cur.events, prev.events),
    alerts: kpi(cur.alerts, prev.alerts),
    uniqueSources: kpi(cur.sources, prev.sources),
    sensorsOnline: { ...kpi(onlineNow, onlineBefore), total: sensors.length },
    bySeverity: { low: cur.low, medium: cur.medium, high: cur.high, critical: cur.critical },
    meanScore: cur.mean ?? 0,
    maxScore: cur.max ?? 0,
  };
}

/** Alerts per window of `stepUs` over [fromUs, toUs), empty windows included. */
export function timeSeries(store: AlertStore, f: AlertFilter & { fromUs: number; toUs: number }, stepUs: number): TimeBucket[] {
  const first = Math.floor(f.fromUs / stepUs);
  const last = Math.floor((f.toUs - 1) / stepUs);
  const n = Math.max(0, last - first + 1);
  if (n > MAX_BUCKETS) throw new RangeError(`${n} windows`);
  const out: TimeBucket[] = [];
  for (let i = 0; i < n; i++) out.push({ startUs: (first + i) * stepUs, alerts: 0, events: 0, meanScore: 0, maxSeverity: 0 });
  const w = whereClause(f);
  const rows = store
    .statements()
    .get(
      `SELECT CAST(last_us / ? AS INTEGER) AS b, COUNT(*) AS alerts, SUM(count) AS events, AVG(score) AS mean, MAX(severity) AS sev
       FROM alerts ${w.sql} GROUP BY b ORDER BY b`,
    )
    .all(stepUs, ...w.params) as { b: number; alerts: number; events: number; mean: number; sev: number }[];
  for (const r of rows) {
    const slot = out[r.b - first];
    if (!slot) continue;
    slot.alerts = r.alerts;
    slot.events = r.events;
    slot.meanScore = Math.round(r.mean * 1000) / 1000;
    slot.maxSeverity = r.sev;
  }
  return out;
}

/** The `limit` largest groups of each kind. */
export function topLists(store: AlertStore, f: AlertFilter, limit: number): TopLists {
  const w = whereClause(f);
  const st = store.statements();
  const group = (col: string, extra = ''): TopEntry[] =>
    (
      st
        .get(
          `SELECT ${col} AS key, COUNT(*) AS alerts, SUM(count) AS events, MAX(score) AS maxScore FROM alerts ${w.sql}
           ${extra ? (w.sql ? `AND ${extra}` : `WHERE ${extra}`) : ''} GROUP BY ${col} ORDER BY alerts DESC, maxScore DESC LIMIT ?`,
        )
        .all(...w.params, limit) as { key: string | number; alerts: number; events: number; maxScore: number }[]
    ).map((r) => ({ key: String(r.key), alerts: r.alerts, events: r.events, maxScore: r.maxScore }));

  const sources = (
    st
      .get(
        `SELECT src_ip AS key, src_country AS country, COUNT(*) AS alerts, SUM(count) AS events, MAX(score) AS maxScore, MAX(last_us) AS lastUs
         FROM alerts ${w.sql} GROUP BY src_ip ORDER BY alerts DESC, maxScore DESC LIMIT ?`,
      )
      .all(...w.params, limit) as (TopEntry & { country: string; lastUs: number })[]
  ).map((r) => ({ ...r, countryName: countryLabel(r.country) }));

  const countries = (
    st
      .get(`SELECT src_country AS country, COUNT(*) AS alerts, COUNT(DISTINCT src_ip) AS sources FROM alerts ${w.sql} GROUP BY src_country ORDER BY alerts DESC LIMIT 300`)
      .all(...w.params) as { country: string; alerts: number; sources: number }[]
  ).map((r) => ({ ...r, countryName: countryLabel(r.country) }));

  const protocols = group("CASE WHEN protocol = '' THEN 'unknown' ELSE protocol END");
  return {
    sources,
    countries,
    ports: group('dst_port', 'dst_port IS NOT NULL'),
    protocols,
    categories: group('category'),
    techniques: group("CASE WHEN technique = '' THEN 'none' ELSE technique END"),
  };
}

/** The banner: is everything OK, or what needs attention first. */
export function statusBanner(k: Kpis, sensors: readonly SensorView[]): StatusBanner {
  const reasons: string[] = [];
  let level: StatusLevel = 'ok';
  const raise = (l: StatusLevel): void => {
    if (l === 'alert' || (l === 'attention' && level === 'ok')) level = l;
  };
  const hi = k.bySeverity.critical + k.bySeverity.high;
  if (k.bySeverity.critical > 0) reasons.push(`${k.bySeverity.critical} critical alert${k.bySeverity.critical === 1 ? '' : 's'}`);
  if (k.bySeverity.high > 0) reasons.push(`${k.bySeverity.high} high alert${k.bySeverity.high === 1 ? '' : 's'}`);
  if (hi > 0) raise('alert');
  if (k.bySeverity.medium > 0) {
    reasons.push(`${k.bySeverity.medium} medium alert${k.bySeverity.medium === 1 ? '' : 's'}`);
    raise('attention');
  }
  const offline = sensors.filter((s) => s.health === 'offline');
  const stale = sensors.filter((s) => s.health === 'stale');
  if (offline.length > 0) {
    reasons.push(`sensor${offline.length === 1 ? '' : 's'} offline: ${offline.slice(0, 5).map((s) => s.sensorId).join(', ')}${offline.length > 5 ? ', …' : ''}`);
    raise('alert');
  }
  if (stale.length > 0) {
    reasons.push(`sensor${stale.length === 1 ? '' : 's'} silent: ${stale.slice(0, 5).map((s) => s.sensorId).join(', ')}${stale.length > 5 ? ', …' : ''}`);
    raise('attention');
  }
  const troubled = sensors.filter((s) => s.health !== 'offline' && s.health !== 'stale' && s.problems.length > 0);
  for (const s of troubled.slice(0, 3)) reasons.push(`${s.sensorId}: ${s.problems[0]}`);
  if (troubled.length > 0) raise('attention');
  if (sensors.length === 0) {
    reasons.push('no sensor has reported yet');
    raise('attention');
  }
  const headline =
    level === 'ok'
      ? k.alerts.value === 0
        ? 'All clear: no alerts in this window'
        : `All clear: ${k.alerts.value} low alert${k.alerts.value === 1 ? '' : 's'} only`
      : level === 'alert'
        ? 'Needs action'
        : 'Needs attention';
  return { level, headline, reasons };
}
