/**
 * Validation of every query parameter the API accepts. Each endpoint names its parameters;
 * anything else, a repeated parameter or a value out of range is a 400 with one line saying what
 * is wrong and what is accepted. Values never reach SQL text (store/alert-filter.ts binds them).
 */
import { isIP } from 'node:net';
import type { Severity } from '../../agent/alert/alert.js';
import type { AlertFilter, SortKey, SortOrder } from '../store/alert-filter.js';

/** A request the API refuses; `message` is shown to the caller. */
export class BadRequest extends Error {
  constructor(
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

const SEVERITIES: readonly Severity[] = ['low', 'medium', 'high', 'critical'];
const SORTS: readonly SortKey[] = ['score', 'time', 'count', 'severity'];
// Control characters never appear in a useful filter value.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** Latest accepted time: year 2200, in µs. */
const MAX_TIME_US = Date.UTC(2200, 0, 1) * 1000;

export const FILTER_PARAMS = ['from', 'to', 'severity', 'site', 'sensor', 'src', 'dst', 'port', 'category', 'technique', 'protocol', 'country', 'q'] as const;

/** Reads the query once: rejects unknown and repeated parameters. */
export function readQuery(search: URLSearchParams, allowed: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  let n = 0;
  for (const [k, v] of search) {
    if (++n > 32) throw new BadRequest('too many query parameters (at most 32)');
    if (!allowed.includes(k)) throw new BadRequest(`unknown parameter "${k.slice(0, 40)}"; accepted: ${allowed.join(', ') || 'none'}`);
    if (out.has(k)) throw new BadRequest(`parameter "${k}" given twice`);
    out.set(k, v);
  }
  return out;
}

function text(q: Map<string, string>, name: string, max: number): string | undefined {
  const v = q.get(name);
  if (v === undefined) return undefined;
  if (v.length === 0 || v.length > max || CONTROL.test(v)) throw new BadRequest(`${name} must be 1-${max} characters without control characters`);
  return v;
}

/** An integer in [lo, hi], or the fallback when absent. */
export function intParam(q: Map<string, string>, name: string, lo: number, hi: number, fallback: number): number {
  const v = q.get(name);
  if (v === undefined) return fallback;
  if (!/^-?\d{1,16}$/.test(v)) throw new BadRequest(`${name} must be an integer from ${lo} to ${hi}`);
  const n = Number(v);
  if (n < lo || n > hi) throw new BadRequest(`${name} must be an integer from ${lo} to ${hi}`);
  return n;
}

/**
 * A time: milliseconds since the epoch (digits) or ISO 8601 (`2026-11-25T14:00:00Z`, offset or Z
 * required so the meaning does not depend on the server's time zone). Returns µs.
 */
export function timeParam(q: Map<string, string>, name: string): number | undefined {
  const v = q.get(name);
  if (v === undefined) return undefined;
  let ms: number;
  if (/^\d{1,15}$/.test(v)) ms = Number(v);
  else if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})$/.test(v)) ms = Date.parse(v);
  else throw new BadRequest(`${name} must be milliseconds since the epoch or ISO 8601 with a time zone (e.g. 2026-11-25T14:00:00Z)`);
  if (!Number.isFinite(ms) || ms * 1000 > MAX_TIME_US) throw new BadRequest(`${name} is not a valid time`);
  return ms * 1000;
}

/** The alert filters shared by the list and the aggregates. */
export function filterParams(q: Map<string, string>): AlertFilter {
  const f: AlertFilter = {};
  const from = timeParam(q, 'from');
  const to = timeParam(q, 'to');
  if (from !== undefined) f.fromUs = from;
  if (to !== undefined) f.toUs = to;
  if (from !== undefined && to !== undefined && to <= from) throw new BadRequest('to must be after from');
  const sev = q.get('severity');
  if (sev !== undefined) {
    const list = sev.split(',');
    if (list.length > 4 || !list.every((s): s is Severity => (SEVERITIES as readonly string[]).includes(s))) {
      throw new BadRequest('severity must be a comma-separated list of low, medium, high, critical');
    }
    f.severities = [...new Set(list)] as Severity[];
  }
  const site = text(q, 'site', 128);
  if (site !== undefined) f.site = site;
  const sensor = text(q, 'sensor', 128);
  if (sensor !== undefined) f.sensor = sensor;
  for (const [name, key] of [
    ['src', 'sourceIp'],
    ['dst', 'destinationIp'],
  ] as const) {
    const v = q.get(name);
    if (v === undefined) continue;
    if (v.length > 64 || isIP(v) === 0) throw new BadRequest(`${name} must be an IPv4 or IPv6 address`);
    f[key] = v;
  }
  if (q.has('port')) f.destinationPort = intParam(q, 'port', 0, 65535, 0);
  const category = text(q, 'category', 64);
  if (category !== undefined) f.category = category;
  const technique = text(q, 'technique', 64);
  if (technique !== undefined) f.technique = technique;
  const protocol = text(q, 'protocol', 32);
  if (protocol !== undefined) f.protocol = protocol === 'unknown' ? '' : protocol;
  const country = q.get('country');
  if (country !== undefined) {
    if (!/^([A-Z]{2}|internal|unknown)$/.test(country)) throw new BadRequest('country must be a two-letter code (DE), internal or unknown');
    f.country = country === 'unknown' ? '' : country;
  }
  const text_ = text(q, 'q', 200);
  if (text_ !== undefined) f.text = text_;
  return f;
}

export function sortParams(q: Map<string, string>): { sort: SortKey; order: SortOrder } {
  const sort = q.get('sort') ?? 'score';
  if (!(SORTS as readonly string[]).includes(sort)) throw new BadRequest(`sort must be one of ${SORTS.join(', ')}`);
  const order = q.get('order') ?? 'desc';
  if (order !== 'asc' && order !== 'desc') throw new BadRequest('order must be asc or desc');
  return { sort: sort as SortKey, order };
}
