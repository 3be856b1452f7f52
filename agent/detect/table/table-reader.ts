/**
 * Streams a CSV or JSONL file as batches of rows laid out in a given feature schema (ordered
 * names), so tools' flow exports can be scored by the Isolation Forest. The file is read in
 * chunks; memory is bounded by the batch size and the parsers' per-record limits.
 *
 * Column mapping: a column/key named like a feature feeds it; other columns are ignored (their
 * names are reported); features with no column are missing (NaN) in every row and reported.
 * Cells: numbers as is, booleans → 1/0, empty/null → missing, other text → NaN counted as
 * non-numeric per feature.
 */
import { createReadStream } from 'node:fs';
import { extname } from 'node:path';
import { CsvParser, type CsvLimits, type CsvRecord } from './csv-parser.js';
import { JsonlParser, type JsonlLimits, type JsonlRecord } from './jsonl-parser.js';
import { CellKind, jsonToNumber, textToNumber, type CellValue } from './value.js';

export type TableFormat = 'csv' | 'jsonl';

/** A batch of consecutive records. Row r's values are data[r·nf .. (r+1)·nf). */
export interface TableBatch {
  /** 1-based record number of the batch's first row (header and blank lines not counted). */
  readonly firstRow: number;
  readonly nRows: number;
  readonly data: Float64Array;
  /** Per row: undefined, or why the record could not be read (its values are all NaN). */
  readonly errors: readonly (string | undefined)[];
}

/** What reading found, for the one-line reports. Filled in as reading progresses. */
export interface TableSummary {
  format: TableFormat;
  /** Records read (including error records). */
  rows: number;
  /** Records that could not be read. */
  errorRows: number;
  /** Features with no column (CSV: from the header; JSONL: never present in any object). */
  missing: string[];
  /** Columns/keys that are not features (first 100). */
  ignored: string[];
  /** Per feature: cells that were present but not numbers. */
  nonNumeric: Record<string, number>;
}

export interface ReadTableOptions {
  /** Force the format; by default from the extension (.csv; .jsonl/.ndjson/.json) or the first character. */
  format?: TableFormat;
  /** Rows per batch (default 4096). */
  batchRows?: number;
  /** Called with one-line notices as soon as they are known (e.g. the missing columns of a CSV). */
  onNotice?: (line: string) => void;
  csvLimits?: Partial<CsvLimits>;
  jsonlLimits?: Partial<JsonlLimits>;
}

/** Raised for conditions that stop reading a table (no header, unreadable file); message is one line. */
export class TableError extends Error {
  override name = 'TableError';
}

const MAX_IGNORED_LISTED = 100;

/** Picks the format from the file name, else from the first non-blank character of `head`. */
export function detectFormat(path: string, head: string): TableFormat {
  const ext = extname(path).toLowerCase();
  if (ext === '.csv') return 'csv';
  if (ext === '.jsonl' || ext === '.ndjson' || ext === '.json') return 'jsonl';
  return head.trimStart().startsWith('{') ? 'jsonl' : 'csv';
}

/**
 * Reads `path` as batches of rows in the order of `schema`. The returned generator's return value
 * is the summary. Throws {@link TableError} when the file cannot be opened or a CSV has no header.
 */
export async function* readTableBatches(
  path: string,
  schema: readonly string[],
  options: ReadTableOptions = {},
): AsyncGenerator<TableBatch, TableSummary> {
  const nf = schema.length;
  const batchRows = Math.max(1, Math.min(options.batchRows ?? 4096, 1 << 20));
  const featureIndex = new Map<string, number>(schema.map((n, i) => [n, i]));
  const summary: TableSummary = { format: options.format ?? detectFormat(path, ''), rows: 0, errorRows: 0, missing: [], ignored: [], nonNumeric: {} };
  const nonNumeric = new Float64Array(nf);
  const seen = new Uint8Array(nf); // JSONL: feature present in at least one object
  const cell: CellValue = { value: NaN, kind: CellKind.Missing };

  let data = new Float64Array(batchRows * nf).fill(NaN);
  let errors: (string | undefined)[] = [];
  let n = 0;
  let firstRow = 1;
  const ready: TableBatch[] = [];
  const flush = (): void => {
    if (n === 0) return;
    ready.push({ firstRow, nRows: n, data: data.subarray(0, n * nf), errors });
    firstRow += n;
    data = new Float64Array(batchRows * nf).fill(NaN);
    errors = [];
    n = 0;
  };
  const rowError = (error: string): void => {
    errors[n] = error;
    summary.errorRows++;
    summary.rows++;
    if (++n === batchRows) flush();
  };

  // CSV: the header maps column positions to features.
  let columnFeature: Int32Array | undefined;
  const onCsv = (rec: CsvRecord): void => {
    if (rec.error !== undefined) {
      if (columnFeature === undefined) throw new TableError(`${path}: cannot read the CSV header: ${rec.error}`);
      rowError(rec.error);
      return;
    }
    const fields = rec.fields;
    if (columnFeature === undefined) {
      columnFeature = new Int32Array(fields.length).fill(-1);
      const present = new Set<string>();
      fields.forEach((raw, c) => {
        const name = raw.trim();
        const f = featureIndex.get(name);
        if (f !== undefined && !present.has(name)) {
          columnFeature![c] = f;
          present.add(name);
        } else if (summary.ignored.length < MAX_IGNORED_LISTED) {
          summary.ignored.push(name);
        }
      });
      summary.missing = schema.filter((s) => !present.has(s));
      if (summary.missing.length > 0) options.onNotice?.(missingNotice(path, summary.missing, nf));
      return;
    }
    const base = n * nf;
    const cols = Math.min(fields.length, columnFeature.length);
    for (let c = 0; c < cols; c++) {
      const f = columnFeature[c]!;
      if (f < 0) continue;
      textToNumber(fields[c]!, cell);
      data[base + f] = cell.value;
      if (cell.kind === CellKind.NonNumeric) nonNumeric[f]!++;
    }
    errors[n] = undefined;
    summary.rows++;
    if (++n === batchRows) flush();
  };

  const ignoredKeys = new Set<string>();
  const onJsonl = (rec: JsonlRecord): void => {
    if (rec.error !== undefined) {
      rowError(rec.error);
      return;
    }
    const base = n * nf;
    for (const [key, v] of rec.values) {
      const f = featureIndex.get(key);
      if (f === undefined) {
        if (ignoredKeys.size < MAX_IGNORED_LISTED && !ignoredKeys.has(key)) ignoredKeys.add(key);
        continue;
      }
      seen[f] = 1;
      jsonToNumber(v, cell);
      data[base + f] = cell.value;
      if (cell.kind === CellKind.NonNumeric) nonNumeric[f]!++;
    }
    errors[n] = undefined;
    summary.rows++;
    if (++n === batchRows) flush();
  };

  let parser: CsvParser | JsonlParser | undefined;
  let stream;
  try {
    stream = createReadStream(path, { encoding: 'utf8', highWaterMark: 256 * 1024 });
    for await (const chunk of stream) {
      const text = chunk as string;
      if (parser === undefined) {
        summary.format = options.format ?? detectFormat(path, text);
        parser = summary.format === 'csv' ? new CsvParser(onCsv, options.csvLimits) : new JsonlParser(onJsonl, options.jsonlLimits);
      }
      parser.push(text);
      flush();
      while (ready.length > 0) yield ready.shift()!;
    }
    parser?.end();
  } catch (err) {
    if (err instanceof TableError) throw err;
    throw new TableError(`cannot read ${path}: ${(err as Error).message}`);
  } finally {
    stream?.destroy();
  }
  flush();
  while (ready.length > 0) yield ready.shift()!;

  if (summary.format === 'csv' && columnFeature === undefined) throw new TableError(`${path}: no CSV header row (the file is empty)`);
  if (summary.format === 'jsonl') {
    summary.ignored = [...ignoredKeys];
    summary.missing = schema.filter((_, f) => seen[f] === 0);
    if (summary.missing.length > 0) options.onNotice?.(missingNotice(path, summary.missing, nf));
  }
  schema.forEach((name, f) => {
    if (nonNumeric[f]! > 0) summary.nonNumeric[name] = nonNumeric[f]!;
  });
  return summary;
}

/** `data.csv: 2 of 35 features have no column, scored as missing: dns.entropy, tls.ja4_unknown` */
export function missingNotice(path: string, missing: readonly string[], nf: number): string {
  const shown = missing.slice(0, 12).join(', ');
  const more = missing.length > 12 ? ` and ${missing.length - 12} more` : '';
  return `${path}: ${missing.length} of ${nf} features have no column, treated as missing: ${shown}${more}`;
}
