/**
 * The daemon's parts in-process: threshold and allow-list reloads change what is raised while
 * the flow table keeps its flows; the model slot's load/reload states; signal handling; JSON-lines
 * output on a full disk.
 */
import t from 'tap';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileSource } from '../agent/source/file-source.js';
import { PacketPipeline } from '../agent/pipeline/packet-pipeline.js';
import { DissectStage } from '../agent/dissect/dissect-stage.js';
import { composeObservers } from '../agent/flow/compose-observers.js';
import { AlertPath, detectConfig } from '../agent/daemon/alert-path.js';
import { defaultConfig } from '../agent/daemon/config-loader.js';
import { JsonlFile } from '../agent/daemon/jsonl-file.js';
import { ModelSlot } from '../agent/daemon/model-slot.js';
import { installSignals } from '../agent/daemon/signals.js';
import { createLogger, liveLog, publisherLog } from '../agent/daemon/logger.js';
import { makeSchema, saveModel, trainIsolationForest } from '../agent/detect/iforest/index.js';
import type { AlertCandidate } from '../agent/detect/detector.js';
import { FLOW_FEATURE_SCHEMA } from '../agent/detect/anomaly/anomaly-hooks.js';
import { Writable } from 'node:stream';

const SCAN = new URL('../../shared/corpora/attacks/esnet-curated/attacks/scanners/masscan/tcp_0_1000_20190821.pcap', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'pk-dmn-units-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

function path(name: string, jsonl?: JsonlFile): AlertPath {
  const c = defaultConfig();
  void name;
  return new AlertPath({ detect: detectConfig(c), allow: c.allow, aggregator: { windowSec: 900, updateIntervalSec: 30, maxOpen: 100 }, jsonl });
}

/** Feeds a capture through a pipeline observed by the path's detect port; returns the pipeline. */
async function feed(p: AlertPath, pipeline?: PacketPipeline): Promise<PacketPipeline> {
  const detect = p.detect;
  const pl =
    pipeline ??
    new PacketPipeline({
      observer: composeObservers(new DissectStage({ onEvent: (e) => detect.event(e) }), detect.observer),
      onRecord: () => undefined,
    });
  if (!pipeline) detect.attach(pl.table);
  await new FileSource([SCAN]).run(pl);
  return pl;
}

t.test('threshold reload: the new detectors run, the flows stay', async (t) => {
  const out = new JsonlFile(join(dir, 'alerts.jsonl'), false, () => undefined, '--alerts-jsonl');
  const p = path('a', out);
  const c = defaultConfig();
  // Port scans off: the masscan capture raises nothing.
  p.reconfigure(detectConfig({ ...c, detectors: { port_scan: false } }), c.allow);
  const pl = await feed(p);
  const flows = pl.table.stats.active;
  t.ok(flows > 900, `${flows} flows tracked`);
  p.detect.tick(pl.table.nowUs + 1e6);
  t.equal(p.counts.medium + p.counts.high + p.counts.low + p.counts.critical, 0, 'no alert with port_scan off');
  // Back on with another threshold: the same port (observer) now runs the new stage.
  p.reconfigure(detectConfig({ ...c, detectors: { port_scan: { verticalPorts: 50 } } }), c.allow);
  t.equal(pl.table.stats.active, flows, 'the reload did not touch the flow table');
  const fresh = await feed(p);
  fresh.finish();
  p.detect.finish();
  t.ok(p.counts.medium + p.counts.high >= 1, `port scan raised after the reload (${JSON.stringify(p.counts)})`);
  out.close();
  const lines = readFileSync(join(dir, 'alerts.jsonl'), 'utf8').trim().split('\n');
  t.ok(lines.length >= 1 && JSON.parse(lines[0]!).rule.name === 'port_scan', 'written to the alerts file');
  t.throws(() => p.reconfigure(detectConfig({ ...c, detectors: { port_scan: { nope: 1 } } }), c.allow), /unknown setting "nope"/, 'a bad setting is refused');
});

t.test('allow-list reload suppresses from now on; a bad entry changes nothing', async (t) => {
  const p = path('b');
  const c = defaultConfig();
  const cand = (src: string): AlertCandidate => ({
    detector: 'port_scan',
    category: 'scan',
    technique: 'T1046',
    tactic: 'discovery',
    severity: 'medium',
    score: 0.5,
    source: { ip: src, zone: 'trust' },
    destination: { ip: '192.0.2.1', zone: 'untrust' },
    evidence: { sni: 'a.example.com' },
    reason: 'test',
    firstUs: 1e15,
    lastUs: 1e15,
    count: 1,
  });
  p.aggregator.candidate(cand('10.0.0.1'));
  t.equal(p.counts.medium, 1);
  p.reconfigure(detectConfig(c), { ...c.allow, hosts: ['10.0.0.0/24'] });
  p.aggregator.candidate(cand('10.0.0.2'));
  t.equal(p.counts.medium, 1, 'allowed host suppressed');
  t.equal(p.aggregator.stats.allowed.host, 1);
  t.throws(() => p.reconfigure(detectConfig(c), { hosts: ['not-an-ip'] }), /allow\.hosts: "not-an-ip"/);
  p.aggregator.candidate(cand('10.0.0.3'));
  t.equal(p.aggregator.stats.allowed.host, 2, 'the previous allow-list still applies');
  p.reconfigure(detectConfig(c), { domains: ['example.com'] });
  t.ok(p.allow.domainAllowed('a.example.com') && !p.allow.hostAllowed('10.0.0.3') && !p.allow.empty);
  p.aggregator.candidate(cand('10.9.9.9'));
  t.equal(p.aggregator.stats.allowed.domain, 1);
});

t.test('model slot: waiting, loaded, unchanged, damaged, off', async (t) => {
  const slot = new ModelSlot();
  const file = join(dir, 'model.pif');
  t.equal(await slot.load('', 86_400), undefined, 'no model configured: nothing to say');
  const waiting = await slot.load(file, 7 * 86_400);
  t.match(waiting?.message, /no anomaly model at .* yet: .*learning period 7 days/);
  t.equal(await slot.load(file, 7 * 86_400), undefined, 'said once');
  t.equal(slot.ageSeconds(), undefined);
  const rows = new Float64Array(100).map((_, i) => i % 13);
  await saveModel(file, trainIsolationForest(rows, 50, makeSchema(['x', 'y']), { nTrees: 5, sampleSize: 16, seed: 2, createdAt: new Date(Date.now() - 60_000) }));
  const loaded = await slot.load(file, 86_400);
  t.equal(loaded?.level, 'info');
  t.match(loaded?.message, /anomaly model .* loaded \(trained .*, 5 trees, 2 features\)/);
  t.ok(slot.ageSeconds()! >= 60 && slot.ageSeconds()! < 120);
  t.equal(await slot.load(file, 86_400), undefined, 'same file: nothing to do');
  writeFileSync(file, 'not a model');
  const bad = await slot.load(file, 86_400);
  t.equal(bad?.level, 'warn');
  t.match(bad?.message, /cannot load model .*; keeping the previous model/);
  t.ok(slot.model, 'previous model kept');
  // A model of another feature schema (another build) is refused by a slot that expects this one's.
  const strict = new ModelSlot(FLOW_FEATURE_SCHEMA);
  await saveModel(file, trainIsolationForest(rows, 50, makeSchema(['x', 'y']), { nTrees: 5, sampleSize: 16, seed: 2 }));
  const other = await strict.load(file, 86_400);
  t.equal(other?.level, 'warn');
  t.match(other?.message, /cannot load model .*running without an anomaly model/);
  t.equal(strict.model, undefined);
  const off = await slot.load('', 86_400);
  t.match(off?.message, /turned off/);
  t.equal(slot.model, undefined);
});

t.test('signals: SIGHUP reloads (one at a time), SIGTERM stops, a second one exits', async (t) => {
  const calls: string[] = [];
  let exitCode = -1;
  const log = createLogger('silent');
  const uninstall = installSignals(
    {
      reload: async () => {
        calls.push('reload');
        await new Promise((r) => setTimeout(r, 20));
        return true;
      },
      stop: async (reason) => {
        calls.push(`stop ${reason}`);
      },
    },
    log,
    (c) => (exitCode = c),
  );
  process.emit('SIGHUP', 'SIGHUP');
  process.emit('SIGHUP', 'SIGHUP');
  await new Promise((r) => setTimeout(r, 100));
  process.emit('SIGTERM', 'SIGTERM');
  process.emit('SIGINT', 'SIGINT');
  uninstall();
  t.same(calls, ['reload', 'reload', 'stop SIGTERM']);
  t.equal(exitCode, 130, 'a second stop signal exits at once');
});

t.test('logs are JSON lines with level names; adapters for capture and broker', async (t) => {
  let text = '';
  const dest = new Writable({
    write(c: Buffer, _e, cb) {
      text += c.toString();
      cb();
    },
  });
  const log = createLogger('info', dest);
  liveLog(log).warn('live: eth0 is down');
  publisherLog(log).error('broker refused');
  publisherLog(log).info('connected');
  liveLog(log).info('capturing');
  log.debug('not written at info');
  await new Promise((r) => setImmediate(r));
  const lines = text.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  t.same(lines.map((l) => [l.level, l.component, l.msg]), [
    ['warn', 'capture', 'live: eth0 is down'],
    ['error', 'broker', 'broker refused'],
    ['info', 'broker', 'connected'],
    ['info', 'capture', 'capturing'],
  ]);
  t.match(String(lines[0]!.time), /^\d{4}-\d\d-\d\dT/, 'ISO time');
});

t.test('JSON-lines output: a full disk drops lines, counts them, says so once', async (t) => {
  const errors: string[] = [];
  const f = new JsonlFile('/dev/full', false, (m) => errors.push(m), '--flows-jsonl');
  f.line('{"a":1}');
  f.line('{"a":2}');
  t.equal(f.dropped, 2);
  t.same(errors, ['cannot write to /dev/full (ENOSPC): lines are dropped until writing works again']);
  f.close();
  f.line('{"a":3}');
  t.equal(f.dropped, 2, 'closed: ignored');
  const batched = new JsonlFile(join(dir, 'b.jsonl'), true, () => undefined, '--flows-jsonl');
  batched.line('x');
  t.equal(readFileSync(join(dir, 'b.jsonl'), 'utf8'), '', 'batched until flush');
  batched.flush();
  t.equal(readFileSync(join(dir, 'b.jsonl'), 'utf8'), 'x\n');
  batched.close();
  t.throws(() => new JsonlFile('/nonexistent/x', false, () => undefined, '--alerts-jsonl'), /^cannot open --alerts-jsonl \/nonexistent\/x for appending \(ENOENT\)/);
});
