/**
 * The daemon's effective settings: the config file (or defaults), then command-line flags over
 * it, then environment overrides for secrets. Re-done on every SIGHUP with the same flags, so a
 * flag keeps winning over an edited file.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FlagSpecs } from '../cli/args.js';
import { BROKER_FLAGS, brokerOptionsFromFlags, BrokerConfigError, type BrokerOptions, type FlagValues } from '../sink/mqtt/broker-options.js';
import { LOG_LEVELS, parseHostPort, type PicketConfig } from './config-schema.js';
import { defaultConfig, loadConfigFile, type DetectorInfo } from './config-loader.js';

export const USER_ENV = 'PICKET_BROKER_USER';
/** systemd LoadCredential= name read from $CREDENTIALS_DIRECTORY. */
export const PASSWORD_CREDENTIAL = 'broker-password';

/** Flags of `picket run` (the broker flags are shared with `picket replay`). */
export const RUN_FLAGS: FlagSpecs = {
  config: { type: 'string', value: 'FILE', help: 'YAML configuration (see config/picket.example.yaml); flags override it' },
  interface: { type: 'list', value: 'IF', help: 'capture on this interface (repeat for several)' },
  filter: { type: 'string', value: 'BPF', help: 'capture filter in tcpdump syntax' },
  netflow: { type: 'string', value: 'HOST:PORT', help: 'collect NetFlow v5/v9/IPFIX on this UDP address' },
  metrics: { type: 'string', value: 'HOST:PORT', help: 'serve Prometheus /metrics here (default 127.0.0.1:9470; "" = off)' },
  model: { type: 'string', value: 'FILE', help: 'anomaly model file' },
  'alerts-jsonl': { type: 'string', value: 'FILE', help: 'append every alert as a JSON line (picket inspect --alerts format)' },
  'flows-jsonl': { type: 'string', value: 'FILE', help: 'append every flow record as a JSON line (picket inspect format)' },
  'log-level': { type: 'string', value: 'LEVEL', help: `log level: ${LOG_LEVELS.join(', ')} (default info)` },
  check: { type: 'boolean', help: 'validate the configuration and exit (0 = valid)' },
  ...BROKER_FLAGS,
};

export interface DaemonSettings {
  /** The config file, when one was given (SIGHUP re-reads it). */
  configPath: string | undefined;
  config: PicketConfig;
  /** Undefined when no broker is configured. */
  broker: BrokerOptions | undefined;
}

/** A setting that cannot work; `lines` are one-line messages for a person. */
export class SettingsError extends Error {
  constructor(readonly lines: string[]) {
    super(lines.join('\n'));
  }
}

function flag(flags: FlagValues, name: string): string | undefined {
  const v = flags[name];
  return typeof v === 'string' ? v : undefined;
}

/** Applies command-line flags over the config (in place). Throws SettingsError naming the flag. */
export function applyFlags(c: PicketConfig, flags: FlagValues): void {
  const bad: string[] = [];
  const ifaces = flags['interface'];
  if (Array.isArray(ifaces) && ifaces.length > 0) {
    for (const i of ifaces) if (!/^[^\s/:]{1,15}$/.test(i)) bad.push(`--interface "${i}" is not an interface name (1-15 characters, no spaces, / or :)`);
    c.capture.interfaces = [...ifaces];
  }
  const filter = flag(flags, 'filter');
  if (filter !== undefined) c.capture.filter = filter;
  for (const [name, set] of [
    ['netflow', (v: string) => (c.netflow.listen = v)],
    ['metrics', (v: string) => (c.metrics.listen = v)],
  ] as const) {
    const v = flag(flags, name);
    if (v === undefined) continue;
    if (v !== '' && !parseHostPort(v)) bad.push(`--${name} "${v}" must be HOST:PORT, e.g. ${name === 'netflow' ? '0.0.0.0:2055' : '127.0.0.1:9470'}`);
    set(v);
  }
  const model = flag(flags, 'model');
  if (model !== undefined) c.model.path = model;
  const alerts = flag(flags, 'alerts-jsonl');
  if (alerts !== undefined) c.alerts.jsonl = alerts;
  const flows = flag(flags, 'flows-jsonl');
  if (flows !== undefined) c.flows.jsonl = flows;
  const level = flag(flags, 'log-level');
  if (level !== undefined) {
    if (!(LOG_LEVELS as readonly string[]).includes(level)) bad.push(`--log-level "${level}" must be one of ${LOG_LEVELS.join(', ')}`);
    else c.logging.level = level as PicketConfig['logging']['level'];
  }
  if (bad.length > 0) throw new SettingsError(bad);
}

function readSecretFile(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8').replace(/\r?\n$/, '');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new SettingsError([`cannot read ${what} ${path} (${code}): check the path and its permissions`]);
  }
}

/** Broker options from the config's broker section, flags and environment; undefined without a broker. */
export function brokerFromConfig(c: PicketConfig, flags: FlagValues, env: Readonly<Record<string, string | undefined>>): BrokerOptions | undefined {
  const b = c.broker;
  const base: Partial<BrokerOptions> = {
    site: b.site,
    topicPrefix: b.topic_prefix,
    protocolVersion: b.version === '3.1.1' ? 4 : 5,
    queueMaxBytes: b.queue_max_bytes,
    fsync: b.fsync,
    fsyncEveryRecords: b.fsync_every_records,
    fsyncEveryMs: Math.round(b.fsync_interval * 1000),
    statusIntervalMs: Math.round(b.status_interval * 1000),
    inflightWindow: b.inflight,
    keepaliveS: Math.round(b.keepalive),
  };
  if (b.url) base.url = b.url;
  if (b.sensor) base.sensorId = b.sensor;
  const user = env[USER_ENV] || b.username;
  if (user) base.username = user;
  if (b.password_file) base.password = readSecretFile(b.password_file, 'broker.password_file');
  const credDir = env['CREDENTIALS_DIRECTORY'];
  if (credDir && existsSync(join(credDir, PASSWORD_CREDENTIAL))) base.password = readSecretFile(join(credDir, PASSWORD_CREDENTIAL), 'systemd credential');
  if (b.ca_file) base.caFile = b.ca_file;
  if (b.cert_file) base.certFile = b.cert_file;
  if (b.key_file) base.keyFile = b.key_file;
  if (b.queue_dir) base.queueDir = b.queue_dir;
  try {
    // PICKET_BROKER_PASSWORD (env) and --broker-password-file (flag) override the file's password there.
    return brokerOptionsFromFlags(flags, base, env);
  } catch (err) {
    if (err instanceof BrokerConfigError) throw new SettingsError([err.message]);
    throw err;
  }
}

/**
 * Loads the config (or defaults), applies flags and environment. Throws SettingsError with every
 * problem found (config lines first).
 */
export function resolveSettings(
  flags: FlagValues,
  detectors: readonly DetectorInfo[],
  env: Readonly<Record<string, string | undefined>> = process.env,
): DaemonSettings {
  const configPath = flag(flags, 'config');
  let config: PicketConfig;
  if (configPath !== undefined) {
    const r = loadConfigFile(configPath, detectors);
    if (!r.ok) throw new SettingsError(r.errors);
    config = r.config;
  } else config = defaultConfig();
  applyFlags(config, flags);
  const broker = brokerFromConfig(config, flags, env);
  return { configPath, config, broker };
}
