import { PROCESS_IO, type Command } from './command.js';
import { flagBool, flagString, parseArgs, UsageError, type FlagSpecs } from './args.js';
import { flowToEcs } from '../sink/jsonl/flow-ecs.js';
import { LineWriter } from '../sink/jsonl/line-writer.js';
import { dissectEcs } from '../dissect/dissect-stage.js';
import { FLOW_FLAGS, flowConfigFromArgs, runCaptureFiles } from './capture-run.js';
import { ReplayAlerts } from '../daemon/replay-alerts.js';
import { BROKER_FLAGS } from '../sink/mqtt/broker-options.js';

const FLAGS: FlagSpecs = {
  speed: { type: 'string', value: 'N|max', help: 'N× the capture\'s own pace, or max for as fast as possible (default 1)' },
  ...FLOW_FLAGS,
  quiet: { type: 'boolean', help: 'no summary on stderr' },
  'no-records': { type: 'boolean', help: 'do not print flow records' },
  'alerts-jsonl': { type: 'string', value: 'FILE', help: 'run the detectors; append every alert (new and updates) as a JSON line' },
  'flush-timeout': { type: 'string', value: 'SECONDS', help: 'with --broker: wait this long at the end for acknowledgements (default 30)' },
  ...BROKER_FLAGS,
};

/** Parses `--speed`: a positive number, or `max`. */
export function parseSpeed(text: string | undefined): number {
  if (text === undefined) return 1;
  if (text === 'max') return Infinity;
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`--speed must be a positive number or "max", got "${text}"`);
  return n;
}

export const replayCommand: Command = {
  name: 'replay',
  summary: 'push a capture through the pipeline paced by its timestamps (N× faster), as a live source would',
  usage: 'CAPTURE... [--speed N|max] [options]',
  flags: FLAGS,
  async run(argv, io = PROCESS_IO) {
    const args = parseArgs(argv, FLAGS);
    if (args.positionals.length === 0) throw new UsageError('needs at least one capture file (pcap or pcapng)');
    const speed = parseSpeed(flagString(args, 'speed'));
    const printRecords = !flagBool(args, 'no-records');
    const out = new LineWriter(io.stdout);
    // Detection runs when alerts go somewhere (a file or a broker); throws UsageError for bad flags.
    const alerts = await ReplayAlerts.fromFlags(args, io);
    const abort = new AbortController();
    const stop = (): void => abort.abort();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    try {
      const run = await runCaptureFiles({
        command: 'replay',
        files: args.positionals,
        flow: flowConfigFromArgs(args),
        io,
        speed,
        quiet: flagBool(args, 'quiet'),
        signal: abort.signal,
        pause: () => out.drained(),
        onRecord: (r) => {
          if (printRecords) out.line(JSON.stringify(flowToEcs(r, dissectEcs(r))));
        },
        ...(alerts ? alerts.captureHooks() : {}),
      });
      await out.end();
      const left = alerts ? await alerts.finish(flagBool(args, 'quiet')) : 0;
      if (left > 0) return 3;
      return run.failedFiles > 0 ? 1 : 0;
    } finally {
      await alerts?.close();
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    }
  },
};
