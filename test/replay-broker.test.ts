/**
 * The delivery promise end to end with the real sensor command: `picket replay` of a capture with
 * real attacks (samples/demo.pcap: scans, SSH brute force, a beacon, a DNS tunnel, a SYN flood)
 * publishing to a real mosquitto while (1) nothing fails, (2) the broker is stopped mid-stream and
 * restarted, (3) the sensor is killed with SIGKILL mid-stream and started again with the same
 * --queue-dir. Every alert written to --alerts-jsonl must reach the broker, decoded and complete
 * (its last version equal to the last line written for its id); duplicates are allowed.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { alertJsonLine } from '../agent/alert/alert-json.js';
import { AlertCollector } from './helpers/alert-collector.js';
import { startMosquitto } from './helpers/mosquitto.js';
import { raisedAlerts } from './helpers/sensor-process.js';
import { PicketProcess } from './daemon-process.js';

const DEMO = new URL('../samples/demo.pcap', import.meta.url).pathname; // 90 minutes of traffic
const haveMosquitto = spawnSync('mosquitto', ['-h']).error === undefined;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Raised alerts that did not arrive, or whose last version differs from the last one raised. */
function missing(raised: Map<string, string>, c: AlertCollector): string[] {
  return [...raised].filter(([id, line]) => {
    const got = c.alerts.get(id);
    return !got || alertJsonLine(got) !== line;
  }).map(([id]) => id);
}

async function exit(p: PicketProcess, ms = 120_000): Promise<number | null> {
  const timer = setTimeout(() => p.signal('SIGKILL'), ms);
  const e = await p.exited;
  clearTimeout(timer);
  return e.code;
}

const skip = haveMosquitto ? false : 'mosquitto not installed';

t.test('replay of an attack capture: every alert arrives decoded and complete', { skip }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pk-replay-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const broker = await startMosquitto();
  t.teardown(() => broker.close());
  const collector = await AlertCollector.connect({ url: broker.url, clientId: 'replay-ok' });
  t.teardown(() => collector.close());
  const jsonl = join(dir, 'alerts.jsonl');
  const p = new PicketProcess(['replay', DEMO, '--speed', 'max', '--no-records', '--quiet', '--broker', broker.url, '--site', 'lab', '--sensor', 'edge-ok', '--queue-dir', join(dir, 'q'), '--alerts-jsonl', jsonl]);
  t.equal(await exit(p), 0, `exits 0 once every alert is acknowledged\n${p.stderr}`);
  const raised = raisedAlerts(jsonl);
  t.ok(raised.size >= 8, `${raised.size} alerts raised`);
  const detectors = new Set([...raised.values()].map((l) => (JSON.parse(l) as { rule: { name: string } }).rule.name));
  t.ok(['port_scan', 'brute_force', 'beacon', 'dns_tunnel', 'ddos'].every((d) => detectors.has(d)), `detectors: ${[...detectors].join(', ')}`);
  await collector.waitFor(() => missing(raised, collector).length === 0, 20_000, 'every raised alert');
  t.same(missing(raised, collector), []);
  const a = [...collector.alerts.values()][0]!;
  t.equal(a.sensorId, 'edge-ok');
  t.equal(a.site, 'lab');
  t.ok(a.reason.length > 10 && a.technique.startsWith('T'), 'reason and technique travel');
});

t.test('broker stopped mid-stream and restarted: every alert arrives', { skip }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pk-replay-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const broker = await startMosquitto();
  t.teardown(() => broker.close());
  const collector = await AlertCollector.connect({ url: broker.url, clientId: 'replay-outage' });
  t.teardown(() => collector.close());
  const jsonl = join(dir, 'alerts.jsonl');
  // 90 minutes at 300× ≈ 18 s: alerts keep coming while the broker is away.
  const p = new PicketProcess(['replay', DEMO, '--speed', '300', '--no-records', '--quiet', '--broker', broker.url, '--site', 'lab', '--sensor', 'edge-outage', '--queue-dir', join(dir, 'q'), '--alerts-jsonl', jsonl, '--flush-timeout', '60']);
  await collector.waitFor(() => collector.alerts.size >= 1, 60_000, 'a first alert before the outage');
  await broker.stop();
  const before = raisedAlerts(jsonl).size;
  await sleep(4000); // the replay goes on raising into its queue
  await broker.start();
  t.equal(await exit(p), 0, `exits 0 after the broker came back\n${p.stderr}`);
  const raised = raisedAlerts(jsonl);
  t.ok(raised.size > before, `alerts were raised during the outage (${before} before, ${raised.size} in all)`);
  await collector.waitFor(() => missing(raised, collector).length === 0, 30_000, 'every raised alert');
  t.same(missing(raised, collector), []);
});

t.test('sensor killed with SIGKILL mid-stream and started again: every alert arrives', { skip }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pk-replay-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const broker = await startMosquitto();
  t.teardown(() => broker.close());
  const collector = await AlertCollector.connect({ url: broker.url, clientId: 'replay-kill' });
  t.teardown(() => collector.close());
  const queue = join(dir, 'q');
  const first = join(dir, 'first.jsonl');
  // The broker is away when the sensor dies, so its alerts are only in the on-disk queue.
  await broker.stop();
  const p1 = new PicketProcess(['replay', DEMO, '--speed', '300', '--no-records', '--quiet', '--broker', broker.url, '--site', 'lab', '--sensor', 'edge-kill', '--queue-dir', queue, '--alerts-jsonl', first]);
  const end = Date.now() + 60_000;
  while (raisedAlerts(first).size < 3 && Date.now() < end && p1.running) await sleep(100);
  p1.signal('SIGKILL');
  const killed = await p1.exited;
  t.equal(killed.signal, 'SIGKILL', 'killed mid-stream');
  const raisedFirst = raisedAlerts(first);
  t.ok(raisedFirst.size >= 3, `${raisedFirst.size} alerts raised before the kill`);
  await broker.start();
  // Started again on the same queue: the alerts of the killed run go out first, then its own.
  const second = join(dir, 'second.jsonl');
  const p2 = new PicketProcess(['replay', DEMO, '--speed', 'max', '--no-records', '--quiet', '--broker', broker.url, '--site', 'lab', '--sensor', 'edge-kill', '--queue-dir', queue, '--alerts-jsonl', second]);
  t.equal(await exit(p2), 0, p2.stderr);
  const all = new Map([...raisedFirst, ...raisedAlerts(second)]);
  await collector.waitFor(() => missing(all, collector).length === 0, 30_000, 'every alert of both runs');
  t.same(missing(raisedFirst, collector), [], 'the killed run\'s alerts arrived from its queue');
  t.same(missing(all, collector), []);
});
