/**
 * Alerts through AlertPublisher to a real mosquitto arrive decoded and complete; status is
 * retained (online on connect, offline on stop, offline by the Will when the sensor dies).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import type { Alert } from '../agent/alert/alert.js';
import { alertJsonLine } from '../agent/alert/alert-json.js';
import { AlertPublisher, type PublisherLog } from '../agent/sink/mqtt/alert-publisher.js';
import { brokerOptionsFromFlags, type BrokerOptions } from '../agent/sink/mqtt/broker-options.js';
import { AlertCollector } from './helpers/alert-collector.js';
import { startMosquitto } from './helpers/mosquitto.js';
import { alertFor } from './helpers/alert-sequence.js';
import { raisedAlerts, spawnSensor } from './helpers/sensor-process.js';

function memoryLog(): PublisherLog & { lines: string[] } {
  const lines: string[] = [];
  return { lines, info: (m) => lines.push(`info ${m}`), warn: (m) => lines.push(`warn ${m}`), error: (m) => lines.push(`error ${m}`) };
}

function options(url: string, extra: Record<string, string> = {}, base: Partial<BrokerOptions> = {}): BrokerOptions {
  const o = brokerOptionsFromFlags({ broker: url, site: 'lab', sensor: 'edge-1', ...extra }, { reconnectMinMs: 50, reconnectMaxMs: 500, ...base }, {});
  if (!o) throw new Error('no options');
  return o;
}

const broker = await startMosquitto();
t.teardown(() => broker.close());

for (const version of ['5', '3.1.1'] as const) {
  t.test(`MQTT ${version}: every alert arrives decoded and complete, in order`, async (t) => {
    const collector = await AlertCollector.connect({ url: broker.url, protocolVersion: version === '5' ? 5 : 4 });
    t.teardown(() => collector.close());
    const log = memoryLog();
    const sensor = `edge-${version.replace(/\./g, '')}`;
    const pub = new AlertPublisher(options(broker.url, { 'mqtt-version': version, sensor }), {
      log,
      status: () => ({ packets: 1234, drops: 5, flows: 67 }),
    });
    await pub.start();
    const sent: Alert[] = [];
    for (let k = 0; k < 300; k++) {
      const a = alertFor(k, 'ignored', 'ignored');
      delete a.sensorId;
      delete a.site;
      sent.push(a);
      pub.publish(a);
    }
    const r = await pub.flush(10_000);
    t.same(r, { acked: 300, left: 0 });
    await collector.waitFor(() => collector.alerts.size === 300, 10_000, '300 alerts');
    // The publisher stamps sensor and site; everything else is as raised.
    const mismatches = sent.filter((a) => {
      const got = collector.alerts.get(a.id);
      return !got || alertJsonLine(got) !== alertJsonLine({ ...a, sensorId: sensor, site: 'lab' });
    });
    t.same(mismatches, [], 'all 300 complete (JSON form identical)');
    t.equal(collector.badPayloads, 0);
    const order = [...collector.alerts.keys()];
    t.same(order, sent.map((a) => a.id), 'arrival order = publish order');
    const online = collector.statuses.find((s) => s.topic === `picket/v1/lab/${sensor}/status` && s.status.state === 'online');
    t.ok(online, 'online status published on connect');
    t.equal(online?.status.packets, 1234);
    t.equal(online?.status.flows, 67);
    await pub.stop();
    await collector.waitFor(() => collector.statuses.some((s) => s.topic.includes(sensor) && s.status.state === 'offline'), 5000, 'offline status');
    const off = collector.statuses.filter((s) => s.topic.includes(sensor)).at(-1)!;
    t.equal(off.status.state, 'offline');
    t.same(off.status.alerts, { low: 75, medium: 75, high: 75, critical: 75 });
    t.same(log.lines.filter((l) => l.startsWith('error')), [], 'no errors logged');
    t.same(pub.stats().acked, 300);
  });
}

t.test('status is retained: a late subscriber sees the last one', async (t) => {
  const pub = new AlertPublisher(options(broker.url, { sensor: 'retained-1' }, { statusIntervalMs: 100 }), { log: memoryLog() });
  await pub.start();
  pub.publish(alertFor(1, 'x', 'y'));
  await pub.flush(5000);
  await new Promise((r) => setTimeout(r, 250)); // at least one periodic status
  const late = await AlertCollector.connect({ url: broker.url, topic: 'picket/v1/lab/retained-1/status', clientId: 'late-1' });
  t.teardown(() => late.close());
  await late.waitFor(() => late.statuses.length > 0, 5000, 'retained status');
  t.equal(late.statuses[0]!.retained, true);
  t.equal(late.statuses[0]!.status.state, 'online');
  t.equal(late.statuses[0]!.status.alerts.medium, 1);
  t.ok(late.statuses[0]!.status.uptimeS >= 0);
  await pub.stop();
});

t.test('the Will marks a killed sensor offline (retained)', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pk-will-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const watcher = await AlertCollector.connect({ url: broker.url, topic: 'picket/v1/lab/will-1/status', clientId: 'will-watch' });
  t.teardown(() => watcher.close());
  const jsonl = join(dir, 'alerts.jsonl');
  const run = spawnSensor(['--broker', broker.url, '--site', 'lab', '--sensor', 'will-1', '--count', '100000', '--rate', '50', '--alerts-jsonl', jsonl]);
  await watcher.waitFor(() => watcher.statuses.some((s) => s.status.state === 'online'), 20_000, 'online');
  run.proc.kill('SIGKILL');
  await run.exited;
  await watcher.waitFor(() => watcher.statuses.at(-1)?.status.state === 'offline', 10_000, 'offline by Will');
  t.equal(watcher.statuses.at(-1)!.status.sensorId, 'will-1');
  t.ok(raisedAlerts(jsonl).size >= 0);
});
