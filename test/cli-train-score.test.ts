/**
 * `picket train` / `picket score` / `picket inspect --model` as a user runs them: a model trained
 * on real captures, its file, scores of a feature table in row order (CSV and JSONL), the
 * missing-column report, and the one-line refusal of a model trained on another schema.
 */
import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { trainCommand } from '../agent/cli/train.js';
import { scoreCommand } from '../agent/cli/score.js';
import { inspectCommand } from '../agent/cli/inspect.js';
import { loadModel, saveModel } from '../agent/detect/iforest/model-file.js';
import { trainIsolationForest } from '../agent/detect/iforest/train.js';
import { FLOW_FEATURE_SCHEMA } from '../agent/detect/anomaly/anomaly-hooks.js';
import { Alerting } from '../agent/alert/alerting.js';
import { FEATURE_NAMES } from '../agent/features/feature-schema.js';
import { FeatureExtractor } from '../agent/features/flow-features.js';
import { runCapture } from './helpers/run-capture.js';
import { runCommand } from './helpers/run-command.js';

const N = '../shared/corpora/ndpi/pcap';
const BENIGN = [`${N}/sites.pcapng`, `${N}/android.pcap`, `${N}/whatsapp.pcap`];
const dir = mkdtempSync(join(tmpdir(), 'pk-train-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

const model = join(dir, 'benign.model');

t.test('train on captures writes a model with this build’s feature schema', async (t) => {
  const r = await runCommand(trainCommand, [...BENIGN, '--out', model, '--seed', '7', '--quiet']);
  t.equal(r.code, 0, r.err);
  t.match(r.err, /^picket train: model written to .*: trained on \d+ flows, \d+ left out because detectors alerted on them; \d+ rows, 100 trees, ψ \d+, threshold 0\.\d+ \(quantile 0\.995\), seed 7, schema [0-9a-f]{16} \(\d+ features\)\n$/);
  const m = await loadModel(model, FLOW_FEATURE_SCHEMA);
  t.ok(m.ok);
  if (m.ok) {
    t.equal(m.value.params.seed, 7);
    t.ok(m.value.trainingRows > 150, `${m.value.trainingRows} flows`);
    t.same(m.value.schema.names, FEATURE_NAMES);
  }
});

t.test('round trip: capture → features table → picket score equals the in-pipeline scores', async (t) => {
  const m = await loadModel(model, FLOW_FEATURE_SCHEMA);
  if (!m.ok) {
    t.fail(m.message);
    return;
  }
  // In the pipeline (inspect --model path): one score per flow.
  const scores = new Map<string, number>();
  const alerting = new Alerting({ anomaly: { model: m.value }, onFlowScore: (u, s) => scores.set(u, s) });
  const run = await runCapture(BENIGN[0]!);
  for (const r of run.records) alerting.detect.record(r);
  t.equal(scores.size, run.records.length, 'every flow scored');
  // The same records through a fresh extractor into a CSV, then `picket score --model`.
  const fx = new FeatureExtractor();
  const csv = join(dir, 'flows.csv');
  const lines = ['uid,' + FEATURE_NAMES.join(',')];
  for (const r of run.records) lines.push(r.uid + ',' + Array.from(fx.extract(r)).map((v) => (Number.isNaN(v) ? '' : String(v))).join(','));
  writeFileSync(csv, lines.join('\n') + '\n');
  const out = await runCommand(scoreCommand, [csv, '--model', model, '--quiet']);
  t.equal(out.code, 0, out.err);
  t.equal(out.err, '', 'no missing columns, no unknown-column noise');
  const rows = out.out.trim().split('\n').map((l) => JSON.parse(l) as { row: number; score: number; anomaly: boolean });
  t.equal(rows.length, run.records.length);
  rows.forEach((row, i) => {
    if (row.row !== i + 1) t.fail(`row ${i + 1} out of order`);
    const want = scores.get(run.records[i]!.uid)!;
    if (Math.abs(row.score - want) > 1e-6) t.fail(`row ${i + 1}: score ${row.score} vs pipeline ${want}`);
  });
  t.pass('scores identical, rows in input order');
});

t.test('score: JSONL without a model fits on the file; CSV missing columns reported in one line', async (t) => {
  const jsonl = join(dir, 'tool.jsonl');
  const objs = Array.from({ length: 300 }, (_, i) => ({ bytes_out_log: 5 + (i % 7) * 0.1, bytes_in_log: 8 + (i % 5) * 0.1, proto_tcp: 1, extra_tool_field: 'x' }));
  objs.push({ bytes_out_log: 20, bytes_in_log: 0.5, proto_tcp: 0, extra_tool_field: 'y' });
  writeFileSync(jsonl, objs.map((o) => JSON.stringify(o)).join('\n') + '\n');
  const r = await runCommand(scoreCommand, [jsonl, '--seed', '3']);
  t.equal(r.code, 0, r.err);
  const rows = r.out.trim().split('\n').map((l) => JSON.parse(l) as { row: number; score: number; anomaly: boolean });
  t.same(rows.map((x) => x.row), objs.map((_, i) => i + 1), 'one line per row, input order');
  t.ok(rows.every((x) => x.score > 0 && x.score <= 1), 'scores in (0, 1]');
  const top = rows.reduce((a, b) => (b.score > a.score ? b : a));
  t.equal(top.row, 301, 'the odd row scores highest');
  t.ok(top.anomaly);
  const errLines = r.err.trim().split('\n');
  t.equal(errLines.length, 2, 'one missing-columns line + the summary');
  t.match(errLines[0]!, new RegExp(`^picket score: .*tool\\.jsonl: ${FEATURE_NAMES.length - 3} of ${FEATURE_NAMES.length} features have no column, treated as missing: packets_out_log, `));
  t.match(errLines[1]!, /^picket score: 301 rows scored; \d+ at or above the threshold 0\.\d+ \(fitted on the file itself\)$/);

  const csv = join(dir, 'partial.csv');
  writeFileSync(csv, 'dns.name_entropy,unknown_col,bytes_out_log\n3.1,a,5\n4.9,b,6\nnot-a-number,c,7\n');
  const c = await runCommand(scoreCommand, [csv, '--model', model, '--quiet']);
  t.equal(c.code, 0, c.err);
  t.equal(c.err.trim().split('\n').length, 1, 'missing columns: one line');
  t.match(c.err, /84 of 86 features have no column/);
  t.same(c.out.trim().split('\n').map((l) => (JSON.parse(l) as { row: number }).row), [1, 2, 3]);
});

t.test('a model of another schema is refused in one line (score, inspect, train --out kept)', async (t) => {
  const other = join(dir, 'other.model');
  const data = Float64Array.from({ length: 200 }, (_, i) => (i * 7919) % 101);
  await saveModel(other, trainIsolationForest(data, 100, ['bytes_out_log', 'old_feature'], { seed: 1 }));
  const csv = join(dir, 'flows.csv');
  const s = await runCommand(scoreCommand, [csv, '--model', other]);
  t.equal(s.code, 1);
  t.equal(s.out, '');
  t.equal(s.err.split('\n').length, 2, 'one line');
  t.match(s.err, /^picket score: cannot load model .*other\.model: model feature schema [0-9a-f]{16} differs from ours [0-9a-f]{16}: model lacks bytes_in_log, .* and \d+ more; model has extra old_feature \(retrain the model with this schema\)\n$/);
  const i = await runCommand(inspectCommand, [BENIGN[0]!, '--model', other, '--quiet']);
  t.equal(i.code, 1);
  t.match(i.err, /^picket inspect: cannot load model .*differs from ours.*\n$/);
  const corrupt = join(dir, 'corrupt.model');
  const bytes = readFileSync(model);
  bytes[bytes.length - 100]! ^= 0xff;
  writeFileSync(corrupt, bytes);
  const k = await runCommand(scoreCommand, [csv, '--model', corrupt]);
  t.equal(k.code, 1);
  t.match(k.err, /checksum mismatch/);
});

t.test('usage errors', async (t) => {
  await t.rejects(runCommand(trainCommand, BENIGN), /needs --out MODEL/);
  await t.rejects(runCommand(trainCommand, [...BENIGN, '--out', join(dir, 'x'), '--trees', '0']), /--trees: nTrees must be/);
  await t.rejects(runCommand(trainCommand, [BENIGN[0]!, join(dir, 'flows.csv'), '--out', join(dir, 'x')]), /either captures or one CSV/);
  await t.rejects(runCommand(scoreCommand, [BENIGN[0]!]), /is a capture/);
  const r = await runCommand(trainCommand, [join(dir, 'flows.csv'), '--out', join(dir, 'nodir', 'm.model')]);
  t.equal(r.code, 1);
  t.match(r.err, /^picket train: cannot write .*m\.model: ENOENT/);
  t.notOk(existsSync(join(dir, 'nodir')));
});

t.test('train on a CSV table: same rows and seed give the same model scores', async (t) => {
  const csv = join(dir, 'flows.csv');
  const a = join(dir, 'a.model');
  const b = join(dir, 'b.model');
  t.equal((await runCommand(trainCommand, [csv, '--out', a, '--seed', '9'])).code, 0);
  t.equal((await runCommand(trainCommand, [csv, '--out', b, '--seed', '9'])).code, 0);
  const ra = await runCommand(scoreCommand, [csv, '--model', a, '--quiet']);
  const rb = await runCommand(scoreCommand, [csv, '--model', b, '--quiet']);
  t.equal(ra.out, rb.out, 'deterministic');
  t.ok(ra.out.length > 0);
});
