/**
 * Helpers for the daemon tests (not a test file): `picket` as a real child process (TypeScript
 * through tap's loader, without tap's coverage hooks so the child does not skew the parent's
 * coverage), its JSON log lines, and network namespaces for the daemon (pk-dmn-*, 10.17.0.0/16).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const MAIN = fileURLToPath(new URL('../agent/cli/main.ts', import.meta.url));

/** The loader flags of this process for a `picket` child. */
export function loaderArgs(): string[] {
  // The TypeScript loader only: the child is not a test process.
  return process.execArgv.filter((a) => a.includes('@tapjs/typescript') || a === '--enable-source-maps');
}

/** The environment for a child: this one without coverage collection. */
export function childEnv(extra: Readonly<Record<string, string>> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  delete env.NODE_V8_COVERAGE;
  delete env.NODE_OPTIONS;
  for (const k of Object.keys(env)) if (k.startsWith('_TAPJS')) delete env[k];
  return env;
}

/** One pino line. */
export interface LogLine {
  level: string;
  msg: string;
  event?: string;
  component?: string;
  [k: string]: unknown;
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A running `picket ...` child. */
export class PicketProcess {
  readonly proc: ChildProcess;
  private out = '';
  private err = '';
  readonly exited: Promise<Exit>;
  private done = false;

  /** `wrapper` runs before node (e.g. setpriv ...). */
  constructor(args: readonly string[], opts: { env?: Record<string, string>; wrapper?: readonly string[]; envBase?: NodeJS.ProcessEnv } = {}) {
    const node = [process.execPath, ...loaderArgs(), MAIN, ...args];
    // `env -u NODE_OPTIONS`: tap adds its process tracking to every child through NODE_OPTIONS,
    // and merging a child's coverage of files it barely runs over this process's made the
    // report depend on test order; coverage comes from the in-process tests
    // (daemon-inprocess, daemon-units, config-*).
    const [cmd, ...argv] = ['env', '-u', 'NODE_OPTIONS', ...(opts.wrapper ?? []), ...node];
    this.proc = spawn(cmd!, argv, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...(opts.envBase ?? childEnv()), ...opts.env } });
    this.proc.stdout!.on('data', (b: Buffer) => (this.out += b.toString()));
    this.proc.stderr!.on('data', (b: Buffer) => (this.err += b.toString()));
    this.exited = new Promise((resolve) =>
      this.proc.once('exit', (code, signal) => {
        this.done = true;
        resolve({ code, signal });
      }),
    );
  }

  get stdout(): string {
    return this.out;
  }

  get stderr(): string {
    return this.err;
  }

  get running(): boolean {
    return !this.done;
  }

  /** Parsed JSON log lines so far (non-JSON lines are skipped). */
  lines(): LogLine[] {
    const out: LogLine[] = [];
    for (const l of this.out.split('\n')) {
      if (!l.startsWith('{')) continue;
      try {
        out.push(JSON.parse(l) as LogLine);
      } catch {
        // a line being written
      }
    }
    return out;
  }

  /** Waits for a log line matching `pred`; rejects with the output so far on timeout or exit. */
  async waitLog(pred: (l: LogLine) => boolean, timeoutMs = 30_000, what = 'log line'): Promise<LogLine> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.lines().find(pred);
      if (hit) return hit;
      if (this.done || Date.now() > end) {
        throw new Error(`no ${what} (${this.done ? 'exited' : 'timeout'}); stdout:\n${this.out.slice(-3000)}\nstderr:\n${this.err.slice(-2000)}`);
      }
      await sleep(50);
    }
  }

  /** Waits for the `started` line. */
  started(timeoutMs = 60_000): Promise<LogLine> {
    return this.waitLog((l) => l.event === 'started', timeoutMs, '"started" line');
  }

  signal(sig: NodeJS.Signals): void {
    if (!this.done) this.proc.kill(sig);
  }

  /** SIGTERM, then SIGKILL after `graceMs`. Resolves with the exit and how long it took. */
  async stop(graceMs = 15_000): Promise<Exit & { ms: number }> {
    const t0 = Date.now();
    this.signal('SIGTERM');
    const timer = setTimeout(() => this.signal('SIGKILL'), graceMs);
    const e = await this.exited;
    clearTimeout(timer);
    return { ...e, ms: Date.now() - t0 };
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export function sh(cmd: string, args: readonly string[], timeoutMs = 30_000): string {
  return execFileSync(cmd, args, { encoding: 'utf8', timeout: timeoutMs, stdio: ['ignore', 'pipe', 'pipe'] });
}

function quiet(cmd: string, args: readonly string[]): void {
  try {
    execFileSync(cmd, args, { stdio: 'ignore', timeout: 10_000 });
  } catch {
    // already gone
  }
}

/** A namespace with a veth pair: `hostIf` (10.17.N.1) here, `nsIf` (10.17.N.2) inside `ns`. */
export interface DaemonVeth {
  ns: string;
  hostIf: string;
  nsIf: string;
  hostAddr: string;
  nsAddr: string;
}

/**
 * Creates pk-dmn-<id> with a veth pair (IPv6 off so no router solicitations disturb counts, MTU
 * 9000 so captured frames of any size can be replayed). Removes leftovers of a crashed run first.
 */
export function createVeth(id: string, subnet: number, opts: { addresses?: boolean } = {}): DaemonVeth {
  if (id.length > 6) throw new Error('veth id too long');
  const v: DaemonVeth = { ns: `pk-dmn-${id}`, hostIf: `pk-dmn-${id}h`, nsIf: `pk-dmn-${id}n`, hostAddr: `10.17.${subnet}.1`, nsAddr: `10.17.${subnet}.2` };
  deleteVeth(v);
  sh('ip', ['netns', 'add', v.ns]);
  sh('ip', ['link', 'add', v.hostIf, 'mtu', '9000', 'type', 'veth', 'peer', 'name', v.nsIf, 'mtu', '9000', 'netns', v.ns]);
  sh('sysctl', ['-qw', `net.ipv6.conf.${v.hostIf}.disable_ipv6=1`]);
  sh('ip', ['netns', 'exec', v.ns, 'sysctl', '-qw', `net.ipv6.conf.${v.nsIf}.disable_ipv6=1`]);
  if (opts.addresses !== false) {
    sh('ip', ['addr', 'add', `${v.hostAddr}/24`, 'dev', v.hostIf]);
    sh('ip', ['netns', 'exec', v.ns, 'ip', 'addr', 'add', `${v.nsAddr}/24`, 'dev', v.nsIf]);
  }
  sh('ip', ['link', 'set', v.hostIf, 'up']);
  sh('ip', ['netns', 'exec', v.ns, 'ip', 'link', 'set', v.nsIf, 'up']);
  sh('ip', ['netns', 'exec', v.ns, 'ip', 'link', 'set', 'lo', 'up']);
  return v;
}

export function deleteVeth(v: DaemonVeth): void {
  quiet('ip', ['link', 'del', v.hostIf]);
  quiet('ip', ['netns', 'del', v.ns]);
}

/**
 * Sends `count` UDP datagrams of `size` bytes from inside the namespace to `dst:port`, with a
 * fixed source port so they are one flow. Resolves when the kernel has them all.
 */
export function udpFromNs(v: DaemonVeth, dst: string, port: number, count: number, size: number, sport: number): void {
  const script =
    `const s=require('dgram').createSocket('udp4');const b=Buffer.alloc(${size},0x61);let n=0,done=0;` +
    `const cb=()=>{if(++done===${count})s.close();};` +
    `s.bind(${sport},()=>{(function go(){while(n<${count}){s.send(b,${port},'${dst}',cb);n++;if(n%100===0)return setImmediate(go);}})();});`;
  sh('ip', ['netns', 'exec', v.ns, process.execPath, '-e', script], 60_000);
}

/** Fetches a URL's text (the metrics endpoint). */
export async function fetchText(url: string): Promise<string> {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return r.text();
}

/** Value of one Prometheus sample (`name{labels}`), or undefined. */
export function metric(text: string, name: string, labels = ''): number | undefined {
  const want = labels ? `${name}{${labels}}` : name;
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const sp = line.lastIndexOf(' ');
    if (line.slice(0, sp) === want) return Number(line.slice(sp + 1));
  }
  return undefined;
}
