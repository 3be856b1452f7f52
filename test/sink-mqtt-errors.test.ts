/**
 * Misconfiguration and outages give ONE clear line each (what is wrong, what to do), not a
 * stack trace and not a line per retry; TLS and mutual TLS work with the right files; a full
 * queue drops by policy and says so. Real mosquitto, throwaway PKI made with openssl.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { AlertPublisher, type PublisherLog } from '../agent/sink/mqtt/alert-publisher.js';
import { brokerOptionsFromFlags, type BrokerOptions } from '../agent/sink/mqtt/broker-options.js';
import { AlertCollector } from './helpers/alert-collector.js';
import { alertFor } from './helpers/alert-sequence.js';
import { freePort, startMosquitto } from './helpers/mosquitto.js';
import { makeTestPki } from './helpers/pki.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function memoryLog(): PublisherLog & { lines: string[]; errors(): string[] } {
  const lines: string[] = [];
  return {
    lines,
    info: (m) => lines.push(`info ${m}`),
    warn: (m) => lines.push(`warn ${m}`),
    error: (m) => lines.push(`error ${m}`),
    errors: () => lines.filter((l) => l.startsWith('error')),
  };
}

const dir = mkdtempSync(join(tmpdir(), 'pk-mqtt-err-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const pki = makeTestPki();
t.teardown(() => pki.cleanup());
const pwFile = (name: string, pw: string): string => {
  const f = join(dir, name);
  writeFileSync(f, `${pw}\n`);
  return f;
};

function opts(flags: Record<string, string>, base: Partial<BrokerOptions> = {}): BrokerOptions {
  const o = brokerOptionsFromFlags({ site: 'lab', sensor: 'sensor-a', ...flags }, { reconnectMinMs: 50, reconnectMaxMs: 200, connectTimeoutMs: 2000, ...base }, {});
  if (!o) throw new Error('no options');
  return o;
}

/** Runs a publisher for `ms`, publishing a few alerts; returns its log and stats. */
async function runFor(o: BrokerOptions, ms: number): Promise<{ log: ReturnType<typeof memoryLog>; pub: AlertPublisher }> {
  const log = memoryLog();
  const pub = new AlertPublisher(o, { log });
  await pub.start();
  for (let k = 0; k < 5; k++) pub.publish(alertFor(k, 'x', 'y'));
  await sleep(ms);
  return { log, pub };
}

const attempts = (log: string, since: number): number => (log.slice(since).match(/New connection from/g) ?? []).length;

t.test('wrong password: one clear line, retried quietly', async (t) => {
  const broker = await startMosquitto({ users: { 'sensor-a': 'right-password' } });
  t.teardown(() => broker.close());
  for (const version of ['5', '3.1.1']) {
    const before = broker.log.length;
    const { log, pub } = await runFor(opts({ broker: broker.url, 'mqtt-version': version, 'broker-user': 'sensor-a', 'broker-password-file': pwFile('wrong', 'nope') }), 1200);
    t.ok(attempts(broker.log, before) >= 3, `${attempts(broker.log, before)} attempts (MQTT ${version})`);
    t.equal(log.errors().length, 1, `exactly one line (MQTT ${version})`, { lines: log.lines });
    t.match(log.errors()[0], /refused login as user "sensor-a" \((bad user name or password|not authorized)\): check --broker-user and --broker-password-file/);
    t.notMatch(log.lines.join('\n'), /\n\s+at /, 'no stack trace');
    t.equal(pub.stats().queueDepth, 5, 'alerts wait in the queue');
    t.equal(pub.stats().connected, false);
    await pub.stop();
  }
  // The right password from the environment override connects and delivers.
  const collector = await AlertCollector.connect({ url: broker.url, username: 'sensor-a', password: 'right-password', clientId: 'c-pw' });
  t.teardown(() => collector.close());
  const o = brokerOptionsFromFlags(
    { broker: broker.url, site: 'lab', sensor: 'sensor-b', 'broker-user': 'sensor-a', 'broker-password-file': pwFile('wrong2', 'nope') },
    {},
    { PICKET_BROKER_PASSWORD: 'right-password' },
  )!;
  const pub = new AlertPublisher(o, { log: memoryLog() });
  await pub.start();
  pub.publish(alertFor(1, 'x', 'y'));
  t.same(await pub.flush(5000), { acked: 1, left: 0 });
  await pub.stop();
});

t.test('unreachable broker: one clear line', async (t) => {
  const port = await freePort();
  const { log, pub } = await runFor(opts({ broker: `mqtt://127.0.0.1:${port}` }), 800);
  t.equal(log.errors().length, 1, 'one line', { lines: log.lines });
  t.match(log.errors()[0], new RegExp(`broker mqtt://127.0.0.1:${port} refused the connection \\(nothing listening\\?\\): check that the broker runs`));
  t.same(await pub.flush(10), { acked: 0, left: 5 });
  await pub.stop();
});

t.test('TLS: right CA delivers; wrong CA gives one clear line', async (t) => {
  const broker = await startMosquitto({ tls: { ca: pki.ca, cert: pki.serverCert, key: pki.serverKey } });
  t.teardown(() => broker.close());
  const collector = await AlertCollector.connect({ url: broker.url, clientId: 'c-tls' });
  t.teardown(() => collector.close());

  const good = new AlertPublisher(opts({ broker: broker.tlsUrl, sensor: 'tls-ok', 'broker-ca': pki.ca }), { log: memoryLog() });
  await good.start();
  for (let k = 0; k < 20; k++) good.publish(alertFor(k, 'x', 'y'));
  t.same(await good.flush(5000), { acked: 20, left: 0 });
  await good.stop();
  await collector.waitFor(() => collector.alerts.size === 20, 5000, '20 alerts over TLS');

  const before = broker.log.length;
  const { log, pub } = await runFor(opts({ broker: broker.tlsUrl, sensor: 'tls-bad', 'broker-ca': pki.otherCa }), 1000);
  t.ok(attempts(broker.log, before) >= 3, `${attempts(broker.log, before)} attempts`);
  t.equal(log.errors().length, 1, 'one line', { lines: log.lines });
  t.match(log.errors()[0], /TLS: the certificate of broker localhost is not signed by the CA in --broker-ca .*other-ca\.crt .*: give --broker-ca the CA that issued/);
  await pub.stop();

  // TLS settings on a plain URL cannot work: said at configuration time.
  t.throws(() => opts({ broker: broker.url, 'broker-ca': pki.ca }), /need an mqtts:\/\/ broker URL/);
  // Unusable PEM material fails start() with one line instead of failing every TLS handshake.
  const garbage = join(dir, 'garbage.pem');
  writeFileSync(garbage, 'not a certificate\n');
  const badCa = new AlertPublisher(opts({ broker: broker.tlsUrl, 'broker-ca': garbage }), { log: memoryLog() });
  await t.rejects(badCa.start(), /--broker-ca .*garbage\.pem is not a usable PEM CA certificate/);
  const mismatch = new AlertPublisher(
    opts({ broker: broker.tlsUrl, 'broker-ca': pki.ca, 'broker-cert': pki.clientCert, 'broker-key': pki.serverKey }),
    { log: memoryLog() },
  );
  await t.rejects(mismatch.start(), /--broker-cert .*client\.crt \/ --broker-key .*server\.key are not a usable PEM certificate and matching key/);
  // An unreadable CA file fails start() with one line.
  const missing = new AlertPublisher(opts({ broker: broker.tlsUrl, 'broker-ca': join(dir, 'nope.pem') }), { log: memoryLog() });
  await t.rejects(missing.start(), /cannot read --broker-ca .*nope\.pem \(ENOENT\)/);
});

t.test('mutual TLS: a client certificate is required and accepted', async (t) => {
  const broker = await startMosquitto({ tls: { ca: pki.ca, cert: pki.serverCert, key: pki.serverKey, requireCertificate: true } });
  t.teardown(() => broker.close());
  const { log, pub } = await runFor(opts({ broker: broker.tlsUrl, sensor: 'mtls-none', 'broker-ca': pki.ca }), 800);
  t.equal(log.errors().length, 1, 'one line', { lines: log.lines });
  t.match(log.errors()[0], /TLS: broker localhost (requires a client certificate: set --broker-cert and --broker-key|rejected our client certificate)/);
  await pub.stop();

  const ok = new AlertPublisher(
    opts({ broker: broker.tlsUrl, sensor: 'mtls-ok', 'broker-ca': pki.ca, 'broker-cert': pki.clientCert, 'broker-key': pki.clientKey }),
    { log: memoryLog() },
  );
  await ok.start();
  for (let k = 0; k < 10; k++) ok.publish(alertFor(k, 'x', 'y'));
  t.same(await ok.flush(5000), { acked: 10, left: 0 });
  await ok.stop();
});

t.test('a full queue drops oldest lowest-severity first and says so', async (t) => {
  const broker = await startMosquitto();
  t.teardown(() => broker.close());
  const collector = await AlertCollector.connect({ url: broker.url, clientId: 'c-full' });
  t.teardown(() => collector.close());
  await broker.stop(); // the collector's session survives (persistence)
  const log = memoryLog();
  const pub = new AlertPublisher(
    opts({ broker: broker.url, sensor: 'full-1', 'queue-dir': join(dir, 'full-q') }, { queueMaxBytes: 8 * 1024 }),
    { log },
  );
  await pub.start();
  const critical = Array.from({ length: 10 }, (_, k) => alertFor(k, 'x', 'y', 'critical'));
  const low = Array.from({ length: 100 }, (_, k) => alertFor(100 + k, 'x', 'y', 'low'));
  for (const a of [...critical, ...low]) pub.publish(a);
  const dropped = pub.stats().dropped;
  t.ok(dropped > 0 && dropped < 100, `${dropped} dropped`);
  const warn = log.lines.filter((l) => l.startsWith('warn alert queue full'));
  t.equal(warn.length, 1, 'one line when dropping starts (then at most one a minute)');
  t.match(warn[0], /alert queue full \(8192 bytes, .*full-q\): dropped 1 alerts so far, oldest lowest-severity first \(low 1, medium 0, high 0, critical 0\)/);
  await broker.start();
  t.same(await pub.flush(10_000), { acked: 110 - dropped, left: 0 });
  await pub.stop();
  t.match(log.lines.at(-1), new RegExp(`dropped ${dropped} alerts so far.*\\(low ${dropped}, medium 0, high 0, critical 0\\)`), 'summary at stop');
  await collector.waitFor(() => collector.alerts.size === 110 - dropped, 10_000, 'survivors');
  for (const a of critical) t.ok(collector.alerts.has(a.id), `critical ${a.reason.slice(0, 9)} kept`);
  const keptLows = low.filter((a) => collector.alerts.has(a.id));
  t.same(keptLows, low.slice(100 - keptLows.length), 'the newest lows are the ones kept');
});

t.test('a port that does not speak MQTT: one line that says so', async (t) => {
  // One server hangs up at once, the other accepts and never answers.
  const sockets = new Set<Socket>();
  const hangUp = createServer((s) => s.destroy());
  const silent = createServer((s) => {
    sockets.add(s);
    s.on('error', () => {});
  });
  await new Promise<void>((r) => hangUp.listen(0, '127.0.0.1', r));
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  t.teardown(() => {
    for (const s of sockets) s.destroy();
    hangUp.close();
    silent.close();
  });
  const port = (s: ReturnType<typeof createServer>): number => (s.address() as AddressInfo).port;
  const a = await runFor(opts({ broker: `mqtt://127.0.0.1:${port(hangUp)}` }), 600);
  t.equal(a.log.errors().length, 1, 'one line', { lines: a.log.lines });
  t.match(a.log.errors()[0], /closed the connection (without accepting it|during the handshake)/);
  await a.pub.stop();
  const b = await runFor(opts({ broker: `mqtt://127.0.0.1:${port(silent)}` }, { connectTimeoutMs: 200 }), 900);
  t.equal(b.log.errors().length, 1, 'one line', { lines: b.log.lines });
  t.match(b.log.errors()[0], /did not answer the MQTT handshake in time: check that this port speaks MQTT \(no TLS\)/);
  await b.pub.stop();
});
