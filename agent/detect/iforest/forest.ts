/**
 * A trained Isolation Forest (Liu, Ting & Zhou, ICDM 2008) in flat typed arrays, and its scoring.
 *
 * Layout: every tree is a complete binary tree of fixed depth D = ceil(log2 ψ) in implicit (heap)
 * order: node i has children 2i+1 (values below the split) and 2i+2 (values >= the split). A leaf
 * reached above depth D is padded down to depth D with "pass-through" nodes whose split value is
 * NaN: `x >= NaN` is always false, so the walk always goes left and lands on the leftmost bottom
 * slot, which holds the real leaf's depth and size. Scoring a row is therefore exactly D
 * branch-free steps per tree with no leaf test; batches run in a small wasm kernel (wasm-walk.ts).
 *
 * Missing values: NaN (and −Infinity) are "below every split" (`NaN >= s` is false, so they always
 * go left), both in training and in scoring; +Infinity is above every split. A value that was
 * never missing in training therefore looks like an extreme low value, which is what an anomaly
 * detector should see; a feature that is often missing in the baseline isolates nothing.
 */
import { averagePathLength } from './path-length.js';
import type { FeatureSchema } from './schema.js';
import { WASM_BLOCK_ROWS, WasmForestWalker } from './wasm-walk.js';

/** Training parameters as requested (they are recorded in the model file). */
export interface ForestParams {
  /** Number of trees (default 100). */
  readonly nTrees: number;
  /** Subsample size ψ drawn without replacement per tree (default 256); capped by the row count. */
  readonly sampleSize: number;
  /** PRNG seed (uint32); same seed + same rows → identical model. */
  readonly seed: number;
  /** Quantile of the training scores used as the alert threshold (default 0.995). */
  readonly thresholdQuantile: number;
}

/** Per-feature robust statistics of the training rows (NaN when a feature was always missing). */
export interface FeatureStats {
  readonly median: Float64Array;
  readonly q25: Float64Array;
  readonly q75: Float64Array;
  /** Fraction of training rows where the feature was missing (NaN). */
  readonly missingRate: Float64Array;
}

/** Everything that defines a forest; arrays are owned by the model (do not mutate). */
export interface ForestParts {
  readonly schema: FeatureSchema;
  readonly params: ForestParams;
  /** ψ actually used: min(params.sampleSize, trainingRows). */
  readonly effectiveSampleSize: number;
  /** D = ceil(log2 ψ_effective). */
  readonly depth: number;
  readonly threshold: number;
  readonly trainingRows: number;
  /** ISO 8601 time the model was built. */
  readonly createdAt: string;
  /** nTrees × (2^D − 1) split feature indices (0 for pass-through nodes). */
  readonly splitFeature: Int32Array;
  /** nTrees × (2^D − 1) split values (NaN for pass-through nodes). */
  readonly splitValue: Float64Array;
  /** nTrees × 2^D depth of the real leaf stored in each bottom slot (0 for unreachable slots). */
  readonly leafDepth: Uint8Array;
  /** nTrees × 2^D number of training points in each leaf (0 for unreachable slots). */
  readonly leafSize: Int32Array;
  readonly stats: FeatureStats;
}

/** A trained, immutable Isolation Forest. Build with `trainIsolationForest` or `decodeModel`. */
export class IsolationForest implements ForestParts {
  readonly schema: FeatureSchema;
  readonly params: ForestParams;
  readonly effectiveSampleSize: number;
  readonly depth: number;
  readonly threshold: number;
  readonly trainingRows: number;
  readonly createdAt: string;
  readonly splitFeature: Int32Array;
  readonly splitValue: Float64Array;
  readonly leafDepth: Uint8Array;
  readonly leafSize: Int32Array;
  readonly stats: FeatureStats;
  /** Number of features per row (= schema.names.length). */
  readonly nFeatures: number;
  readonly nTrees: number;
  /** Internal (split) nodes per tree: 2^D − 1. */
  readonly nInternal: number;
  /** Bottom slots per tree: 2^D. */
  readonly nLeaves: number;
  /** depth + c(leaf size) for every bottom slot: the path length a row landing there gets. */
  private readonly leafPath: Float64Array;
  /** c(ψ): divides the mean path length in the score. */
  private readonly norm: number;
  /** The wasm scoring kernel holding a copy of the trees; created on first batch scoring. */
  private walker: WasmForestWalker | undefined;

  /** Assembles a model from parts that were validated by the caller (training or decodeModel). */
  constructor(parts: ForestParts) {
    this.schema = parts.schema;
    this.params = parts.params;
    this.effectiveSampleSize = parts.effectiveSampleSize;
    this.depth = parts.depth;
    this.threshold = parts.threshold;
    this.trainingRows = parts.trainingRows;
    this.createdAt = parts.createdAt;
    this.splitFeature = parts.splitFeature;
    this.splitValue = parts.splitValue;
    this.leafDepth = parts.leafDepth;
    this.leafSize = parts.leafSize;
    this.stats = parts.stats;
    this.nFeatures = parts.schema.names.length;
    this.nTrees = parts.params.nTrees;
    this.nLeaves = 2 ** parts.depth;
    this.nInternal = this.nLeaves - 1;
    this.leafPath = new Float64Array(this.leafSize.length);
    for (let i = 0; i < this.leafPath.length; i++) {
      const size = this.leafSize[i]!;
      this.leafPath[i] = size > 0 ? this.leafDepth[i]! + averagePathLength(size) : 0;
    }
    this.norm = averagePathLength(parts.effectiveSampleSize);
  }

  /** A copy of this model with another threshold (e.g. set from a validation quantile). */
  withThreshold(threshold: number): IsolationForest {
    return new IsolationForest({ ...this.partsView(), threshold });
  }

  /** Mean path length E[h] of one row (`nFeatures` values at `offset` in `data`). */
  pathLength(data: Float64Array, offset = 0): number {
    return this.pathSum(data, offset) / this.nTrees;
  }

  /** Normalised anomaly score s = 2^(−E[h]/c(ψ)) in (0, 1] of one row; higher is more anomalous. */
  scoreRow(data: Float64Array, offset = 0): number {
    return this.scoreFromSum(this.pathSum(data, offset));
  }

  /** True when `score` reaches the model's threshold. */
  isAnomaly(score: number): boolean {
    return score >= this.threshold;
  }

  /**
   * Scores `nRows` row-major rows of `data` into `out` (allocated when absent); the fast path for
   * batches (~1.3 M rows/s with 100 trees, see wasm-walk.ts). Gives exactly the same numbers as
   * {@link scoreRow}: both add the trees' path lengths in the same order.
   */
  scoreMatrix(data: Float64Array, nRows: number, out: Float64Array = new Float64Array(nRows)): Float64Array {
    const nf = this.nFeatures;
    if (data.length < nRows * nf) throw new RangeError(`scoreMatrix: ${nRows} rows need ${nRows * nf} values, got ${data.length}`);
    if (out.length < nRows) throw new RangeError(`scoreMatrix: output holds ${out.length} scores, need ${nRows}`);
    this.walker ??= new WasmForestWalker(
      this.splitFeature,
      this.splitValue,
      this.leafPath,
      nf,
      this.depth,
      this.nTrees,
      this.nInternal,
    );
    for (let start = 0; start < nRows; start += WASM_BLOCK_ROWS) {
      this.walker.sumBlock(data, start, Math.min(WASM_BLOCK_ROWS, nRows - start), out);
    }
    for (let r = 0; r < nRows; r++) out[r] = this.scoreFromSum(out[r]!);
    return out;
  }

  /** Sum over trees of the path length of one row, in tree order (the JS twin of the wasm kernel). */
  private pathSum(data: Float64Array, offset: number): number {
    const feat = this.splitFeature;
    const split = this.splitValue;
    const leafPath = this.leafPath;
    const depth = this.depth;
    const nInternal = this.nInternal;
    const nLeaves = this.nLeaves;
    let sum = 0;
    for (let t = 0, base = 0; t < this.nTrees; t++, base += nInternal) {
      let i = 0;
      for (let d = 0; d < depth; d++) {
        const n = base + i;
        i = 2 * i + (data[offset + feat[n]!]! >= split[n]! ? 2 : 1);
      }
      sum += leafPath[t * nLeaves + i - nInternal]!;
    }
    return sum;
  }

  private scoreFromSum(sum: number): number {
    return 2 ** (-(sum / this.nTrees) / this.norm);
  }

  private partsView(): ForestParts {
    return {
      schema: this.schema,
      params: this.params,
      effectiveSampleSize: this.effectiveSampleSize,
      depth: this.depth,
      threshold: this.threshold,
      trainingRows: this.trainingRows,
      createdAt: this.createdAt,
      splitFeature: this.splitFeature,
      splitValue: this.splitValue,
      leafDepth: this.leafDepth,
      leafSize: this.leafSize,
      stats: this.stats,
    };
  }
}
