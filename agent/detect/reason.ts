/** Small helpers for the one-line human reasons and severities detectors produce. */
import type { Severity } from '../alert/alert.js';

/** `412 B`, `3.4 kB`, `12.1 MB` (decimal units, as network tools print). */
export function fmtBytes(n: number): string {
  if (!Number.isFinite(n)) return '?';
  if (n < 1000) return `${Math.round(n)} B`;
  if (n < 1e6) return `${(n / 1e3).toFixed(1)} kB`;
  if (n < 1e9) return `${(n / 1e6).toFixed(1)} MB`;
  return `${(n / 1e9).toFixed(2)} GB`;
}

/** A duration in µs as `850 ms`, `2.0 s`, `6 min`, `2.5 h`. */
export function fmtDuration(us: number): string {
  const s = us / 1e6;
  if (!Number.isFinite(s) || s < 0) return '?';
  if (s < 1) return `${Math.round(s * 1000)} ms`;
  if (s < 60) return `${s.toFixed(1)} s`;
  if (s < 3600) return `${Math.round(s / 60)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}

/** Thousands separators: `65,536`. */
export function fmtCount(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** A rate per second: `12,400/s`. */
export function fmtRate(n: number): string {
  return n >= 100 ? `${fmtCount(n)}/s` : `${n.toFixed(1)}/s`;
}

/** `ip:port`, with brackets for IPv6. */
export function hostPort(ip: string, port?: number): string {
  if (port === undefined) return ip;
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/** Severity from a 0..1 score with the usual cut points (detectors may override). */
export function severityOf(score: number, floor: Severity = 'low'): Severity {
  const s: Severity = score >= 0.95 ? 'critical' : score >= 0.8 ? 'high' : score >= 0.6 ? 'medium' : 'low';
  const rank = { low: 1, medium: 2, high: 3, critical: 4 } as const;
  return rank[s] >= rank[floor] ? s : floor;
}

/** Clamp to 0..1. */
export function unit(x: number): number {
  return x <= 0 || !Number.isFinite(x) ? 0 : x >= 1 ? 1 : x;
}

/** Rounds for evidence values (3 significant decimals). */
export function r3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
