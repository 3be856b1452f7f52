/**
 * Runs a publishing sensor as a child process, for tests that stop brokers or SIGKILL the
 * sensor. Today the child is test/helpers/publish-alerts-main.ts; once `picket replay` exists,
 * swap `sensorCommand` for `[picketBin, 'replay', CAPTURE, ...brokerFlags, '--alerts-jsonl', FILE]`:
 * the tests only rely on broker flags, --alerts-jsonl (event.id per raised alert) and the exit code.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';

const MAIN = new URL('./publish-alerts-main.ts', import.meta.url).pathname;

/**
 * The command line of the sensor child. Runs TypeScript with the same loader as the test (tap's),
 * but without tap's process tracking: a child's coverage of files it loads but barely runs would
 * be merged over the parent's (tap 21), understating the coverage of the test.
 */
export function sensorCommand(args: readonly string[]): [string, string[]] {
  const loader = process.execArgv.filter((a) => !a.includes('@tapjs/processinfo'));
  return [process.execPath, [...loader, MAIN, ...args]];
}

/** The child's environment: the parent's without coverage collection. */
function childEnv(extra: Readonly<Record<string, string>>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  delete env.NODE_V8_COVERAGE;
  for (const k of Object.keys(env)) if (k.startsWith('_TAPJS_PROCESSINFO')) delete env[k];
  return env;
}

export interface SensorRun {
  proc: ChildProcess;
  /** Everything written so far. */
  stdout(): string;
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function spawnSensor(args: readonly string[], env: Readonly<Record<string, string>> = {}): SensorRun {
  const [cmd, argv] = sensorCommand(args);
  const proc = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'], env: childEnv(env) });
  let out = '';
  let err = '';
  proc.stdout?.on('data', (b: Buffer) => (out += b.toString()));
  proc.stderr?.on('data', (b: Buffer) => (err += b.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { proc, stdout: () => out, stderr: () => err, exited };
}

/** Raised alerts from an --alerts-jsonl file: event.id → the JSON line. A torn last line is ignored. */
export function raisedAlerts(path: string): Map<string, string> {
  const out = new Map<string, string>();
  if (!existsSync(path)) return out;
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (!line) continue;
    try {
      const v = JSON.parse(line) as { event?: { id?: string } };
      if (v.event?.id) out.set(v.event.id, line);
    } catch {
      // A line cut by SIGKILL.
    }
  }
  return out;
}

/** Lines of `text` produced by the picket logger (prefix "picket:"). */
export function picketLines(text: string): string[] {
  return text.split('\n').filter((l) => l.startsWith('picket:'));
}
