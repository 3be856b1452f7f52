/**
 * `picket collect`: the central collector (MQTT → SQLite → HTTP API and dashboard). Runs until
 * SIGINT/SIGTERM, then disconnects, closes the database and exits 0.
 */
import { Collector, type CollectorLog } from '../../collector/collector.js';
import { COLLECT_FLAGS, CollectOptionError, collectOptionsFromFlags } from '../../collector/collect-options.js';
import { parseArgs, UsageError } from './args.js';
import { PROCESS_IO, type Command, type CommandIo } from './command.js';

function ioLog(io: CommandIo): CollectorLog {
  return {
    info: (m) => io.stderr.write(`picket collect: ${m}\n`),
    warn: (m) => io.stderr.write(`picket collect: warning: ${m}\n`),
    error: (m) => io.stderr.write(`picket collect: error: ${m}\n`),
  };
}

/** Waits for SIGINT or SIGTERM (or `signal` aborting, for tests). */
function untilStopped(signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
    if (signal?.aborted) done();
    else signal?.addEventListener('abort', done);
  });
}

/** Runs the collector until stopped; exit code 0, or 2 for a configuration problem (one line). */
export async function runCollect(argv: readonly string[], io: CommandIo = PROCESS_IO, signal?: AbortSignal): Promise<number> {
  const args = parseArgs(argv, COLLECT_FLAGS);
  if (args.positionals.length > 0) throw new UsageError(`takes no positional arguments (got "${args.positionals[0]}")`);
  const log = ioLog(io);
  let collector: Collector;
  try {
    collector = await Collector.start(collectOptionsFromFlags(args.flags), { log });
  } catch (err) {
    if (err instanceof CollectOptionError || err instanceof Error) {
      io.stderr.write(`picket collect: error: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  const o = collector.options;
  log.info(`dashboard and API on ${collector.httpUrl}${o.token ? ' (token required)' : ''}; database ${o.dbPath}`);
  await untilStopped(signal);
  log.info('stopping');
  await collector.stop();
  return 0;
}

export const collectCommand: Command = {
  name: 'collect',
  summary: 'collect alerts from an MQTT broker into SQLite and serve the dashboard and HTTP API',
  usage: '--broker URL --db FILE [--http HOST:PORT] [--token-file FILE] [options]',
  flags: COLLECT_FLAGS,
  run: (argv, io) => runCollect(argv, io),
};
