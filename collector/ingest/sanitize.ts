/**
 * Makes a decoded alert safe to store and show. The protobuf decoder guarantees types, not
 * sizes or content: every string an attacker can influence (SNI, user agent, DNS names, URIs in
 * reasons) is capped in length, and control and bidirectional-override characters (which can
 * make text display differently from what it is) are replaced by U+FFFD. Numbers are clamped to
 * their documented ranges. Counts of what was changed feed the collector's statistics.
 */
import type { Alert, AlertEndpoint, AlertEvidence } from '../../agent/alert/alert.js';

/** Longest kept text per field kind (characters). */
export const TEXT_LIMITS = {
  id: 64,
  name: 64,
  zone: 32,
  ip: 64,
  text: 1024,
  evidenceKeys: 64,
} as const;

/** What sanitizing changed, summed over alerts. */
export interface SanitizeCounters {
  truncated: number;
  controlChars: number;
  clamped: number;
  evidenceKeysDropped: number;
}

export function newSanitizeCounters(): SanitizeCounters {
  return { truncated: 0, controlChars: 0, clamped: 0, evidenceKeysDropped: 0 };
}

// C0/C1 controls, DEL, bidi embeddings/overrides/isolates, line/paragraph separators.
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

function clean(s: string, max: number, c: SanitizeCounters): string {
  let out = s;
  if (out.length > max) {
    out = out.slice(0, max);
    c.truncated++;
  }
  if (UNSAFE.test(out)) {
    UNSAFE.lastIndex = 0;
    out = out.replace(UNSAFE, '\uFFFD');
    c.controlChars++;
  }
  UNSAFE.lastIndex = 0;
  return out;
}

function finite(v: number, lo: number, hi: number, c: SanitizeCounters): number {
  if (!Number.isFinite(v)) {
    c.clamped++;
    return lo;
  }
  if (v < lo || v > hi) {
    c.clamped++;
    return Math.min(hi, Math.max(lo, v));
  }
  return v;
}

function endpoint(e: AlertEndpoint, c: SanitizeCounters): AlertEndpoint {
  const ip = clean(e.ip, TEXT_LIMITS.ip, c);
  const out: AlertEndpoint = { ip, zone: clean(e.zone, TEXT_LIMITS.zone, c) };
  if (e.port !== undefined) out.port = Math.trunc(finite(e.port, 0, 65535, c));
  return out;
}

function evidence(ev: AlertEvidence, c: SanitizeCounters): AlertEvidence {
  const out: AlertEvidence = {};
  const t = TEXT_LIMITS.text;
  if (ev.sni) out.sni = clean(ev.sni, t, c);
  if (ev.ja3) out.ja3 = clean(ev.ja3, TEXT_LIMITS.name, c);
  if (ev.ja4) out.ja4 = clean(ev.ja4, TEXT_LIMITS.name, c);
  if (ev.httpHost) out.httpHost = clean(ev.httpHost, t, c);
  if (ev.userAgent) out.userAgent = clean(ev.userAgent, t, c);
  if (ev.dnsName) out.dnsName = clean(ev.dnsName, t, c);
  if (ev.rmmTool) out.rmmTool = clean(ev.rmmTool, TEXT_LIMITS.name, c);
  if (ev.values) {
    const values: Record<string, number | string> = {};
    let n = 0;
    for (const [k, v] of Object.entries(ev.values)) {
      if (n >= TEXT_LIMITS.evidenceKeys) {
        c.evidenceKeysDropped++;
        continue;
      }
      n++;
      // Keys become JSON object keys: never let one named __proto__ reach a plain object.
      const key = clean(k, TEXT_LIMITS.name, c);
      if (key === '__proto__') continue;
      values[key] = typeof v === 'number' ? (Number.isFinite(v) ? v : 0) : clean(String(v), t, c);
    }
    if (n > 0) out.values = values;
  }
  return out;
}

/** A copy of `a` within the collector's limits, stamped with the site and sensor of its topic. */
export function sanitizeAlert(a: Alert, site: string, sensorId: string, c: SanitizeCounters): Alert {
  const firstUs = Math.trunc(finite(a.firstUs, 0, 8.64e18, c));
  let lastUs = Math.trunc(finite(a.lastUs, 0, 8.64e18, c));
  if (lastUs < firstUs) {
    lastUs = firstUs;
    c.clamped++;
  }
  const out: Alert = {
    id: clean(a.id, TEXT_LIMITS.id, c),
    sensorId,
    site,
    firstUs,
    lastUs,
    severity: a.severity,
    score: finite(a.score, 0, 1, c),
    category: clean(a.category, TEXT_LIMITS.name, c),
    detector: clean(a.detector, TEXT_LIMITS.name, c),
    technique: clean(a.technique, TEXT_LIMITS.name, c),
    tactic: clean(a.tactic, TEXT_LIMITS.name, c),
    source: endpoint(a.source, c),
    destination: endpoint(a.destination, c),
    evidence: evidence(a.evidence, c),
    reason: clean(a.reason, TEXT_LIMITS.text, c),
    count: Math.trunc(finite(a.count, 1, Number.MAX_SAFE_INTEGER, c)),
  };
  if (a.appProtocol) out.appProtocol = clean(a.appProtocol, TEXT_LIMITS.zone, c).toLowerCase();
  if (a.modelVersion) out.modelVersion = clean(a.modelVersion, TEXT_LIMITS.name, c);
  return out;
}
