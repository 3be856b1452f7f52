/**
 * A real mosquitto broker for tests and benchmarks: 127.0.0.1 at a free port, its own config,
 * password file, ACL, persistence and logs in a temp dir. Optional TLS listener (with
 * client-certificate requirement). Stop/restart keep the port so clients reconnect to the same URL.
 *
 *   const broker = await startMosquitto({ users: { s1: 'pw' }, acl: 'user s1\ntopic write x/#\n' });
 *   t.teardown(() => broker.close());
 *
 * Needs the Debian package `mosquitto` (and `openssl` for test/helpers/pki.ts).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface MosquittoTls {
  /** Paths to PEM files. */
  ca: string;
  cert: string;
  key: string;
  /** Require a client certificate signed by `ca` (mutual TLS). */
  requireCertificate?: boolean;
}

export interface MosquittoOptions {
  /** user → password; when given, anonymous clients are refused unless allowAnonymous is true. */
  users?: Record<string, string>;
  /** ACL file contents (mosquitto acl_file syntax). */
  acl?: string;
  allowAnonymous?: boolean;
  /** Adds a TLS listener on a second free port. */
  tls?: MosquittoTls;
  /** Keep sessions, queued QoS 1 messages and retained messages across stop/start (default true). */
  persistence?: boolean;
  /** More mosquitto.conf lines, placed before the listeners. */
  extra?: string[];
  /**
   * A whole mosquitto.conf to use instead of the generated one (e.g. a shipped example), with
   * `{{PORT}}`, `{{TLS_PORT}}` and `{{DIR}}` replaced; `users` and `acl` are still written to
   * `{{DIR}}/passwords` and `{{DIR}}/acl`. Logging to stderr is added.
   */
  config?: string;
}

/** A free TCP port on 127.0.0.1 (bound then released; a race is possible but rare). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class Mosquitto {
  readonly dir: string;
  readonly configPath: string;
  private proc: ChildProcess | null = null;
  private output = '';

  constructor(
    readonly port: number,
    readonly tlsPort: number | undefined,
    private readonly options: MosquittoOptions,
  ) {
    this.dir = mkdtempSync(join(tmpdir(), 'pk-mosquitto-'));
    this.configPath = join(this.dir, 'mosquitto.conf');
    writeFileSync(this.configPath, this.config());
  }

  /** mqtt://127.0.0.1:PORT */
  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  /** mqtts://localhost:TLSPORT (the test certificates name localhost and 127.0.0.1). */
  get tlsUrl(): string {
    if (this.tlsPort === undefined) throw new Error('this broker has no TLS listener');
    return `mqtts://localhost:${this.tlsPort}`;
  }

  get running(): boolean {
    return this.proc !== null;
  }

  /** Everything mosquitto logged so far (all starts). */
  get log(): string {
    return this.output;
  }

  private config(): string {
    const o = this.options;
    const head = [`log_dest stderr`, `log_type error`, `log_type warning`, `log_type notice`, `log_type information`, `connection_messages true`];
    // Root drops to user "mosquitto" by default, which cannot read this 0700 temp dir.
    if (process.getuid?.() === 0) head.push('user root');
    const users = o.users ?? {};
    const names = Object.keys(users);
    const auth: string[] = [];
    if (names.length > 0) {
      const pwFile = join(this.dir, 'passwords');
      writeFileSync(pwFile, '', { mode: 0o600 });
      for (const name of names) {
        const r = spawnSync('mosquitto_passwd', ['-b', pwFile, name, users[name]!], { encoding: 'utf8' });
        if (r.status !== 0) throw new Error(`mosquitto_passwd failed: ${r.stderr || r.error?.message}`);
      }
      auth.push(`password_file ${pwFile}`);
    }
    if (o.acl !== undefined) {
      const aclFile = join(this.dir, 'acl');
      writeFileSync(aclFile, o.acl, { mode: 0o600 });
      auth.push(`acl_file ${aclFile}`);
    }
    if (o.config !== undefined) {
      const body = o.config
        .replaceAll('{{PORT}}', String(this.port))
        .replaceAll('{{TLS_PORT}}', String(this.tlsPort ?? ''))
        .replaceAll('{{DIR}}', this.dir);
      return [...head, body].join('\n') + '\n';
    }
    const lines = [
      ...head,
      `per_listener_settings false`,
      `persistence ${o.persistence === false ? 'false' : 'true'}`,
      `persistence_location ${this.dir}/`,
      `max_queued_messages 0`,
      ...auth,
      `allow_anonymous ${o.allowAnonymous ?? names.length === 0 ? 'true' : 'false'}`,
      ...(o.extra ?? []),
      `listener ${this.port} 127.0.0.1`,
    ];
    if (o.tls && this.tlsPort !== undefined) {
      lines.push(`listener ${this.tlsPort} 127.0.0.1`, `cafile ${o.tls.ca}`, `certfile ${o.tls.cert}`, `keyfile ${o.tls.key}`);
      if (o.tls.requireCertificate) lines.push('require_certificate true');
    }
    return lines.join('\n') + '\n';
  }

  /** Starts mosquitto and waits until its listeners accept connections (5 s at most). */
  async start(): Promise<void> {
    if (this.proc) return;
    const proc = spawn('mosquitto', ['-c', this.configPath], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc = proc;
    const collect = (b: Buffer): void => {
      this.output += b.toString();
    };
    proc.stdout?.on('data', collect);
    proc.stderr?.on('data', collect);
    let exited = false;
    proc.once('exit', () => {
      exited = true;
      if (this.proc === proc) this.proc = null;
    });
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline) {
      if (exited) throw new Error(`mosquitto exited at start:\n${this.output.slice(-2000)}`);
      const ok = (await canConnect(this.port)) && (this.tlsPort === undefined || (await canConnect(this.tlsPort)));
      if (ok) return;
      await sleep(25);
    }
    await this.stop();
    throw new Error(`mosquitto did not listen on ${this.port} within 5 s:\n${this.output.slice(-2000)}`);
  }

  /** Stops mosquitto (SIGTERM: it saves its persistence file) and waits for the exit. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const proc = this.proc;
    if (!proc) return;
    const exited = new Promise<void>((r) => proc.once('exit', () => r()));
    proc.kill(signal);
    const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
    this.proc = null;
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  /** Stops the broker and removes its directory. */
  async close(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Creates and starts a broker. Remember `t.teardown(() => broker.close())`. */
export async function startMosquitto(options: MosquittoOptions = {}): Promise<Mosquitto> {
  const port = await freePort();
  const tlsPort = options.tls || options.config?.includes('{{TLS_PORT}}') ? await freePort() : undefined;
  const broker = new Mosquitto(port, tlsPort, options);
  try {
    await broker.start();
  } catch (err) {
    await broker.close();
    throw err;
  }
  return broker;
}
