/**
 * Training of the Isolation Forest: per tree, draw ψ rows without replacement, then split
 * recursively on a random non-constant feature at a uniform random value between the node's
 * minimum and maximum, until one point is left or depth ceil(log2 ψ) is reached (Liu et al. 2008,
 * algorithms 1–2). Feature draws skip constant features the way scikit-learn's random splitter
 * does, so constant columns cost nothing and never produce empty children.
 */
import { IsolationForest, type FeatureStats, type ForestParams } from './forest.js';
import { Prng } from './prng.js';
import { makeSchema, type FeatureSchema } from './schema.js';
import { quantileOfSorted, thresholdFromScores } from './threshold.js';

export const DEFAULT_PARAMS: ForestParams = Object.freeze({
  nTrees: 100,
  sampleSize: 256,
  seed: 1,
  thresholdQuantile: 0.995,
});

/** Upper bounds on parameters: keep the flat trees (2^D nodes each) within a few tens of MB. */
export const MAX_TREES = 10_000;
export const MAX_SAMPLE_SIZE = 4096;
/** Largest nTrees × 2^depth (bottom slots in the whole forest, ≈ 80 MB of trees). */
export const MAX_FOREST_SLOTS = 1 << 22;
/** Training rows scored to set the threshold; beyond this an evenly strided subset is scored. */
export const MAX_THRESHOLD_ROWS = 1_000_000;

/** Options of {@link trainIsolationForest}; every field falls back to {@link DEFAULT_PARAMS}. */
export interface TrainOptions {
  nTrees?: number;
  sampleSize?: number;
  seed?: number;
  thresholdQuantile?: number;
  /** Most training rows scored to set the threshold (default {@link MAX_THRESHOLD_ROWS}); above, an evenly strided subset. */
  thresholdRows?: number;
  /** Creation time recorded in the model (default: now); tests pass a fixed one. */
  createdAt?: Date;
}

/** One-line description of what is wrong with the options, or undefined. */
export function paramsProblem(p: ForestParams): string | undefined {
  if (!Number.isInteger(p.nTrees) || p.nTrees < 1 || p.nTrees > MAX_TREES) return `nTrees must be an integer in 1..${MAX_TREES}, got ${p.nTrees}`;
  if (!Number.isInteger(p.sampleSize) || p.sampleSize < 2 || p.sampleSize > MAX_SAMPLE_SIZE) {
    return `sampleSize must be an integer in 2..${MAX_SAMPLE_SIZE}, got ${p.sampleSize}`;
  }
  if (p.nTrees * 2 ** Math.ceil(Math.log2(p.sampleSize)) > MAX_FOREST_SLOTS) {
    return `nTrees × 2^ceil(log2 sampleSize) must stay ≤ ${MAX_FOREST_SLOTS}, got ${p.nTrees} trees of sample size ${p.sampleSize}`;
  }
  if (!Number.isInteger(p.seed) || p.seed < 0 || p.seed > 0xffffffff) return `seed must be an integer in 0..2^32-1, got ${p.seed}`;
  if (!(p.thresholdQuantile > 0 && p.thresholdQuantile <= 1)) return `thresholdQuantile must be in (0, 1], got ${p.thresholdQuantile}`;
  return undefined;
}

/**
 * Trains a forest on `nRows` row-major rows of `data` (`schema.length` values each; NaN = missing).
 * Throws RangeError on bad parameters or fewer than 2 rows (nothing can be isolated from one row).
 * The threshold is the `thresholdQuantile` of the training rows' own scores.
 */
export function trainIsolationForest(
  data: Float64Array,
  nRows: number,
  schema: FeatureSchema | readonly string[],
  options: TrainOptions = {},
): IsolationForest {
  const fs = 'hash' in schema ? schema : makeSchema(schema);
  const nf = fs.names.length;
  const params: ForestParams = {
    nTrees: options.nTrees ?? DEFAULT_PARAMS.nTrees,
    sampleSize: options.sampleSize ?? DEFAULT_PARAMS.sampleSize,
    seed: options.seed ?? DEFAULT_PARAMS.seed,
    thresholdQuantile: options.thresholdQuantile ?? DEFAULT_PARAMS.thresholdQuantile,
  };
  const problem = paramsProblem(params);
  if (problem) throw new RangeError(problem);
  if (!Number.isInteger(nRows) || nRows < 2) throw new RangeError(`need at least 2 rows to train an Isolation Forest, got ${nRows}`);
  if (data.length < nRows * nf) throw new RangeError(`${nRows} rows of ${nf} features need ${nRows * nf} values, got ${data.length}`);

  const psi = Math.min(params.sampleSize, nRows);
  const depth = Math.ceil(Math.log2(psi));
  const nLeaves = 2 ** depth;
  const nInternal = nLeaves - 1;
  const splitFeature = new Int32Array(params.nTrees * nInternal);
  const splitValue = new Float64Array(params.nTrees * nInternal).fill(NaN);
  const leafDepth = new Uint8Array(params.nTrees * nLeaves);
  const leafSize = new Int32Array(params.nTrees * nLeaves);

  const builder = new TreeBuilder(data, nf, psi, depth, new Prng(params.seed), splitFeature, splitValue, leafDepth, leafSize);
  const perm = new Int32Array(nRows);
  for (let i = 0; i < nRows; i++) perm[i] = i;
  for (let t = 0; t < params.nTrees; t++) {
    // Partial Fisher–Yates: the first ψ entries become a uniform sample without replacement.
    // perm stays a permutation across trees, so each tree's draw is independent and uniform.
    if (psi < nRows) {
      for (let i = 0; i < psi; i++) {
        const j = i + builder.rng.nextInt(nRows - i);
        const tmp = perm[i]!;
        perm[i] = perm[j]!;
        perm[j] = tmp;
      }
    }
    builder.buildTree(t, perm);
  }

  const stats = featureStats(data, nRows, nf);
  const provisional = new IsolationForest({
    schema: fs,
    params,
    effectiveSampleSize: psi,
    depth,
    threshold: 1,
    trainingRows: nRows,
    createdAt: (options.createdAt ?? new Date()).toISOString(),
    splitFeature,
    splitValue,
    leafDepth,
    leafSize,
    stats,
  });
  const cap = Math.max(2, Math.min(options.thresholdRows ?? MAX_THRESHOLD_ROWS, MAX_THRESHOLD_ROWS));
  const threshold = thresholdFromScores(trainingScores(provisional, data, nRows, cap), params.thresholdQuantile);
  return provisional.withThreshold(threshold);
}

/** Scores of the training rows (an evenly strided subset of `cap` rows when there are more). */
function trainingScores(model: IsolationForest, data: Float64Array, nRows: number, cap: number): Float64Array {
  if (nRows <= cap) return model.scoreMatrix(data, nRows);
  const nf = model.nFeatures;
  const step = nRows / cap;
  const sample = new Float64Array(cap * nf);
  for (let i = 0; i < cap; i++) {
    const src = Math.floor(i * step) * nf;
    sample.set(data.subarray(src, src + nf), i * nf);
  }
  return model.scoreMatrix(sample, cap);
}

/** Builds trees into the shared flat arrays; holds the scratch buffers reused across trees. */
class TreeBuilder {
  /** Row indices of the current tree's sample, partitioned in place as the tree grows. */
  private readonly idx: Int32Array;
  /** A permutation of feature indices; its prefix is the pool of features not yet tried at a node. */
  private readonly featOrder: Int32Array;
  private tree = 0;

  constructor(
    private readonly data: Float64Array,
    private readonly nf: number,
    private readonly psi: number,
    private readonly maxDepth: number,
    readonly rng: Prng,
    private readonly splitFeature: Int32Array,
    private readonly splitValue: Float64Array,
    private readonly leafDepth: Uint8Array,
    private readonly leafSize: Int32Array,
  ) {
    this.idx = new Int32Array(psi);
    this.featOrder = new Int32Array(nf);
    for (let f = 0; f < nf; f++) this.featOrder[f] = f;
  }

  buildTree(t: number, perm: Int32Array): void {
    this.tree = t;
    this.idx.set(perm.subarray(0, this.psi));
    this.grow(0, 0, 0, this.psi);
  }

  /** Grows node `node` (heap index within the tree) at `depth` over idx[lo, hi). Recursion depth ≤ D ≤ 12. */
  private grow(node: number, depth: number, lo: number, hi: number): void {
    if (depth < this.maxDepth && hi - lo > 1) {
      const nInternal = 2 ** this.maxDepth - 1;
      const slot = this.tree * nInternal + node;
      if (this.chooseSplit(slot, lo, hi)) {
        const mid = this.partition(this.splitFeature[slot]!, this.splitValue[slot]!, lo, hi);
        this.grow(2 * node + 1, depth + 1, lo, mid);
        this.grow(2 * node + 2, depth + 1, mid, hi);
        return;
      }
    }
    // Leaf: its pass-through descendants (NaN splits) lead to the leftmost bottom slot.
    let bottom = node;
    for (let d = depth; d < this.maxDepth; d++) bottom = 2 * bottom + 1;
    const nLeaves = 2 ** this.maxDepth;
    const leaf = this.tree * nLeaves + bottom - (nLeaves - 1);
    this.leafDepth[leaf] = depth;
    this.leafSize[leaf] = hi - lo;
  }

  /**
   * Draws features without replacement until one can split idx[lo, hi), and a split value for it.
   * Values are keyed with NaN as −∞ (missing is below every split). Between distinct finite values
   * the split is uniform in (min, max]; when only infinities/missing differ, the split is the next
   * key above the lowest so the two groups still separate. Returns false when every feature is
   * constant in this node (the node becomes a leaf).
   */
  private chooseSplit(slot: number, lo: number, hi: number): boolean {
    const data = this.data;
    const nf = this.nf;
    const idx = this.idx;
    for (let remaining = nf; remaining > 0; remaining--) {
      const j = this.rng.nextInt(remaining);
      const f = this.featOrder[j]!;
      this.featOrder[j] = this.featOrder[remaining - 1]!;
      this.featOrder[remaining - 1] = f;

      let fmin = Infinity;
      let fmax = -Infinity;
      let low = false; // NaN or −∞ present
      let high = false; // +∞ present
      for (let k = lo; k < hi; k++) {
        const v = data[idx[k]! * nf + f]!;
        if (v < fmin) fmin = v;
        if (v > fmax) fmax = v;
        if (!(v > -Infinity)) low = true;
        else if (v === Infinity) high = true;
      }
      // fmin/fmax above include ±∞ but not NaN; recompute the finite range only if needed.
      if (low || high) {
        fmin = Infinity;
        fmax = -Infinity;
        for (let k = lo; k < hi; k++) {
          const v = data[idx[k]! * nf + f]!;
          if (Number.isFinite(v)) {
            if (v < fmin) fmin = v;
            if (v > fmax) fmax = v;
          }
        }
      }
      let split: number;
      if (fmax > fmin) {
        const r = 1 - this.rng.nextFloat(); // (0, 1]
        split = fmin + r * (fmax - fmin);
        if (!Number.isFinite(split)) split = fmin * (1 - r) + fmax * r; // range overflowed
        if (!(split > fmin) || split > fmax) split = fmax;
      } else {
        const hasFinite = fmax >= fmin;
        const kinds = (low ? 1 : 0) + (hasFinite ? 1 : 0) + (high ? 1 : 0);
        if (kinds < 2) continue; // constant (or all missing) in this node
        split = low ? (hasFinite ? fmin : Infinity) : Infinity;
      }
      this.splitFeature[slot] = f;
      this.splitValue[slot] = split;
      return true;
    }
    return false;
  }

  /** Moves rows with value >= split to the end of idx[lo, hi); returns the first such position. */
  private partition(f: number, split: number, lo: number, hi: number): number {
    const data = this.data;
    const nf = this.nf;
    const idx = this.idx;
    let i = lo;
    let j = hi - 1;
    while (i <= j) {
      if (data[idx[i]! * nf + f]! >= split) {
        const tmp = idx[i]!;
        idx[i] = idx[j]!;
        idx[j] = tmp;
        j--;
      } else {
        i++;
      }
    }
    return i;
  }
}

/** Median, quartiles and missing rate of each feature over the rows (an evenly strided 20 k-row subset at most: plenty for quartiles, and it keeps training on 100 k+ rows fast). */
export function featureStats(data: Float64Array, nRows: number, nf: number): FeatureStats {
  const median = new Float64Array(nf);
  const q25 = new Float64Array(nf);
  const q75 = new Float64Array(nf);
  const missingRate = new Float64Array(nf);
  const take = Math.min(nRows, 20_000);
  const step = nRows / take;
  const col = new Float64Array(take);
  for (let f = 0; f < nf; f++) {
    let n = 0;
    for (let i = 0; i < take; i++) {
      const v = data[Math.floor(i * step) * nf + f]!;
      if (!Number.isNaN(v)) col[n++] = v;
    }
    missingRate[f] = (take - n) / take;
    const sorted = col.subarray(0, n).sort();
    median[f] = quantileOfSorted(sorted, 0.5);
    q25[f] = quantileOfSorted(sorted, 0.25);
    q75[f] = quantileOfSorted(sorted, 0.75);
  }
  return { median, q25, q75, missingRate };
}
