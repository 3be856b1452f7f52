/** Quantiles for choosing the alert threshold from a baseline's own scores. */

/**
 * Linear-interpolated quantile q ∈ [0, 1] of an ascending array (NumPy's default "linear"
 * method); NaN for an empty array.
 */
export function quantileOfSorted(sorted: Float64Array, q: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const pos = Math.min(Math.max(q, 0), 1) * (n - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, n - 1);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

/** The q-quantile of `scores` (copied, then sorted): rows scoring at or above it are anomalies. */
export function thresholdFromScores(scores: Float64Array, q: number): number {
  return quantileOfSorted(Float64Array.from(scores).sort(), q);
}
