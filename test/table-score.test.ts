import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Prng } from '../agent/detect/iforest/prng.js';
import { trainIsolationForest } from '../agent/detect/iforest/train.js';
import { fitTable, scoreTable, type ScoredRow, type ScoreTableSummary } from '../agent/detect/table/score-table.js';
import { readTableBatches, TableError, type TableBatch, type TableSummary } from '../agent/detect/table/table-reader.js';

const dir = mkdtempSync(join(tmpdir(), 'picket-table-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string): string => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

const SCHEMA = ['bytes', 'dur', 'tls.self_signed', 'dns.entropy'];

async function readAll(path: string, schema: readonly string[], opts = {}): Promise<{ batches: TableBatch[]; summary: TableSummary; notices: string[] }> {
  const notices: string[] = [];
  const gen = readTableBatches(path, schema, { ...opts, onNotice: (l) => notices.push(l) });
  const batches: TableBatch[] = [];
  let step = await gen.next();
  while (!step.done) {
    batches.push(step.value);
    step = await gen.next();
  }
  return { batches, summary: step.value, notices };
}

async function scoreAll(
  path: string,
  schema: readonly string[],
  ...rest: Parameters<typeof scoreTable> extends [unknown, unknown, ...infer R] ? R : never
): Promise<{ rows: ScoredRow[]; summary: ScoreTableSummary }> {
  const gen = scoreTable(path, schema, ...rest);
  const rows: ScoredRow[] = [];
  let step = await gen.next();
  while (!step.done) {
    rows.push(step.value);
    step = await gen.next();
  }
  return { rows, summary: step.value };
}

t.test('CSV columns map to the schema by name; missing reported once, unknown ignored', async (t) => {
  const path = file('flows.csv', 'src,bytes,"dur",extra\r\n10.0.0.1,100,1.5,x\r\n10.0.0.2,abc,,y\r\n10.0.0.3,"1e3",TRUE\r\n10.0.0.4\r\n10.0.0.5,5,6,z,more\r\n');
  const { batches, summary, notices } = await readAll(path, SCHEMA, { batchRows: 2 });
  t.same(notices, [`${path}: 2 of 4 features have no column, treated as missing: tls.self_signed, dns.entropy`]);
  t.same(summary.missing, ['tls.self_signed', 'dns.entropy']);
  t.same(summary.ignored, ['src', 'extra']);
  t.same(summary.nonNumeric, { bytes: 1 });
  t.equal(summary.format, 'csv');
  t.equal(summary.rows, 5);
  t.same(batches.map((b) => [b.firstRow, b.nRows]), [[1, 2], [3, 2], [5, 1]], 'batches of 2 rows, 1-based record numbers');
  const rows = batches.flatMap((b) => Array.from({ length: b.nRows }, (_, r) => Array.from(b.data.subarray(r * 4, r * 4 + 4))));
  t.same(rows, [
    [100, 1.5, NaN, NaN],
    [NaN, NaN, NaN, NaN], // "abc" non-numeric, "" missing
    [1000, 1, NaN, NaN], // quoted number, TRUE → 1
    [NaN, NaN, NaN, NaN], // short row: absent cells are missing
    [5, 6, NaN, NaN], // long row: extra cells ignored
  ]);
});

t.test('JSONL keys (flattened) map to the schema; features never seen are reported at the end', async (t) => {
  const path = file('flows.jsonl', [
    '{"bytes":10,"dur":"2","tls":{"self_signed":true},"src":"10.0.0.1"}',
    '{"bytes":20,"tls":{"self_signed":false},"dur":null}',
    'not json',
    '{"bytes":"many","dur":{"x":1},"tls":{"self_signed":"yes"}}',
  ].join('\n'));
  const { batches, summary, notices } = await readAll(path, SCHEMA);
  t.same(notices, [`${path}: 1 of 4 features have no column, treated as missing: dns.entropy`]);
  t.same(summary.ignored, ['src', 'dur.x']);
  t.same(summary.nonNumeric, { bytes: 1, 'tls.self_signed': 1 });
  t.equal(summary.errorRows, 1);
  const data = batches.flatMap((b) => Array.from(b.data));
  const errors = batches.flatMap((b) => b.errors.slice(0, b.nRows));
  t.equal(data.length, 16, 'four rows (the last line has no newline)');
  t.same(data.slice(0, 8), [10, 2, 1, NaN, 20, NaN, 0, NaN]);
  t.match(errors[2], /^invalid JSON/);
  t.same(data.slice(8, 16), [NaN, NaN, NaN, NaN, NaN, NaN, NaN, NaN], 'error row all missing; "many", an object and "yes" are not numbers');
});

t.test('format comes from the extension or, failing that, the first character', async (t) => {
  const j = await readAll(file('flows.log', '\n {"bytes":1}\n'), SCHEMA);
  t.equal(j.summary.format, 'jsonl');
  const c = await readAll(file('flows.txt', 'bytes\n1\n'), SCHEMA);
  t.equal(c.summary.format, 'csv');
  const forced = await readAll(file('flows2.log', 'bytes\n1\n'), SCHEMA, { format: 'csv' });
  t.equal(forced.summary.rows, 1);
  const empty = await readAll(file('empty.jsonl', ''), SCHEMA);
  t.equal(empty.summary.rows, 0);
});

t.test('unreadable input stops with a one-line TableError', async (t) => {
  await t.rejects(readAll(join(dir, 'absent.csv'), SCHEMA), { name: 'TableError', message: /^cannot read .*absent\.csv: ENOENT/ });
  await t.rejects(readAll(file('empty.csv', ''), SCHEMA), { message: /no CSV header row/ });
  await t.rejects(readAll(file('bad-header.csv', '"open\n'), SCHEMA), { message: /cannot read the CSV header: unterminated/ });
  const big = await readAll(file('big-field.csv', `bytes\n${'9'.repeat(100)}\n1\n`), SCHEMA, { csvLimits: { maxFieldChars: 10 } });
  t.equal(big.summary.errorRows, 1);
  t.equal(big.batches[0]!.errors[0], 'field longer than 10 characters');
});

/** 2000 benign rows and 10 outliers at known record numbers, as CSV text. */
function flowsCsv(): { text: string; outliers: Set<number> } {
  const rng = new Prng(21);
  const lines = ['bytes,dur,tls.self_signed,dns.entropy,comment'];
  const outliers = new Set<number>();
  for (let i = 1; i <= 2010; i++) {
    const odd = i % 201 === 0;
    if (odd) outliers.add(i);
    const bytes = odd ? 50_000 + rng.nextFloat() * 1000 : 500 + rng.nextFloat() * 200;
    const dur = odd ? 0.01 : 1 + rng.nextFloat();
    const ent = odd ? 4.5 : 2 + rng.nextFloat() * 0.5;
    lines.push(`${bytes.toFixed(1)},${dur.toFixed(3)},${odd ? 'true' : 'false'},${ent.toFixed(3)},"row ${i}, ok"`);
  }
  return { text: lines.join('\n') + '\n', outliers };
}

t.test('scoreTable without a model fits on the file and scores every row in order', async (t) => {
  const { text, outliers } = flowsCsv();
  const path = file('train.csv', text);
  const notices: string[] = [];
  const { rows, summary } = await scoreAll(path, SCHEMA, undefined, { seed: 3, onNotice: (l) => notices.push(l) });
  t.equal(rows.length, 2010);
  t.ok(rows.every((r, i) => r.row === i + 1), 'rows in input order, numbered from 1');
  t.ok(rows.every((r) => r.score !== null && r.score > 0 && r.score <= 1));
  const flagged = new Set(rows.filter((r) => r.anomaly).map((r) => r.row));
  t.same([...outliers].filter((r) => !flagged.has(r)), [], 'every planted outlier flagged');
  t.ok(flagged.size <= 12, `${flagged.size} rows flagged (10 planted + the 0.5 % quantile tail)`);
  t.equal(summary.fitted, true);
  t.equal(summary.anomalies, flagged.size);
  t.same(notices, [], 'no missing columns to report');
  t.same(summary.ignored, ['comment']);
  const again = await scoreAll(path, SCHEMA, undefined, { seed: 3 });
  t.same(again.rows.map((r) => r.score), rows.map((r) => r.score), 'deterministic with the same seed');
});

t.test('scoreTable with a model scores with it; the schema must match', async (t) => {
  const { text } = flowsCsv();
  const path = file('score.csv', text);
  const { model } = await fitTable(path, SCHEMA, { seed: 9, fitRows: 500 });
  t.equal(model.trainingRows, 500, 'fitted on a 500-row reservoir sample');
  const { rows, summary } = await scoreAll(path, SCHEMA, model);
  t.equal(summary.fitted, false);
  t.equal(summary.threshold, model.threshold);
  // Same numbers as scoring the parsed rows directly.
  const row7 = Float64Array.from(text.split('\n')[7]!.split(',').slice(0, 4).map((v) => (v === 'true' ? 1 : v === 'false' ? 0 : Number(v))));
  t.equal(rows[6]!.score, model.scoreRow(row7));
  await t.rejects(scoreAll(path, ['bytes', 'dur'], model), { name: 'TableError', message: /model has extra tls\.self_signed, dns\.entropy/ });
});

t.test('unreadable records keep their place with score null; too few rows to fit is an error', async (t) => {
  const x = new Float64Array(40).map((_, i) => i % 7);
  const model = trainIsolationForest(x, 10, SCHEMA, { seed: 1 });
  const path = file('mixed.jsonl', '{"bytes":1}\n{oops\n{"bytes":2}\n');
  const { rows } = await scoreAll(path, SCHEMA, model);
  t.same(rows.map((r) => [r.row, r.score === null, r.error?.slice(0, 12)]), [
    [1, false, undefined],
    [2, true, 'invalid JSON'],
    [3, false, undefined],
  ]);
  await t.rejects(fitTable(file('one.csv', 'bytes\n1\n"broken\n'), SCHEMA), { message: /1 readable row\(s\), need at least 2/ });
  t.ok(new TableError('x') instanceof Error);
});
