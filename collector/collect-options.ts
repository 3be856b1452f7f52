/**
 * `picket collect` flags → CollectorOptions, with one-line errors (what is wrong, what to do).
 */
import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import type { FlagSpecs } from '../agent/cli/args.js';
import { applyBrokerAuth, BROKER_AUTH_FLAGS, DEFAULT_TOPIC_PREFIX, readSecretFile, stringFlag, type FlagValues } from '../agent/sink/mqtt/broker-options.js';
import type { CollectorOptions } from './collector.js';
import { isLoopbackHost } from './http/server.js';

export const COLLECT_FLAGS: FlagSpecs = {
  broker: { type: 'string', value: 'URL', help: 'MQTT broker to read alerts from: mqtt://HOST:PORT or mqtts://HOST:PORT (required)' },
  db: { type: 'string', value: 'FILE', help: 'SQLite database file, created when missing (required)' },
  http: { type: 'string', value: 'HOST:PORT', help: 'dashboard and API address (default 127.0.0.1:8080)' },
  'token-file': { type: 'string', value: 'FILE', help: 'file holding the API token; required when --http is not a loopback address' },
  group: { type: 'string', value: 'NAME', help: 'shared-subscription group: collectors in one group split the alerts (default picket-collectors)' },
  'no-share': { type: 'boolean', help: 'one collector: subscribe to alerts without a shared subscription (keeps alerts across a mosquitto restart)' },
  'retention-days': { type: 'string', value: 'N', help: 'delete alerts that arrived more than N days ago (default 30, 0 keeps all)' },
  'max-db-mb': { type: 'string', value: 'N', help: 'delete the oldest alerts when the database uses more than N MiB (default 0: no limit)' },
  'mqtt-version': { type: 'string', value: 'auto|5|3.1.1', help: 'MQTT version (default auto: 5, or 3.1.1 when the broker refuses 5)' },
  ...BROKER_AUTH_FLAGS,
  'topic-prefix': { type: 'string', value: 'PREFIX', help: `topic prefix (default ${DEFAULT_TOPIC_PREFIX})` },
  'client-id': { type: 'string', value: 'ID', help: 'MQTT client id (default: derived from the host name and --db, stable across restarts)' },
  'stale-after': { type: 'string', value: 'SECONDS', help: 'an online sensor silent this long is shown as stale (default 120)' },
};

/** A flag value that cannot work; the message is one line for a person. */
export class CollectOptionError extends Error {}

function num(flags: FlagValues, name: string, fallback: number, lo: number, hi: number): number {
  const v = stringFlag(flags, name);
  if (v === undefined) return fallback;
  if (!/^\d+(\.\d+)?$/.test(v) || Number(v) < lo || Number(v) > hi) throw new CollectOptionError(`--${name} must be a number from ${lo} to ${hi}, got "${v}"`);
  return Number(v);
}

/** HOST:PORT, [V6]:PORT. */
export function parseHttpAddress(v: string): { host: string; port: number } {
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(v);
  if (!m || Number(m[2]) > 65535) throw new CollectOptionError(`--http "${v}" is not HOST:PORT (e.g. 127.0.0.1:8080 or [::1]:8080)`);
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port: Number(m[2]) };
}

function brokerUrl(raw: string): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new CollectOptionError(`--broker "${raw}" is not a URL: use mqtt://HOST:PORT or mqtts://HOST:PORT`);
  }
  if (u.protocol !== 'mqtt:' && u.protocol !== 'mqtts:') throw new CollectOptionError(`--broker "${raw}": scheme must be mqtt:// or mqtts://`);
  if (!u.hostname) throw new CollectOptionError(`--broker "${raw}" has no host`);
  if (u.username || u.password) throw new CollectOptionError(`--broker "${raw}" carries credentials: use --broker-user and --broker-password-file`);
  return `${u.protocol}//${u.hostname}:${u.port || (u.protocol === 'mqtts:' ? '8883' : '1883')}`;
}

function topicWord(v: string, flag: string): string {
  if (v.length === 0 || v.length > 128 || /[/+#\u0000-\u001f]/.test(v)) throw new CollectOptionError(`--${flag} "${v}" must be 1-128 characters without / + # or control characters`);
  return v;
}

/** Options from parsed flags; `env` for the broker password variable. */
export function collectOptionsFromFlags(flags: FlagValues, env: Readonly<Record<string, string | undefined>> = process.env): CollectorOptions {
  const rawBroker = stringFlag(flags, 'broker');
  const db = stringFlag(flags, 'db');
  if (rawBroker === undefined) throw new CollectOptionError('--broker URL is required (e.g. --broker mqtt://127.0.0.1:1883)');
  if (db === undefined) throw new CollectOptionError('--db FILE is required (e.g. --db /var/lib/picket/alerts.db)');
  const url = brokerUrl(rawBroker);
  const { host, port } = parseHttpAddress(stringFlag(flags, 'http') ?? '127.0.0.1:8080');
  const tokenFile = stringFlag(flags, 'token-file');
  let token: string | undefined;
  if (tokenFile !== undefined) {
    token = readSecretFile(tokenFile, 'token-file', CollectOptionError);
    if (!/^[\x21-\x7e]{16,512}$/.test(token)) throw new CollectOptionError(`--token-file ${tokenFile} must hold one line of 16-512 printable characters without spaces (e.g. from: openssl rand -hex 24)`);
  }
  if (!isLoopbackHost(host) && token === undefined) {
    throw new CollectOptionError(`--http ${host}:${port} is reachable beyond this machine: give --token-file FILE (a secret of at least 16 characters) or use 127.0.0.1`);
  }
  const version = stringFlag(flags, 'mqtt-version') ?? 'auto';
  let protocol: CollectorOptions['protocol'];
  if (version === 'auto') protocol = 'auto';
  else if (version === '5' || version === '5.0') protocol = 5;
  else if (version === '3.1.1' || version === '4') protocol = 4;
  else throw new CollectOptionError(`--mqtt-version "${version}" is not supported: use auto, 5 or 3.1.1`);
  const prefix = stringFlag(flags, 'topic-prefix') ?? DEFAULT_TOPIC_PREFIX;
  if (!prefix || /[+#\u0000]/.test(prefix) || prefix.startsWith('/') || prefix.endsWith('/') || prefix.startsWith('$')) {
    throw new CollectOptionError(`--topic-prefix "${prefix}" is not usable: no wildcards, no leading $ or /, no trailing /`);
  }
  const dbPath = resolve(db);
  const clientId =
    stringFlag(flags, 'client-id') ??
    `picket-collect-${hostname().replace(/[^\w.-]/g, '_').slice(0, 40)}-${createHash('sha256').update(dbPath).digest('hex').slice(0, 8)}`;
  const o: CollectorOptions = {
    brokerUrl: url,
    dbPath,
    httpHost: host,
    httpPort: port,
    group: topicWord(stringFlag(flags, 'group') ?? 'picket-collectors', 'group'),
    topicPrefix: prefix,
    protocol,
    noShare: flags['no-share'] === true,
    clientId: topicWord(clientId, 'client-id'),
    retentionDays: num(flags, 'retention-days', 30, 0, 36_500),
    maxDbMb: num(flags, 'max-db-mb', 0, 0, 16 * 1024 * 1024),
    staleAfterS: num(flags, 'stale-after', 120, 5, 86_400),
    retentionIntervalMs: 60_000,
  };
  if (token !== undefined) o.token = token;
  applyBrokerAuth(o, url, flags, env, CollectOptionError);
  return o;
}
