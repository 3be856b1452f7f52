/**
 * Isolation Forest benchmark: Picket's forest vs scikit-learn's IsolationForest vs the npm
 * package ml-isolation-forest, on the same labelled CSV files.
 *
 *   (a) ROC AUC, averaged over seeds, each model fitted on all rows of a file and scoring them
 *       (the unsupervised protocol of the ODDS benchmarks): 100 trees, ψ = 256 for Picket and
 *       scikit-learn; ml-isolation-forest has no seed and no subsampling (it trains on every row).
 *   (b) scoring throughput on one core (35 features, 100 trees) and training time.
 *
 * Run from the repository root (scikit-learn is the Debian package python3-sklearn):
 *   node --import @tapjs/typescript/import bench/iforest-bench.ts [--csv FILE --label COL]... \
 *        [--seeds 10] [--python /usr/bin/python3] [--speed-rows 200000] [--ml-rows 20000] [--extra-psi 1024]
 * Without --csv it exports scikit-learn's bundled datasets and synthetic mixtures to a temporary
 * directory (bench/iforest_sklearn.py export). Any CSV with a numeric label column (1 = anomaly)
 * and numeric features works, e.g. flow features exported by `picket`.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, readSync, closeSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { rocAuc } from '../agent/detect/iforest/roc-auc.js';
import { trainIsolationForest } from '../agent/detect/iforest/train.js';
import { CsvParser } from '../agent/detect/table/csv-parser.js';
import { scoreTable } from '../agent/detect/table/score-table.js';
import { readTableBatches } from '../agent/detect/table/table-reader.js';

interface MlIsolationForest {
  train(rows: number[][]): void;
  predict(rows: number[][]): number[];
}
const require = createRequire(import.meta.url);
const { IsolationForest: MlIF } = require('ml-isolation-forest') as { IsolationForest: new (o?: { nEstimators?: number }) => MlIsolationForest };
const ML_VERSION = (require('ml-isolation-forest/package.json') as { version: string }).version;

interface Args {
  csv: { file: string; label: string }[];
  seeds: number;
  python: string;
  speedRows: number;
  mlRows: number;
  /** Also run Picket with this subsample size (0 = no). */
  extraPsi: number;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { csv: [], seeds: 10, python: '/usr/bin/python3', speedRows: 200_000, mlRows: 20_000, extraPsi: 0 };
  for (let i = 0; i < argv.length; i++) {
    const v = argv[i + 1] ?? '';
    switch (argv[i]) {
      case '--csv':
        a.csv.push({ file: v, label: 'label' });
        i++;
        break;
      case '--label':
        if (a.csv.length === 0) throw new Error('--label must follow a --csv');
        a.csv[a.csv.length - 1]!.label = v;
        i++;
        break;
      case '--seeds':
        a.seeds = Number(v);
        i++;
        break;
      case '--python':
        a.python = v;
        i++;
        break;
      case '--speed-rows':
        a.speedRows = Number(v);
        i++;
        break;
      case '--extra-psi':
        a.extraPsi = Number(v);
        i++;
        break;
      case '--ml-rows':
        a.mlRows = Number(v);
        i++;
        break;
      default:
        throw new Error(`unknown argument ${argv[i]}; see the header of bench/iforest-bench.ts`);
    }
  }
  return a;
}

const SKLEARN_SCRIPT = ['bench/iforest_sklearn.py', join(import.meta.dirname ?? '.', 'iforest_sklearn.py')].find((p) => existsSync(p)) ?? 'bench/iforest_sklearn.py';

function python(args: Args, ...pyArgs: string[]): unknown {
  const r = spawnSync(args.python, [SKLEARN_SCRIPT, ...pyArgs], { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`${args.python} ${SKLEARN_SCRIPT} ${pyArgs.join(' ')} failed: ${r.stderr || r.error}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

function header(file: string): string[] {
  const fd = openSync(file, 'r');
  const buf = Buffer.alloc(1 << 16);
  const n = readSync(fd, buf, 0, buf.length, 0);
  closeSync(fd);
  let first: string[] | undefined;
  const p = new CsvParser((r) => (first ??= r.fields));
  p.push(buf.subarray(0, n).toString('utf8').split(/\r?\n/)[0]! + '\n');
  if (!first) throw new Error(`${file}: no header`);
  return first;
}

interface Table {
  X: Float64Array;
  y: Uint8Array;
  nRows: number;
  features: string[];
}

/** Reads a labelled CSV with Picket's own table reader (label column split off). */
async function load(file: string, label: string): Promise<Table> {
  const cols = header(file);
  const li = cols.indexOf(label);
  if (li < 0) throw new Error(`${file}: no column ${label}`);
  const features = cols.filter((_, i) => i !== li);
  const schema = [...features, label];
  const nf = features.length;
  const xs: number[] = [];
  const ys: number[] = [];
  for await (const b of readTableBatches(file, schema)) {
    for (let r = 0; r < b.nRows; r++) {
      for (let f = 0; f < nf; f++) xs.push(b.data[r * (nf + 1) + f]!);
      ys.push(b.data[r * (nf + 1) + nf] === 1 ? 1 : 0);
    }
  }
  return { X: Float64Array.from(xs), y: Uint8Array.from(ys), nRows: ys.length, features };
}

const mean = (v: number[]): number => v.reduce((a, b) => a + b, 0) / v.length;
const sd = (v: number[]): number => Math.sqrt(mean(v.map((x) => (x - mean(v)) ** 2)));
const fmt = (v: number[]): string => `${mean(v).toFixed(3)} ±${sd(v).toFixed(3)}`;

function toRows(t: Table, limit: number): number[][] {
  const nf = t.features.length;
  const n = Math.min(limit, t.nRows);
  return Array.from({ length: n }, (_, r) => Array.from(t.X.subarray(r * nf, (r + 1) * nf)));
}

async function aucSection(args: Args, files: { file: string; label: string; name: string }[]): Promise<void> {
  const seeds = Array.from({ length: args.seeds }, (_, i) => i + 1);
  console.log(`\n(a) ROC AUC, mean ±sd over ${seeds.length} seeds; fit on all rows, score all rows; 100 trees`);
  const extra = args.extraPsi > 0 ? `picket ψ=${args.extraPsi}`.padEnd(16) : '';
  console.log(`dataset                 rows  feat anom%   picket ψ=256    ${extra}sklearn ψ=256   ml-isolation-forest`);
  for (const { file, label, name } of files) {
    const t = await load(file, label);
    const ours = seeds.map((seed) => rocAuc(trainIsolationForest(t.X, t.nRows, t.features, { seed }).scoreMatrix(t.X, t.nRows), t.y));
    const big =
      args.extraPsi > 0
        ? fmt(seeds.map((seed) => rocAuc(trainIsolationForest(t.X, t.nRows, t.features, { seed, sampleSize: args.extraPsi }).scoreMatrix(t.X, t.nRows), t.y))) + '    '
        : '';
    const sk = (python(args, 'auc', file, label, ...seeds.map(String)) as { auc: number[] }).auc;
    let ml = 'skipped (rows > --ml-rows)';
    if (t.nRows <= args.mlRows) {
      const rows = toRows(t, t.nRows);
      const aucs = seeds.map(() => {
        const m = new MlIF({ nEstimators: 100 });
        m.train(rows);
        return rocAuc(m.predict(rows), t.y);
      });
      ml = fmt(aucs);
    }
    const anom = (100 * t.y.reduce((a, b) => a + b, 0)) / t.nRows;
    console.log(`${name.padEnd(22)} ${String(t.nRows).padStart(5)} ${String(t.features.length).padStart(5)} ${anom.toFixed(1).padStart(5)}   ${fmt(ours)}    ${big}${fmt(sk)}    ${ml}`);
  }
}

async function speedSection(args: Args, file: string, label: string): Promise<void> {
  const t = await load(file, label);
  const nf = t.features.length;
  // Tile the rows up to --speed-rows so timing covers enough work.
  const n = args.speedRows;
  const X = new Float64Array(n * nf);
  for (let r = 0; r < n; r++) X.set(t.X.subarray((r % t.nRows) * nf, ((r % t.nRows) + 1) * nf), r * nf);
  console.log(`\n(b) one core, ${nf} features, 100 trees, ψ = 256 (${basename(file)})`);
  const best = (fn: () => void, reps: number): number => {
    let b = Infinity;
    for (let i = 0; i < reps; i++) {
      const t0 = performance.now();
      fn();
      b = Math.min(b, performance.now() - t0);
    }
    return b / 1000;
  };
  let model = trainIsolationForest(X, 100_000, t.features, { seed: 1 });
  const train100k = best(() => (model = trainIsolationForest(X, 100_000, t.features, { seed: 1 })), 3);
  const out = new Float64Array(n);
  model.scoreMatrix(X, 10_000, out);
  const batch = best(() => model.scoreMatrix(X, n, out), 5);
  let sink = 0;
  const single = best(() => {
    for (let r = 0; r < 50_000; r++) sink += model.scoreRow(X, r * nf);
  }, 3);
  const sk = python(args, 'speed', file, label) as { rows_per_s: number; rows: number; fit_s: number };
  const mlRows = toRows(t, Math.min(args.mlRows, 10_000));
  const ml = new MlIF({ nEstimators: 100 });
  const mlTrain = best(() => ml.train(mlRows), 1);
  const mlScoreRows = mlRows.slice(0, 5000);
  const mlScore = best(() => void ml.predict(mlScoreRows), 1);
  let tableRows = 0;
  const tableS = await (async () => {
    const t0 = performance.now();
    for await (const row of scoreTable(file, [...t.features, label].filter((c) => c !== label), model)) if (row.score !== null) tableRows++;
    return (performance.now() - t0) / 1000;
  })();
  const k = (v: number): string => Math.round(v).toLocaleString('en-US').padStart(11);
  console.log('implementation                       scoring rows/s   training');
  console.log(`picket scoreMatrix (wasm kernel)     ${k(n / batch)}   ${train100k.toFixed(3)} s on 100 000 rows (incl. threshold pass)`);
  console.log(`picket scoreRow (one row, JS)        ${k(50_000 / single)}`);
  console.log(`picket scoreTable (CSV parse+score)  ${k(tableRows / tableS)}   (${tableRows} rows of ${basename(file)})`);
  console.log(`scikit-learn score_samples           ${k(sk.rows_per_s)}   ${sk.fit_s.toFixed(3)} s on ${sk.rows} rows`);
  console.log(`ml-isolation-forest ${ML_VERSION} predict      ${k(mlScoreRows.length / mlScore)}   ${mlTrain.toFixed(3)} s on ${mlRows.length} rows (no subsampling)`);
  if (args.extraPsi > 0) {
    const m = trainIsolationForest(X, 100_000, t.features, { seed: 1, sampleSize: args.extraPsi });
    const tb = best(() => m.scoreMatrix(X, n, out), 5);
    console.log(`picket scoreMatrix, ψ=${args.extraPsi} (depth ${m.depth})`.padEnd(37) + k(n / tb));
  }
  if (sink === 0) console.log('(sink)');
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const skVersion = spawnSync(args.python, ['-c', 'import sklearn; print(sklearn.__version__)'], { encoding: 'utf8' }).stdout.trim();
  console.log(`Node ${process.version}, scikit-learn ${skVersion || '?'} (${args.python}), ml-isolation-forest ${ML_VERSION}`);
  let tmp: string | undefined;
  let files = args.csv.map((c) => ({ ...c, name: basename(c.file, '.csv') }));
  if (files.length === 0) {
    tmp = mkdtempSync(join(tmpdir(), 'picket-iforest-bench-'));
    const made = python(args, 'export', tmp) as { name: string; desc: string }[];
    for (const m of made) console.log(`  ${m.name}: ${m.desc}`);
    files = made.map((m) => ({ file: join(tmp!, `${m.name}.csv`), label: 'label', name: m.name }));
  }
  try {
    await aucSection(args, files);
    const speedFile = files.find((f) => f.name === 'synthetic_gauss35') ?? files[0]!;
    await speedSection(args, speedFile.file, speedFile.label);
  } finally {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  }
  console.log(`\ncommand: node --import @tapjs/typescript/import bench/iforest-bench.ts ${process.argv.slice(2).join(' ')}`.trimEnd());
}

await main();
