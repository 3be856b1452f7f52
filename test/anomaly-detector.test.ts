/**
 * The `anomaly` detector on real captures: a model trained on benign captures raises no anomaly
 * alert on them, raises one per source for an injected DNS tunnel (with the DNS features as the
 * reason), reports a score for every flow, stays quiet about flows another detector explained;
 * and the live learner (learning period, exclusion of alerted flows, save, retraining).
 */
import t from 'tap';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Alerting } from '../agent/alert/alerting.js';
import type { Alert } from '../agent/alert/alert.js';
import { AnomalyLearner } from '../agent/detect/anomaly/anomaly-learner.js';
import { FLOW_FEATURE_SCHEMA } from '../agent/detect/anomaly/anomaly-hooks.js';
import { anomaly, tacticFor } from '../agent/detect/anomaly/anomaly-detector.js';
import type { AnyDetectorFactory, DetectorFactory } from '../agent/detect/detector.js';
import { loadModel } from '../agent/detect/iforest/model-file.js';
import type { IsolationForest } from '../agent/detect/iforest/forest.js';
import { makeSchema } from '../agent/detect/iforest/schema.js';
import { trainIsolationForest } from '../agent/detect/iforest/train.js';
import { FEATURE_COUNT, featureIndex } from '../agent/features/feature-schema.js';
import { runCapture, type CaptureRun } from './helpers/run-capture.js';

const N = '../shared/corpora/ndpi/pcap';
const BENIGN = [`${N}/sites.pcapng`, `${N}/android.pcap`, `${N}/whatsapp.pcap`];
const TUNNEL = '../shared/corpora/attacks/dns-tunnel-dmachard/sods.pcap';
const dir = mkdtempSync(join(tmpdir(), 'pk-anom-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

/** Runs records through detectors (all registered by default), returning alerts and per-flow scores. */
function detect(runs: CaptureRun[], opts: { model?: IsolationForest; learner?: AnomalyLearner; factories?: readonly AnyDetectorFactory[] }) {
  const scores: Array<[string, number]> = [];
  const alerting = new Alerting({
    anomaly: { ...(opts.model ? { model: opts.model } : {}), ...(opts.learner ? { learner: opts.learner } : {}) },
    onFlowScore: (u, s) => scores.push([u, s]),
    ...(opts.factories ? { factories: opts.factories } : {}),
  });
  for (const run of runs) {
    for (const e of run.events) alerting.event(e);
    for (const r of run.records) alerting.detect.record(r);
  }
  alerting.finish();
  return { alerts: alerting.alerts(), scores, stage: alerting.detect };
}

let benignRuns: CaptureRun[];
let model: IsolationForest;

t.before(async () => {
  benignRuns = [];
  for (const f of BENIGN) benignRuns.push(await runCapture(f));
  // Train through the live learner API, like `picket train` does.
  const learner = new AnomalyLearner(FLOW_FEATURE_SCHEMA, { learningPeriodSec: Infinity, minRows: 2, train: { seed: 1 } });
  const { stage } = detect(benignRuns, { learner });
  const m = learner.trainNow(stage.now(), (uid) => stage.flowAlerted(uid));
  if (!m) throw new Error('no model');
  model = m;
});

t.test('benign captures: every flow scored, no anomaly alert', async (t) => {
  const { alerts, scores } = detect(benignRuns, { model });
  const flows = benignRuns.reduce((n, r) => n + r.records.length, 0);
  t.equal(scores.length, flows, 'ctx.scoreFlow for every flow');
  for (const [, s] of scores) if (!(s > 0 && s <= 1)) t.fail(`score ${s} outside (0, 1]`);
  t.same(alerts.filter((a) => a.detector === 'anomaly'), [], 'no anomaly alert on the baseline');
});

t.test('an injected DNS tunnel raises one growing anomaly alert with DNS reasons', async (t) => {
  const tunnel = await runCapture(TUNNEL);
  const onlyAnomaly = detect([...benignRuns, tunnel], { model, factories: [anomaly] });
  const a = onlyAnomaly.alerts.filter((x) => x.detector === 'anomaly');
  t.equal(a.length, 1, 'one alert (aggregated per source)');
  const al = a[0]!;
  t.equal(al.source.ip, '192.168.1.17', 'the tunnel client');
  t.ok(al.count >= 10, `count ${al.count}`);
  t.equal(al.technique, '', 'no technique claimed');
  t.equal(al.tactic, 'command-and-control', 'DNS features deviate most');
  t.match(al.reason, /^192\.168\.1\.17 → 192\.168\.1\.210:53 unusual flow \(score 0\.\d\d ≥ 0\.\d\d(, \d+ such flows)?\): dns\./);
  t.ok(al.score >= model.threshold);
  const ev = al.evidence.values ?? {};
  t.ok(Object.keys(ev).some((k) => k.startsWith('dns.')), 'deviating DNS features in the evidence');
  // Tunnel flows (scored last) score above benign ones overall.
  const mean = (xs: Array<[string, number]>): number => xs.reduce((p, c) => p + c[1], 0) / xs.length;
  const s = onlyAnomaly.scores;
  const nt = tunnel.records.length;
  const tun = mean(s.slice(-nt));
  const ben = mean(s.slice(0, -nt));
  t.ok(tun > ben + 0.05, `tunnel mean score ${tun.toFixed(3)} > benign ${ben.toFixed(3)}`);
});

t.test('flows a detector explained are scored but raise no anomaly alert', async (t) => {
  const tunnel = await runCapture(TUNNEL);
  // A stand-in behavioural detector that claims every flow of the tunnel client.
  const claim: DetectorFactory = {
    name: 'claim', description: 'test', mitre: [], defaults: {},
    create: (_c, ctx) => ({
      name: 'claim',
      record: (r) => {
        if (r.client.ip === '192.168.1.17') {
          ctx.emit({ detector: 'claim', category: 'c2', technique: 'T1071.004', tactic: 'command-and-control', severity: 'high', score: 0.9,
            source: { ip: r.client.ip, zone: 'trust' }, destination: { ip: r.server.ip, zone: 'trust' }, evidence: {}, reason: 'x', firstUs: r.startUs, lastUs: r.endUs, count: 1, flowUid: r.uid });
        }
      },
      state: () => ({ entries: 0, capacity: 0, evictions: 0, bytes: 0 }),
    }),
  };
  const r = detect([tunnel], { model, factories: [claim, anomaly] });
  t.same(r.alerts.filter((x: Alert) => x.detector === 'anomaly'), []);
  t.ok((r.stage.counters.get('anomaly.explained') ?? 0) > 10, 'counted as explained');
  t.equal(r.scores.length, tunnel.records.length, 'still scored (eval reads these)');
});

t.test('a model of another schema is not used (counted), the stage keeps running', async (t) => {
  const other = trainIsolationForest(new Float64Array(20).map((_, i) => i), 10, makeSchema(['a', 'b']), { seed: 1 });
  const r = detect([benignRuns[0]!], { model: other, factories: [anomaly] });
  t.equal(r.scores.length, 0);
  t.equal(r.stage.counters.get('anomaly.schema_mismatch'), 1);
});

t.test('tactic hints', async (t) => {
  const x = new Float64Array(FEATURE_COUNT).fill(0);
  const dev = (feature: string, value: number, deviation = 5) => [{ feature, index: featureIndex(feature), value, median: 0, deviation, missing: false }];
  t.equal(tacticFor(dev('host.src_distinct_ports_log', 6), x), 'discovery');
  t.equal(tacticFor(dev('zone.internal_lateral', 1), x), 'lateral-movement');
  t.equal(tacticFor(dev('zone.external_inbound', 1), x), 'initial-access');
  x[featureIndex('sent_byte_share')] = 0.99;
  t.equal(tacticFor(dev('bytes_out_log', 20), x), 'exfiltration');
  t.equal(tacticFor(dev('tls.cert_self_signed', 1), x), 'command-and-control');
  t.equal(tacticFor([], x), 'discovery');
});

t.test('live learner: learning period, alerted flows left out, saved, retrained', async (t) => {
  const path = join(dir, 'live.model');
  const logs: string[] = [];
  const models: IsolationForest[] = [];
  const learner = new AnomalyLearner(FLOW_FEATURE_SCHEMA, { modelPath: path, learningPeriodSec: 3600, minRows: 50, retrainSec: 7200, capacity: 1000, train: { seed: 5, nTrees: 20 } }, {
    log: (_l, line) => logs.push(line),
    onModel: (m) => models.push(m),
  });
  const row = new Float64Array(FEATURE_COUNT);
  const t0 = 1.8e15;
  for (let i = 0; i < 100; i++) {
    row.fill(i % 10);
    learner.offer(row, `F${i}`, t0 + i * 1e6);
  }
  t.equal(learner.tick(t0 + 1800e6), undefined, 'not before the learning period');
  t.equal(learner.status().phase, 'learning');
  const alerted = new Set(['F1', 'F2', 'F3']);
  const m = learner.tick(t0 + 3600e6, (u) => alerted.has(u));
  t.ok(m, 'trained when due');
  t.equal(m!.trainingRows, 97, 'the 3 alerted flows left out');
  t.equal(learner.status().lastExcluded, 3);
  t.equal(models.length, 1, 'onModel called');
  await learner.flush();
  t.ok(existsSync(path), 'saved');
  const loaded = await loadModel(path, FLOW_FEATURE_SCHEMA);
  t.ok(loaded.ok && loaded.value.trainingRows === 97, 'the saved file loads with our schema');
  t.match(logs.join('\n'), /anomaly model trained on 97 flows \(3 left out: their flows raised alerts\)/);
  t.match(logs.join('\n'), /anomaly model saved to /);
  // Retraining: only rows of the new period, not before retrainSec.
  for (let i = 0; i < 60; i++) learner.offer(row.fill(i % 3), `G${i}`, t0 + 3700e6 + i * 1e6);
  t.equal(learner.tick(t0 + 3600e6 + 3600e6), undefined, 'not yet');
  const m2 = learner.tick(t0 + 3600e6 + 7200e6);
  t.ok(m2 && m2.trainingRows === 60, 'retrained on the new period');
  t.equal(learner.model, m2);
  // Too few rows: the period stretches.
  const small = new AnomalyLearner(FLOW_FEATURE_SCHEMA, { learningPeriodSec: 1, minRows: 10 });
  small.offer(row, 'x', t0);
  t.equal(small.tick(t0 + 10e6), undefined);
  // An unwritable path is logged, the model stays in memory.
  const bad = new AnomalyLearner(FLOW_FEATURE_SCHEMA, { modelPath: join(dir, 'no', 'dir', 'm'), learningPeriodSec: 0, minRows: 2, train: { nTrees: 5 } }, { log: (_l, line) => logs.push(line) });
  bad.offer(row.fill(1), 'a', t0);
  bad.offer(row.fill(2), 'b', t0);
  t.ok(bad.tick(t0));
  await bad.flush();
  t.match(bad.status().lastError, /cannot save the anomaly model/);
});

t.test('the detector trains from its learner once the period is over, then scores', async (t) => {
  const learner = new AnomalyLearner(FLOW_FEATURE_SCHEMA, { learningPeriodSec: 0, minRows: 150, train: { seed: 2 } });
  const first = detect(benignRuns, { learner, factories: [anomaly] });
  t.equal(first.scores.length, 0, 'nothing scored while learning');
  t.ok(learner.model, 'a model was built at the end of the input');
  const again = detect(benignRuns, { learner, factories: [anomaly] });
  t.equal(again.scores.length, benignRuns.reduce((n, r) => n + r.records.length, 0), 'then every flow is scored with the learner’s model');
});
