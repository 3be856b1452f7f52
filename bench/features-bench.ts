/**
 * Flow features on real captures: extraction speed, features + scoring per flow, and a labelled
 * flow-feature CSV for the AUC comparison with scikit-learn (bench/iforest-bench.ts).
 *
 *   node --import @tapjs/typescript/import bench/features-bench.ts \
 *     [--labelled CAPTURE LABELS.csv]...   attack flows = flows matching a LABELS.csv row (picket eval rules)
 *     [--benign CAPTURE]...                every flow benign
 *     [--attack CAPTURE]...                every flow an attack
 *     [--corpora] [--attack-share 0.05] [--seed 1] [--out DIR]
 *
 * Without capture arguments (or with --corpora, in addition to them): benign = the nDPI corpus captures of categories tls/http/dns/quic (tunnels
 * and exfiltration samples left out); attacks = the DNS tunnel, C2 beacon and scanner captures of
 * ../shared/corpora/attacks. Attack flows are sampled down to `attack-share` of the benign ones,
 * per source file, so anomalies stay rare (the Isolation Forest's premise) and every attack kind
 * is represented. Writes DIR/flow-features.csv (NaN = empty cell) and DIR/flow-features-imputed.csv
 * (NaN → −100, below every feature's range: scikit-learn rejects NaN), then prints:
 *   - feature extraction flows/s (records already dissected; one core),
 *   - extraction + scoring per flow (scoreRow) flows/s, and batch scoring of the matrix rows/s,
 *   - ROC AUC of Picket's forest on the NaN file and on the imputed file (mean over 5 seeds).
 * Then run: node --import @tapjs/typescript/import bench/iforest-bench.ts --csv DIR/flow-features-imputed.csv
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FileSource } from '../agent/source/file-source.js';
import { PacketPipeline } from '../agent/pipeline/packet-pipeline.js';
import { DissectStage } from '../agent/dissect/dissect-stage.js';
import type { FlowRecord } from '../agent/flow/flow-record.js';
import { FeatureExtractor } from '../agent/features/flow-features.js';
import { FEATURE_COUNT, FEATURE_NAMES } from '../agent/features/feature-schema.js';
import { trainIsolationForest } from '../agent/detect/iforest/train.js';
import { rocAuc } from '../agent/detect/iforest/roc-auc.js';
import { parseLabels, type Label } from '../agent/alert/evaluation.js';
import { Prng } from '../agent/detect/iforest/prng.js';

interface Source {
  file: string;
  kind: 'benign' | 'attack' | 'labelled';
  labels?: Label[];
}

const C = '../shared/corpora';
const argv = process.argv.slice(2);
const sources: Source[] = [];
let attackShare = 0.05;
let seed = 1;
let outDir = 'bench/out';
let corpora = false;
for (let i = 0; i < argv.length; i++) {
  const a = argv[i]!;
  if (a === '--labelled') {
    const labelsPath = argv[i + 2]!;
    sources.push({ file: argv[i + 1]!, kind: 'labelled', labels: parseLabels(readFileSync(labelsPath, 'utf8'), labelsPath) });
    i += 2;
  } else if (a === '--benign' || a === '--attack') {
    sources.push({ file: argv[++i]!, kind: a === '--benign' ? 'benign' : 'attack' });
  } else if (a === '--attack-share') attackShare = Number(argv[++i]);
  else if (a === '--seed') seed = Number(argv[++i]);
  else if (a === '--out') outDir = argv[++i]!;
  else if (a === '--corpora') corpora = true;
  else throw new Error(`unknown argument ${a}; see the header of bench/features-bench.ts`);
}
if (sources.length === 0 || corpora) {
  const manifest = readFileSync(`${C}/ndpi/MANIFEST.tsv`, 'utf8').trim().split('\n').slice(1).map((l) => l.split('\t'));
  for (const [file, , cat] of manifest) {
    if (!['tls', 'http', 'dns', 'quic'].includes(cat!) || /tunnel|exfil|iodine|dns2tcp|malware|fuzz/i.test(file!)) continue;
    sources.push({ file: `${C}/ndpi/pcap/${file}`, kind: 'benign' });
  }
  const att = `${C}/attacks`;
  for (const f of readdirSync(`${att}/dns-tunnel-dmachard`).filter((x) => x.endsWith('.pcap'))) sources.push({ file: `${att}/dns-tunnel-dmachard/${f}`, kind: 'attack' });
  for (const f of ['slips/test-cc/test-cc-capture-1.pcap', 'slips/test-cc/test-cc-capture-2.pcap', 'esnet-curated/attacks/scanners/masscan/tcp_0_1000_20190821.pcap', 'esnet-curated/attacks/scanners/nmap/nmap_80_all.pcap']) {
    sources.push({ file: `${att}/${f}`, kind: 'attack' });
  }
}

async function records(file: string): Promise<FlowRecord[]> {
  const out: FlowRecord[] = [];
  const dissect = new DissectStage({});
  const pipeline = new PacketPipeline({ observer: dissect, onRecord: (r) => out.push(r) });
  await new FileSource([file], { onFileError: () => undefined }).run(pipeline);
  pipeline.finish();
  return out;
}

function isAttack(r: FlowRecord, labels: readonly Label[]): boolean {
  return labels.some((l) => r.startUs <= l.endUs && r.endUs >= l.startUs && (!l.src || l.src === r.client.ip || l.src === r.server.ip) && (!l.dst || l.dst === r.server.ip || l.dst === r.client.ip));
}

// 1. Records with dissector metadata, per source, labelled.
const perSource: { src: Source; recs: FlowRecord[]; y: Uint8Array }[] = [];
let benignCount = 0;
for (const src of sources) {
  const recs = await records(src.file);
  const y = Uint8Array.from(recs, (r) => (src.kind === 'attack' ? 1 : src.kind === 'benign' ? 0 : isAttack(r, src.labels!) ? 1 : 0));
  benignCount += y.reduce((n, v) => n + (v === 0 ? 1 : 0), 0);
  perSource.push({ src, recs, y });
}

// 2. Extraction speed: every record once per round through one extractor (warmed up first).
const all = perSource.flatMap((p) => p.recs);
const fxTimed = new FeatureExtractor();
for (const r of all) fxTimed.extract(r);
let rounds = 0;
let t0 = performance.now();
do {
  for (const r of all) fxTimed.extract(r);
  rounds++;
} while (performance.now() - t0 < 2000);
const extractRate = (rounds * all.length) / ((performance.now() - t0) / 1000);

// 3. Rows: all benign, attacks sampled down to attackShare × benign, spread over the attack sources.
const rng = new Prng(seed);
const attackSources = perSource.filter((p) => p.y.some((v) => v === 1));
const attackTotal = attackSources.reduce((n, p) => n + p.y.reduce((m, v) => m + v, 0), 0);
const keepAttack = Math.max(attackSources.length, Math.round(attackShare * benignCount));
const rows: number[] = [];
const labels: number[] = [];
for (const p of perSource) {
  const fx = new FeatureExtractor();
  const nAtt = p.y.reduce((m, v) => m + v, 0);
  const quota = nAtt === 0 ? 0 : Math.max(1, Math.round((keepAttack * nAtt) / attackTotal));
  const pAtt = nAtt === 0 ? 0 : Math.min(1, quota / nAtt);
  p.recs.forEach((r, i) => {
    const x = fx.extract(r); // every record goes through the extractor: host context needs them all
    if (p.y[i] === 1 && rng.nextFloat() >= pAtt) return;
    for (let f = 0; f < FEATURE_COUNT; f++) rows.push(x[f]!);
    labels.push(p.y[i]!);
  });
}
const X = Float64Array.from(rows);
const y = Uint8Array.from(labels);
const n = y.length;
mkdirSync(outDir, { recursive: true });
const csvNan = join(outDir, 'flow-features.csv');
const csvImp = join(outDir, 'flow-features-imputed.csv');
const head = [...FEATURE_NAMES, 'label'].join(',');
const body = (imp: boolean): string =>
  Array.from({ length: n }, (_, r) => {
    const cells: string[] = [];
    for (let f = 0; f < FEATURE_COUNT; f++) {
      const v = X[r * FEATURE_COUNT + f]!;
      cells.push(Number.isNaN(v) ? (imp ? '-100' : '') : String(v));
    }
    cells.push(String(y[r]));
    return cells.join(',');
  }).join('\n');
writeFileSync(csvNan, `${head}\n${body(false)}\n`);
writeFileSync(csvImp, `${head}\n${body(true)}\n`);
const Ximp = X.map((v) => (Number.isNaN(v) ? -100 : v));

// 4. Extraction + scoring per flow, and batch scoring of the matrix.
const model = trainIsolationForest(X, n, FEATURE_NAMES, { seed });
rounds = 0;
let sink = 0;
t0 = performance.now();
do {
  for (const r of all) sink += model.scoreRow(fxTimed.extract(r));
  rounds++;
} while (performance.now() - t0 < 2000);
const perFlowRate = (rounds * all.length) / ((performance.now() - t0) / 1000);
const big = new Float64Array(Math.max(n, 200_000) * FEATURE_COUNT);
for (let i = 0; i < big.length; i++) big[i] = X[i % X.length]!;
const nBig = big.length / FEATURE_COUNT;
const scores = new Float64Array(nBig);
model.scoreMatrix(big, nBig, scores);
t0 = performance.now();
let batches = 0;
do {
  model.scoreMatrix(big, nBig, scores);
  batches++;
} while (performance.now() - t0 < 2000);
const batchRate = (batches * nBig) / ((performance.now() - t0) / 1000);

// 5. AUC (unsupervised protocol: fit on all rows, score all rows), 5 seeds.
const auc = (data: Float64Array): number[] => [1, 2, 3, 4, 5].map((s) => rocAuc(trainIsolationForest(data, n, FEATURE_NAMES, { seed: s }).scoreMatrix(data, n), y));
const mean = (v: number[]): string => (v.reduce((a, b) => a + b, 0) / v.length).toFixed(3);
const aNan = auc(X);
const aImp = auc(Ximp);

const att = y.reduce((a, b) => a + b, 0);
console.log(`sources: ${sources.length} captures, ${all.length} flows (${benignCount} benign); table: ${n} rows (${att} attack, ${((100 * att) / n).toFixed(1)} %), ${FEATURE_COUNT} features`);
console.log(`feature extraction:          ${(extractRate / 1e3).toFixed(0)} k flows/s (one core, records already dissected)`);
console.log(`extraction + scoreRow:       ${(perFlowRate / 1e3).toFixed(0)} k flows/s (100 trees)`);
console.log(`batch scoring (scoreMatrix): ${(batchRate / 1e6).toFixed(2)} M rows/s (${nBig} rows of ${FEATURE_COUNT} features, 100 trees)`);
console.log(`ROC AUC, Picket ψ=256, 100 trees, 5 seeds: NaN as missing ${mean(aNan)}; NaN imputed −100 ${mean(aImp)}`);
console.log(`wrote ${csvNan} and ${csvImp}; for scikit-learn / ml-isolation-forest on the same rows:`);
console.log(`  node --import @tapjs/typescript/import bench/iforest-bench.ts --csv ${csvImp} --seeds 5`);
if (sink === 42) console.log('');
