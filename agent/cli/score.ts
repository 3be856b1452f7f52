import { PROCESS_IO, type Command } from './command.js';
import { flagBool, flagString, parseArgs, UsageError, type FlagSpecs } from './args.js';
import { LineWriter } from '../sink/jsonl/line-writer.js';
import { FLOW_FEATURE_SCHEMA } from '../detect/anomaly/anomaly-hooks.js';
import { loadModel } from '../detect/iforest/model-file.js';
import type { IsolationForest } from '../detect/iforest/forest.js';
import { scoreTable, type ScoredRow } from '../detect/table/score-table.js';
import { TableError } from '../detect/table/table-reader.js';
import { describeModel, FOREST_FLAGS, looksLikeCapture, trainOptionsFromArgs } from './train.js';

const FLAGS: FlagSpecs = {
  model: { type: 'string', value: 'MODEL', help: 'score with this model (from `picket train`); without it a model is fitted on the file itself' },
  ...FOREST_FLAGS,
  quiet: { type: 'boolean', help: 'no summary line on stderr' },
};

/**
 * `picket score`: anomaly scores for a table of flow features from another tool, one JSON line per
 * row in input order: `{"row":N,"score":S,"anomaly":B}` (`"score":null,"error":...` for a row that
 * could not be read). Columns are matched to feature names (docs/features.md); unknown columns
 * are ignored and missing features reported once on stderr.
 */
export const scoreCommand: Command = {
  name: 'score',
  summary: 'score a CSV/JSONL table of flow features with an Isolation Forest (one JSON line per row)',
  usage: 'FILE.csv|FILE.jsonl [--model MODEL] [--seed N] [--trees N] [--sample-size N] [--quantile Q]',
  flags: FLAGS,
  async run(argv, io = PROCESS_IO) {
    const args = parseArgs(argv, FLAGS);
    if (args.positionals.length !== 1) throw new UsageError(`needs exactly one CSV or JSONL file (got ${args.positionals.length})`);
    const path = args.positionals[0]!;
    if (looksLikeCapture(path)) throw new UsageError(`${path} is a capture: score captures with \`picket inspect ${path} --model MODEL\``);
    const opts = trainOptionsFromArgs(args);
    const modelPath = flagString(args, 'model');
    let model: IsolationForest | undefined;
    if (modelPath !== undefined) {
      const r = await loadModel(modelPath, FLOW_FEATURE_SCHEMA);
      if (!r.ok) {
        io.stderr.write(`picket score: ${r.message}\n`);
        return 1;
      }
      model = r.value;
    }
    const out = new LineWriter(io.stdout);
    const rows = scoreTable(path, FLOW_FEATURE_SCHEMA.names, model, {
      ...opts,
      fitRows: opts.maxRows,
      onNotice: (line) => io.stderr.write(`picket score: ${line}\n`),
    });
    try {
      let step = await rows.next();
      while (!step.done) {
        out.line(rowJson(step.value));
        const wait = out.drained();
        if (wait) await wait;
        step = await rows.next();
      }
      const s = step.value;
      await out.end();
      if (!flagBool(args, 'quiet')) {
        const how = s.fitted ? 'fitted on the file itself' : `model ${modelPath}`;
        const bad = s.errorRows > 0 ? `, ${s.errorRows} unreadable` : '';
        io.stderr.write(`picket score: ${s.rows} rows scored${bad}; ${s.anomalies} at or above the threshold ${s.threshold.toFixed(3)} (${how})${model ? `; ${describeModel(model)}` : ''}\n`);
      }
      return 0;
    } catch (err) {
      await out.end().catch(() => undefined);
      if (err instanceof TableError) {
        io.stderr.write(`picket score: ${err.message}\n`);
        return 1;
      }
      throw err;
    }
  },
};

function rowJson(r: ScoredRow): string {
  if (r.score === null) return JSON.stringify({ row: r.row, score: null, error: r.error });
  return `{"row":${r.row},"score":${Number(r.score.toFixed(6))},"anomaly":${r.anomaly === true}}`;
}
