/** Robust statistics for small samples (≤ a few hundred values): quartiles, Bowley skew, MADM. */

/** Sorts a copy ascending. */
export function sorted(xs: ArrayLike<number>, n = xs.length): Float64Array {
  const a = new Float64Array(n);
  for (let i = 0; i < n; i++) a[i] = xs[i]!;
  a.sort();
  return a;
}

/** Quantile q (0..1) of an ascending array, by the nearest rank on (n - 1) · q (as RITA does). */
export function quantile(a: Float64Array, q: number): number {
  if (a.length === 0) return NaN;
  return a[Math.round((a.length - 1) * q)]!;
}

/**
 * Bowley (quartile) skewness in [-1, 1]: (Q1 + Q3 − 2·Q2) / (Q3 − Q1); 0 when the quartiles
 * coincide (a perfectly regular series).
 */
export function bowleySkew(a: Float64Array): number {
  const q1 = quantile(a, 0.25);
  const q2 = quantile(a, 0.5);
  const q3 = quantile(a, 0.75);
  const den = q3 - q1;
  if (!(den > 0) || q2 === q1 || q2 === q3) return 0;
  return (q1 + q3 - 2 * q2) / den;
}

/** Median absolute deviation about the median. */
export function madm(a: Float64Array): number {
  const med = quantile(a, 0.5);
  const d = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) d[i] = Math.abs(a[i]! - med);
  d.sort();
  return quantile(d, 0.5);
}

/** Shannon entropy (bits per character) of a string, case-folded. */
export function entropyOf(s: string): number {
  if (s.length === 0) return 0;
  const counts = new Map<number, number>();
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c >= 0x41 && c <= 0x5a) c += 0x20;
    counts.set(c, (counts.get(c) ?? 0) + 1);
  }
  let h = 0;
  for (const n of counts.values()) {
    const p = n / s.length;
    h -= p * Math.log2(p);
  }
  return h;
}
