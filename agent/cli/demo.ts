/**
 * `picket demo` (`npm run demo`): everything on one machine, no root and no network needed.
 *
 *   embedded broker (aedes, MQTT 3.1.1, 127.0.0.1:1883)
 *     ← `picket replay samples/demo.pcap --speed N --broker ...` (a child process: the real sensor
 *        pipeline on a capture of real attack traffic made by samples/make-demo-capture.sh)
 *     → collector (SQLite in a temp dir) → dashboard on http://127.0.0.1:8080/
 *
 * While `picket replay` cannot publish to a broker yet (no --broker flag), or with --fixture, the
 * demo plays samples/demo-alerts.json through the real AlertPublisher instead. Ctrl-C stops the
 * replay, the collector and the broker, and removes the temporary database.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Collector, type CollectorLog } from '../../collector/collector.js';
import { CollectOptionError, collectOptionsFromFlags } from '../../collector/collect-options.js';
import { startEmbeddedBroker, type EmbeddedBroker } from '../../collector/demo/embedded-broker.js';
import { loadFixture, playFixture } from '../../collector/demo/fixture-publisher.js';
import { packageRoot } from '../../collector/http/static-files.js';
import { AlertPublisher } from '../sink/mqtt/alert-publisher.js';
import { brokerOptionsFromFlags } from '../sink/mqtt/broker-options.js';
import { flagBool, flagString, parseArgs, UsageError, type FlagSpecs } from './args.js';
import { PROCESS_IO, type Command, type CommandIo } from './command.js';

const FLAGS: FlagSpecs = {
  http: { type: 'string', value: 'HOST:PORT', help: 'dashboard address (default 127.0.0.1:8080)' },
  'broker-port': { type: 'string', value: 'N', help: 'port of the embedded broker on 127.0.0.1 (default 1883; 0: any free port)' },
  broker: { type: 'string', value: 'URL', help: 'use this MQTT broker instead of the embedded one' },
  speed: { type: 'string', value: 'N', help: 'replay N× faster than recorded (default 120: the 90-minute capture plays in about 45 s)' },
  capture: { type: 'string', value: 'FILE', help: 'capture to replay (default samples/demo.pcap)' },
  db: { type: 'string', value: 'FILE', help: 'keep the alerts in this database (default: a temporary file, removed at exit)' },
  fixture: { type: 'boolean', help: 'publish samples/demo-alerts.json instead of replaying the capture' },
};

const SITE = 'demo';
const SENSOR = 'demo-edge';

function logTo(io: CommandIo): CollectorLog {
  return {
    info: (m) => io.stderr.write(`picket demo: ${m}\n`),
    warn: (m) => io.stderr.write(`picket demo: warning: ${m}\n`),
    error: (m) => io.stderr.write(`picket demo: error: ${m}\n`),
  };
}

/** Whether `picket replay` can publish to a broker (it takes --broker). */
async function replayPublishes(): Promise<{ ok: boolean; flags: Set<string> }> {
  try {
    const { replayCommand } = await import('./replay.js');
    const flags = new Set(Object.keys(replayCommand.flags));
    return { ok: flags.has('broker'), flags };
  } catch {
    return { ok: false, flags: new Set() };
  }
}

/** `picket replay` as a child process, with the same Node loader (so it also works from the sources in tests). */
function spawnReplay(args: string[], io: CommandIo): ChildProcess {
  const self = fileURLToPath(import.meta.url);
  const main = join(self, '..', `main${extname(self)}`);
  const child = spawn(process.execPath, [...process.execArgv, main, 'replay', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr?.on('data', (b: Buffer) => {
    for (const line of b.toString().split('\n')) if (line.trim()) io.stderr.write(`  replay: ${line}\n`);
  });
  return child;
}

function positiveNumber(v: string | undefined, flag: string, fallback: number): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`--${flag} must be a positive number, got "${v}"`);
  return n;
}

/** Runs the demo until SIGINT/SIGTERM (or `signal`). */
export async function runDemo(argv: readonly string[], io: CommandIo = PROCESS_IO, signal?: AbortSignal): Promise<number> {
  const args = parseArgs(argv, FLAGS);
  if (args.positionals.length > 0) throw new UsageError(`takes no positional arguments (got "${args.positionals[0]}")`);
  const log = logTo(io);
  const root = packageRoot();
  const speed = positiveNumber(flagString(args, 'speed'), 'speed', 120);
  const portText = flagString(args, 'broker-port') ?? '1883';
  if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65535) throw new UsageError(`--broker-port must be 0-65535 (0: any free port), got "${portText}"`);
  const brokerPort = Number(portText);
  const capture = flagString(args, 'capture') ?? join(root, 'samples', 'demo.pcap');
  const keepDb = flagString(args, 'db');
  const tmp = keepDb ? undefined : mkdtempSync(join(tmpdir(), 'picket-demo-'));
  const dbPath = keepDb ?? join(tmp!, 'demo.db');

  const stop = new AbortController();
  const onSignal = (): void => {
    if (stop.signal.aborted) {
      io.stderr.write('picket demo: stopping now\n');
      process.exit(130);
    }
    stop.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  signal?.addEventListener('abort', onSignal, { once: true });

  let broker: EmbeddedBroker | undefined;
  let collector: Collector | undefined;
  let publisher: AlertPublisher | undefined;
  let child: ChildProcess | undefined;
  try {
    let url = flagString(args, 'broker');
    if (url === undefined) {
      broker = await startEmbeddedBroker('127.0.0.1', brokerPort);
      url = broker.url;
    }
    collector = await Collector.start(
      collectOptionsFromFlags({ broker: url, db: dbPath, http: flagString(args, 'http') ?? '127.0.0.1:8080', 'retention-days': '0' }),
      { log },
    );
    // Start the source only once the collector listens: nothing published before is kept for it.
    if (!(await collector.subscriber.whenSubscribed(15_000))) log.warn('the collector is not subscribed yet; starting anyway');
    // The capture spans 90 minutes: link to a 6-hour window so all of it is in view.
    log.info(`open ${collector.httpUrl}?range=21600 — broker ${url}${broker ? ' (embedded aedes, MQTT 3.1.1)' : ''}, database ${dbPath}; Ctrl-C stops`);

    const replay = await replayPublishes();
    const useFixture = flagBool(args, 'fixture') || !replay.ok || !existsSync(capture);
    let done: Promise<string>;
    if (!useFixture) {
      const a = [capture, '--speed', String(speed), '--broker', url, '--site', SITE, '--sensor', SENSOR];
      if (broker && replay.flags.has('mqtt-version')) a.push('--mqtt-version', '3.1.1');
      for (const f of ['no-records', 'quiet']) if (replay.flags.has(f)) a.push(`--${f}`);
      log.info(`replaying ${capture} at ${speed}× through the sensor pipeline (picket replay)`);
      const c = spawnReplay(a, io);
      child = c;
      done = new Promise((resolve) => c.once('exit', (code, sig) => resolve(`replay finished (${sig ?? `exit code ${code}`})`)));
    } else {
      const why = flagBool(args, 'fixture') ? '--fixture given' : !replay.ok ? 'picket replay cannot publish to a broker yet' : `${capture} not found`;
      const fixturePath = join(root, 'samples', 'demo-alerts.json');
      log.info(`${why}: publishing ${fixturePath} at ${speed}× through the sensor's AlertPublisher`);
      const fixture = loadFixture(fixturePath);
      const o = brokerOptionsFromFlags({ broker: url, site: fixture.site, sensor: fixture.sensor, 'mqtt-version': broker ? '3.1.1' : '5' }, { statusIntervalMs: 5000 });
      if (!o) throw new Error('no broker options');
      const p = new AlertPublisher(o, { log: { info: () => {}, warn: log.warn, error: log.error } });
      publisher = p;
      await p.start();
      done = playFixture(fixture, p, speed, stop.signal).then(async (n) => {
        await p.flush(5000);
        await new Promise((r) => setTimeout(r, 500));
        return `published all ${n} fixture alerts`;
      });
    }
    const finished = await Promise.race([done, new Promise<undefined>((r) => stop.signal.addEventListener('abort', () => r(undefined), { once: true }))]);
    if (finished !== undefined) {
      log.info(`${finished}; ${collector.store.bounds().alerts} alerts stored. The dashboard stays up until Ctrl-C`);
      if (!stop.signal.aborted) await new Promise((r) => stop.signal.addEventListener('abort', r, { once: true }));
    }
    log.info('stopping');
    return 0;
  } catch (err) {
    if (err instanceof UsageError) throw err;
    const msg = err instanceof CollectOptionError || err instanceof Error ? err.message : String(err);
    io.stderr.write(`picket demo: error: ${msg}\n`);
    return 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (child && child.exitCode === null && child.signalCode === null) {
      const c = child;
      const exited = new Promise((r) => c.once('exit', r));
      c.kill('SIGINT');
      const t = setTimeout(() => c.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    }
    await publisher?.stop();
    await collector?.stop();
    await broker?.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  }
}

export const demoCommand: Command = {
  name: 'demo',
  summary: 'run broker, collector and dashboard (http://127.0.0.1:8080) and replay a bundled attack capture',
  usage: '[--http HOST:PORT] [--broker-port N] [--speed N] [options]',
  flags: FLAGS,
  run: (argv, io) => runDemo(argv, io),
};
