import t from 'tap';
import { existsSync, readFileSync } from 'node:fs';
import { describeDeviations, explainRow } from '../agent/detect/iforest/explain.js';
import { IsolationForest } from '../agent/detect/iforest/forest.js';
import { averagePathLength } from '../agent/detect/iforest/path-length.js';
import { Prng } from '../agent/detect/iforest/prng.js';
import { rocAuc } from '../agent/detect/iforest/roc-auc.js';
import { makeSchema, schemaMismatch } from '../agent/detect/iforest/schema.js';
import { quantileOfSorted, thresholdFromScores } from '../agent/detect/iforest/threshold.js';
import { trainIsolationForest, paramsProblem, DEFAULT_PARAMS } from '../agent/detect/iforest/train.js';
import { kernelModuleBytes } from '../agent/detect/iforest/wasm-walk.js';

/** Bitwise equality of typed arrays (NaN padding included); tap's deep compare is slow on large arrays. */
const sameBits = (a: ArrayBufferView, b: ArrayBufferView): boolean =>
  Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

const names = (n: number): string[] => Array.from({ length: n }, (_, i) => `f${i}`);

/** Gaussian-ish inliers (sum of uniforms) around 0 in nf dimensions, from a fixed PRNG. */
function inliers(n: number, nf: number, seed: number): Float64Array {
  const rng = new Prng(seed);
  const x = new Float64Array(n * nf);
  for (let i = 0; i < x.length; i++) x[i] = rng.nextFloat() + rng.nextFloat() + rng.nextFloat() - 1.5;
  return x;
}

const auc = rocAuc;

t.test('c(n) matches the paper and scikit-learn conventions', async (t) => {
  t.equal(averagePathLength(0), 0);
  t.equal(averagePathLength(1), 0);
  t.equal(averagePathLength(2), 1);
  // c(256) = 2(ln 255 + γ) − 2·255/256 ≈ 10.2448 (scikit-learn _average_path_length gives the same)
  t.ok(Math.abs(averagePathLength(256) - 10.244770920119917) < 1e-12, `c(256) = ${averagePathLength(256)}`);
});

t.test('PRNG is deterministic per seed, in range, and seeds differ', async (t) => {
  const a = new Prng(42);
  const b = new Prng(42);
  const c = new Prng(43);
  const sa = Array.from({ length: 5 }, () => a.nextU32());
  t.same(sa, Array.from({ length: 5 }, () => b.nextU32()));
  t.not(sa[0], c.nextU32());
  const z = new Prng(0);
  let min = 1;
  let max = 0;
  const counts = new Array<number>(7).fill(0);
  for (let i = 0; i < 70_000; i++) {
    const f = z.nextFloat();
    min = Math.min(min, f);
    max = Math.max(max, f);
    counts[z.nextInt(7)]!++;
  }
  t.ok(min >= 0 && max < 1, 'floats in [0, 1)');
  for (const k of counts) t.ok(k > 9_500 && k < 10_500, `nextInt(7) bucket ${k} ≈ 10 000`);
  t.equal(z.nextInt(1), 0);
});

t.test('same seed and data give an identical model and scores; another seed does not', async (t) => {
  const nf = 8;
  const x = inliers(2000, nf, 5);
  const at = new Date('2026-11-25T00:00:00Z');
  const m1 = trainIsolationForest(x, 2000, names(nf), { seed: 9, createdAt: at });
  const m2 = trainIsolationForest(x, 2000, names(nf), { seed: 9, createdAt: at });
  const m3 = trainIsolationForest(x, 2000, names(nf), { seed: 10, createdAt: at });
  t.ok(sameBits(m1.splitFeature, m2.splitFeature), 'same split features');
  t.ok(sameBits(m1.splitValue, m2.splitValue), 'same split values');
  t.ok(sameBits(m1.leafSize, m2.leafSize) && sameBits(m1.leafDepth, m2.leafDepth), 'same leaves');
  t.ok(sameBits(m1.scoreMatrix(x, 2000), m2.scoreMatrix(x, 2000)), 'same scores');
  t.equal(m1.threshold, m2.threshold);
  t.notOk(sameBits(m1.splitValue, m3.splitValue), 'another seed grows other trees');
  t.equal(m1.params.seed, 9);
  t.equal(m1.createdAt, '2026-11-25T00:00:00.000Z');
});

t.test('scores lie in (0, 1]; batch (wasm) and single-row (JS) scoring agree exactly', async (t) => {
  const nf = 35;
  const n = 3001; // not a multiple of the kernel's 8 lanes nor of its 256-row block
  const x = inliers(n, nf, 1);
  for (let i = 0; i < 50; i++) x[i * 7 * nf + (i % nf)] = i % 2 === 0 ? NaN : 1e9;
  const m = trainIsolationForest(x, n, names(nf), { seed: 3 });
  const batch = m.scoreMatrix(x, n);
  let bad = 0;
  for (let r = 0; r < n; r++) {
    const s = batch[r]!;
    if (!(s > 0 && s <= 1)) bad++;
    if (s !== m.scoreRow(x, r * nf)) bad++;
  }
  t.equal(bad, 0, 'every score in range and identical between the two paths');
  const mean = m.pathLength(x, 0);
  t.ok(Math.abs(m.scoreRow(x, 0) - 2 ** (-mean / averagePathLength(256))) < 1e-15, 's = 2^(−E[h]/c(ψ))');
  t.throws(() => m.scoreMatrix(x, n + 1), /rows need/);
  t.throws(() => m.scoreMatrix(x, n, new Float64Array(2)), /output holds/);
});

t.test('planted outliers score higher than inliers (continuous data)', async (t) => {
  const nf = 10;
  const n = 5000;
  const x = inliers(n, nf, 11);
  const labels = new Array<number>(n).fill(0);
  const rng = new Prng(12);
  for (let i = 0; i < 50; i++) {
    const r = i * 97;
    labels[r] = 1;
    for (let f = 0; f < nf; f++) x[r * nf + f] = (rng.nextFloat() - 0.5) * 8; // uniform in a box 2.7× wider
  }
  const m = trainIsolationForest(x, n, names(nf), { seed: 1 });
  const s = m.scoreMatrix(x, n);
  const a = auc(s, labels);
  t.ok(a > 0.95, `AUC ${a.toFixed(4)} > 0.95`);
  const flagged = labels.filter((y, i) => y === 1 && m.isAnomaly(s[i]!)).length;
  t.ok(flagged >= 20, `${flagged} of 50 outliers reach the 0.995 threshold`);
  const inlierHits = labels.filter((y, i) => y === 0 && m.isAnomaly(s[i]!)).length;
  t.ok(inlierHits <= 0.005 * n, `${inlierHits} inliers above threshold`);
});

const BREAST_CANCER = '/usr/lib/python3/dist-packages/sklearn/datasets/data/breast_cancer.csv';
t.test('breast cancer (UCI WDBC, bundled with python3-sklearn): malignant scores above benign', { skip: !existsSync(BREAST_CANCER) && 'python3-sklearn not installed' }, async (t) => {
  // First line is "569,30,malignant,benign"; then 30 features and the target (0 = malignant).
  const rows = readFileSync(BREAST_CANCER, 'utf8').trim().split('\n').slice(1).map((l) => l.split(',').map(Number));
  t.equal(rows.length, 569);
  const nf = 30;
  const x = new Float64Array(rows.length * nf);
  const labels = rows.map((r, i) => {
    for (let f = 0; f < nf; f++) x[i * nf + f] = r[f]!;
    return r[30] === 0 ? 1 : 0;
  });
  const benign = rows.map((_, i) => i).filter((i) => labels[i] === 0);
  const xb = new Float64Array(benign.length * nf);
  benign.forEach((r, k) => xb.set(x.subarray(r * nf, (r + 1) * nf), k * nf));
  const clean = trainIsolationForest(xb, benign.length, names(nf), { seed: 1 });
  const aClean = auc(clean.scoreMatrix(x, rows.length), labels);
  t.ok(aClean > 0.93, `trained on benign only: AUC ${aClean.toFixed(4)} > 0.93`);
  const mixed = trainIsolationForest(x, rows.length, names(nf), { seed: 1 });
  const aMixed = auc(mixed.scoreMatrix(x, rows.length), labels);
  t.ok(aMixed > 0.7, `trained on all rows (37 % malignant): AUC ${aMixed.toFixed(4)} > 0.7 (scikit-learn: 0.72–0.79)`);
});

t.test('constant columns are never split on and do not break training', async (t) => {
  const nf = 5;
  const n = 600;
  const x = inliers(n, nf, 2);
  for (let r = 0; r < n; r++) {
    x[r * nf + 1] = 7;
    x[r * nf + 3] = 0;
  }
  const m = trainIsolationForest(x, n, names(nf), { seed: 4 });
  let splitsOnConstant = 0;
  m.splitFeature.forEach((f, i) => {
    if (!Number.isNaN(m.splitValue[i]!) && (f === 1 || f === 3)) splitsOnConstant++;
  });
  t.equal(splitsOnConstant, 0);
  const allConstant = new Float64Array(10 * 3).fill(1);
  const c = trainIsolationForest(allConstant, 10, names(3), { seed: 1 });
  const s = c.scoreMatrix(allConstant, 10);
  t.ok(s.every((v) => v === s[0]), 'all-constant data: every row gets the same score');
  t.ok(c.leafDepth.some((d, i) => d === 0 && c.leafSize[i] === 10), 'each tree is one root leaf holding all rows');
});

t.test('missing values (NaN) sit below every split; ±Infinity are handled', async (t) => {
  const nf = 2;
  const n = 400;
  const x = inliers(n, nf, 3);
  for (let r = 0; r < 40; r++) x[r * 10 * nf] = NaN; // feature 0 missing in 10 % of rows
  x[5 * nf + 1] = Infinity;
  x[7 * nf + 1] = -Infinity;
  const m = trainIsolationForest(x, n, names(nf), { seed: 6 });
  t.ok(m.splitValue.every((v) => Number.isNaN(v) || Number.isFinite(v) || v === Infinity), 'split values finite, NaN padding or +∞');
  const s = m.scoreMatrix(x, n);
  t.ok(s.every((v) => v > 0 && v <= 1));
  const median = Float64Array.from(s).sort()[n >> 1]!;
  // ±∞ fall beside the most extreme finite value (splits are drawn in the finite range), so they are
  // isolated about as fast as that value: clearly more anomalous than a typical row.
  t.ok(s[5]! > median && s[7]! > median, `±∞ rows score ${s[5]!.toFixed(3)}, ${s[7]!.toFixed(3)} > median ${median.toFixed(3)}`);

  // A feature never missing in training: a missing value looks like an extreme low value.
  const clean = inliers(n, nf, 4);
  const mc = trainIsolationForest(clean, n, names(nf), { seed: 6 });
  const probe = Float64Array.of(NaN, 0, -100, 0, 0, 0);
  t.equal(mc.scoreRow(probe, 0), mc.scoreRow(probe, 2), 'NaN scores exactly like a value below the training minimum');
  t.ok(mc.scoreRow(probe, 0) > mc.scoreRow(probe, 4));

  // Only missing and one constant value: the split separates missing from present.
  const half = new Float64Array(20).map((_, i) => (i % 2 === 0 ? NaN : 3));
  const mh = trainIsolationForest(half, 20, names(1), { seed: 1 });
  t.ok(mh.splitValue[0] === 3, 'root splits at the present value');
  const onlyInf = Float64Array.of(NaN, Infinity, NaN, Infinity, -Infinity, 5);
  const mi = trainIsolationForest(onlyInf, 6, names(1), { seed: 2 });
  t.ok(mi.scoreMatrix(onlyInf, 6).every((v) => v > 0 && v <= 1));
  const big = Float64Array.of(-1.7e308, 1.7e308, 0, 1);
  const mb = trainIsolationForest(big, 4, names(1), { seed: 1, nTrees: 50 });
  t.ok(mb.splitValue.every((v) => Number.isNaN(v) || Number.isFinite(v)), 'no overflow to ±∞ when max − min overflows');
});

t.test('tiny datasets: ψ and depth shrink to the row count', async (t) => {
  const two = Float64Array.of(0, 0, 10, 10);
  const m = trainIsolationForest(two, 2, names(2), { seed: 1 });
  t.equal(m.effectiveSampleSize, 2);
  t.equal(m.depth, 1);
  const s = m.scoreMatrix(two, 2);
  t.ok(Math.abs(s[0]! - 0.5) < 1e-12 && Math.abs(s[1]! - 0.5) < 1e-12, 'two points: E[h] = 1 = c(2), s = 0.5');
  const x = inliers(100, 3, 8);
  const m100 = trainIsolationForest(x, 100, names(3), { seed: 1 });
  t.equal(m100.effectiveSampleSize, 100);
  t.equal(m100.depth, 7);
  t.equal(m100.trainingRows, 100);
  t.throws(() => trainIsolationForest(x, 1, names(3)), /at least 2 rows/);
  t.throws(() => trainIsolationForest(x, 200, names(3)), /need 600 values/);
});

t.test('parameters are validated with one-line messages', async (t) => {
  t.equal(paramsProblem(DEFAULT_PARAMS), undefined);
  t.match(paramsProblem({ ...DEFAULT_PARAMS, nTrees: 0 }), /nTrees/);
  t.match(paramsProblem({ ...DEFAULT_PARAMS, sampleSize: 1 }), /sampleSize/);
  t.match(paramsProblem({ ...DEFAULT_PARAMS, sampleSize: 4096, nTrees: 5000 }), /≤ 4194304/);
  t.match(paramsProblem({ ...DEFAULT_PARAMS, seed: -1 }), /seed/);
  t.match(paramsProblem({ ...DEFAULT_PARAMS, thresholdQuantile: 0 }), /thresholdQuantile/);
  t.throws(() => trainIsolationForest(new Float64Array(4), 2, names(2), { nTrees: 1.5 }), /nTrees/);
  t.throws(() => makeSchema([]), /empty/);
  t.throws(() => makeSchema(['a', 'a']), /twice/);
  t.throws(() => makeSchema(['']), /1\.\.256/);
  t.throws(() => makeSchema(names(5000)), /limit/);
});

t.test('threshold is the configured quantile of the training scores', async (t) => {
  t.equal(quantileOfSorted(Float64Array.of(1, 2, 3, 4, 5), 0.5), 3);
  t.equal(quantileOfSorted(Float64Array.of(1, 2), 0.25), 1.25);
  t.ok(Number.isNaN(quantileOfSorted(new Float64Array(0), 0.5)));
  t.equal(thresholdFromScores(Float64Array.of(5, 1, 4, 2, 3), 1), 5);
  const x = inliers(4000, 4, 9);
  const m = trainIsolationForest(x, 4000, names(4), { seed: 2, thresholdQuantile: 0.9 });
  const s = m.scoreMatrix(x, 4000);
  const above = s.filter((v) => m.isAnomaly(v)).length;
  t.ok(above >= 390 && above <= 410, `${above} of 4000 training rows at or above the 0.9 quantile`);
  const strided = trainIsolationForest(x, 4000, names(4), { seed: 2, thresholdQuantile: 0.9, thresholdRows: 1000 });
  t.ok(Math.abs(strided.threshold - m.threshold) < 0.01, `threshold from a 1000-row strided subset ${strided.threshold.toFixed(4)} ≈ ${m.threshold.toFixed(4)}`);
  t.not(strided.threshold, m.threshold, 'but computed from other rows');
  const strict = m.withThreshold(0.99);
  t.equal(strict.threshold, 0.99);
  t.ok(sameBits(strict.scoreMatrix(x, 10), m.scoreMatrix(x, 10)), 'a new threshold keeps the trees');
});

t.test('feature stats record median, quartiles and missing rate', async (t) => {
  const x = Float64Array.of(1, NaN, 2, NaN, 3, 10, 4, NaN);
  const m = trainIsolationForest(x, 4, ['a', 'b'], { seed: 1 });
  t.equal(m.stats.median[0], 2.5);
  t.equal(m.stats.q25[0], 1.75);
  t.equal(m.stats.q75[0], 3.25);
  t.equal(m.stats.missingRate[1], 0.75);
  t.equal(m.stats.median[1], 10);
});

t.test('schema comparison names what differs', async (t) => {
  const a = makeSchema(['x', 'y', 'z']);
  t.equal(schemaMismatch(a, makeSchema(['x', 'y', 'z'])), undefined);
  t.match(schemaMismatch(a, makeSchema(['x', 'y', 'w'])), /model lacks w; model has extra z \(retrain/);
  t.match(schemaMismatch(a, makeSchema(['z', 'y', 'x'])), /same features in a different order/);
  const many = makeSchema(names(30));
  t.match(schemaMismatch(makeSchema(['f0']), many), /f1, f2, .* and 17 more/);
});

t.test('the wasm kernel module is valid WebAssembly', async (t) => {
  const bytes = kernelModuleBytes();
  t.same([...bytes.subarray(0, 8)], [0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]);
  t.ok((globalThis as unknown as { WebAssembly: { validate(b: Uint8Array): boolean } }).WebAssembly.validate(bytes));
});

t.test('IsolationForest instances are immutable values built from parts', async (t) => {
  const x = inliers(300, 2, 1);
  const m = trainIsolationForest(x, 300, names(2), { seed: 1 });
  const copy = new IsolationForest({ ...m, threshold: 0.7 });
  t.equal(copy.threshold, 0.7);
  t.equal(copy.scoreRow(x, 0), m.scoreRow(x, 0));
});

t.test('rocAuc equals scikit-learn roc_auc_score, ties included', async (t) => {
  // Values printed by sklearn.metrics.roc_auc_score 1.2.1 for the same inputs.
  t.ok(Math.abs(rocAuc([0.1, 0.4, 0.35, 0.8, 0.4, 0.4], [0, 0, 1, 1, 0, 1]) - 0.6666666666666667) < 1e-15);
  t.equal(rocAuc([1, 1, 1, 1], [1, 0, 1, 0]), 0.5);
  t.equal(rocAuc([0.9, 0.8, 0.1, 0.2, 0.05], [true, false, false, false, true]), 0.5);
  t.ok(Number.isNaN(rocAuc([1, 2], [0, 0])), 'one class only');
  t.throws(() => rocAuc([1], [1, 0]), /1 scores but 2 labels/);
});

t.test('explainRow names the features that deviate from training', async (t) => {
  const nf = 4;
  const n = 1000;
  const rng = new Prng(31);
  const x = new Float64Array(n * nf);
  for (let r = 0; r < n; r++) {
    x[r * nf] = 3000 + rng.nextFloat() * 1000; // bytes
    x[r * nf + 1] = 1 + rng.nextFloat(); // duration
    x[r * nf + 2] = 0; // flag, normally off
    x[r * nf + 3] = r % 50 === 0 ? NaN : 2 + rng.nextFloat(); // entropy, rarely missing
  }
  const m = trainIsolationForest(x, n, ['bytes', 'dur', 'self_signed', 'dns.entropy'], { seed: 1 });
  const row = Float64Array.of(1.2e7, 1.5, 1, NaN);
  const devs = explainRow(m, row, 0, 3);
  t.same(devs.map((d) => d.feature), ['bytes', 'dns.entropy', 'self_signed']);
  t.ok(devs[0]!.deviation > 1000, `bytes robust z ${devs[0]!.deviation.toFixed(0)}`);
  t.equal(devs[1]!.missing, true);
  t.ok(Math.abs(devs[1]!.deviation - 4.9) < 1e-9, 'missing in 2 % of training rows → 5 × 0.98');
  t.equal(devs[2]!.deviation, 1, 'a flag that is normally 0 scores 1');
  t.match(describeDeviations(devs), /^bytes 1\.2e\+7 vs typical 3[0-9]{3}, dns\.entropy missing, self_signed 1 vs typical 0$/);
  t.same(explainRow(m, Float64Array.from(m.stats.median), 0, 3), [], 'the median row deviates nowhere');
  t.equal(describeDeviations([{ feature: 'x', index: 0, value: Infinity, median: 0.0001, deviation: 1, missing: false }]), 'x Infinity vs typical 1.0e-4');
});
