import { closeSync, openSync, readSync } from 'node:fs';
import { PROCESS_IO, type Command, type CommandIo } from './command.js';
import { flagBool, flagNumber, flagString, parseArgs, UsageError, type FlagSpecs, type ParsedArgs } from './args.js';
import { FLOW_FLAGS, flowConfigFromArgs, runCaptureFiles } from './capture-run.js';
import { Alerting } from '../alert/alerting.js';
import { AnomalyLearner } from '../detect/anomaly/anomaly-learner.js';
import { FLOW_FEATURE_SCHEMA } from '../detect/anomaly/anomaly-hooks.js';
import type { IsolationForest } from '../detect/iforest/forest.js';
import { saveModel } from '../detect/iforest/model-file.js';
import { DEFAULT_PARAMS, paramsProblem, type TrainOptions } from '../detect/iforest/train.js';
import { fitTable } from '../detect/table/score-table.js';
import { TableError } from '../detect/table/table-reader.js';

/** Forest flags shared by `picket train` and `picket score` (which fits when given no model). */
export const FOREST_FLAGS: FlagSpecs = {
  seed: { type: 'string', value: 'N', help: `random seed, 0..2^32-1 (default ${DEFAULT_PARAMS.seed}); same seed + same input = same model` },
  trees: { type: 'string', value: 'N', help: `number of trees (default ${DEFAULT_PARAMS.nTrees})` },
  'sample-size': { type: 'string', value: 'N', help: `rows drawn per tree, ψ (default ${DEFAULT_PARAMS.sampleSize})` },
  quantile: { type: 'string', value: 'Q', help: `alert threshold = this quantile of the training scores (default ${DEFAULT_PARAMS.thresholdQuantile})` },
  'max-rows': { type: 'string', value: 'N', help: 'rows kept for training, a uniform sample beyond it (default 65536)' },
};

/** Reads the forest flags, with a one-line UsageError for out-of-range values. */
export function trainOptionsFromArgs(args: ParsedArgs): TrainOptions & { maxRows: number } {
  const params = {
    nTrees: flagNumber(args, 'trees', DEFAULT_PARAMS.nTrees),
    sampleSize: flagNumber(args, 'sample-size', DEFAULT_PARAMS.sampleSize),
    seed: flagNumber(args, 'seed', DEFAULT_PARAMS.seed),
    thresholdQuantile: flagNumber(args, 'quantile', DEFAULT_PARAMS.thresholdQuantile),
  };
  const problem = paramsProblem(params);
  if (problem) {
    const flag = problem.startsWith('nTrees') ? '--trees' : problem.startsWith('sampleSize') ? '--sample-size' : problem.startsWith('seed') ? '--seed' : problem.startsWith('threshold') ? '--quantile' : '--trees/--sample-size';
    throw new UsageError(`${flag}: ${problem}`);
  }
  const maxRows = flagNumber(args, 'max-rows', 65_536);
  if (!Number.isInteger(maxRows) || maxRows < 2 || maxRows > 4_000_000) throw new UsageError(`--max-rows must be an integer in 2..4000000, got ${maxRows}`);
  return { ...params, maxRows };
}

const CAPTURE_MAGICS = new Set(['a1b2c3d4', 'd4c3b2a1', 'a1b23c4d', '4d3cb2a1', '0a0d0d0a']);

/** True when the file starts like a pcap or pcapng capture; false for anything else (tables). */
export function looksLikeCapture(path: string): boolean {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const b = Buffer.alloc(4);
    if (readSync(fd, b, 0, 4, 0) < 4) return false;
    return CAPTURE_MAGICS.has(b.toString('hex'));
  } catch {
    return /\.(pcap|pcapng|cap)$/i.test(path);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** One line describing a model, for the train/score summaries. */
export function describeModel(m: IsolationForest): string {
  return `${m.trainingRows} rows, ${m.nTrees} trees, ψ ${m.effectiveSampleSize}, threshold ${m.threshold.toFixed(3)} (quantile ${m.params.thresholdQuantile}), seed ${m.params.seed}, schema ${m.schema.hash} (${m.nFeatures} features)`;
}

const FLAGS: FlagSpecs = {
  ...FLOW_FLAGS,
  out: { type: 'string', value: 'MODEL', help: 'where to write the model (required)' },
  ...FOREST_FLAGS,
  quiet: { type: 'boolean', help: 'no capture summary on stderr' },
};

/** Trains on captures: features of every flow through the anomaly detector's extractor, alerted flows left out. */
async function trainOnCaptures(files: readonly string[], args: ParsedArgs, opts: TrainOptions & { maxRows: number }, io: CommandIo): Promise<{ model: IsolationForest; note: string } | undefined> {
  const learner = new AnomalyLearner(FLOW_FEATURE_SCHEMA, {
    learningPeriodSec: Infinity, // never due on its own: trained below, once
    retrainSec: 0,
    minRows: 2,
    capacity: opts.maxRows,
    train: opts,
  });
  const alerting = new Alerting({ anomaly: { learner } });
  let records = 0;
  const run = await runCaptureFiles({
    command: 'train',
    files,
    flow: flowConfigFromArgs(args),
    io,
    quiet: flagBool(args, 'quiet'),
    onEvent: alerting.event,
    observers: [alerting.detect],
    onRecord: () => {
      records++;
    },
  });
  alerting.finish();
  if (run.failedFiles === files.length) return undefined;
  const seen = learner.status().seen;
  let excluded = records - seen; // alerted before their record was offered
  const model = learner.trainNow(alerting.detect.now(), (uid) => {
    const hit = alerting.detect.flowAlerted(uid);
    if (hit) excluded++;
    return hit;
  });
  if (!model) {
    io.stderr.write(`picket train: ${learner.status().lastError || 'no flows to train on'} (${seen} flows read): give captures with more traffic\n`);
    return undefined;
  }
  const sampled = seen > opts.maxRows ? `, a uniform sample of ${opts.maxRows}` : '';
  return { model, note: `${records} flows${sampled}, ${excluded} left out because detectors alerted on them` };
}

/** `picket train`: an Isolation Forest from clean captures or from a flow-feature table. */
export const trainCommand: Command = {
  name: 'train',
  summary: 'train an Isolation Forest anomaly model on clean captures (pcap/pcapng) or a flow-feature table (CSV/JSONL)',
  usage: 'CAPTURE...|FLOWS.csv|FLOWS.jsonl --out MODEL [--seed N] [--trees N] [--sample-size N] [--quantile Q]',
  flags: FLAGS,
  async run(argv, io = PROCESS_IO) {
    const args = parseArgs(argv, FLAGS);
    const files = args.positionals;
    if (files.length === 0) throw new UsageError('needs captures (pcap/pcapng) or one flow table (CSV/JSONL) to train on');
    const out = flagString(args, 'out');
    if (!out) throw new UsageError('needs --out MODEL (where to write the model)');
    const opts = trainOptionsFromArgs(args);
    const kinds = files.map(looksLikeCapture);
    let result: { model: IsolationForest; note: string } | undefined;
    if (kinds.every((k) => k)) {
      result = await trainOnCaptures(files, args, opts, io);
      if (!result) return 1;
    } else if (kinds.some((k) => k)) {
      throw new UsageError('give either captures or one CSV/JSONL table, not both');
    } else {
      if (files.length > 1) throw new UsageError(`give one CSV/JSONL table (got ${files.length} files)`);
      try {
        const { model, summary } = await fitTable(files[0]!, FLOW_FEATURE_SCHEMA.names, {
          ...opts,
          fitRows: opts.maxRows,
          onNotice: (line) => io.stderr.write(`picket train: ${line}\n`),
        });
        const bad = summary.errorRows > 0 ? `, ${summary.errorRows} unreadable rows skipped` : '';
        result = { model, note: `${summary.rows} rows${summary.rows > opts.maxRows ? `, a uniform sample of ${opts.maxRows}` : ''}${bad}` };
      } catch (err) {
        if (err instanceof TableError) {
          io.stderr.write(`picket train: ${err.message}\n`);
          return 1;
        }
        throw err;
      }
    }
    try {
      await saveModel(out, result.model);
    } catch (err) {
      io.stderr.write(`picket train: cannot write ${out}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message} (check the directory exists and is writable)\n`);
      return 1;
    }
    io.stderr.write(`picket train: model written to ${out}: trained on ${result.note}; ${describeModel(result.model)}\n`);
    return 0;
  },
};
