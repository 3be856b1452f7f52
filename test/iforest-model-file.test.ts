import t from 'tap';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeModel, encodeModel, loadModel, saveModel, MODEL_MAGIC } from '../agent/detect/iforest/model-file.js';
import { Prng } from '../agent/detect/iforest/prng.js';
import { makeSchema } from '../agent/detect/iforest/schema.js';
import { trainIsolationForest } from '../agent/detect/iforest/train.js';

const FEATURES = ['l4.log_bytes', 'l4.duration', 'dns.entropy', 'tls.ja4_unknown', 'zone.external_inbound'];
const schema = makeSchema(FEATURES);
const nf = FEATURES.length;
const n = 3000;
const rng = new Prng(77);
const data = new Float64Array(n * nf).map((_, i) => (i % 97 === 0 ? NaN : rng.nextFloat() * (1 + (i % nf))));
const model = trainIsolationForest(data, n, schema, { seed: 5, nTrees: 60, sampleSize: 128, createdAt: new Date('2026-11-25T10:00:00Z') });
const bytes = encodeModel(model);

const dir = mkdtempSync(join(tmpdir(), 'picket-iforest-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

const sameBits = (a: ArrayBufferView, b: ArrayBufferView): boolean =>
  Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

t.test('save → load round trip keeps every field and gives identical scores', async (t) => {
  const path = join(dir, 'model.pif');
  await saveModel(path, model);
  t.same(readdirSync(dir), ['model.pif'], 'no temporary file left behind');
  const r = await loadModel(path, schema);
  if (!r.ok) throw new Error(r.message);
  const m = r.value;
  t.same(m.schema, model.schema);
  t.same(m.params, { nTrees: 60, sampleSize: 128, seed: 5, thresholdQuantile: 0.995 });
  t.equal(m.threshold, model.threshold);
  t.equal(m.trainingRows, n);
  t.equal(m.createdAt, '2026-11-25T10:00:00.000Z');
  t.equal(m.depth, 7);
  t.ok(sameBits(m.splitValue, model.splitValue), 'split values bit-identical (NaN padding included)');
  t.ok(sameBits(m.stats.median, model.stats.median) && sameBits(m.stats.missingRate, model.stats.missingRate));
  t.ok(sameBits(m.scoreMatrix(data, n), model.scoreMatrix(data, n)), 'identical scores for all 3000 rows');
  t.ok(sameBits(encodeModel(m), bytes), 're-encoding gives the same bytes');
});

t.test('the header is readable JSON recording schema, params, seed, threshold, rows and time', async (t) => {
  t.equal(Buffer.from(bytes.subarray(0, 8)).toString('latin1'), MODEL_MAGIC);
  const len = new DataView(bytes.buffer, bytes.byteOffset).getUint32(12, true);
  const header = JSON.parse(Buffer.from(bytes.subarray(16, 16 + len)).toString('utf8'));
  t.match(header, {
    format: 'picket-iforest',
    version: 1,
    schema: { names: FEATURES, hash: schema.hash },
    params: { nTrees: 60, sampleSize: 128, seed: 5 },
    trainingRows: 3000,
    createdAt: '2026-11-25T10:00:00.000Z',
  });
  t.equal(header.threshold, model.threshold);
});

t.test('a model trained on another schema is refused, naming the features', async (t) => {
  const ours = makeSchema(['l4.log_bytes', 'l4.duration', 'dns.entropy', 'tls.ja4_unknown', 'quic.zero_rtt']);
  const r = decodeModel(bytes, ours);
  t.equal(r.ok, false);
  if (r.ok) return;
  t.equal(r.reason, 'schema_mismatch');
  t.match(r.message, /^model feature schema [0-9a-f]{16} differs from ours [0-9a-f]{16}: model lacks quic\.zero_rtt; model has extra zone\.external_inbound \(retrain the model with this schema\)$/);
  t.notOk(r.message.includes('\n'), 'one line');
  const path = join(dir, 'other.pif');
  writeFileSync(path, bytes);
  const l = await loadModel(path, ours);
  t.match(!l.ok && l.message, new RegExp(`^cannot load model ${path}: model feature schema`));
  t.equal(decodeModel(bytes).ok, true, 'without an expected schema the model loads');
});

t.test('corrupt, truncated and foreign files are refused cleanly', async (t) => {
  const check = (b: Uint8Array, reason: string, message: RegExp, what: string): void => {
    const r = decodeModel(b, schema);
    t.equal(r.ok, false, what);
    if (!r.ok) {
      t.equal(r.reason, reason, `${what}: reason ${r.reason}`);
      t.match(r.message, message, what);
    }
  };
  // A flipped bit anywhere in the trees is caught by the checksum.
  const flipped = Uint8Array.from(bytes);
  flipped[flipped.length - 500]! ^= 0x10;
  check(flipped, 'checksum', /corrupt \(checksum mismatch\)/, 'bit flip in the trees');
  // Every truncation point is refused, none throws.
  let thrown = 0;
  let accepted = 0;
  for (let len = 0; len < bytes.length; len += len < 64 ? 1 : 97) {
    try {
      if (decodeModel(bytes.subarray(0, len), schema).ok) accepted++;
    } catch {
      thrown++;
    }
  }
  t.equal(thrown, 0, 'no truncation throws');
  t.equal(accepted, 0, 'no truncation is accepted');
  check(bytes.subarray(0, bytes.length - 1), 'truncated', /truncated \(\d+ of \d+ bytes\)/, 'one byte short');
  check(bytes.subarray(0, 10), 'truncated', /truncated/, 'ten bytes');
  check(Uint8Array.from([...bytes, 0]), 'trailing', /trailing/, 'one extra byte');
  check(new TextEncoder().encode('l4.log_bytes,l4.duration\n1,2\n'), 'magic', /not a Picket model file/, 'a CSV file');
  const v2 = Uint8Array.from(bytes);
  v2[8] = 2;
  check(v2, 'version', /format version 2 is not supported/, 'future version');
  const hugeHeader = Uint8Array.from(bytes);
  new DataView(hugeHeader.buffer).setUint32(12, 0x7fffffff, true);
  check(hugeHeader, 'header_size', /exceeds/, 'absurd header length');
  const badJson = Uint8Array.from(bytes);
  badJson[16] = 0x5b; // '[' instead of '{'
  check(badJson, 'header_json', /not valid JSON/, 'header JSON broken');
  // Header edited but re-checksummed: field validation still catches lies.
  for (const [edit, why] of [
    [(h: Record<string, unknown>) => (h['depth'] = 20), /depth/],
    [(h: Record<string, unknown>) => (h['threshold'] = 2), /threshold/],
    [(h: Record<string, unknown>) => ((h['schema'] as { hash: string }).hash = '0000000000000000'), /hash/],
    [(h: Record<string, unknown>) => ((h['params'] as { nTrees: number }).nTrees = 0), /nTrees/],
    [(h: Record<string, unknown>) => (h['createdAt'] = 'yesterday'), /createdAt/],
    [(h: Record<string, unknown>) => (h['layout'] = 'pointer-tree'), /layout/],
  ] as const) {
    check(withHeader(bytes, edit), 'header', why, `header edit ${why}`);
  }
  await t.test('out-of-range node contents are refused even with a valid checksum', async (t) => {
    const r = decodeModel(resealed(bytes, (b, off) => new DataView(b.buffer).setInt32(off.splitFeature, 99, true)), schema);
    t.match(!r.ok && r.message, /splits on feature 99 of 5/);
    const r2 = decodeModel(resealed(bytes, (b, off) => new DataView(b.buffer).setUint32(off.leafSize, 1e6, true)), schema);
    t.match(!r2.ok && r2.message, /leaf 0 has size 1000000/);
  });
  const missing = await loadModel(join(dir, 'nope.pif'), schema);
  t.match(!missing.ok && missing.message, /^cannot read model: ENOENT/);
});

/** Rewrites the JSON header with `edit`, recomputing the layout and checksum, so only validation can object. */
function withHeader(src: Uint8Array, edit: (h: Record<string, unknown>) => unknown): Uint8Array {
  const len = new DataView(src.buffer, src.byteOffset).getUint32(12, true);
  const header = JSON.parse(Buffer.from(src.subarray(16, 16 + len)).toString('utf8')) as Record<string, unknown>;
  edit(header);
  const hb = Buffer.from(JSON.stringify(header));
  const oldBody = Math.ceil((16 + len) / 8) * 8;
  const newBody = Math.ceil((16 + hb.length) / 8) * 8;
  const out = new Uint8Array(newBody + (src.length - oldBody));
  out.set(src.subarray(0, 16));
  new DataView(out.buffer).setUint32(12, hb.length, true);
  out.set(hb, 16);
  out.set(src.subarray(oldBody), newBody);
  return reseal(out);
}

function reseal(b: Uint8Array): Uint8Array {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const digest = createHashSync(b.subarray(0, b.length - 32));
  b.set(digest, b.length - 32);
  return b;
}

import { createHash } from 'node:crypto';
function createHashSync(b: Uint8Array): Buffer {
  return createHash('sha256').update(b).digest();
}

/** Applies `edit` to a copy at body offsets derived from the header, then fixes the checksum. */
function resealed(src: Uint8Array, edit: (b: Uint8Array, off: { splitFeature: number; leafSize: number }) => void): Uint8Array {
  const b = Uint8Array.from(src);
  const len = new DataView(b.buffer).getUint32(12, true);
  const nInternal = 60 * 127;
  const splitFeature = Math.ceil((16 + len) / 8) * 8;
  const splitValue = Math.ceil((splitFeature + 4 * nInternal) / 8) * 8;
  const leafSize = splitValue + 8 * nInternal + 8 * 4 * nf;
  edit(b, { splitFeature, leafSize });
  return reseal(b);
}

t.test('random byte changes behind a valid checksum never throw and never yield scores outside (0, 1]', async (t) => {
  const rng = new Prng(123);
  const len = new DataView(bytes.buffer, bytes.byteOffset).getUint32(12, true);
  const bodyStart = Math.ceil((16 + len) / 8) * 8;
  let accepted = 0;
  let refused = 0;
  let badScores = 0;
  for (let i = 0; i < 300; i++) {
    const b = Uint8Array.from(bytes);
    for (let k = 0; k < 4; k++) b[bodyStart + rng.nextInt(b.length - 32 - bodyStart)] = rng.nextInt(256);
    const r = decodeModel(reseal(b), schema);
    if (!r.ok) {
      refused++;
      continue;
    }
    accepted++;
    const s = r.value.scoreMatrix(data, 200);
    for (const v of s) if (!(v > 0 && v <= 1)) badScores++;
  }
  t.equal(accepted + refused, 300);
  t.ok(refused > 0, `${refused} refused by validation`);
  t.equal(badScores, 0, `${accepted} accepted models all score in (0, 1]`);
});

t.test('saving over an existing file replaces it atomically', async (t) => {
  const path = join(dir, 'replace.pif');
  writeFileSync(path, 'old');
  await saveModel(path, model);
  t.ok(sameBits(readFileSync(path), bytes));
  await t.rejects(saveModel(join(dir, 'no-such-dir', 'm.pif'), model), /ENOENT/);
});
