/**
 * Child-process entry standing in for `picket replay CAPTURE --broker ...` until that command
 * exists: raises a deterministic sequence of alerts through AlertPublisher, writing each raised
 * alert to --alerts-jsonl (as the real command will), then waits for every acknowledgement
 * (or the flush timeout) and exits. Takes the same broker flags as picket (BROKER_FLAGS).
 *
 *   node <tap loader> publish-alerts-main.ts --broker mqtt://127.0.0.1:PORT --sensor s1 --site lab \
 *        --queue-dir DIR --alerts-jsonl FILE --count 500 --rate 200 --first 0 --flush-timeout-ms 20000
 *
 * Exit 0 when everything was acknowledged, 3 when alerts were left in the queue, 2 for usage or
 * configuration errors (one line on stderr). The last stdout line is a JSON summary.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import type { Severity } from '../../agent/alert/alert.js';
import { alertJsonLine } from '../../agent/alert/alert-json.js';
import { flagNumber, flagString, parseArgs, type FlagSpecs } from '../../agent/cli/args.js';
import { AlertPublisher } from '../../agent/sink/mqtt/alert-publisher.js';
import { BROKER_FLAGS, BrokerConfigError, brokerOptionsFromFlags } from '../../agent/sink/mqtt/broker-options.js';
import { alertFor } from './alert-sequence.js';

const SPECS: FlagSpecs = {
  ...BROKER_FLAGS,
  'alerts-jsonl': { type: 'string', value: 'FILE', help: 'append each raised alert as a JSON line' },
  count: { type: 'string', value: 'N', help: 'alerts to raise (0: only drain the queue)' },
  rate: { type: 'string', value: 'PER_S', help: 'alerts per second' },
  first: { type: 'string', value: 'K', help: 'index of the first alert' },
  'flush-timeout-ms': { type: 'string', value: 'MS', help: 'wait this long for acknowledgements' },
  'queue-max-bytes': { type: 'string', value: 'BYTES', help: 'queue bound' },
  'status-interval-ms': { type: 'string', value: 'MS', help: 'status period' },
  severity: { type: 'string', value: 'low|medium|high|critical|cycle', help: 'severity of every alert (default cycle)' },
};

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2), SPECS);
  let options;
  try {
    options = brokerOptionsFromFlags(args.flags, {
      fsyncEveryMs: 20,
      statusIntervalMs: flagNumber(args, 'status-interval-ms', 30_000),
      reconnectMinMs: 100,
      reconnectMaxMs: 1000,
      ...(flagString(args, 'queue-max-bytes') ? { queueMaxBytes: flagNumber(args, 'queue-max-bytes', 0) } : {}),
    });
  } catch (err) {
    if (err instanceof BrokerConfigError) {
      process.stderr.write(`picket: error: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  if (!options) {
    process.stderr.write('picket: error: --broker is required\n');
    return 2;
  }
  const count = flagNumber(args, 'count', 100);
  const rate = flagNumber(args, 'rate', 1000);
  const first = flagNumber(args, 'first', 0);
  const sev = flagString(args, 'severity');
  const fixed = sev && sev !== 'cycle' ? (sev as Severity) : undefined;
  const jsonl = flagString(args, 'alerts-jsonl');
  const fd = jsonl ? openSync(jsonl, 'a') : -1;
  const publisher = new AlertPublisher(options);
  try {
    await publisher.start();
  } catch (err) {
    if (err instanceof BrokerConfigError) {
      process.stderr.write(`picket: error: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  const stopping = (): void => {
    void publisher.stop().then(() => process.exit(130));
  };
  process.once('SIGTERM', stopping);
  process.once('SIGINT', stopping);
  // Pace in 10 ms ticks; within a tick raise the alerts due so far.
  const t0 = Date.now();
  let k = 0;
  while (k < count) {
    const due = Math.min(count, Math.floor(((Date.now() - t0) * rate) / 1000) + 1);
    for (; k < due; k++) {
      const alert = alertFor(first + k, options.sensorId, options.site, fixed);
      publisher.publish(alert);
      if (fd >= 0) writeSync(fd, alertJsonLine(alert) + '\n');
    }
    if (k < count) await new Promise((r) => setTimeout(r, 10));
  }
  const r = await publisher.flush(flagNumber(args, 'flush-timeout-ms', 20_000));
  await publisher.stop();
  if (fd >= 0) closeSync(fd);
  const s = publisher.stats();
  process.stdout.write(JSON.stringify({ raised: count, acked: r.acked, left: r.left, dropped: s.dropped }) + '\n');
  if (r.left > 0) process.stderr.write(`picket: ${r.left} alerts left in the queue after the flush timeout\n`);
  return r.left === 0 ? 0 : 3;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`picket: error: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
