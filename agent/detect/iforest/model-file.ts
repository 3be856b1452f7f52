/**
 * Versioned binary model file. Layout (little-endian):
 *
 * | offset | size | content |
 * |---|---|---|
 * | 0 | 8 | magic `PICKETIF` |
 * | 8 | 2 | format version (1) |
 * | 10 | 2 | reserved, 0 |
 * | 12 | 4 | header length H (≤ 1 MiB) |
 * | 16 | H | header, UTF-8 JSON: format, schema {names, hash}, params {nTrees, sampleSize, seed, thresholdQuantile}, effectiveSampleSize, depth, threshold, trainingRows, createdAt, layout |
 * | | | zero padding to a multiple of 8 |
 * | | 4·T·(2^D−1) | split feature index per node (i32), then padding to 8 |
 * | | 8·T·(2^D−1) | split value per node (f64; NaN = pass-through node) |
 * | | 8·F·4 | per-feature median, q25, q75, missing rate (f64 each) |
 * | | 4·T·2^D | leaf size per bottom slot (u32) |
 * | | T·2^D | leaf depth per bottom slot (u8), then padding to 8 |
 * | end−32 | 32 | SHA-256 of every byte before it |
 *
 * The header is JSON so a person can read it with `head -c 2000 model`; the trees are binary
 * because they hold NaN and must round-trip bit-exactly. Decoding treats the file as hostile:
 * every field is range-checked, sizes are computed from validated header values and compared
 * with the real length, and failures come back as values with a one-line message, never thrown.
 */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { writeFileAtomic } from '../../util/atomic-write.js';
import type { ParseFailure } from '../../util/result.js';
import { IsolationForest, type ForestParams } from './forest.js';
import { schemaHash, schemaMismatch, schemaProblem, type FeatureSchema } from './schema.js';
import { MAX_FOREST_SLOTS, MAX_SAMPLE_SIZE, paramsProblem } from './train.js';

export const MODEL_MAGIC = 'PICKETIF';
export const MODEL_FORMAT_VERSION = 1;
export const MODEL_LAYOUT = 'implicit-complete-nan-pad';
const FIXED_HEADER = 16;
const CHECKSUM_BYTES = 32;
const MAX_HEADER_BYTES = 1 << 20;
/** Largest model file read from disk. */
export const MAX_MODEL_FILE_BYTES = 256 * 1024 * 1024;

/** Why a model could not be loaded: `reason` is a short counter label, `message` one line for people. */
export interface ModelLoadFailure extends ParseFailure {
  readonly message: string;
}

export type ModelLoadResult = { readonly ok: true; readonly value: IsolationForest } | ModelLoadFailure;

function fail(kind: ParseFailure['kind'], reason: string, message: string): ModelLoadFailure {
  return { ok: false, kind, reason, message };
}

const align8 = (n: number): number => Math.ceil(n / 8) * 8;

interface BodyLayout {
  splitFeature: number;
  splitValue: number;
  stats: number;
  leafSize: number;
  leafDepth: number;
  checksum: number;
  total: number;
}

function bodyLayout(headerBytes: number, nTrees: number, depth: number, nFeatures: number): BodyLayout {
  const nInternal = nTrees * (2 ** depth - 1);
  const nLeaves = nTrees * 2 ** depth;
  const splitFeature = align8(FIXED_HEADER + headerBytes);
  const splitValue = align8(splitFeature + 4 * nInternal);
  const stats = splitValue + 8 * nInternal;
  const leafSize = stats + 8 * 4 * nFeatures;
  const leafDepth = leafSize + 4 * nLeaves;
  const checksum = align8(leafDepth + nLeaves);
  return { splitFeature, splitValue, stats, leafSize, leafDepth, checksum, total: checksum + CHECKSUM_BYTES };
}

/** Serialises a model to the format above. */
export function encodeModel(model: IsolationForest): Uint8Array {
  const header = {
    format: 'picket-iforest',
    version: MODEL_FORMAT_VERSION,
    layout: MODEL_LAYOUT,
    schema: { names: model.schema.names, hash: model.schema.hash },
    params: model.params,
    effectiveSampleSize: model.effectiveSampleSize,
    depth: model.depth,
    threshold: model.threshold,
    trainingRows: model.trainingRows,
    createdAt: model.createdAt,
  };
  const headerBytes = Buffer.from(JSON.stringify(header), 'utf8');
  const lay = bodyLayout(headerBytes.length, model.nTrees, model.depth, model.nFeatures);
  const buf = new Uint8Array(lay.total);
  const view = new DataView(buf.buffer);
  buf.set(Buffer.from(MODEL_MAGIC, 'latin1'), 0);
  view.setUint16(8, MODEL_FORMAT_VERSION, true);
  view.setUint32(12, headerBytes.length, true);
  buf.set(headerBytes, FIXED_HEADER);
  model.splitFeature.forEach((v, i) => view.setInt32(lay.splitFeature + 4 * i, v, true));
  model.splitValue.forEach((v, i) => view.setFloat64(lay.splitValue + 8 * i, v, true));
  const nf = model.nFeatures;
  const s = model.stats;
  [s.median, s.q25, s.q75, s.missingRate].forEach((arr, k) => {
    arr.forEach((v, f) => view.setFloat64(lay.stats + 8 * (k * nf + f), v, true));
  });
  model.leafSize.forEach((v, i) => view.setUint32(lay.leafSize + 4 * i, v, true));
  buf.set(model.leafDepth, lay.leafDepth);
  buf.set(createHash('sha256').update(buf.subarray(0, lay.checksum)).digest(), lay.checksum);
  return buf;
}

interface Header {
  schema: FeatureSchema;
  params: ForestParams;
  effectiveSampleSize: number;
  depth: number;
  threshold: number;
  trainingRows: number;
  createdAt: string;
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isInt = (v: unknown, lo: number, hi: number): v is number => Number.isInteger(v) && (v as number) >= lo && (v as number) <= hi;

/** Validates the JSON header; returns a problem string or the typed header. */
function checkHeader(h: unknown): Header | string {
  if (!isObj(h)) return 'header is not a JSON object';
  if (h['format'] !== 'picket-iforest') return `header format is ${JSON.stringify(h['format'])}, expected "picket-iforest"`;
  if (h['layout'] !== MODEL_LAYOUT) return `tree layout ${JSON.stringify(h['layout'])} is unknown`;
  const sc = h['schema'];
  if (!isObj(sc) || !Array.isArray(sc['names']) || typeof sc['hash'] !== 'string') return 'header schema is missing names or hash';
  const names = sc['names'] as unknown[];
  const sp = schemaProblem(names);
  if (sp) return sp;
  const strNames = names as string[];
  if (schemaHash(strNames) !== sc['hash']) return 'header schema hash does not match its names';
  const p = h['params'];
  if (!isObj(p)) return 'header params missing';
  const params: ForestParams = {
    nTrees: p['nTrees'] as number,
    sampleSize: p['sampleSize'] as number,
    seed: p['seed'] as number,
    thresholdQuantile: p['thresholdQuantile'] as number,
  };
  const pp = paramsProblem(params);
  if (pp) return pp;
  const eff = h['effectiveSampleSize'];
  const depth = h['depth'];
  const rows = h['trainingRows'];
  if (!isInt(rows, 2, Number.MAX_SAFE_INTEGER)) return 'trainingRows must be an integer ≥ 2';
  if (!isInt(eff, 2, MAX_SAMPLE_SIZE) || eff !== Math.min(params.sampleSize, rows)) return 'effectiveSampleSize is inconsistent with sampleSize and trainingRows';
  if (depth !== Math.ceil(Math.log2(eff))) return 'depth is not ceil(log2(effectiveSampleSize))';
  if (params.nTrees * 2 ** depth > MAX_FOREST_SLOTS) return `forest of ${params.nTrees} trees of depth ${depth} exceeds ${MAX_FOREST_SLOTS} leaf slots`;
  const threshold = h['threshold'];
  if (typeof threshold !== 'number' || !(threshold >= 0 && threshold <= 1)) return 'threshold must be a number in [0, 1]';
  const createdAt = h['createdAt'];
  if (typeof createdAt !== 'string' || createdAt.length > 64 || Number.isNaN(Date.parse(createdAt))) return 'createdAt is not a date';
  return {
    schema: { names: Object.freeze([...strNames]), hash: sc['hash'] },
    params,
    effectiveSampleSize: eff,
    depth,
    threshold,
    trainingRows: rows,
    createdAt,
  };
}

/**
 * Decodes model bytes. With `expected`, refuses a model trained on another feature schema
 * (reason `schema_mismatch`, message naming the missing/extra features).
 */
export function decodeModel(bytes: Uint8Array, expected?: FeatureSchema): ModelLoadResult {
  if (bytes.length < FIXED_HEADER) return fail('incomplete', 'truncated', `model file is truncated (${bytes.length} bytes): re-copy it or retrain`);
  if (Buffer.from(bytes.subarray(0, 8)).toString('latin1') !== MODEL_MAGIC) {
    return fail('malformed', 'magic', 'not a Picket model file (bad magic): give a file written by `picket train`');
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint16(8, true);
  if (version !== MODEL_FORMAT_VERSION) {
    return fail('malformed', 'version', `model format version ${version} is not supported (this build reads ${MODEL_FORMAT_VERSION}): retrain the model`);
  }
  const headerLen = view.getUint32(12, true);
  if (headerLen > MAX_HEADER_BYTES) return fail('limit', 'header_size', `model header of ${headerLen} bytes exceeds the ${MAX_HEADER_BYTES}-byte limit: the file is corrupt`);
  if (FIXED_HEADER + headerLen > bytes.length) return fail('incomplete', 'truncated', 'model file is truncated inside its header: re-copy it or retrain');
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(bytes.subarray(FIXED_HEADER, FIXED_HEADER + headerLen)).toString('utf8'));
  } catch {
    return fail('malformed', 'header_json', 'model header is not valid JSON: the file is corrupt, retrain or re-copy it');
  }
  const header = checkHeader(json);
  if (typeof header === 'string') return fail('malformed', 'header', `model header is invalid (${header}): the file is corrupt, retrain or re-copy it`);
  const nf = header.schema.names.length;
  const lay = bodyLayout(headerLen, header.params.nTrees, header.depth, nf);
  if (bytes.length < lay.total) return fail('incomplete', 'truncated', `model file is truncated (${bytes.length} of ${lay.total} bytes): re-copy it or retrain`);
  if (bytes.length > lay.total) return fail('malformed', 'trailing', `model file has ${bytes.length - lay.total} unexpected trailing bytes: the file is corrupt`);
  const digest = createHash('sha256').update(bytes.subarray(0, lay.checksum)).digest();
  if (!digest.equals(bytes.subarray(lay.checksum, lay.total))) {
    return fail('malformed', 'checksum', 'model file is corrupt (checksum mismatch): re-copy it or retrain');
  }
  if (expected) {
    const mismatch = schemaMismatch(header.schema, expected);
    if (mismatch) return fail('malformed', 'schema_mismatch', mismatch);
  }

  const nTrees = header.params.nTrees;
  const nInternal = nTrees * (2 ** header.depth - 1);
  const nLeaves = nTrees * 2 ** header.depth;
  const splitFeature = new Int32Array(nInternal);
  const splitValue = new Float64Array(nInternal);
  for (let i = 0; i < nInternal; i++) {
    const f = view.getInt32(lay.splitFeature + 4 * i, true);
    if (f < 0 || f >= nf) return fail('malformed', 'feature_index', `model node ${i} splits on feature ${f} of ${nf}: the file is corrupt`);
    splitFeature[i] = f;
    splitValue[i] = view.getFloat64(lay.splitValue + 8 * i, true);
  }
  const stat4 = [0, 1, 2, 3].map((k) => {
    const arr = new Float64Array(nf);
    for (let f = 0; f < nf; f++) arr[f] = view.getFloat64(lay.stats + 8 * (k * nf + f), true);
    return arr;
  }) as [Float64Array, Float64Array, Float64Array, Float64Array];
  const leafSize = new Int32Array(nLeaves);
  const leafDepth = new Uint8Array(nLeaves);
  for (let i = 0; i < nLeaves; i++) {
    const size = view.getUint32(lay.leafSize + 4 * i, true);
    const depth = bytes[lay.leafDepth + i]!;
    if (size > header.effectiveSampleSize || depth > header.depth) {
      return fail('malformed', 'leaf', `model leaf ${i} has size ${size} / depth ${depth} beyond the sample size or depth: the file is corrupt`);
    }
    leafSize[i] = size;
    leafDepth[i] = depth;
  }
  return {
    ok: true,
    value: new IsolationForest({
      ...header,
      splitFeature,
      splitValue,
      leafDepth,
      leafSize,
      stats: { median: stat4[0], q25: stat4[1], q75: stat4[2], missingRate: stat4[3] },
    }),
  };
}

/** Writes the model atomically (temporary file + rename), so a crash never leaves half a model. */
export async function saveModel(path: string, model: IsolationForest): Promise<void> {
  await writeFileAtomic(path, encodeModel(model));
}

/** Reads and decodes a model file; never throws (I/O errors come back as a failure with a message). */
export async function loadModel(path: string, expected?: FeatureSchema): Promise<ModelLoadResult> {
  try {
    const st = await stat(path);
    if (st.size > MAX_MODEL_FILE_BYTES) {
      return fail('limit', 'file_size', `model ${path} is ${st.size} bytes, above the ${MAX_MODEL_FILE_BYTES}-byte limit: is it a model file?`);
    }
    const r = decodeModel(await readFile(path), expected);
    return r.ok ? r : fail(r.kind, r.reason, `cannot load model ${path}: ${r.message}`);
  } catch (err) {
    return fail('malformed', 'io', `cannot read model: ${(err as Error).message}`);
  }
}
