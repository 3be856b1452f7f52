/**
 * Cost of the detect stage on a capture, as a ratio to the foundation's read+decode+flows speed
 * in the same run. Each mode runs in a fresh child pinned to one CPU (taskset); median of N runs.
 *   flows    read → decode → flow table
 *   dissect  + every registered dissector
 *   detect   + every registered detector and the alert aggregator (what `inspect --alerts` does)
 * Also prints per-detector state after the run and the alerts raised.
 *
 *   node dist/bench/detect-throughput.js CAPTURE [--runs 3] [--cpu 1]
 *   (the benchmark capture: bash bench/make-bench-capture.sh bench/out/bench-capture.pcap)
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { FileSource } from '../agent/source/file-source.js';
import { PacketPipeline } from '../agent/pipeline/packet-pipeline.js';
import { DissectStage } from '../agent/dissect/dissect-stage.js';
import { composeObservers } from '../agent/flow/compose-observers.js';
import { Alerting } from '../agent/alert/alerting.js';

type Mode = 'flows' | 'dissect' | 'detect' | 'timing';
const MODES: Mode[] = ['flows', 'dissect', 'detect'];

interface Result {
  mode: Mode;
  packets: number;
  flows: number;
  seconds: number;
  rssMB: number;
  alerts?: string[];
  states?: Record<string, { entries: number; capacity: number; evictions: number; bytes: number }>;
  timeMs?: Record<string, number>;
}

async function child(mode: Mode, file: string): Promise<Result> {
  let flows = 0;
  const source = new FileSource([file]);
  // DETECT_DISABLE=a,b leaves detectors out (e.g. the anomaly detector, to see the behavioural ones alone).
  const off = (process.env.DETECT_DISABLE ?? '').split(',').filter((x) => x.length > 0);
  const config = { detect: { detectors: Object.fromEntries(off.map((n) => [n, false])) } };
  const alerting = mode === 'detect' || mode === 'timing' ? new Alerting({ config }) : undefined;
  if (alerting && mode === 'timing') alerting.detect.timing = true;
  const dissect = mode === 'flows' ? undefined : new DissectStage(alerting ? { onEvent: alerting.event } : {});
  const observer = alerting && dissect ? composeObservers(dissect, alerting.detect) : dissect;
  const pipeline = new PacketPipeline({ ...(observer ? { observer } : {}), onRecord: () => void flows++ });
  alerting?.attach(pipeline);
  const t0 = performance.now();
  await source.run(pipeline);
  pipeline.finish();
  alerting?.finish();
  const seconds = (performance.now() - t0) / 1000;
  const out: Result = { mode, packets: source.stats().packets, flows, seconds, rssMB: process.resourceUsage().maxRSS / 1024 };
  if (alerting && mode === 'timing') out.timeMs = Object.fromEntries(alerting.detect.timeMs);
  if (alerting) {
    out.alerts = alerting.alerts().map((a) => `${a.detector} ×${a.count}: ${a.reason}`);
    out.states = Object.fromEntries(alerting.detect.states());
  }
  return out;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args[0] === '--child') {
    process.stdout.write(JSON.stringify(await child(args[1] as Mode, args[2]!)) + '\n');
    return;
  }
  const file = args.find((a) => !a.startsWith('--') && !/^\d+$/.test(a));
  if (!file) {
    process.stderr.write('usage: node dist/bench/detect-throughput.js CAPTURE [--runs N] [--cpu N]\n');
    process.exitCode = 2;
    return;
  }
  const runs = args.includes('--runs') ? Number(args[args.indexOf('--runs') + 1]) : 3;
  const cpu = args.includes('--cpu') ? args[args.indexOf('--cpu') + 1]! : '1';
  const self = fileURLToPath(import.meta.url);
  spawnSync('cat', [file], { stdio: 'ignore' });
  const rows: Result[] = [];
  for (const mode of MODES) {
    const rs: Result[] = [];
    for (let i = 0; i < runs; i++) {
      const r = spawnSync('taskset', ['-c', cpu, process.execPath, self, '--child', mode, file], { encoding: 'utf8', maxBuffer: 64 << 20 });
      if (r.status !== 0) throw new Error(`${mode}: ${r.stderr}`);
      rs.push(JSON.parse(r.stdout) as Result);
    }
    rows.push(rs.sort((a, b) => a.seconds - b.seconds)[Math.floor(rs.length / 2)]!);
  }
  const fmt = (n: number, d = 0): string => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
  const base = rows[0]!;
  process.stdout.write(`capture: ${file}, ${fmt(base.packets)} packets, ${fmt(base.flows)} flows; median of ${runs} runs pinned to CPU ${cpu}; node ${process.version}\n\n`);
  process.stdout.write('| mode | seconds | packets/s | time vs flows | peak RSS MB |\n|---|---|---|---|---|\n');
  for (const r of rows) process.stdout.write(`| ${r.mode} | ${fmt(r.seconds, 2)} | ${fmt(r.packets / r.seconds)} | ${fmt(r.seconds / base.seconds, 2)}× | ${fmt(r.rssMB)} |\n`);
  const det = rows[2]!;
  const dis = rows[1]!;
  const timed = spawnSync('taskset', ['-c', cpu, process.execPath, self, '--child', 'timing', file], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const tm = (JSON.parse(timed.stdout) as Result).timeMs ?? {};
  process.stdout.write(`\nper-detector CPU ms (one timed run; timing adds overhead): ${Object.entries(tm).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${fmt(v)}`).join(', ')}\n`);
  process.stdout.write(`\ndetect stage alone: ${fmt(det.seconds - dis.seconds, 2)} s = ${fmt(((det.seconds - dis.seconds) / base.seconds) * 100, 1)} % of read+decode+flows\n`);
  process.stdout.write('\n| detector | entries | capacity | evictions | state MB |\n|---|---|---|---|---|\n');
  for (const [name, s] of Object.entries(det.states ?? {})) process.stdout.write(`| ${name} | ${fmt(s.entries)} | ${fmt(s.capacity)} | ${fmt(s.evictions)} | ${fmt(s.bytes / 1e6, 2)} |\n`);
  process.stdout.write(`\nalerts (${det.alerts?.length ?? 0}):\n${(det.alerts ?? []).map((a) => `  ${a}`).join('\n')}\n`);
}

await main();
