/**
 * `scoreTable`: anomaly scores for every row of a CSV/JSONL file of flow features, in input
 * order — with a trained model, or, without one, with a forest fitted on the file itself (the
 * notebook workflow: first pass samples rows into a bounded reservoir, second pass scores).
 * `fitTable` is the first half alone, for `picket train FILE.csv|FILE.jsonl`.
 */
import type { IsolationForest } from '../iforest/forest.js';
import { RowReservoir } from '../iforest/reservoir.js';
import { makeSchema, schemaMismatch } from '../iforest/schema.js';
import type { TrainOptions } from '../iforest/train.js';
import { readTableBatches, TableError, type ReadTableOptions, type TableSummary } from './table-reader.js';

/** One output line: 1-based record number, score in [0, 1] (null when the record was unreadable). */
export interface ScoredRow {
  row: number;
  score: number | null;
  /** score ≥ the model's threshold. */
  anomaly?: boolean;
  error?: string;
}

export interface FitTableOptions extends ReadTableOptions, TrainOptions {
  /** Rows sampled for fitting (default 65 536: files up to that size are fitted on every row). */
  fitRows?: number;
}

/** Summary of a scoring run: what reading found plus which model scored. */
export interface ScoreTableSummary extends TableSummary {
  /** True when the model was fitted on the file itself. */
  fitted: boolean;
  threshold: number;
  /** Rows with score ≥ threshold. */
  anomalies: number;
}

export const DEFAULT_FIT_ROWS = 65_536;

/**
 * Trains a forest on the rows of a file (a uniform sample of `fitRows` of them when larger;
 * unreadable records are left out). Throws {@link TableError} when fewer than 2 rows are usable.
 */
export async function fitTable(
  path: string,
  schema: readonly string[],
  options: FitTableOptions = {},
): Promise<{ model: IsolationForest; summary: TableSummary }> {
  const fs = makeSchema(schema);
  const reservoir = new RowReservoir(schema.length, Math.max(2, options.fitRows ?? DEFAULT_FIT_ROWS), options.seed ?? 1);
  const nf = schema.length;
  const reader = readTableBatches(path, schema, options);
  let step = await reader.next();
  while (!step.done) {
    const b = step.value;
    for (let r = 0; r < b.nRows; r++) {
      if (b.errors[r] === undefined) reservoir.add(b.data.subarray(r * nf, (r + 1) * nf));
    }
    step = await reader.next();
  }
  const summary = step.value;
  if (reservoir.size < 2) {
    throw new TableError(`${path}: ${reservoir.size} readable row(s), need at least 2 to fit a model`);
  }
  return { model: reservoir.build(fs, options), summary };
}

/**
 * Yields `{row, score, anomaly}` for every record of `path`, in input order; the generator's
 * return value is the summary. With `model`, its schema must equal `schema` (else TableError with
 * the mismatch in one line); without, the file is first read once to fit a model.
 */
export async function* scoreTable(
  path: string,
  schema: readonly string[],
  model?: IsolationForest,
  options: FitTableOptions = {},
): AsyncGenerator<ScoredRow, ScoreTableSummary> {
  let fitted = false;
  if (model === undefined) {
    // The fitting pass already reported missing columns; do not repeat them on the second pass.
    model = (await fitTable(path, schema, options)).model;
    fitted = true;
    options = { ...options };
    delete options.onNotice;
  } else {
    const mismatch = schemaMismatch(model.schema, makeSchema(schema));
    if (mismatch) throw new TableError(mismatch);
  }
  const nf = schema.length;
  let scores = new Float64Array(0);
  let anomalies = 0;
  const reader = readTableBatches(path, schema, options);
  let step = await reader.next();
  while (!step.done) {
    const b = step.value;
    if (scores.length < b.nRows) scores = new Float64Array(b.nRows);
    model.scoreMatrix(b.data, b.nRows, scores);
    for (let r = 0; r < b.nRows; r++) {
      const error = b.errors[r];
      if (error !== undefined) {
        yield { row: b.firstRow + r, score: null, error };
        continue;
      }
      const score = scores[r]!;
      const anomaly = model.isAnomaly(score);
      if (anomaly) anomalies++;
      yield { row: b.firstRow + r, score, anomaly };
    }
    step = await reader.next();
  }
  void nf;
  return { ...step.value, fitted, threshold: model.threshold, anomalies };
}
