/**
 * The shipped broker example (systemd/mosquitto/picket.conf + picket.acl) run by a real mosquitto:
 * a sensor writes only its own topics, collectors read everything, anonymous clients are refused.
 */
import { readFileSync } from 'node:fs';
import t from 'tap';
import mqtt, { type IClientOptions } from 'mqtt';
import { AlertPublisher, type PublisherLog } from '../agent/sink/mqtt/alert-publisher.js';
import { brokerOptionsFromFlags } from '../agent/sink/mqtt/broker-options.js';
import { encodeAlert } from '../agent/sink/wire/alert-wire.js';
import { AlertCollector } from './helpers/alert-collector.js';
import { alertFor } from './helpers/alert-sequence.js';
import { startMosquitto } from './helpers/mosquitto.js';
import { makeTestPki } from './helpers/pki.js';

const pki = makeTestPki();
t.teardown(() => pki.cleanup());
const example = (f: string): string => readFileSync(new URL(`../systemd/mosquitto/${f}`, import.meta.url), 'utf8');

// The example as shipped, with only host paths and ports pointed at the test's files.
const config = example('picket.conf')
  .replaceAll('/etc/mosquitto/certs/ca.crt', pki.ca)
  .replaceAll('/etc/mosquitto/certs/server.crt', pki.serverCert)
  .replaceAll('/etc/mosquitto/certs/server.key', pki.serverKey)
  .replaceAll('/etc/mosquitto/picket.passwd', '{{DIR}}/passwords')
  .replaceAll('/etc/mosquitto/picket.acl', '{{DIR}}/acl')
  .replace('listener 1883 127.0.0.1', 'listener {{PORT}} 127.0.0.1')
  .replace(/^listener 8883$/m, 'listener {{TLS_PORT}} 127.0.0.1');

const users = { 'edge-1': 'pw-edge-1', 'edge-2': 'pw-edge-2', collector: 'pw-collector' };
const broker = await startMosquitto({ config, users, acl: example('picket.acl') });
t.teardown(() => broker.close());

const collector = await AlertCollector.connect({ url: broker.url, username: 'collector', password: 'pw-collector', clientId: 'acl-collector' });
t.teardown(() => collector.close());

// Subtests only after the last top-level await: tap ends the root test once its subtests are done.
t.test('the example maps onto test paths completely', async (t) => {
  t.notMatch(config.split('\n').filter((l) => !l.startsWith('#')).join('\n'), /\/etc\/mosquitto/, 'every host path in a setting was mapped');
});

const quietLog = (): PublisherLog & { lines: string[] } => {
  const lines: string[] = [];
  return { lines, info: (m) => lines.push(m), warn: (m) => lines.push(m), error: (m) => lines.push(`error ${m}`) };
};

t.test('a sensor publishes its own alerts over TLS; the collector reads them', async (t) => {
  const o = brokerOptionsFromFlags(
    { broker: broker.tlsUrl, site: 'hq', sensor: 'edge-1', 'broker-user': 'edge-1', 'broker-ca': pki.ca },
    {},
    { PICKET_BROKER_PASSWORD: 'pw-edge-1' },
  )!;
  const pub = new AlertPublisher(o, { log: quietLog() });
  await pub.start();
  const a = alertFor(1, 'x', 'y');
  pub.publish(a);
  t.same(await pub.flush(5000), { acked: 1, left: 0 });
  await collector.waitFor(() => collector.alerts.has(a.id), 5000, 'the alert');
  await collector.waitFor(() => collector.statuses.some((s) => s.topic === 'picket/v1/hq/edge-1/status'), 5000, 'the status');
  await pub.stop();
});

async function client(version: 4 | 5, user: string, password: string): Promise<mqtt.MqttClient> {
  const opts: IClientOptions = { protocolVersion: version, username: user, password, clientId: `${user}-raw-${version}`, reconnectPeriod: 0 };
  return mqtt.connectAsync(broker.url, opts);
}

for (const version of [5, 4] as const) {
  t.test(`MQTT ${version === 5 ? '5' : '3.1.1'}: a sensor cannot publish to another sensor's topic`, async (t) => {
    const c = await client(version, 'edge-1', 'pw-edge-1');
    t.teardown(() => c.endAsync(true));
    const forged = alertFor(100 + version, 'edge-2', 'hq');
    const own = alertFor(200 + version, 'edge-1', 'hq');
    const forgedResult = await c.publishAsync('picket/v1/hq/edge-2/alert', Buffer.from(encodeAlert(forged)), { qos: 1 }).then(
      () => 'acknowledged',
      (err: Error) => err.message,
    );
    if (version === 5) t.match(forgedResult, /Not authorized/, 'MQTT 5: PUBACK says not authorized');
    await c.publishAsync('picket/v1/hq/edge-1/alert', Buffer.from(encodeAlert(own)), { qos: 1 });
    await collector.waitFor(() => collector.alerts.has(own.id), 5000, 'own alert');
    // Same client, same topic tree, in order: had the forged one passed, it would be here already.
    t.notOk(collector.alerts.has(forged.id), 'the forged alert never reached the collector');
  });
}

t.test('a sensor reads nothing; anonymous clients are refused', async (t) => {
  const spy = await client(5, 'edge-2', 'pw-edge-2');
  t.teardown(() => spy.endAsync(true));
  let seen = 0;
  spy.on('message', () => seen++);
  await spy.subscribeAsync('picket/v1/#', { qos: 1 });
  const c = await client(5, 'edge-1', 'pw-edge-1');
  t.teardown(() => c.endAsync(true));
  const a = alertFor(300, 'edge-1', 'hq');
  await c.publishAsync('picket/v1/hq/edge-1/alert', Buffer.from(encodeAlert(a)), { qos: 1 });
  await collector.waitFor(() => collector.alerts.has(a.id), 5000, 'alert');
  await new Promise((r) => setTimeout(r, 200));
  t.equal(seen, 0, 'edge-2 received nothing');
  await t.rejects(mqtt.connectAsync(broker.url, { reconnectPeriod: 0, clientId: 'anon' }), /Not authorized|Bad User Name or Password/i);
});

t.test('a sensor claiming another id is refused with one clear line', async (t) => {
  const o = brokerOptionsFromFlags(
    { broker: broker.url, site: 'hq', sensor: 'edge-2', 'broker-user': 'edge-1' },
    { reconnectMinMs: 50, reconnectMaxMs: 200 },
    { PICKET_BROKER_PASSWORD: 'pw-edge-1' },
  )!;
  const log = quietLog();
  const pub = new AlertPublisher(o, { log });
  const before = broker.log.length;
  await pub.start();
  for (let k = 0; k < 3; k++) pub.publish(alertFor(k, 'x', 'y'));
  await new Promise((r) => setTimeout(r, 1000));
  const tries = (broker.log.slice(before).match(/as edge-2 /g) ?? []).length;
  t.ok(tries >= 2, `${tries} connections, each refused publishing`);
  const errors = log.lines.filter((l) => l.startsWith('error'));
  t.equal(errors.length, 1, 'one line', { lines: log.lines });
  t.match(errors[0], /refused alerts on picket\/v1\/hq\/edge-2\/alert \(Not authorized\): check that its ACL lets user "edge-1" write this topic/);
  t.equal(log.lines.length, 2, 'plus the first "connected" line, nothing per retry');
  t.equal(pub.stats().acked, 0);
  await pub.stop();
});
