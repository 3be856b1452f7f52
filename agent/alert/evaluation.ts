/**
 * Scoring alerts against labelled traffic (`picket eval`). Definitions, precisely:
 *
 * Labels: CSV rows `start,end,src_ip,dst_ip,label,mitre` (epoch seconds; an empty ip = any).
 *
 * An alert A *matches* label window L when A's [firstUs, lastUs] overlaps [start, end] (inclusive)
 * and each non-empty label ip equals A's source or A's destination ip (either side). A window is
 * *detected* when at least one alert matches it; recall of a class = detected / windows. The
 * `by technique` column counts only matching alerts whose technique and the label's share a
 * prefix (T1071 ~ T1071.001).
 *
 * A flow is *attack* when it matches a window the same way (its [start, end] overlaps, label ips
 * are its client or server); otherwise it is *benign*. An alert matching no window is a *false
 * alert*. Benign host-hours: for every internal (non-untrust) address seen as client or server of
 * benign flows, the time from its first to its last benign flow (at least one minute), summed, in
 * hours. False alerts per benign host-hour = false alerts / benign host-hours.
 *
 * Flow scores: a flow's score is the highest score of the alerts it contributed to — alerts whose
 * time range overlaps the flow, whose *actor* (the source; for `ddos` the destination) is one of
 * the flow's endpoints and, for pair alerts, whose other end is the flow's other endpoint (one-
 * sided alerts: ddos, dga, lateral movement, horizontal scans) — or, with a model, the anomaly
 * score reported for the flow. 0 when none. Flow precision/recall/F1 use score ≥ threshold;
 * ROC AUC uses the scores as they are.
 */
import type { Alert } from './alert.js';

export interface Label {
  startUs: number;
  endUs: number;
  src: string;
  dst: string;
  label: string;
  mitre: string;
  /** 1-based line in the file. */
  line: number;
}

/** Parses the labels CSV; throws a one-line error naming the line for bad rows. */
export function parseLabels(text: string, file = 'labels'): Label[] {
  const out: Label[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!.trim();
    if (raw === '' || raw.startsWith('#')) continue;
    const cols = raw.split(',').map((c) => c.trim());
    if (i === 0 && cols[0] === 'start') continue;
    if (cols.length < 5) throw new Error(`${file}:${i + 1}: expected start,end,src_ip,dst_ip,label,mitre, got ${cols.length} columns`);
    const start = Number(cols[0]);
    const end = Number(cols[1]);
    if (!Number.isFinite(start) || !Number.isFinite(end) || end < start) throw new Error(`${file}:${i + 1}: start/end must be epoch seconds with start ≤ end, got "${cols[0]}","${cols[1]}"`);
    if (!cols[4]) throw new Error(`${file}:${i + 1}: the label column is empty`);
    out.push({ startUs: start * 1e6, endUs: end * 1e6, src: cols[2] ?? '', dst: cols[3] ?? '', label: cols[4], mitre: cols[5] ?? '', line: i + 1 });
  }
  return out;
}

/** What eval keeps of each flow. */
export interface FlowBrief {
  startUs: number;
  endUs: number;
  client: string;
  server: string;
  clientInternal: boolean;
  serverInternal: boolean;
  /** Anomaly score reported by a model, when one ran. */
  anomaly?: number;
}

function ipsMatch(l: Label, a: string, b: string): boolean {
  return (l.src === '' || l.src === a || l.src === b) && (l.dst === '' || l.dst === a || l.dst === b);
}

export function alertMatches(a: Alert, l: Label): boolean {
  return a.firstUs <= l.endUs && a.lastUs >= l.startUs && ipsMatch(l, a.source.ip, a.destination.ip);
}

export function flowMatches(f: FlowBrief, l: Label): boolean {
  return f.startUs <= l.endUs && f.endUs >= l.startUs && ipsMatch(l, f.client, f.server);
}

function techniqueMatches(a: Alert, l: Label): boolean {
  if (!l.mitre) return true;
  // Anomaly and baseline alerts carry no technique: they detect, but never "by technique".
  if (!a.technique) return false;
  return a.technique.startsWith(l.mitre) || l.mitre.startsWith(a.technique);
}

const ONE_SIDED = new Set(['ddos', 'dga', 'lateral_movement']);

/** True when flow `f` contributed to alert `a` (see the module comment). */
export function flowInAlert(f: FlowBrief, a: Alert): boolean {
  if (f.startUs > a.lastUs || f.endUs < a.firstUs) return false;
  const actor = a.detector === 'ddos' ? a.destination.ip : a.source.ip;
  const other = a.detector === 'ddos' ? a.source.ip : a.destination.ip;
  let peer: string;
  if (f.client === actor) peer = f.server;
  else if (f.server === actor) peer = f.client;
  else return false;
  const oneSided = ONE_SIDED.has(a.detector) || (a.detector === 'port_scan' && a.evidence.values?.kind === 'horizontal');
  return oneSided || peer === other;
}

export interface ClassRow {
  label: string;
  mitre: string;
  windows: number;
  detected: number;
  recall: number;
  /** Windows detected by an alert of a matching technique. */
  detectedByTechnique: number;
  /** Detectors whose alerts matched. */
  detectors: string[];
}

export interface EvalResult {
  classes: ClassRow[];
  alerts: number;
  falseAlerts: number;
  benignHostHours: number;
  falseAlertsPerHostHour: number;
  /** False alerts per detector. */
  falseByDetector: Record<string, number>;
  flows: { total: number; attack: number; threshold: number; tp: number; fp: number; fn: number; precision: number; recall: number; f1: number; auc: number };
}

/** Evaluates alerts and flows against labels. `auc` computes ROC AUC (scores, 0/1 labels). */
export function evaluate(
  labels: readonly Label[],
  alerts: readonly Alert[],
  flows: readonly FlowBrief[],
  auc: (scores: Float64Array, y: Uint8Array) => number,
  opts: { threshold?: number; useAnomaly?: boolean } = {},
): EvalResult {
  const threshold = opts.threshold ?? 0.5;
  const byClass = new Map<string, ClassRow>();
  for (const l of labels) {
    let row = byClass.get(l.label);
    if (!row) {
      row = { label: l.label, mitre: l.mitre, windows: 0, detected: 0, recall: 0, detectedByTechnique: 0, detectors: [] };
      byClass.set(l.label, row);
    }
    row.windows++;
    const hits = alerts.filter((a) => alertMatches(a, l));
    if (hits.length > 0) row.detected++;
    if (hits.some((a) => techniqueMatches(a, l))) row.detectedByTechnique++;
    for (const a of hits) if (!row.detectors.includes(a.detector)) row.detectors.push(a.detector);
  }
  for (const row of byClass.values()) row.recall = row.windows > 0 ? row.detected / row.windows : 0;

  const falseByDetector: Record<string, number> = {};
  let falseAlerts = 0;
  for (const a of alerts) {
    if (labels.some((l) => alertMatches(a, l))) continue;
    falseAlerts++;
    falseByDetector[a.detector] = (falseByDetector[a.detector] ?? 0) + 1;
  }

  // Benign host-hours and flow labels.
  const span = new Map<string, [number, number]>();
  const scores = new Float64Array(flows.length);
  const y = new Uint8Array(flows.length);
  // Alerts sorted by first time, to bound the per-flow search.
  const sortedAlerts = [...alerts].sort((a, b) => a.firstUs - b.firstUs);
  for (let i = 0; i < flows.length; i++) {
    const f = flows[i]!;
    const attack = labels.some((l) => flowMatches(f, l));
    y[i] = attack ? 1 : 0;
    if (!attack) {
      for (const [ip, internal] of [[f.client, f.clientInternal], [f.server, f.serverInternal]] as const) {
        if (!internal) continue;
        const s = span.get(ip);
        if (!s) span.set(ip, [f.startUs, f.endUs]);
        else {
          if (f.startUs < s[0]) s[0] = f.startUs;
          if (f.endUs > s[1]) s[1] = f.endUs;
        }
      }
    }
    if (opts.useAnomaly) scores[i] = f.anomaly ?? 0;
    else {
      let best = 0;
      for (const a of sortedAlerts) {
        if (a.firstUs > f.endUs) break;
        if (a.score > best && flowInAlert(f, a)) best = a.score;
      }
      scores[i] = best;
    }
  }
  let hostUs = 0;
  for (const [a, b] of span.values()) hostUs += Math.max(60e6, b - a);
  const benignHostHours = hostUs / 3600e6;
  let tp = 0;
  let fp = 0;
  let fn = 0;
  let attackFlows = 0;
  for (let i = 0; i < flows.length; i++) {
    const pos = scores[i]! >= threshold && scores[i]! > 0;
    if (y[i]) attackFlows++;
    if (pos && y[i]) tp++;
    else if (pos) fp++;
    else if (y[i]) fn++;
  }
  const precision = tp + fp > 0 ? tp / (tp + fp) : 0;
  const recall = tp + fn > 0 ? tp / (tp + fn) : 0;
  return {
    classes: [...byClass.values()],
    alerts: alerts.length,
    falseAlerts,
    benignHostHours,
    falseAlertsPerHostHour: benignHostHours > 0 ? falseAlerts / benignHostHours : falseAlerts > 0 ? Infinity : 0,
    falseByDetector,
    flows: { total: flows.length, attack: attackFlows, threshold, tp, fp, fn, precision, recall, f1: precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0, auc: auc(scores, y) },
  };
}

/** The result as a plain-text table. */
export function formatEval(r: EvalResult): string {
  const pct = (x: number): string => (Number.isFinite(x) ? `${(x * 100).toFixed(1)} %` : 'n/a');
  const rows = [['class', 'mitre', 'windows', 'detected', 'recall', 'by technique', 'detectors']];
  for (const c of r.classes) rows.push([c.label, c.mitre, String(c.windows), String(c.detected), pct(c.recall), String(c.detectedByTechnique), c.detectors.join(' ') || '-']);
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  const lines = rows.map((row) => row.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd());
  lines.splice(1, 0, widths.map((w) => '-'.repeat(w)).join('  '));
  const total = r.classes.reduce((a, c) => a + c.windows, 0);
  const det = r.classes.reduce((a, c) => a + c.detected, 0);
  lines.push('');
  lines.push(`windows ${total}, detected ${det}, recall ${pct(total ? det / total : 0)}`);
  const fb = Object.entries(r.falseByDetector).map(([k, v]) => `${k} ${v}`).join(', ');
  lines.push(
    `alerts ${r.alerts}, false alerts ${r.falseAlerts}${fb ? ` (${fb})` : ''}, benign host-hours ${r.benignHostHours.toFixed(2)}, ` +
      `false alerts per benign host-hour ${Number.isFinite(r.falseAlertsPerHostHour) ? r.falseAlertsPerHostHour.toFixed(2) : 'inf'}`,
  );
  const f = r.flows;
  lines.push(
    `flows ${f.total} (${f.attack} attack): at score ≥ ${f.threshold} precision ${pct(f.precision)}, recall ${pct(f.recall)}, F1 ${f.f1.toFixed(3)}; ROC AUC ${Number.isFinite(f.auc) ? f.auc.toFixed(3) : 'n/a'}`,
  );
  return lines.join('\n') + '\n';
}
