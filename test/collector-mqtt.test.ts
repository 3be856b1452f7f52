/**
 * The collector against real brokers: alerts published through the sensor's real AlertPublisher
 * arrive in SQLite de-duplicated (MQTT 5 shared subscription), sensors go online/offline from
 * status and Will, two collectors in one share group split the alerts, the MQTT 3.1.1 fallback
 * on the embedded aedes broker, the shipped ACL, alerts kept by the broker while the collector
 * was away, and hostile messages.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import mqtt from 'mqtt';
import t, { type Test } from 'tap';
import type { Alert } from '../agent/alert/alert.js';
import { AlertPublisher, type PublisherLog } from '../agent/sink/mqtt/alert-publisher.js';
import { brokerOptionsFromFlags, type BrokerOptions } from '../agent/sink/mqtt/broker-options.js';
import { encodeAlert } from '../agent/sink/wire/alert-wire.js';
import { encodeStatus } from '../agent/sink/wire/status-wire.js';
import { picket } from '../agent/sink/generated/picket.js';
import type { Collector } from '../collector/collector.js';
import { startEmbeddedBroker } from '../collector/demo/embedded-broker.js';
import { memoryLog, startCollector, tempDir, until, variedAlert } from './collector-fixtures.js';
import { startMosquitto } from './helpers/mosquitto.js';
import { spawnSensor } from './helpers/sensor-process.js';

const quiet: PublisherLog = { info: () => {}, warn: () => {}, error: () => {} };
const BASE_US = Date.UTC(2026, 10, 25, 12, 0, 0) * 1000;

function pubOptions(url: string, sensor: string, extra: Record<string, string> = {}, base: Partial<BrokerOptions> = {}): BrokerOptions {
  const o = brokerOptionsFromFlags({ broker: url, site: 'lab', sensor, ...extra }, { reconnectMinMs: 50, reconnectMaxMs: 500, ...base }, {});
  if (!o) throw new Error('no options');
  return o;
}

async function publisher(t: Test, url: string, sensor: string, extra: Record<string, string> = {}, base: Partial<BrokerOptions> = {}): Promise<AlertPublisher> {
  const p = new AlertPublisher(pubOptions(url, sensor, extra, base), { log: quiet, status: () => ({ packets: 1234, drops: 2, flows: 56 }) });
  await p.start();
  t.teardown(() => p.stop());
  return p;
}

async function collector(t: Test, url: string, over = {}, log = memoryLog()): Promise<Collector> {
  const { collector: c } = await startCollector(url, dir.path, over, log);
  t.teardown(() => c.stop());
  if (!(await c.subscriber.whenSubscribed(10_000))) throw new Error(`collector not subscribed: ${log.lines.join('; ')}`);
  return c;
}

const broker = await startMosquitto();
t.teardown(() => broker.close());
const dir = tempDir('pk-col-mqtt-');
t.teardown(() => dir.remove());

t.test('MQTT 5: alerts from the real AlertPublisher land in SQLite once per id; updates replace', async (t) => {
  const c = await collector(t, broker.url, { group: 'dedup' });
  const pub = await publisher(t, broker.url, 'edge-dedup');
  const alerts: Alert[] = Array.from({ length: 300 }, (_, k) => variedAlert(k, BASE_US));
  for (const a of alerts) pub.publish(a);
  for (const a of alerts.slice(0, 50)) pub.publish(a); // redelivered copies
  for (const a of alerts.slice(100, 120)) pub.publish({ ...a, count: 4, lastUs: a.lastUs + 60e6, reason: `${a.reason} (updated)` });
  t.same(await pub.flush(10_000), { acked: 370, left: 0 });
  await until(() => c.ingest.counters.alertMessages >= 370, 10_000, '370 messages');
  t.match(c.ingest.counters, { inserted: 300, duplicates: 50, updated: 20, rejected: {} });
  // Look at the file itself, through a second connection, as another process would.
  const db = new Database(c.options.dbPath, { readonly: true });
  t.teardown(() => db.close());
  t.equal(db.pragma('journal_mode', { simple: true }), 'wal');
  t.same(db.prepare('SELECT COUNT(*) AS n, COUNT(DISTINCT id) AS d FROM alerts').get(), { n: 300, d: 300 });
  const upd = db.prepare('SELECT count, reason, updates, sensor_id, site FROM alerts WHERE id = ?').get(alerts[110]!.id) as Record<string, unknown>;
  t.same(upd, { count: 4, reason: `${alerts[110]!.reason} (updated)`, updates: 1, sensor_id: 'edge-dedup', site: 'lab' });
  const api = (await (await fetch(`${c.httpUrl}api/alerts?sensor=edge-dedup&limit=1`)).json()) as { total: number };
  t.equal(api.total, 300);
  t.match(c.health().broker, { connected: true, protocolVersion: 5, shared: true });
});

t.test('sensors: online from status (with its numbers), offline by clean stop and by the Will', async (t) => {
  const c = await collector(t, broker.url, { group: 'sensors' });
  const sensor = (id: string) => c.store.sensors.list(120e6).find((s) => s.sensorId === id);
  const pub = await publisher(t, broker.url, 'edge-clean', {}, { statusIntervalMs: 200 });
  await until(() => sensor('edge-clean')?.health === 'online', 5000, 'edge-clean online');
  t.match(sensor('edge-clean'), { site: 'lab', packets: 1234, drops: 2, flows: 56, version: '0.1.0' });
  await pub.stop();
  await until(() => sensor('edge-clean')?.health === 'offline', 5000, 'edge-clean offline after stop');
  t.pass('clean stop: offline');

  const run = spawnSensor(['--broker', broker.url, '--site', 'lab', '--sensor', 'edge-killed', '--count', '100000', '--rate', '20', '--status-interval-ms', '500']);
  t.teardown(() => run.proc.kill('SIGKILL'));
  await until(() => sensor('edge-killed')?.health === 'online', 20_000, 'edge-killed online');
  run.proc.kill('SIGKILL');
  await run.exited;
  // mosquitto sends the Will when the keepalive runs out or the socket closes (here: at once).
  await until(() => sensor('edge-killed')?.health === 'offline', 15_000, 'edge-killed offline by its Will');
  t.pass('SIGKILL: offline by the Will');
  const list = (await (await fetch(`${c.httpUrl}api/sensors`)).json()) as { sensors: { sensorId: string; health: string }[] };
  t.same(list.sensors.filter((s) => s.sensorId.startsWith('edge-k') || s.sensorId === 'edge-clean').map((s) => [s.sensorId, s.health]), [
    ['edge-clean', 'offline'],
    ['edge-killed', 'offline'],
  ]);
  const banner = (await (await fetch(`${c.httpUrl}api/dashboard`)).json()) as { status: { level: string; reasons: string[] } };
  t.equal(banner.status.level, 'alert');
  t.match(banner.status.reasons.join('\n'), /offline: .*edge-killed/);
});

t.test('two collectors in one share group split the alerts; a third group gets them all', async (t) => {
  const a = await collector(t, broker.url, { group: 'split' });
  const b = await collector(t, broker.url, { group: 'split' });
  const other = await collector(t, broker.url, { group: 'audit' });
  const pub = await publisher(t, broker.url, 'edge-split');
  const alerts = Array.from({ length: 400 }, (_, k) => variedAlert(k, BASE_US));
  for (const x of alerts) pub.publish(x);
  await pub.flush(10_000);
  await until(() => a.ingest.counters.inserted + b.ingest.counters.inserted >= 400 && other.ingest.counters.inserted >= 400, 10_000, 'all alerts');
  const ids = (c: Collector) => new Set(c.store.list({ sensor: 'edge-split' }, { sort: 'time', order: 'asc', limit: 500, offset: 0 }).alerts.map((x) => x.id));
  const ia = ids(a);
  const ib = ids(b);
  t.ok(ia.size > 50 && ib.size > 50, `split ${ia.size} / ${ib.size}`);
  t.equal([...ia].filter((id) => ib.has(id)).length, 0, 'no alert went to both members');
  t.equal(ia.size + ib.size, 400);
  t.equal(ids(other).size, 400, 'another group receives everything');
});

t.test('alerts published while the collector is away wait in its persistent session', async (t) => {
  const clientId = 'test-collector-persistent';
  const db = join(dir.path, 'persistent.db');
  const first = await collector(t, broker.url, { group: 'persist', clientId, dbPath: db });
  await first.stop();
  const pub = await publisher(t, broker.url, 'edge-away');
  const alerts = Array.from({ length: 40 }, (_, k) => variedAlert(k, BASE_US));
  for (const x of alerts) pub.publish(x);
  t.same(await pub.flush(5000), { acked: 40, left: 0 }, 'the broker took them while no collector was connected');
  const again = await collector(t, broker.url, { group: 'persist', clientId, dbPath: db });
  await until(() => again.store.bounds().alerts >= 40, 10_000, '40 alerts after reconnecting');
  t.equal(again.store.bounds().alerts, 40);
});

t.test('broker restart: the collector reconnects and goes on storing', async (t) => {
  const log = memoryLog();
  const c = await collector(t, broker.url, { group: 'restart' }, log);
  const pub = await publisher(t, broker.url, 'edge-restart');
  pub.publish(variedAlert(1, BASE_US));
  await until(() => c.ingest.counters.inserted === 1, 5000, 'first alert');
  await broker.restart();
  await until(() => c.health().broker.connects >= 2 && c.health().broker.connected, 15_000, 'reconnected');
  // mosquitto 2.0 does not restore shared subscriptions from its persistence file: the
  // collector subscribes again on every connection.
  await new Promise((r) => setTimeout(r, 200));
  pub.publish(variedAlert(2, BASE_US));
  await until(() => c.ingest.counters.inserted === 2, 15_000, 'alert after the restart');
  t.equal(log.lines.filter((l) => /lost connection to broker/.test(l)).length, 1, 'the outage is logged once: ' + log.lines.join(' / '));
});

t.test('--no-share: alerts published after a broker restart, before the collector is back, are kept', async (t) => {
  const clientId = 'test-collector-noshare';
  const c = await collector(t, broker.url, { noShare: true, clientId });
  t.equal(c.health().broker.shared, false);
  await c.stop();
  await broker.restart();
  const pub = await publisher(t, broker.url, 'edge-gap');
  pub.publish(variedAlert(1, BASE_US));
  t.same(await pub.flush(5000), { acked: 1, left: 0 });
  const back = await collector(t, broker.url, { noShare: true, clientId, dbPath: c.options.dbPath });
  await until(() => back.ingest.counters.inserted === 1, 10_000, 'the alert from the gap');
  t.pass('a plain subscription survives the broker restart in the persistent session');
});

t.test('MQTT 3.1.1: the embedded aedes refuses MQTT 5; the collector falls back and subscribes plainly', async (t) => {
  const aedes = await startEmbeddedBroker('127.0.0.1', 0);
  t.teardown(() => aedes.close());
  const log = memoryLog();
  const c = await collector(t, aedes.url, { group: 'ignored-on-3.1.1' }, log);
  t.match(log.lines, [/does not speak MQTT 5; using MQTT 3\.1\.1/, /connected to broker .*\(MQTT 3\.1\.1\)/, /MQTT 3\.1\.1 has no shared subscriptions: subscribed to picket\/v1\/\+\/\+\/alert plainly/]);
  t.match(c.health().broker, { connected: true, protocolVersion: 4, shared: false });
  const pub = await publisher(t, aedes.url, 'edge-aedes', { 'mqtt-version': '3.1.1' });
  for (let k = 0; k < 50; k++) pub.publish(variedAlert(k, BASE_US));
  await pub.flush(5000);
  await until(() => c.ingest.counters.inserted === 50, 5000, '50 alerts via aedes');
  await until(() => c.store.sensors.list(120e6).some((s) => s.sensorId === 'edge-aedes' && s.health === 'online'), 5000, 'status via aedes');
  t.pass('alerts and status arrive over MQTT 3.1.1');
});

t.test('--mqtt-version 3.1.1 on mosquitto: plain subscription, said once', async (t) => {
  const log = memoryLog();
  const c = await collector(t, broker.url, { protocol: 4 }, log);
  t.equal(log.lines.filter((l) => /no shared subscriptions/.test(l)).length, 1);
  t.equal(c.health().broker.shared, false);
});

t.test('the shipped ACL: user "collector" reads through the shared subscription; a sensor login cannot subscribe', async (t) => {
  const acl = readFileSync(new URL('../systemd/mosquitto/picket.acl', import.meta.url), 'utf8');
  const secured = await startMosquitto({ users: { collector: 'pw-c', 'edge-1': 'pw-e' }, acl });
  t.teardown(() => secured.close());
  const c = await collector(t, secured.url, { username: 'collector', password: 'pw-c', group: 'acl' });
  t.equal(c.health().broker.shared, true);
  const pub = await publisher(t, secured.url, 'edge-1', { 'broker-user': 'edge-1' }, { password: 'pw-e' });
  pub.publish(variedAlert(7, BASE_US));
  await until(() => c.ingest.counters.inserted === 1, 5000, 'alert through the ACL');
  // A sensor's login may only write: the collector says what to fix (the subscription is refused or delivers nothing).
  const log = memoryLog();
  const { collector: wrong } = await startCollector(secured.url, dir.path, { username: 'edge-1', password: 'pw-e', group: 'acl2' }, log);
  t.teardown(() => wrong.stop());
  pub.publish(variedAlert(8, BASE_US));
  await until(() => c.ingest.counters.inserted === 2, 5000, 'second alert');
  await new Promise((r) => setTimeout(r, 300));
  t.equal(wrong.store.bounds().alerts, 0, 'nothing reaches a collector logged in as a sensor');
  const wrongLogin = memoryLog();
  const { collector: bad } = await startCollector(secured.url, dir.path, { username: 'collector', password: 'nope' }, wrongLogin);
  t.teardown(() => bad.stop());
  await until(() => wrongLogin.lines.some((l) => /refused login as user "collector"/.test(l)), 5000, 'login refusal line');
  t.equal(wrongLogin.lines.filter((l) => l.startsWith('error')).length, 1, 'said once, not once per retry');
});

t.test('hostile messages are counted and dropped; the collector keeps going', async (t) => {
  const c = await collector(t, broker.url, { group: 'hostile' });
  const raw = await mqtt.connectAsync(broker.url, { protocolVersion: 5, clientId: 'hostile-publisher' });
  t.teardown(() => raw.endAsync(true));
  const topic = 'picket/v1/lab/evil/alert';
  await raw.publishAsync(topic, Buffer.from([0xff, 0xff, 0xff, 0x0f, 0x01]), { qos: 1 });
  await raw.publishAsync(topic, Buffer.alloc(290 * 1024, 0x0a), { qos: 1 });
  await raw.publishAsync(topic, Buffer.from(picket.v1.Alert.encode({ severity: 3, reason: 'no id' }).finish()), { qos: 1 });
  await raw.publishAsync(topic, Buffer.from(picket.v1.Alert.encode({ id: 'x', severity: 9 as picket.v1.Severity }).finish()), { qos: 1 });
  await raw.publishAsync('picket/v1/lab/evil/status', Buffer.from(picket.v1.SensorStatus.encode({ sensorId: 'evil', state: 0 }).finish()), { qos: 1 });
  await raw.publishAsync('picket/v1/lab/evil/status', Buffer.alloc(0), { qos: 1, retain: true });
  const good = variedAlert(3, BASE_US, { reason: 'still here' });
  await raw.publishAsync(topic, Buffer.from(encodeAlert(good)), { qos: 1 });
  await raw.publishAsync('picket/v1/lab/evil/status', Buffer.from(encodeStatus({
    sensorId: 'evil', site: 'lab', state: 'online', timeUs: Date.now() * 1000, version: '<img src=x onerror=alert(1)>', startedUs: 0, uptimeS: 0,
    packets: 0, drops: 0, flows: 0, queueDepth: 0, queueBytes: 0, queueDropped: 0, alerts: { low: 0, medium: 0, high: 0, critical: 0 }, lastError: '', lastErrorUs: 0,
  })), { qos: 1 });
  await until(() => c.ingest.counters.inserted === 1 && c.ingest.counters.statusMessages >= 3, 5000, 'the good alert and status');
  const rejected = c.ingest.counters.rejected;
  t.equal(rejected['alert.protobuf'], 1);
  t.equal(rejected['alert.id_missing'], 1);
  t.equal(rejected['alert.severity'], 1);
  t.equal(rejected['status.state'], 1);
  t.equal(rejected['status.empty'], 1);
  // The oversize message is refused by the broker (MQTT 5 Maximum Packet Size) or by the decoder.
  t.ok(rejected['alert.too_large'] === 1 || rejected['alert.too_large'] === undefined);
  t.equal(c.store.get(good.id)?.reason, 'still here');
  t.equal(c.health().broker.connects, 1, 'no reconnect was needed');
  t.equal(c.store.sensors.list(120e6).find((s) => s.sensorId === 'evil')?.version, '<img src=x onerror=alert(1)>', 'stored as text');
});
