/**
 * The labelled capture built by real tools in network namespaces (bench/detect-make-labelled-
 * capture.sh: nmap, hping3, hydra, curl, a TXT tunnel, random-name DNS, a 30 MB upload, stratum,
 * SMB/SSH fan-out, a WebSocket C2 (ws), gRPC enumeration (node http2), next to benign web/DNS/SSH
 * traffic) is generated here (~3 min, ~40 MB in a temp
 * dir, removed afterwards) and evaluated with `picket eval`: every class must be detected by an
 * alert of its technique, with at most one false alert per benign host-hour.
 *
 * Needs root and: iproute2 tcpdump nginx openssh-server dnsmasq nmap hping3 hydra curl openssl.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { evalCommand } from '../agent/cli/eval.js';
import type { EvalResult } from '../agent/alert/evaluation.js';
import { detectCapture } from './helpers/detect-run.js';

const TOOLS = ['ip', 'tcpdump', 'nginx', 'dnsmasq', 'nmap', 'hping3', 'hydra', 'curl', 'openssl'];
const missing = TOOLS.filter((x) => spawnSync('sh', ['-c', `command -v ${x}`]).status !== 0);
const root = process.getuid?.() === 0;
const built = existsSync('dist/bench/detect-attack-helpers.js');

if (!root || missing.length > 0 || !built) {
  t.comment(`skipped: ${!root ? 'needs root; ' : ''}${missing.length ? `missing ${missing.join(' ')}; ` : ''}${built ? '' : 'run npx tsc first'}`);
} else {
  const dir = mkdtempSync(join(tmpdir(), 'pk-det-cap-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const gen = spawnSync('bash', ['bench/detect-make-labelled-capture.sh', dir], { encoding: 'utf8', timeout: 400_000 });
  const pcap = join(dir, 'labelled.pcap');
  const labels = join(dir, 'LABELS.csv');

  t.test('the generator ran, bounded, and left no namespaces', async (t) => {
    t.equal(gen.status, 0, gen.stderr.slice(-2000));
    t.ok(existsSync(pcap) && existsSync(labels));
    const ns = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout;
    t.notMatch(ns, /pk-det-/, 'namespaces removed');
    t.equal(readFileSync(labels, 'utf8').trim().split('\n').length, 13, '12 labelled windows');
  });

  t.test('picket eval: every class detected by its technique, ≤ 1 false alert per benign host-hour', async (t) => {
    const stdout = new PassThrough();
    let out = '';
    stdout.on('data', (d: Buffer) => (out += d.toString()));
    const code = await evalCommand.run([pcap, '--labels', labels, '--json', '--quiet'], { stdout, stderr: new PassThrough() });
    t.equal(code, 0);
    const r = JSON.parse(out) as EvalResult;
    t.comment(JSON.stringify(r.classes.map((c) => [c.label, c.windows, c.detected, c.detectedByTechnique])));
    t.comment(`false alerts ${r.falseAlerts} over ${r.benignHostHours.toFixed(2)} benign host-hours; flows ${JSON.stringify(r.flows)}`);
    t.equal(r.classes.length, 12);
    for (const c of r.classes) {
      t.equal(c.detected, c.windows, `${c.label} detected`);
      t.equal(c.detectedByTechnique, c.windows, `${c.label} detected by a ${c.mitre} alert (${c.detectors.join(' ')})`);
    }
    t.ok(r.falseAlertsPerHostHour <= 1, `false alerts per benign host-hour ${r.falseAlertsPerHostHour}`);
    t.ok(r.flows.auc > 0.9, `flow ROC AUC ${r.flows.auc}`);
  });

  t.test('the alerts name the tools behind them', async (t) => {
    const { alerts } = await detectCapture(pcap);
    const one = (detector: string, re: RegExp): void => {
      const a = alerts.filter((x) => x.detector === detector);
      t.ok(a.length >= 1, `${detector} alert`);
      t.ok(a.some((x) => re.test(x.reason)), `${detector}: ${a.map((x) => x.reason).join(' | ')}`);
    };
    one('port_scan', /10\.15\.1\.66 scanned ≈\d[\d,]* tcp ports on 10\.15\.1\.2/);
    one('port_scan', /10\.15\.1\.66 probed ≈\d+ hosts on tcp\/22/);
    one('ddos', /SYN flood on 10\.15\.1\.2:80/);
    one('brute_force', /10\.15\.1\.66 → 10\.15\.1\.2:22: \d+ short ssh connections/);
    one('dns_tunnel', /under tunnel\.example/);
    one('dga', /10\.15\.1\.66 looked up \d+ machine-like domains/);
    one('beacon', /10\.15\.1\.66 → 198\.51\.100\.10:443 \(c2\.example\.net\) every 2\.\d s/);
    one('exfiltration', /10\.15\.1\.66 sent 3\d\.\d MB to 198\.51\.100\.10:8080/);
    one('crypto_mining', /mining\.subscribe/);
    one('lateral_movement', /10\.15\.1\.66 reached \d+ internal hosts/);
    one('websocket_c2', /10\.15\.1\.66 → 198\.51\.100\.10:8081 .*WebSocket open 2 min, \d+ frames; client frames of \d+ B every/);
    one('grpc_abuse', /198\.51\.100\.10 → 10\.15\.1\.2:50051 gRPC: 30 calls to unknown services\/methods/);
    const benign = alerts.filter((a) => !['10.15.1.66', '198.51.100.10'].includes(a.source.ip) && a.detector !== 'ddos');
    t.same(benign.map((a) => a.reason), [], 'no alert about the benign workstations');
  });
}
