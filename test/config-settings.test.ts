/**
 * Effective settings: flags override the config file, environment overrides secrets, and every
 * bad value is one line naming the flag or key.
 */
import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from '../agent/cli/args.js';
import { registeredDetectors } from '../agent/daemon/detect-port.js';
import { changedKeys, flowConfigOf, RELOADABLE_KEYS } from '../agent/daemon/daemon.js';
import { defaultConfig } from '../agent/daemon/config-loader.js';
import { parseHostPort } from '../agent/daemon/config-schema.js';
import { resolveSettings, RUN_FLAGS, SettingsError } from '../agent/daemon/settings.js';
import { zoneConfig } from '../agent/daemon/alert-path.js';

const dir = mkdtempSync(join(tmpdir(), 'pk-dmn-settings-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const DET = registeredDetectors();

function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

function settings(argv: string[], env: Record<string, string> = {}) {
  return resolveSettings(parseArgs(argv, RUN_FLAGS).flags, DET, env);
}

function problem(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof SettingsError) return err.lines;
    throw err;
  }
  return [];
}

const config = file(
  'picket.yaml',
  [
    'capture:',
    '  interfaces: [eth0]',
    '  filter: "tcp"',
    'metrics:',
    '  listen: 127.0.0.1:9999',
    'broker:',
    '  url: mqtt://broker.lan:1884',
    '  site: lab',
    '  sensor: s1',
    '  username: sensor1',
    `  password_file: ${join(dir, 'pw')}`,
    '  queue_dir: /var/lib/picket/queue',
    '  fsync_interval: 0.5',
    '  status_interval: 10',
    'flows:',
    '  max: 1000',
    '  idle_timeout:',
    '    udp: 20',
    '',
  ].join('\n'),
);
writeFileSync(join(dir, 'pw'), 'from-file\n');

t.test('config values reach the daemon settings', async (t) => {
  const s = settings(['--config', config]);
  t.equal(s.configPath, config);
  t.same(s.config.capture.interfaces, ['eth0']);
  t.equal(s.config.capture.filter, 'tcp');
  t.ok(s.broker);
  t.equal(s.broker!.url, 'mqtt://broker.lan:1884');
  t.equal(s.broker!.site, 'lab');
  t.equal(s.broker!.sensorId, 's1');
  t.equal(s.broker!.username, 'sensor1');
  t.equal(s.broker!.password, 'from-file', 'password_file read, trailing newline dropped');
  t.equal(s.broker!.queueDir, '/var/lib/picket/queue');
  t.equal(s.broker!.fsyncEveryMs, 500);
  t.equal(s.broker!.statusIntervalMs, 10_000);
  const f = flowConfigOf(s.config);
  t.equal(f.maxFlows, 1000);
  t.equal(f.idleTimeout.udp, 20);
  t.equal(f.idleTimeout.tcp, 300, 'other timeouts keep their defaults');
});

t.test('flags override the file', async (t) => {
  const s = settings(['--config', config, '--interface', 'eth1', '--interface', 'eth2', '--filter', 'udp', '--metrics', '', '--netflow', '0.0.0.0:2055', '--site', 'other', '--log-level', 'debug', '--alerts-jsonl', '/tmp/a', '--flows-jsonl', '/tmp/f', '--model', '/m']);
  t.same(s.config.capture.interfaces, ['eth1', 'eth2']);
  t.equal(s.config.capture.filter, 'udp');
  t.equal(s.config.metrics.listen, '', '--metrics "" turns metrics off');
  t.equal(s.config.netflow.listen, '0.0.0.0:2055');
  t.equal(s.broker!.site, 'other');
  t.equal(s.broker!.sensorId, 's1', 'unflagged broker keys stay from the file');
  t.equal(s.config.logging.level, 'debug');
  t.equal(s.config.alerts.jsonl, '/tmp/a');
  t.equal(s.config.flows.jsonl, '/tmp/f');
  t.equal(s.config.model.path, '/m');
});

t.test('environment overrides secrets', async (t) => {
  const s = settings(['--config', config], { PICKET_BROKER_PASSWORD: 'from-env', PICKET_BROKER_USER: 'envuser' });
  t.equal(s.broker!.password, 'from-env');
  t.equal(s.broker!.username, 'envuser');
  const creds = mkdtempSync(join(dir, 'creds-'));
  writeFileSync(join(creds, 'broker-password'), 'from-credential\n');
  const c = settings(['--config', config], { CREDENTIALS_DIRECTORY: creds });
  t.equal(c.broker!.password, 'from-credential', 'systemd credential broker-password');
  const both = settings(['--config', config], { CREDENTIALS_DIRECTORY: creds, PICKET_BROKER_PASSWORD: 'env-wins' });
  t.equal(both.broker!.password, 'env-wins');
});

t.test('no config: defaults, and flags alone', async (t) => {
  const s = settings(['--interface', 'lo', '--broker', 'mqtt://127.0.0.1', '--queue-dir', '/q']);
  t.same(s.config.capture.interfaces, ['lo']);
  t.equal(s.configPath, undefined);
  t.equal(s.broker!.url, 'mqtt://127.0.0.1:1883');
  t.equal(s.broker!.queueDir, '/q');
  t.equal(s.config.metrics.listen, '127.0.0.1:9470');
  t.equal(settings(['--interface', 'lo']).broker, undefined);
});

t.test('one line per bad setting', async (t) => {
  t.same(problem(() => settings(['--interface', 'a b'])), ['--interface "a b" is not an interface name (1-15 characters, no spaces, / or :)']);
  t.same(problem(() => settings(['--metrics', 'nowhere'])), ['--metrics "nowhere" must be HOST:PORT, e.g. 127.0.0.1:9470']);
  t.same(problem(() => settings(['--netflow', '2055'])), ['--netflow "2055" must be HOST:PORT, e.g. 0.0.0.0:2055']);
  t.same(problem(() => settings(['--log-level', 'chatty'])), ['--log-level "chatty" must be one of trace, debug, info, warn, error, fatal, silent']);
  t.same(problem(() => settings(['--broker', 'http://x'])), ['--broker "http://x": scheme must be mqtt:// or mqtts:// (got http://)']);
  t.same(problem(() => settings(['--site', 'x'])), ['--site needs --broker URL']);
  const bad = file('bad.yaml', 'capture:\n  snaplen: huge\n');
  t.same(problem(() => settings(['--config', bad])), ['bad.yaml:2: capture.snaplen must be a whole number of bytes from 64 to 262144, got "huge"']);
  const pw = file('pwcfg.yaml', `broker:\n  url: mqtt://h\n  username: u\n  password_file: ${join(dir, 'missing')}\n`);
  t.same(problem(() => settings(['--config', pw])), [`cannot read broker.password_file ${join(dir, 'missing')} (ENOENT): check the path and its permissions`]);
});

t.test('helpers', async (t) => {
  t.same(parseHostPort('127.0.0.1:9470'), { host: '127.0.0.1', port: 9470 });
  t.same(parseHostPort('[::1]:0'), { host: '::1', port: 0 });
  t.equal(parseHostPort('host:99999'), undefined);
  t.equal(parseHostPort('host'), undefined);
  const a = defaultConfig();
  const b = defaultConfig();
  b.capture.filter = 'tcp';
  b.flows.idle_timeout.udp = 5;
  b.detectors = { ddos: false };
  t.same(changedKeys(a, b), ['capture.filter', 'flows.idle_timeout.udp', 'detectors']);
  t.ok(RELOADABLE_KEYS.includes('capture.filter'));
  t.same(zoneConfig({ trust: ['10.0.0.0/8'], guest: [], dmz: ['192.0.2.0/24'] }), { trust: ['10.0.0.0/8'], guest: [], extra: { dmz: ['192.0.2.0/24'] } });
});
