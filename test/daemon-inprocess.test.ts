/**
 * The Daemon class in this process (the process tests cover signals and exit codes; these cover
 * the wiring line by line): NetFlow from softflowd through detection to --flows-jsonl and the
 * metrics; live capture on a veth (pk-dmn-d, 10.17.4.0/24) with a filter and threshold reload;
 * reload failures; stop.
 */
import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Daemon, StartError } from '../agent/daemon/daemon.js';
import { defaultConfig } from '../agent/daemon/config-loader.js';
import { createLogger } from '../agent/daemon/logger.js';
import { SettingsError, type DaemonSettings } from '../agent/daemon/settings.js';
import type { PicketConfig } from '../agent/daemon/config-schema.js';
import { createVeth, deleteVeth, fetchText, metric, sh, sleep, udpFromNs } from './daemon-process.js';

const IPHONE = new URL('../../shared/corpora/ndpi/pcap/iphone.pcap', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'pk-dmn-inproc-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

/** A logger that keeps its JSON lines. */
function memoryLog(level = 'info'): { log: ReturnType<typeof createLogger>; lines: () => Array<Record<string, any>> } {
  let text = '';
  const dest = new Writable({
    write(c: Buffer, _e, cb) {
      text += c.toString();
      cb();
    },
  });
  return { log: createLogger(level, dest), lines: () => text.trim().split('\n').filter((l) => l).map((l) => JSON.parse(l) as Record<string, any>) };
}

function settings(c: PicketConfig): DaemonSettings {
  return { configPath: undefined, config: c, broker: undefined };
}

const haveSoftflowd = spawnSync('softflowd', ['-h']).error === undefined;

t.test('NetFlow in: records to detection, flows file and metrics; reloads; stop', { skip: haveSoftflowd ? false : 'softflowd not installed' }, async (t) => {
  const c = defaultConfig();
  c.netflow.listen = '127.0.0.1:0';
  c.metrics.listen = '127.0.0.1:0';
  c.flows.jsonl = join(dir, 'nf-flows.jsonl');
  c.alerts.jsonl = join(dir, 'nf-alerts.jsonl');
  c.model.path = join(dir, 'model.pif'); // does not exist: the learner starts learning
  const { log, lines } = memoryLog();
  let next: DaemonSettings | Error = settings(structuredClone(c));
  const d = new Daemon(settings(c), {
    log,
    version: 'test',
    resolve: () => {
      if (next instanceof Error) throw next;
      return next;
    },
  });
  await d.start();
  t.teardown(() => d.stop('teardown'));
  const started = lines().find((l) => l.event === 'started');
  t.match(started?.msg, /collecting NetFlow\/IPFIX on 127\.0\.0\.1:0 \(port \d+\).*alerts to .*nf-alerts\.jsonl.*flows to .*nf-flows\.jsonl.*metrics on http/);
  t.ok(lines().some((l) => l.component === 'model' && /no anomaly model at .* yet/.test(l.msg)), 'model: learning');
  const url = `http://127.0.0.1:${d.metricsAddress!.port}/metrics`;

  const out = await new Promise<string>((resolve, reject) => {
    const p = spawn('softflowd', ['-r', IPHONE, '-n', `127.0.0.1:${d.netflowPort}`, '-v', '10', '-a', '-6', '-d', '-p', 'p', '-c', 'c'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    p.stdout.on('data', (b: Buffer) => (text += b.toString()));
    p.stderr.on('data', (b: Buffer) => (text += b.toString()));
    p.on('error', reject);
    p.on('close', () => resolve(text));
  });
  const records = Number(/\((\d+) records\)/.exec(out)?.[1]);
  t.ok(records > 50, `softflowd exported ${records} records`);
  let m = '';
  for (let i = 0; i < 50; i++) {
    m = await fetchText(url);
    if (metric(m, 'picket_netflow_records_total') === records) break;
    await sleep(100);
  }
  t.equal(metric(m, 'picket_netflow_records_total'), records);
  t.equal(metric(m, 'picket_flows_active'), 0, 'no packet flows');
  t.equal(metric(m, 'picket_model_age_seconds', `model="${c.model.path}"`), undefined, 'no model yet: no age');

  // Reload: thresholds, allow-list, log level apply; a cold key is reported; the collector keeps going.
  const n = structuredClone(c);
  n.detectors = { port_scan: { verticalPorts: 10 } };
  n.allow.hosts = ['192.0.2.0/24'];
  n.logging.level = 'debug';
  n.flows.max = 1000;
  next = settings(n);
  t.equal(await d.reload(), true);
  const reloaded = lines().find((l) => l.event === 'reloaded');
  t.match(reloaded?.msg, /applied logging\.level, allow\.hosts, detectors/);
  t.match(lines().find((l) => l.event === 'reload_needs_restart')?.msg, /flows\.max/);
  t.equal(d.config.flows.max, c.flows.max, 'the running flows.max is unchanged');
  t.equal(d.config.logging.level, 'debug');
  // A bad detector setting (past the loader, e.g. a programmatic config) is refused whole.
  const bad = structuredClone(n);
  bad.detectors = { port_scan: { nope: 1 } };
  next = settings(bad);
  t.equal(await d.reload(), false);
  t.match(lines().filter((l) => l.event === 'reload_failed').at(-1)?.msg, /unknown setting "nope"/);
  next = new SettingsError(['picket.yaml:3: broken']);
  t.equal(await d.reload(), false);
  t.match(lines().filter((l) => l.event === 'reload_failed').at(-1)?.msg, /keeping the running configuration: picket\.yaml:3: broken/);
  m = await fetchText(url);
  t.equal(metric(m, 'picket_config_reloads_total', 'result="ok"'), 1);
  t.equal(metric(m, 'picket_config_reloads_total', 'result="failed"'), 2);

  await d.stop('test done');
  t.equal(await d.wait(), 0);
  t.equal(await d.reload(), false, 'no reload once stopped');
  const flows = readFileSync(c.flows.jsonl, 'utf8').trim().split('\n');
  t.equal(flows.length, records, 'every record in the flows file');
  t.match(lines().find((l) => l.event === 'stopped')?.msg, new RegExp(`${records} NetFlow records`));
  t.ok(existsSync(c.alerts.jsonl), 'alerts file created');
});

t.test('start failures close what was opened', async (t) => {
  const c = defaultConfig();
  c.netflow.listen = '127.0.0.1:0';
  c.metrics.listen = '127.0.0.1:0';
  c.flows.jsonl = '/nonexistent/dir/f.jsonl';
  const { log } = memoryLog();
  const d = new Daemon(settings(c), { log });
  await t.rejects(d.start(), new StartError('cannot open --flows-jsonl /nonexistent/dir/f.jsonl for appending (ENOENT): check the path and its permissions'));
  const none = defaultConfig();
  none.metrics.listen = '';
  await t.rejects(new Daemon(settings(none), { log }).start(), /^nothing to do/);
  // NetFlow port taken: the collector's one line.
  const first = defaultConfig();
  first.netflow.listen = '127.0.0.1:0';
  first.metrics.listen = '';
  const a = new Daemon(settings(first), { log });
  await a.start();
  const second = defaultConfig();
  second.netflow.listen = `127.0.0.1:${a.netflowPort}`;
  second.metrics.listen = '';
  await t.rejects(new Daemon(settings(second), { log }).start(), /netflow: cannot listen on 127\.0\.0\.1:\d+ \(EADDRINUSE\)/);
  await a.stop('done');
});

t.test('live capture in-process: filter reload keeps the flow, stop exports it', { skip: process.getuid?.() !== 0 ? 'needs root' : false }, async (t) => {
  const v = createVeth('d', 4);
  t.teardown(() => deleteVeth(v));
  const ghost = '10.17.4.99';
  sh('ip', ['netns', 'exec', v.ns, 'ip', 'neigh', 'add', ghost, 'lladdr', '02:00:00:00:00:99', 'dev', v.nsIf]);
  const c = defaultConfig();
  c.capture.interfaces = [v.hostIf];
  c.capture.filter = 'udp';
  c.capture.timeout_ms = 20;
  c.capture.stats_interval = 0.5;
  c.metrics.listen = '127.0.0.1:0';
  c.flows.jsonl = join(dir, 'live-flows.jsonl');
  const { log, lines } = memoryLog();
  let next = settings(structuredClone(c));
  const d = new Daemon(settings(c), { log, resolve: () => next });
  await d.start();
  t.teardown(() => d.stop('teardown'));
  const url = `http://127.0.0.1:${d.metricsAddress!.port}/metrics`;
  const iface = `interface="${v.hostIf}"`;
  const waitPackets = async (n: number): Promise<string> => {
    let m = '';
    for (let i = 0; i < 100; i++) {
      m = await fetchText(url);
      if ((metric(m, 'picket_packets_total', iface) ?? 0) >= n) break;
      await sleep(50);
    }
    return m;
  };
  udpFromNs(v, ghost, 6000, 10, 50, 41000);
  let m = await waitPackets(10);
  t.equal(metric(m, 'picket_packets_total', iface), 10);
  t.equal(metric(m, 'picket_flows_active'), 1);
  const n = structuredClone(c);
  n.capture.filter = 'udp port 6000';
  n.zones = { trust: ['10.17.0.0/16'], guest: [], lab: ['192.0.2.0/24'] };
  next = settings(n);
  t.equal(await d.reload(), true);
  t.match(lines().find((l) => l.event === 'reloaded')?.msg, /applied capture\.filter, zones.*1 flows kept/);
  udpFromNs(v, ghost, 6001, 5, 50, 41001); // filtered out now
  udpFromNs(v, ghost, 6000, 10, 50, 41000);
  m = await waitPackets(20);
  t.equal(metric(m, 'picket_packets_total', iface), 20, 'port 6001 filtered out after the reload');
  const badFilter = structuredClone(n);
  badFilter.capture.filter = 'port 99999';
  next = settings(badFilter);
  t.equal(await d.reload(), false);
  t.equal(d.config.capture.filter, 'udp port 6000', 'filter kept');
  await d.stop('done');
  const flows = readFileSync(c.flows.jsonl, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, any>);
  t.equal(flows.length, 1);
  t.equal(flows[0]!.source.packets, 20, 'one flow, counted across the reload');
  writeFileSync(join(dir, 'done'), '');
});
