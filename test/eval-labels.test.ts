import t from 'tap';
import { PassThrough } from 'node:stream';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseLabels, evaluate, formatEval, alertMatches, flowInAlert, type FlowBrief } from '../agent/alert/evaluation.js';
import { rocAuc } from '../agent/detect/iforest/roc-auc.js';
import type { Alert } from '../agent/alert/alert.js';
import { evalCommand } from '../agent/cli/eval.js';
import { runCommand } from './helpers/run-command.js';
import { UsageError } from '../agent/cli/args.js';
import { DETECTORS } from '../agent/detect/registry.js';

const S = 1_764_000_000;
const us = (s: number): number => s * 1e6;

function alert(over: Partial<Alert>): Alert {
  return {
    id: '01JDX3Q8K4M2V7R9T0B5N6C1ZA', firstUs: us(S), lastUs: us(S + 10), severity: 'high', score: 0.9, category: 'scan', detector: 'port_scan',
    technique: 'T1046', tactic: 'discovery', source: { ip: '10.0.0.66', zone: 'trust' }, destination: { ip: '10.0.0.2', zone: 'trust' },
    evidence: {}, reason: 'r', count: 1, ...over,
  };
}

function flow(c: string, s: string, a: number, b: number): FlowBrief {
  return { startUs: us(a), endUs: us(b), client: c, server: s, clientInternal: c.startsWith('10.'), serverInternal: s.startsWith('10.') };
}

t.test('labels CSV: header optional, empty ip = any, one-line errors with the line', async (t) => {
  const l = parseLabels(`start,end,src_ip,dst_ip,label,mitre\n${S},${S + 5},10.0.0.66,,scan,T1046\n\n# comment\n${S + 1.5},${S + 2},,10.0.0.2,flood,T1499\n`);
  t.equal(l.length, 2);
  t.match(l[0], { startUs: us(S), endUs: us(S + 5), src: '10.0.0.66', dst: '', label: 'scan', mitre: 'T1046', line: 2 });
  t.equal(l[1]!.startUs, us(S + 1.5));
  t.throws(() => parseLabels('1,2,a', 'L.csv'), /^L\.csv:1: expected start,end,src_ip,dst_ip,label,mitre, got 3 columns/);
  t.throws(() => parseLabels('5,2,a,b,x,T1'), /start\/end must be epoch seconds with start ≤ end/);
  t.throws(() => parseLabels('1,2,a,b,,T1'), /label column is empty/);
});

t.test('matching: time overlap and label ips on either side of the alert', async (t) => {
  const [l] = parseLabels(`${S + 5},${S + 20},10.0.0.2,,x,T1046`);
  t.ok(alertMatches(alert({}), l!), 'label src is the alert destination: either side counts');
  t.notOk(alertMatches(alert({ lastUs: us(S + 4) }), l!), 'ended before the window');
  t.notOk(alertMatches(alert({ source: { ip: '1.1.1.1', zone: 'untrust' }, destination: { ip: '2.2.2.2', zone: 'untrust' } }), l!));
  const ddos = alert({ detector: 'ddos', source: { ip: '9.9.9.9', zone: 'untrust' }, destination: { ip: '10.0.0.2', zone: 'trust' } });
  t.ok(flowInAlert(flow('8.8.8.8', '10.0.0.2', S + 1, S + 1), ddos), 'any source to the victim is in a ddos alert');
  t.notOk(flowInAlert(flow('10.0.0.66', '10.0.0.3', S + 1, S + 2), alert({})), 'pair alert: the other end must match');
  t.ok(flowInAlert(flow('10.0.0.66', '10.0.0.3', S + 1, S + 2), alert({ evidence: { values: { kind: 'horizontal' } } })), 'horizontal scan is one-sided');
});

t.test('evaluate: recall per class, false alerts per benign host-hour, flow P/R/F1 and AUC', async (t) => {
  const labels = parseLabels(`${S},${S + 100},10.0.0.66,,scan,T1046\n${S + 200},${S + 300},10.0.0.66,203.0.113.5,beacon,T1071.001\n${S + 400},${S + 500},10.0.0.77,,dga,T1568.002`);
  const alerts = [
    alert({}),
    alert({ detector: 'beacon', technique: 'T1071', firstUs: us(S + 250), lastUs: us(S + 260), destination: { ip: '203.0.113.5', zone: 'untrust' }, score: 0.8 }),
    alert({ detector: 'beacon', source: { ip: '10.0.0.9', zone: 'trust' }, destination: { ip: '203.0.113.6', zone: 'untrust' }, firstUs: us(S + 1000), lastUs: us(S + 1100), score: 0.7 }),
  ];
  const flows = [
    flow('10.0.0.66', '10.0.0.2', S + 1, S + 2), // attack, flagged (0.9)
    flow('10.0.0.66', '203.0.113.5', S + 255, S + 256), // attack, flagged (0.8)
    flow('10.0.0.77', '10.0.0.2', S + 450, S + 451), // attack (dga window), missed
    flow('10.0.0.9', '203.0.113.6', S + 1050, S + 1051), // benign, false positive (0.7)
    flow('10.0.0.9', '10.0.0.2', S + 3600, S + 3601), // benign, quiet
  ];
  const r = evaluate(labels, alerts, flows, rocAuc);
  t.same(r.classes.map((c) => [c.label, c.windows, c.detected, c.detectedByTechnique]), [['scan', 1, 1, 1], ['beacon', 1, 1, 1], ['dga', 1, 0, 0]]);
  t.equal(r.falseAlerts, 1);
  t.same(r.falseByDetector, { beacon: 1 });
  // Benign hosts: 10.0.0.9 from S+1050 to S+3601, 10.0.0.2 from S+3600 to S+3601 (→ 1 min floor).
  t.equal(r.benignHostHours, (2551 + 60) / 3600);
  t.equal(r.falseAlertsPerHostHour, 1 / r.benignHostHours);
  t.match(r.flows, { total: 5, attack: 3, tp: 2, fp: 1, fn: 1 });
  t.equal(r.flows.precision, 2 / 3);
  t.equal(r.flows.recall, 2 / 3);
  t.equal(r.flows.auc, rocAuc(Float64Array.of(0.9, 0.8, 0, 0.7, 0), Uint8Array.of(1, 1, 1, 0, 0)));
  const text = formatEval(r);
  t.match(text, /scan\s+T1046\s+1\s+1\s+100\.0 %/);
  t.match(text, /dga\s+T1568\.002\s+1\s+0\s+0\.0 %/);
  t.match(text, /false alerts 1 \(beacon 1\), benign host-hours 0\.73, false alerts per benign host-hour 1\.38/);
  t.match(text, /ROC AUC 0\.750/);
});

t.test('picket eval: usage errors are one line', async (t) => {
  const io = { stdout: new PassThrough(), stderr: new PassThrough() };
  await t.rejects(evalCommand.run(['x.pcap'], io), new UsageError('needs --labels LABELS.csv (rows start,end,src_ip,dst_ip,label,mitre)'));
  await t.rejects(evalCommand.run(['x.pcap', '--labels', '/nonexistent.csv'], io), /cannot read labels \/nonexistent\.csv: ENOENT/);
  const dir = mkdtempSync(join(tmpdir(), 'pk-eval-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'bad.csv'), 'start,end\n1,2\n');
  await t.rejects(evalCommand.run(['x.pcap', '--labels', join(dir, 'bad.csv')], io), /bad\.csv:2: expected start,end/);
  writeFileSync(join(dir, 'ok.csv'), `${S},${S + 1},,,x,T1\n`);
  await t.rejects(
    evalCommand.run(['x.pcap', '--labels', join(dir, 'ok.csv'), '--model', join(dir, 'missing.model')], io),
    DETECTORS.some((d) => d.name === 'anomaly') ? /missing\.model/ : /--model needs the anomaly detector/,
  );
});

t.test('picket eval on a real capture with a label for its flood', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pk-eval-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  // amp.UDP.snmp.src161.pcapng: a 23 ms SNMP reflection flood at 10.10.10.10.
  writeFileSync(join(dir, 'l.csv'), 'start,end,src_ip,dst_ip,label,mitre\n0,2000000000,,10.10.10.10,reflection,T1498\n');
  const { code, out } = await runCommand(evalCommand, ['../shared/corpora/attacks/stopddos/amp.UDP.snmp.src161.pcapng', '--labels', join(dir, 'l.csv'), '--json', '--quiet']);
  t.equal(code, 0);
  const r = JSON.parse(out) as ReturnType<typeof evaluate>;
  t.match(r.classes[0], { label: 'reflection', windows: 1, detected: 1, recall: 1, detectedByTechnique: 1, detectors: ['ddos'] });
  t.equal(r.falseAlerts, 0);
  t.ok(r.flows.attack > 4000 && r.flows.recall > 0.99, `flow recall ${r.flows.recall}`);
});
