/**
 * The delivery promise under failure, with a real mosquitto and the sensor as a child process:
 * the broker stopped mid-stream and restarted, and the sensor SIGKILLed mid-stream and restarted
 * with the same --queue-dir. Every raised alert (from --alerts-jsonl) must arrive, complete;
 * duplicates are allowed (at-least-once), the collector de-duplicates by id.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { alertJsonLine } from '../agent/alert/alert-json.js';
import { AlertCollector } from './helpers/alert-collector.js';
import { startMosquitto } from './helpers/mosquitto.js';
import { picketLines, raisedAlerts, spawnSensor } from './helpers/sensor-process.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function tempDir(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'pk-outage-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Raised alerts that did not arrive, or arrived different. */
function missing(raised: Map<string, string>, c: AlertCollector): string[] {
  const out: string[] = [];
  for (const [id, line] of raised) {
    const got = c.alerts.get(id);
    if (!got || alertJsonLine(got) !== line) out.push(id);
  }
  return out;
}

t.test('broker stopped mid-stream and restarted: every alert arrives', async (t) => {
  const broker = await startMosquitto();
  t.teardown(() => broker.close());
  const dir = tempDir(t);
  const jsonl = join(dir, 'alerts.jsonl');
  const collector = await AlertCollector.connect({ url: broker.url, clientId: 'outage-collector' });
  t.teardown(() => collector.close());
  const run = spawnSensor([
    '--broker', broker.url, '--site', 'lab', '--sensor', 'outage-1', '--queue-dir', join(dir, 'q'),
    '--alerts-jsonl', jsonl, '--count', '800', '--rate', '250', '--flush-timeout-ms', '30000',
  ]);
  await collector.waitFor(() => collector.alerts.size >= 150, 20_000, '150 alerts before the outage');
  await broker.stop();
  const during = collector.alerts.size;
  await sleep(1500); // the sensor keeps raising alerts into its queue meanwhile
  await broker.start();
  const exit = await run.exited;
  t.equal(exit.code, 0, 'the sensor exits 0: everything acknowledged');
  const raised = raisedAlerts(jsonl);
  t.equal(raised.size, 800);
  await collector.waitFor(() => missing(raised, collector).length === 0, 20_000, 'all raised alerts');
  t.same(missing(raised, collector), []);
  t.ok(during < 800, `outage happened mid-stream (${during} delivered before it)`);
  const lines = picketLines(run.stderr());
  t.equal(lines.filter((l) => l.includes('lost connection')).length, 1, 'one line when the broker went away', { lines });
  t.ok(lines.filter((l) => l.includes('refused the connection')).length <= 1, 'retries are not logged one by one');
  t.ok(lines.some((l) => l.includes('connected to broker')), 'says when it is back');
  t.match(run.stdout(), /"left":0/);
});

t.test('sensor SIGKILLed mid-stream and restarted with the same queue: every alert arrives', async (t) => {
  const broker = await startMosquitto();
  t.teardown(() => broker.close());
  const dir = tempDir(t);
  const jsonl = join(dir, 'alerts.jsonl');
  const queueDir = join(dir, 'q');
  const collector = await AlertCollector.connect({ url: broker.url, clientId: 'kill-collector' });
  t.teardown(() => collector.close());
  const common = ['--broker', broker.url, '--site', 'lab', '--sensor', 'kill-1', '--queue-dir', queueDir, '--alerts-jsonl', jsonl];
  // 400 alerts/s: at the kill most are delivered, some are in flight and some only queued.
  const first = spawnSensor([...common, '--count', '3000', '--rate', '400']);
  await collector.waitFor(() => collector.alerts.size >= 200, 20_000, '200 alerts before the kill');
  first.proc.kill('SIGKILL');
  const killed = await first.exited;
  t.equal(killed.signal, 'SIGKILL');
  const raisedBefore = raisedAlerts(jsonl).size;
  t.ok(raisedBefore < 3000, `killed mid-stream after raising ${raisedBefore}`);

  const second = spawnSensor([...common, '--count', '100', '--first', '3000', '--flush-timeout-ms', '30000']);
  const exit = await second.exited;
  t.equal(exit.code, 0, second.stderr());
  t.match(second.stderr(), /resuming \d+ queued alerts/, 'the restart says it resumes the queue');
  const raised = raisedAlerts(jsonl);
  t.equal(raised.size, raisedBefore + 100);
  await collector.waitFor(() => missing(raised, collector).length === 0, 20_000, 'all raised alerts');
  t.same(missing(raised, collector), []);
  t.ok(collector.received >= collector.alerts.size, `${collector.received - collector.alerts.size} duplicates (allowed)`);
});
