/**
 * Alerts to a real mosquitto from the commands: `picket replay CAPTURE --broker` publishes the
 * alerts it raises and exits once every one is acknowledged; with the broker down it says in one
 * line how many are left after --flush-timeout (exit 3) and keeps them in --queue-dir; then
 * `picket run --broker --queue-dir` with no capture source publishes them and exits when drained.
 *
 * Needs the Debian package mosquitto.
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

const SCAN = new URL('../../shared/corpora/attacks/esnet-curated/attacks/scanners/masscan/tcp_0_1000_20190821.pcap', import.meta.url).pathname;
const haveMosquitto = spawnSync('mosquitto', ['-h']).error === undefined;

async function exit(p: PicketProcess, ms = 90_000): Promise<number | null> {
  const timer = setTimeout(() => p.signal('SIGKILL'), ms);
  const e = await p.exited;
  clearTimeout(timer);
  return e.code;
}

t.test('replay → broker, outage → queue, run drains the queue', { skip: haveMosquitto ? false : 'mosquitto not installed' }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pk-dmn-q-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const broker = await startMosquitto();
  t.teardown(() => broker.close());
  const collector = await AlertCollector.connect({ url: broker.url });
  t.teardown(() => collector.close());
  const common = ['--broker', broker.url, '--sensor', 's1', '--site', 'lab'];

  // 1. Broker up: every raised alert arrives, as written to --alerts-jsonl.
  const f1 = join(dir, 'a1.jsonl');
  const r1 = new PicketProcess(['replay', SCAN, '--speed', 'max', '--no-records', ...common, '--alerts-jsonl', f1]);
  t.equal(await exit(r1), 0, `replay exits 0 once everything is acknowledged\n${r1.stderr}`);
  const raised1 = raisedAlerts(f1);
  t.ok(raised1.size >= 1, `${raised1.size} alerts raised`);
  t.match(r1.stderr, /alerts: \d+ raised \(medium \d+\), \d+ alert messages to mqtt:/);
  await collector.waitFor(() => [...raised1.keys()].every((id) => collector.alerts.has(id)), 10_000, 'replayed alerts');
  for (const [id, line] of raised1) t.equal(alertJsonLine(collector.alerts.get(id)!), line, `alert ${id}: the broker got what --alerts-jsonl says`);

  // 2. Broker down: the replay waits --flush-timeout, says how many are left, keeps them.
  await broker.stop();
  const queue = join(dir, 'queue');
  const f2 = join(dir, 'a2.jsonl');
  const r2 = new PicketProcess(['replay', SCAN, '--speed', 'max', '--no-records', '--quiet', ...common, '--queue-dir', queue, '--flush-timeout', '1', '--alerts-jsonl', f2]);
  t.equal(await exit(r2), 3, 'exit 3: alerts left');
  const raised2 = raisedAlerts(f2);
  const left = /^picket replay: (\d+) alerts left in the queue after waiting 1 s for mqtt:\/\/127\.0\.0\.1:\d+; they stay in (.*) for the next run$/m.exec(r2.stderr);
  t.ok(left, `one line says how many are left:\n${r2.stderr}`);
  t.equal(left?.[2], queue);
  t.ok(Number(left?.[1]) >= raised2.size, `${left?.[1]} alert messages queued for ${raised2.size} alerts`);
  t.match(r2.stderr, /refused the connection \(nothing listening\?\)/, 'and why');

  // 3. Broker back: `picket run` with only the queue publishes it and exits when drained.
  await broker.start();
  const d = new PicketProcess(['run', ...common, '--queue-dir', queue, '--metrics', '']);
  const code = await exit(d);
  t.equal(code, 0, `picket run exits 0 once the queue is drained\n${d.stdout.slice(-1500)}`);
  t.ok(d.lines().some((l) => l.event === 'draining' && /publishing the \d+ queued alerts/.test(l.msg)), 'says it is draining');
  t.ok(d.lines().some((l) => l.event === 'stopping' && /queue drained/.test(l.msg)));
  await collector.waitFor(() => [...raised2.keys()].every((id) => collector.alerts.has(id)), 10_000, 'queued alerts');
  for (const [id, line] of raised2) t.equal(alertJsonLine(collector.alerts.get(id)!), line, `queued alert ${id} delivered after the outage`);
  t.equal(collector.badPayloads, 0);

  // 4. Nothing left: a second drain exits at once.
  const again = new PicketProcess(['run', ...common, '--queue-dir', queue, '--metrics', '']);
  t.equal(await exit(again), 0);
  t.ok(again.lines().some((l) => l.event === 'draining' && /publishing the 0 queued alerts/.test(l.msg)));
});
