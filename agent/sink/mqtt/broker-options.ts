/**
 * Broker settings for the alert publisher, and the mapping from the command-line flags that
 * `picket replay` / `picket run` accept (`--broker`, `--site`, `--sensor`, ...) to them.
 * Flags override a base (the config file); the password comes from a file, overridden by the
 * PICKET_BROKER_PASSWORD environment variable. Problems are reported as BrokerConfigError with
 * one line saying what is wrong and what to do.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { FsyncMode } from '../queue/disk-queue.js';

export const DEFAULT_TOPIC_PREFIX = 'picket/v1';
export const PASSWORD_ENV = 'PICKET_BROKER_PASSWORD';

export interface BrokerOptions {
  /** `mqtt://HOST:PORT` or `mqtts://HOST:PORT`. */
  url: string;
  site: string;
  /** Also the MQTT client id and, usually, the broker user name. */
  sensorId: string;
  /** Topics are `<prefix>/<site>/<sensor>/alert` and `.../status`. */
  topicPrefix: string;
  /** 5 (default) or 4 (= MQTT 3.1.1). */
  protocolVersion: 4 | 5;
  username?: string;
  password?: string;
  /** PEM file paths (mqtts only): CA to trust, client certificate and key for mutual TLS. */
  caFile?: string;
  certFile?: string;
  keyFile?: string;
  /** Durable queue directory; without it alerts wait in memory only. */
  queueDir?: string;
  /** Bound of the alert queue in bytes (default 256 MiB on disk, 64 MiB in memory). */
  queueMaxBytes?: number;
  fsync: FsyncMode;
  fsyncEveryRecords: number;
  fsyncEveryMs: number;
  /** Unacknowledged PUBLISH packets at most (also capped by the broker's Receive Maximum). */
  inflightWindow: number;
  /** Status is republished this often while connected. */
  statusIntervalMs: number;
  keepaliveS: number;
  connectTimeoutMs: number;
  /** Reconnect backoff: doubles from min to max, with jitter. */
  reconnectMinMs: number;
  reconnectMaxMs: number;
  /** MQTT v5 session expiry (clean=false keeps the session this long after a disconnect). */
  sessionExpiryS: number;
  /** Picket version string reported in the status. */
  version: string;
}

/** A broker setting that cannot work; the message is one line for a person. */
export class BrokerConfigError extends Error {}

/** Login and TLS flags of a broker connection: part of BROKER_FLAGS and of `picket collect`'s flags. */
export const BROKER_AUTH_FLAGS = {
  'broker-user': { type: 'string', value: 'NAME', help: 'broker user name' },
  'broker-password-file': { type: 'string', value: 'FILE', help: `file holding the broker password (${PASSWORD_ENV} overrides)` },
  'broker-ca': { type: 'string', value: 'FILE', help: 'PEM CA certificate to trust for mqtts://' },
  'broker-cert': { type: 'string', value: 'FILE', help: 'PEM client certificate for mutual TLS' },
  'broker-key': { type: 'string', value: 'FILE', help: 'PEM private key of --broker-cert' },
} as const;

/** Flag specs (agent/cli/args.ts shape) the CLI can merge into `replay` and `run`. */
export const BROKER_FLAGS = {
  broker: { type: 'string', value: 'URL', help: 'publish alerts to this MQTT broker: mqtt://HOST:PORT or mqtts://HOST:PORT' },
  site: { type: 'string', value: 'NAME', help: 'site name in the topic (default: default)' },
  sensor: { type: 'string', value: 'ID', help: 'sensor id: topic level and MQTT client id (default: host name)' },
  'mqtt-version': { type: 'string', value: '5|3.1.1', help: 'MQTT protocol version (default 5)' },
  ...BROKER_AUTH_FLAGS,
  'queue-dir': { type: 'string', value: 'DIR', help: 'durable alert queue directory (alerts survive restarts and broker outages)' },
  'topic-prefix': { type: 'string', value: 'PREFIX', help: `topic prefix (default ${DEFAULT_TOPIC_PREFIX})` },
} as const;

/** Values as agent/cli/args.ts parses them (`ParsedArgs.flags`). */
export type FlagValues = Readonly<Record<string, string | boolean | string[] | undefined>>;

/** The value of a string flag (the last one when repeated), or undefined. */
export function stringFlag(flags: FlagValues, name: string): string | undefined {
  const v = flags[name];
  if (Array.isArray(v)) return v.at(-1);
  return typeof v === 'string' ? v : undefined;
}

/** A topic level must be non-empty and free of MQTT separators and wildcards. */
function topicLevel(value: string, flag: string): string {
  if (value.length === 0 || value.length > 128 || /[/+#\u0000]/.test(value)) {
    throw new BrokerConfigError(`--${flag} "${value}" cannot be an MQTT topic level: use 1-128 characters without / + # or NUL`);
  }
  return value;
}

/** A usable default sensor id from the host name. */
export function defaultSensorId(): string {
  const h = hostname().replace(/[/+#\u0000]/g, '_').slice(0, 128);
  return h || 'sensor';
}

function parseUrl(raw: string): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new BrokerConfigError(`--broker "${raw}" is not a URL: use mqtt://HOST:PORT or mqtts://HOST:PORT`);
  }
  if (u.protocol !== 'mqtt:' && u.protocol !== 'mqtts:') {
    throw new BrokerConfigError(`--broker "${raw}": scheme must be mqtt:// or mqtts:// (got ${u.protocol}//)`);
  }
  if (!u.hostname) throw new BrokerConfigError(`--broker "${raw}" has no host: use mqtt://HOST:PORT`);
  if (u.username || u.password) {
    throw new BrokerConfigError(`--broker "${raw}" carries credentials: use --broker-user and --broker-password-file instead`);
  }
  const port = u.port || (u.protocol === 'mqtts:' ? '8883' : '1883');
  return `${u.protocol}//${u.hostname}:${port}`;
}

/** The one-line secret in `file`, named by `--flag` in errors (thrown as `Err`). */
export function readSecretFile(file: string, flag: string, Err: ConfigErrorClass): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new Err(`cannot read --${flag} ${file} (${code}): check the path and its permissions`);
  }
  // One line; a trailing newline from `echo pw > file` is not part of the password.
  return text.replace(/\r?\n$/, '');
}

let cachedVersion: string | undefined;

/** The version in Picket's package.json (source and dist layouts), or "unknown". */
export function picketVersion(): string {
  if (cachedVersion !== undefined) return cachedVersion;
  cachedVersion = 'unknown';
  for (const rel of ['../../../package.json', '../../../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'picket' && typeof pkg.version === 'string') {
        cachedVersion = pkg.version;
        break;
      }
    } catch {
      // Not at this level; try the next.
    }
  }
  return cachedVersion;
}

/** Defaults for everything but where to connect. */
export function defaultBrokerOptions(url: string): BrokerOptions {
  return {
    url,
    site: 'default',
    sensorId: defaultSensorId(),
    topicPrefix: DEFAULT_TOPIC_PREFIX,
    protocolVersion: 5,
    fsync: 'batch',
    fsyncEveryRecords: 512,
    fsyncEveryMs: 200,
    inflightWindow: 256,
    statusIntervalMs: 30_000,
    keepaliveS: 30,
    connectTimeoutMs: 10_000,
    reconnectMinMs: 500,
    reconnectMaxMs: 30_000,
    sessionExpiryS: 3600,
    version: picketVersion(),
  };
}

/**
 * Broker options from command-line flags over `base` (e.g. from the config file); undefined when
 * neither names a broker. Throws BrokerConfigError for settings that cannot work.
 */
export function brokerOptionsFromFlags(
  flags: FlagValues,
  base: Partial<BrokerOptions> = {},
  env: Readonly<Record<string, string | undefined>> = process.env,
): BrokerOptions | undefined {
  const rawUrl = stringFlag(flags, 'broker') ?? base.url;
  if (rawUrl === undefined) {
    const stray = ['site', 'sensor', 'mqtt-version', 'broker-user', 'broker-password-file', 'broker-ca', 'broker-cert', 'broker-key'].find(
      (f) => stringFlag(flags, f) !== undefined,
    );
    if (stray) throw new BrokerConfigError(`--${stray} needs --broker URL`);
    return undefined;
  }
  const o: BrokerOptions = { ...defaultBrokerOptions(parseUrl(rawUrl)), ...stripUndefined(base) };
  o.url = parseUrl(rawUrl);
  o.site = topicLevel(stringFlag(flags, 'site') ?? o.site, 'site');
  o.sensorId = topicLevel(stringFlag(flags, 'sensor') ?? o.sensorId, 'sensor');
  const prefix = stringFlag(flags, 'topic-prefix') ?? o.topicPrefix;
  if (!prefix || /[+#\u0000]/.test(prefix) || prefix.startsWith('/') || prefix.endsWith('/')) {
    throw new BrokerConfigError(`--topic-prefix "${prefix}" is not usable: no wildcards, no leading or trailing /`);
  }
  o.topicPrefix = prefix;
  const version = stringFlag(flags, 'mqtt-version');
  if (version !== undefined) {
    if (version === '5' || version === '5.0') o.protocolVersion = 5;
    else if (version === '3.1.1' || version === '4') o.protocolVersion = 4;
    else throw new BrokerConfigError(`--mqtt-version "${version}" is not supported: use 5 or 3.1.1`);
  }
  applyBrokerAuth(o, o.url, flags, env, BrokerConfigError);
  const dir = stringFlag(flags, 'queue-dir');
  if (dir !== undefined) o.queueDir = dir;
  return o;
}

/** Login and TLS settings of a broker connection (BrokerOptions and the collector's options). */
export interface BrokerAuth {
  username?: string;
  password?: string;
  caFile?: string;
  certFile?: string;
  keyFile?: string;
}

/** An error class for one-line configuration problems (BrokerConfigError, the collector's own). */
export type ConfigErrorClass = new (message: string) => Error;

/**
 * Sets the login and TLS file settings of `o` from BROKER_AUTH_FLAGS and the password variable,
 * over what `o` holds, and checks them for the broker at `url`: a password needs a user name, TLS
 * files need mqtts://, a client certificate needs its key. Problems are thrown as `Err`.
 */
export function applyBrokerAuth(o: BrokerAuth, url: string, flags: FlagValues, env: Readonly<Record<string, string | undefined>>, Err: ConfigErrorClass): void {
  const user = stringFlag(flags, 'broker-user');
  if (user !== undefined) o.username = user;
  const pwFile = stringFlag(flags, 'broker-password-file');
  if (pwFile !== undefined) o.password = readSecretFile(pwFile, 'broker-password-file', Err);
  const envPw = env[PASSWORD_ENV];
  if (envPw !== undefined && envPw !== '') o.password = envPw;
  if (o.password !== undefined && o.username === undefined) {
    throw new Err('a broker password is set but no --broker-user: add --broker-user NAME');
  }
  for (const [flag, key] of [['broker-ca', 'caFile'], ['broker-cert', 'certFile'], ['broker-key', 'keyFile']] as const) {
    const v = stringFlag(flags, flag);
    if (v !== undefined) o[key] = v;
  }
  const tls = url.startsWith('mqtts:');
  if (!tls && (o.caFile || o.certFile || o.keyFile)) {
    throw new Err('--broker-ca/--broker-cert/--broker-key need an mqtts:// broker URL');
  }
  if ((o.certFile === undefined) !== (o.keyFile === undefined)) {
    throw new Err('mutual TLS needs both --broker-cert and --broker-key');
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Reads a PEM file named by a flag, with a one-line error naming the flag. */
export function readPem(file: string, flag: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new BrokerConfigError(`cannot read --${flag} ${file} (${code}): check the path and its permissions`);
  }
}

export interface SensorTopics {
  alert: string;
  status: string;
}

export function sensorTopics(o: Pick<BrokerOptions, 'topicPrefix' | 'site' | 'sensorId'>): SensorTopics {
  const base = `${o.topicPrefix}/${o.site}/${o.sensorId}`;
  return { alert: `${base}/alert`, status: `${base}/status` };
}
