import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import {
  BROKER_FLAGS,
  BrokerConfigError,
  brokerOptionsFromFlags,
  defaultSensorId,
  picketVersion,
  readPem,
  sensorTopics,
  type BrokerOptions,
} from '../agent/sink/mqtt/broker-options.js';
import { CLOSED_BEFORE_CONNACK, describeConnectionError, type ConnectionContext } from '../agent/sink/mqtt/connection-errors.js';
import { parseArgs } from '../agent/cli/args.js';

const dir = mkdtempSync(join(tmpdir(), 'pk-broker-opts-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const noEnv = {};

t.test('no broker anywhere: no options; broker flags alone are an error', async (t) => {
  t.equal(brokerOptionsFromFlags({}, {}, noEnv), undefined);
  t.throws(() => brokerOptionsFromFlags({ site: 'x' }, {}, noEnv), /--site needs --broker URL/);
});

t.test('the CLI flags map to options, through the real argument parser', async (t) => {
  const pw = join(dir, 'pw');
  writeFileSync(pw, 's3cret\n');
  const args = parseArgs(
    ['--broker', 'mqtts://broker.example', '--site', 'hq', '--sensor', 'edge-1', '--mqtt-version', '3.1.1', '--broker-user', 'edge-1',
      '--broker-password-file', pw, '--broker-ca', '/ca.pem', '--broker-cert', '/c.pem', '--broker-key', '/k.pem', '--queue-dir', '/q',
      '--topic-prefix', 'corp/picket/v1'],
    BROKER_FLAGS,
  );
  const o = brokerOptionsFromFlags(args.flags, {}, noEnv)!;
  t.match(o, {
    url: 'mqtts://broker.example:8883',
    site: 'hq',
    sensorId: 'edge-1',
    protocolVersion: 4,
    username: 'edge-1',
    password: 's3cret',
    caFile: '/ca.pem',
    certFile: '/c.pem',
    keyFile: '/k.pem',
    queueDir: '/q',
    topicPrefix: 'corp/picket/v1',
  });
  t.same(sensorTopics(o), { alert: 'corp/picket/v1/hq/edge-1/alert', status: 'corp/picket/v1/hq/edge-1/status' });
});

t.test('defaults, and flags over a config-file base', async (t) => {
  const d = brokerOptionsFromFlags({ broker: 'mqtt://127.0.0.1' }, {}, noEnv)!;
  t.equal(d.url, 'mqtt://127.0.0.1:1883');
  t.equal(d.protocolVersion, 5);
  t.equal(d.site, 'default');
  t.equal(d.sensorId, defaultSensorId());
  t.equal(d.topicPrefix, 'picket/v1');
  t.equal(d.fsync, 'batch');
  t.equal(d.version, picketVersion());
  t.match(picketVersion(), /^\d+\.\d+\.\d+/);
  // A base read from a config file may carry explicit undefineds; they must not erase defaults.
  const base = { url: 'mqtt://config-host:1884', site: 'from-config', sensorId: 'cfg-sensor', inflightWindow: 32, fsync: undefined } as unknown as Partial<BrokerOptions>;
  const fromBase = brokerOptionsFromFlags({}, base, noEnv)!;
  t.match(fromBase, { url: 'mqtt://config-host:1884', site: 'from-config', sensorId: 'cfg-sensor', inflightWindow: 32, fsync: 'batch' });
  const over = brokerOptionsFromFlags({ broker: 'mqtt://flag-host:1', site: 'flag-site', 'mqtt-version': '5' }, base, noEnv)!;
  t.match(over, { url: 'mqtt://flag-host:1', site: 'flag-site', sensorId: 'cfg-sensor', protocolVersion: 5 });
  t.equal(brokerOptionsFromFlags({ broker: ['mqtt://a', 'mqtt://b'] }, {}, noEnv)!.url, 'mqtt://b:1883', 'last repeat wins');
});

t.test('bad settings fail with one line saying what to do', async (t) => {
  const bad: [Record<string, string>, RegExp][] = [
    [{ broker: 'not a url' }, /is not a URL: use mqtt:\/\/HOST:PORT/],
    [{ broker: 'http://x:1' }, /scheme must be mqtt:\/\/ or mqtts:\/\//],
    [{ broker: 'mqtt://user:pw@x:1' }, /carries credentials: use --broker-user/],
    [{ broker: 'mqtt://x', site: 'a/b' }, /--site "a\/b" cannot be an MQTT topic level/],
    [{ broker: 'mqtt://x', sensor: 'e+1' }, /--sensor "e\+1" cannot be an MQTT topic level/],
    [{ broker: 'mqtt://x', sensor: '' }, /--sensor "" cannot be an MQTT topic level/],
    [{ broker: 'mqtt://x', 'topic-prefix': 'a/#' }, /--topic-prefix "a\/#" is not usable/],
    [{ broker: 'mqtt://x', 'topic-prefix': '/a' }, /is not usable/],
    [{ broker: 'mqtt://x', 'mqtt-version': '3' }, /--mqtt-version "3" is not supported: use 5 or 3.1.1/],
    [{ broker: 'mqtt://x', 'broker-password-file': join(dir, 'missing') }, /cannot read --broker-password-file .*missing \(ENOENT\)/],
    [{ broker: 'mqtt://x', 'broker-ca': '/ca.pem' }, /need an mqtts:\/\/ broker URL/],
    [{ broker: 'mqtts://x', 'broker-cert': '/c.pem' }, /needs both --broker-cert and --broker-key/],
  ];
  for (const [flags, msg] of bad) {
    t.throws(() => brokerOptionsFromFlags(flags, {}, noEnv), msg, JSON.stringify(flags));
    try {
      brokerOptionsFromFlags(flags, {}, noEnv);
    } catch (err) {
      t.ok(err instanceof BrokerConfigError && !err.message.includes('\n'), 'a one-line BrokerConfigError');
    }
  }
  const pw = join(dir, 'pw2');
  writeFileSync(pw, 'x');
  t.throws(() => brokerOptionsFromFlags({ broker: 'mqtt://x', 'broker-password-file': pw }, {}, noEnv), /no --broker-user/);
  t.throws(() => readPem(join(dir, 'none.pem'), 'broker-key'), /cannot read --broker-key .*none\.pem \(ENOENT\)/);
  t.equal(readPem(pw, 'broker-ca').toString(), 'x');
});

t.test('the password: from the file, overridden by PICKET_BROKER_PASSWORD', async (t) => {
  const pw = join(dir, 'pw3');
  writeFileSync(pw, 'line one\r\n');
  const base = { broker: 'mqtt://x', 'broker-user': 'u', 'broker-password-file': pw };
  t.equal(brokerOptionsFromFlags(base, {}, noEnv)!.password, 'line one', 'trailing newline is not part of it');
  t.equal(brokerOptionsFromFlags(base, {}, { PICKET_BROKER_PASSWORD: 'from-env' })!.password, 'from-env');
  t.equal(brokerOptionsFromFlags(base, {}, { PICKET_BROKER_PASSWORD: '' })!.password, 'line one', 'empty env is ignored');
});

const ctx: ConnectionContext = { url: 'mqtts://broker.example:8883', protocolVersion: 5, sensorId: 'edge-1', username: 'edge-1', caFile: '/ca.pem', certFile: '/c.pem' };
const err = (code: unknown, message = 'x'): Error => Object.assign(new Error(message), { code });

t.test('connection problems: one line each, grouped by key', async (t) => {
  const cases: [unknown, ConnectionContext, string, RegExp][] = [
    [err('ECONNREFUSED'), ctx, 'refused', /refused the connection \(nothing listening\?\)/],
    [err('ENOTFOUND'), ctx, 'dns', /cannot resolve broker host "broker.example" \(ENOTFOUND\)/],
    [err('EHOSTUNREACH'), ctx, 'unreachable', /is unreachable \(EHOSTUNREACH\): check the network path/],
    [err('CERT_HAS_EXPIRED'), ctx, 'tls-expired', /not valid now \(CERT_HAS_EXPIRED\)/],
    [err('ERR_TLS_CERT_ALTNAME_INVALID'), ctx, 'tls-name', /does not name "broker.example"/],
    [err('DEPTH_ZERO_SELF_SIGNED_CERT'), ctx, 'tls-untrusted', /not signed by the CA in --broker-ca \/ca.pem/],
    [err('UNABLE_TO_VERIFY_LEAF_SIGNATURE'), { ...ctx, caFile: undefined } as unknown as ConnectionContext, 'tls-untrusted', /the system CAs \(no --broker-ca given\)/],
    [err('ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED'), ctx, 'tls-client-missing', /requires a client certificate/],
    [err('ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE'), ctx, 'tls-client-rejected', /rejected our client certificate \/c.pem/],
    [err('ERR_SSL_WRONG_VERSION_NUMBER'), ctx, 'tls:ERR_SSL_WRONG_VERSION_NUMBER', /TLS handshake with broker broker.example failed/],
    [err('ECONNRESET'), ctx, 'reset', /closed the connection during the handshake/],
    [err('', 'connack timeout'), ctx, 'timeout', /did not answer the MQTT handshake in time.*TLS/],
    [err(CLOSED_BEFORE_CONNACK), { ...ctx, url: 'mqtt://h:1' }, 'closed', /closed the connection without accepting it: check that this port speaks MQTT without TLS/],
    [err(0x86), ctx, 'auth', /refused login as user "edge-1" \(bad user name or password\)/],
    [err(0x87), ctx, 'auth', /\(not authorized\)/],
    [err(0x8c), ctx, 'auth', /bad authentication method/],
    [err(4), { ...ctx, protocolVersion: 4 }, 'auth', /bad user name or password/],
    [err(5), { ...ctx, protocolVersion: 4, username: undefined } as unknown as ConnectionContext, 'auth', /as an anonymous client \(not authorized\)/],
    [err(0x84), ctx, 'protocol', /does not accept MQTT 5: try --mqtt-version 3.1.1/],
    [err(1), { ...ctx, protocolVersion: 4 }, 'protocol', /try --mqtt-version 5/],
    [err(0x85), ctx, 'client-id', /rejected client id "edge-1"/],
    [err(0x8a), ctx, 'banned', /has banned client "edge-1"/],
    [err(0x88), ctx, 'unavailable', /busy or unavailable/],
    [err(0x99), ctx, 'other:x', /cannot connect to broker mqtts:\/\/broker.example:8883: x/],
    [err('EWEIRD', 'first line\nsecond'), ctx, 'other:EWEIRD', /: first line; alerts stay queued/],
    ['a string', ctx, 'other:a string', /a string/],
    [null, ctx, 'other:null', /null/],
  ];
  for (const [e, c, key, msg] of cases) {
    const p = describeConnectionError(e, c);
    t.equal(p.key, key, `${String((e as { code?: unknown } | null)?.code ?? e)} → ${key}`);
    t.match(p.message, msg);
    t.notOk(p.message.includes('\n'), 'one line');
    if (!key.startsWith('other')) t.match(p.message, /retried with backoff$/);
  }
});
