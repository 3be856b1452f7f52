/**
 * Path-length normaliser of Liu, Ting & Zhou (2008), eq. 1: c(n) is the average path length of an
 * unsuccessful search in a binary search tree of n points, i.e. the expected depth still needed to
 * isolate one point among n. It corrects leaves that hold several points (depth limit hit) and
 * normalises the mean path into the score s = 2^(-E[h]/c(ψ)).
 */

const EULER_GAMMA = 0.5772156649015329;

/** c(n) = 2·H(n−1) − 2(n−1)/n with H(i) ≈ ln(i) + γ; c(0) = c(1) = 0, c(2) = 1 (same convention as scikit-learn). */
export function averagePathLength(n: number): number {
  if (n <= 1) return 0;
  if (n === 2) return 1;
  return 2 * (Math.log(n - 1) + EULER_GAMMA) - (2 * (n - 1)) / n;
}
