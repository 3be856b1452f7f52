/**
 * The HTTP JSON API (all GET):
 *
 *   /api/alerts         {"alerts": [...], "total": N}; filters (http/params.ts), limit/offset, sort/order
 *   /api/alerts/:id     one alert with its evidence; 404 when unknown
 *   /api/sensors        {"sensors": [...]} with health and problems
 *   /api/kpis           KPIs with deltas against the previous window
 *   /api/timeseries     {"stepS": 300, "buckets": [...]}: alerts, events, mean score per window
 *   /api/top            top sources (with country), countries, ports, protocols, categories, techniques
 *   /api/dashboard      everything the dashboard shows in one response (status banner included)
 *   /api/map            the world map geometry (static)
 *   /api/health         collector statistics (broker connection, ingest counters, database size)
 *   /api/stream         live updates (Server-Sent Events, http/live-stream.ts)
 *
 * Windows: `from`/`to` (ms since the epoch or ISO 8601) or `range` (seconds, default 3600) ending
 * at `to` or now. /api/dashboard without `to` ends its window at the newest alert when that is
 * outside the window ending now (a replayed capture), and says so (`anchored: "data"`).
 */
import { worldMap } from '../geo/world-map.js';
import type { AlertStore } from '../store/alert-store.js';
import { kpis, MAX_BUCKETS, statusBanner, timeSeries, topLists } from '../store/aggregates.js';
import type { AlertFilter } from '../store/alert-filter.js';
import { BadRequest, FILTER_PARAMS, filterParams, intParam, readQuery, sortParams } from './params.js';

export interface ApiContext {
  store: AlertStore;
  /** µs after which an online sensor that said nothing is "stale". */
  staleAfterUs: number;
  nowMs: () => number;
  /** Collector statistics for /api/health. */
  health: () => unknown;
}

export type ApiResult = { status: number; body: unknown };

const MAX_RANGE_S = 366 * 24 * 3600;
/** Alerts up to this far in the future are sensor clock skew, not replayed data. */
const CLOCK_SKEW_US = 300e6;
const WINDOW_PARAMS = [...FILTER_PARAMS, 'range'] as const;

interface Window {
  fromUs: number;
  toUs: number;
}

/** from/to, or range ending at to (or now). */
function windowOf(q: Map<string, string>, f: AlertFilter, nowUs: number): Window {
  const rangeUs = intParam(q, 'range', 60, MAX_RANGE_S, 3600) * 1e6;
  if (q.has('range') && q.has('from')) throw new BadRequest('give either range or from, not both');
  const toUs = f.toUs ?? nowUs;
  const fromUs = f.fromUs ?? toUs - rangeUs;
  if (toUs <= fromUs) throw new BadRequest('to must be after from');
  return { fromUs, toUs };
}

function stepFor(q: Map<string, string>, w: Window, auto: boolean): number {
  const stepS = intParam(q, 'step', 60, 86_400, 300);
  if (stepS % 60 !== 0) throw new BadRequest('step must be a multiple of 60 seconds');
  let stepUs = stepS * 1e6;
  const buckets = (w.toUs - w.fromUs) / stepUs;
  if (buckets > MAX_BUCKETS) {
    if (!auto) throw new BadRequest(`step ${stepS} s gives ${Math.ceil(buckets)} windows; at most ${MAX_BUCKETS}: use a larger step or a shorter range`);
    // Grow in whole 5-minute multiples so windows stay aligned to the clock.
    stepUs = Math.ceil((w.toUs - w.fromUs) / MAX_BUCKETS / 300e6) * 300e6;
  }
  return stepUs;
}

export function alertsList(ctx: ApiContext, search: URLSearchParams): ApiResult {
  const q = readQuery(search, [...FILTER_PARAMS, 'limit', 'offset', 'sort', 'order']);
  const f = filterParams(q);
  const { sort, order } = sortParams(q);
  const limit = intParam(q, 'limit', 1, 500, 50);
  const offset = intParam(q, 'offset', 0, 1_000_000, 0);
  return { status: 200, body: ctx.store.list(f, { sort, order, limit, offset }) };
}

export function alertById(ctx: ApiContext, rawId: string, search: URLSearchParams): ApiResult {
  readQuery(search, []);
  let id: string;
  try {
    id = decodeURIComponent(rawId);
  } catch {
    throw new BadRequest('alert id is not valid percent-encoding');
  }
  if (id.length === 0 || id.length > 64) throw new BadRequest('alert id must be 1-64 characters');
  const a = ctx.store.get(id);
  if (!a) return { status: 404, body: { error: 'no alert with this id' } };
  return { status: 200, body: a };
}

export function sensorsList(ctx: ApiContext, search: URLSearchParams): ApiResult {
  readQuery(search, []);
  return { status: 200, body: { sensors: ctx.store.sensors.list(ctx.staleAfterUs) } };
}

export function kpisOf(ctx: ApiContext, search: URLSearchParams): ApiResult {
  const q = readQuery(search, WINDOW_PARAMS);
  const f = filterParams(q);
  const w = windowOf(q, f, ctx.nowMs() * 1000);
  return { status: 200, body: kpis(ctx.store, { ...f, ...w }, ctx.staleAfterUs, ctx.nowMs() * 1000) };
}

export function timeSeriesOf(ctx: ApiContext, search: URLSearchParams): ApiResult {
  const q = readQuery(search, [...WINDOW_PARAMS, 'step']);
  const f = filterParams(q);
  const w = windowOf(q, f, ctx.nowMs() * 1000);
  const stepUs = stepFor(q, w, false);
  return { status: 200, body: { fromUs: w.fromUs, toUs: w.toUs, stepS: stepUs / 1e6, buckets: timeSeries(ctx.store, { ...f, ...w }, stepUs) } };
}

export function topOf(ctx: ApiContext, search: URLSearchParams): ApiResult {
  const q = readQuery(search, [...WINDOW_PARAMS, 'limit']);
  const f = filterParams(q);
  const w = windowOf(q, f, ctx.nowMs() * 1000);
  const limit = intParam(q, 'limit', 1, 100, 10);
  return { status: 200, body: { fromUs: w.fromUs, toUs: w.toUs, ...topLists(ctx.store, { ...f, ...w }, limit) } };
}

export function dashboard(ctx: ApiContext, search: URLSearchParams): ApiResult {
  const q = readQuery(search, [...WINDOW_PARAMS, 'step', 'limit']);
  const f = filterParams(q);
  const nowUs = ctx.nowMs() * 1000;
  const bounds = ctx.store.bounds();
  let w = windowOf(q, f, nowUs);
  let anchored: 'now' | 'data' | 'request' = f.toUs !== undefined ? 'request' : 'now';
  let stepUs = stepFor(q, w, true);
  // Replayed or old data (or a capture whose clock runs ahead): show the window that ends with the
  // newest alert instead of an empty one. A few minutes of sensor clock skew do not count.
  const outside = bounds.newestUs < w.fromUs || bounds.newestUs > nowUs + CLOCK_SKEW_US;
  if (anchored === 'now' && f.fromUs === undefined && bounds.alerts > 0 && outside) {
    const len = w.toUs - w.fromUs;
    const toUs = Math.ceil((bounds.newestUs + 1) / stepUs) * stepUs;
    w = { fromUs: toUs - len, toUs };
    anchored = 'data';
    stepUs = stepFor(q, w, true);
  }
  const limit = intParam(q, 'limit', 1, 100, 10);
  const ff = { ...f, ...w };
  const k = kpis(ctx.store, ff, ctx.staleAfterUs, nowUs);
  const sensors = ctx.store.sensors.list(ctx.staleAfterUs);
  return {
    status: 200,
    body: {
      window: { fromUs: w.fromUs, toUs: w.toUs, stepS: stepUs / 1e6, anchored },
      status: statusBanner(k, sensors),
      kpis: k,
      series: timeSeries(ctx.store, ff, stepUs),
      top: topLists(ctx.store, ff, limit),
      sensors,
      bounds,
    },
  };
}

export function mapOf(search: URLSearchParams): ApiResult {
  readQuery(search, []);
  return { status: 200, body: worldMap() };
}

export function healthOf(ctx: ApiContext, search: URLSearchParams): ApiResult {
  readQuery(search, []);
  return { status: 200, body: ctx.health() };
}
