/**
 * ROC AUC of scores against binary labels, by the rank-sum (Mann–Whitney U) identity with average
 * ranks for ties: the probability that a random positive scores above a random negative (ties
 * count half). Same value as scikit-learn's roc_auc_score. Used by the benchmark and by
 * evaluation of flow scores.
 */

/** AUC in [0, 1]; NaN when either class is empty. Labels: 1 (or true) = positive, anything else negative. */
export function rocAuc(scores: ArrayLike<number>, labels: ArrayLike<number | boolean>): number {
  const n = scores.length;
  if (labels.length !== n) throw new RangeError(`rocAuc: ${n} scores but ${labels.length} labels`);
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((a, b) => scores[a]! - scores[b]!);
  let pos = 0;
  let rankSum = 0;
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && scores[order[j + 1]!] === scores[order[i]!]) j++;
    const rank = (i + j) / 2 + 1; // average 1-based rank of the tie group
    for (let k = i; k <= j; k++) {
      const y = labels[order[k]!];
      if (y === 1 || y === true) {
        pos++;
        rankSum += rank;
      }
    }
    i = j + 1;
  }
  const neg = n - pos;
  if (pos === 0 || neg === 0) return NaN;
  return (rankSum - (pos * (pos + 1)) / 2) / (pos * neg);
}
