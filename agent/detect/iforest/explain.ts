/**
 * Which features made a row stand out, for the human reason of an `anomaly` alert
 * ("bytes_out 1.2e7 vs typical 3.4e3"). The forest itself does not say why a path was short, so
 * this ranks features by a robust z-score against the training rows' median and quartiles kept in
 * the model: |x − median| / (IQR / 1.349) — the IQR scaled to one standard deviation of a normal
 * distribution. It is a ranking aid, not a probability.
 */
import type { IsolationForest } from './forest.js';

export interface FeatureDeviation {
  readonly feature: string;
  readonly index: number;
  readonly value: number;
  /** Training median (NaN when the feature was always missing in training). */
  readonly median: number;
  /** Robust z-score (signed); for a missing value, how rarely the feature was missing in training × 5. */
  readonly deviation: number;
  readonly missing: boolean;
}

/**
 * The `k` features of one row (`nFeatures` values at `offset`) that deviate most from training.
 * Scale floors: a feature with zero IQR (flags, constants) uses 10 % of |median|, or 1 when the
 * median is 0, so a flag that is normally 0 and now 1 scores 1, not infinity.
 */
export function explainRow(model: IsolationForest, data: Float64Array, offset = 0, k = 3): FeatureDeviation[] {
  const { median, q25, q75, missingRate } = model.stats;
  const out: FeatureDeviation[] = [];
  for (let f = 0; f < model.nFeatures; f++) {
    const value = data[offset + f]!;
    const med = median[f]!;
    const name = model.schema.names[f]!;
    if (Number.isNaN(value)) {
      const deviation = 5 * (1 - missingRate[f]!);
      if (deviation > 0) out.push({ feature: name, index: f, value, median: med, deviation, missing: true });
      continue;
    }
    if (Number.isNaN(med)) continue; // never present in training: nothing to compare with
    const iqr = q75[f]! - q25[f]!;
    const scale = iqr > 0 ? iqr / 1.349 : med !== 0 ? Math.abs(med) * 0.1 : 1;
    const deviation = value === med ? 0 : (value - med) / scale;
    if (deviation !== 0) out.push({ feature: name, index: f, value, median: med, deviation, missing: false });
  }
  out.sort((a, b) => Math.abs(b.deviation) - Math.abs(a.deviation) || a.index - b.index);
  return out.slice(0, Math.max(0, k));
}

/** One short phrase per deviation: `bytes_out 1.2e+7 vs typical 3400`, `dns.entropy missing`. */
export function describeDeviations(devs: readonly FeatureDeviation[]): string {
  return devs.map((d) => (d.missing ? `${d.feature} missing` : `${d.feature} ${short(d.value)} vs typical ${short(d.median)}`)).join(', ');
}

function short(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  return a !== 0 && (a >= 1e5 || a < 1e-3) ? v.toExponential(1) : String(Number(v.toPrecision(3)));
}
