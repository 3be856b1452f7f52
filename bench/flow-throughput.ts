/**
 * Throughput of the offline path on one core, each stage added in turn, with ndpiReader (nDPI,
 * Debian libndpi-bin) on the same file in the same run as the anchor.
 *
 *   node dist/bench/flow-throughput.js CAPTURE [--runs 3] [--cpu 1]
 *
 * Each measurement runs in a fresh child process pinned to one CPU (taskset), so peak RSS is per
 * mode. Modes: read (file → RawPacket), decode (+ link/IP/transport), flows (+ flow table, TCP
 * reassembly), dissect (+ every registered dissector), inspect (+ ECS JSON lines to /dev/null).
 */
import { spawnSync } from 'node:child_process';
import { openSync, writeSync, closeSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { FileSource } from '../agent/source/file-source.js';
import { Decoder } from '../agent/decode/decoder.js';
import { PacketPipeline } from '../agent/pipeline/packet-pipeline.js';
import { DissectStage, dissectEcs } from '../agent/dissect/dissect-stage.js';
import { flowToEcs } from '../agent/sink/jsonl/flow-ecs.js';
import type { RawPacket } from '../agent/source/raw-packet.js';

type Mode = 'read' | 'decode' | 'flows' | 'dissect' | 'inspect';
const MODES: Mode[] = ['read', 'decode', 'flows', 'dissect', 'inspect'];

interface Result {
  mode: string;
  packets: number;
  /** CPU time (user + system) of the run; less sensitive to other load than wall time. */
  seconds: number;
  wallSeconds: number;
  pps: number;
  rssMB: number;
  flows?: number;
  dissectorMs?: Record<string, number>;
}

async function child(mode: Mode, file: string, timing: boolean): Promise<Result> {
  let packets = 0;
  let flows = 0;
  const source = new FileSource([file]);
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  let dissect: DissectStage | undefined;
  if (mode === 'read') {
    await source.run({ packet: () => void packets++ });
  } else if (mode === 'decode') {
    const d = new Decoder();
    await source.run({ packet: (p: RawPacket) => void (d.decode(p) && packets++) });
  } else {
    dissect = mode === 'flows' ? undefined : new DissectStage();
    if (dissect) dissect.timing = timing;
    const fd = mode === 'inspect' ? openSync('/dev/null', 'w') : -1;
    const lines: string[] = [];
    const pipeline = new PacketPipeline({
      ...(dissect ? { observer: dissect } : {}),
      onRecord: (r) => {
        flows++;
        if (fd >= 0) {
          lines.push(JSON.stringify(flowToEcs(r, dissectEcs(r))));
          if (lines.length >= 256) writeSync(fd, lines.splice(0).join('\n') + '\n');
        }
      },
    });
    await source.run(pipeline);
    pipeline.finish();
    if (fd >= 0) {
      writeSync(fd, lines.join('\n'));
      closeSync(fd);
    }
  }
  const wallSeconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const seconds = (cpu.user + cpu.system) / 1e6;
  packets = source.stats().packets;
  const out: Result = { mode, packets, seconds, wallSeconds, pps: packets / seconds, rssMB: process.resourceUsage().maxRSS / 1024 };
  if (flows) out.flows = flows;
  if (dissect && timing) out.dissectorMs = Object.fromEntries(dissect.timeMs);
  return out;
}

function ndpi(file: string, cpu: string): Result {
  const t0 = performance.now();
  // CPU time of the child comes from bash's `times` (user + system of children).
  const r = spawnSync('bash', ['-c', `taskset -c ${cpu} ndpiReader -i "$1" -n 1 >/tmp/picket-ndpi.out 2>&1; times`, 'x', file], { encoding: 'utf8' });
  const wallSeconds = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`ndpiReader failed: ${r.stderr}`);
  const times = r.stdout.trim().split('\n').pop() ?? '';
  const secs = [...times.matchAll(/(\d+)m([\d.]+)s/g)].map((m) => Number(m[1]) * 60 + Number(m[2]));
  const seconds = (secs[0] ?? wallSeconds) + (secs[1] ?? 0);
  const text = spawnSync('cat', ['/tmp/picket-ndpi.out'], { encoding: 'utf8' }).stdout;
  const packets = Number(/IP packets:\s+(\d+)/.exec(text)?.[1] ?? NaN);
  return { mode: 'ndpiReader -i FILE', packets, seconds, wallSeconds, pps: packets / seconds, rssMB: NaN };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args[0] === '--child') {
    const r = await child(args[1] as Mode, args[2]!, args[3] === 'timing');
    process.stdout.write(JSON.stringify(r) + '\n');
    return;
  }
  const file = args.find((a) => !a.startsWith('--'));
  if (!file) {
    process.stderr.write('usage: node dist/bench/flow-throughput.js CAPTURE [--runs N] [--cpu N]\n');
    process.exitCode = 2;
    return;
  }
  const runs = Number(args[args.indexOf('--runs') + 1] ?? 3) || 3;
  const cpu = args.includes('--cpu') ? args[args.indexOf('--cpu') + 1]! : '1';
  spawnSync('cat', [file], { stdio: ['ignore', 'ignore', 'ignore'] }); // warm the page cache (not in this process: children inherit its peak RSS)
  const self = fileURLToPath(import.meta.url);
  const rows: Result[] = [];
  for (const mode of MODES) {
    const results: Result[] = [];
    for (let i = 0; i < runs; i++) {
      const r = spawnSync('taskset', ['-c', cpu, process.execPath, self, '--child', mode, file], { encoding: 'utf8', maxBuffer: 1 << 20 });
      if (r.status !== 0) throw new Error(`${mode}: ${r.stderr}`);
      results.push(JSON.parse(r.stdout) as Result);
    }
    const best = results.sort((a, b) => a.seconds - b.seconds)[Math.floor(results.length / 2)]!; // median
    rows.push(best);
  }
  const nd: Result[] = [];
  for (let i = 0; i < runs; i++) nd.push(ndpi(file, cpu));
  const ndBest = nd.sort((a, b) => a.seconds - b.seconds)[Math.floor(nd.length / 2)]!;
  // Per-dissector cost from one extra run with timing on (timing itself costs a little).
  const timed = spawnSync('taskset', ['-c', cpu, process.execPath, self, '--child', 'dissect', file, 'timing'], { encoding: 'utf8' });
  const timing = (JSON.parse(timed.stdout) as Result).dissectorMs ?? {};

  const fmt = (n: number, d = 0): string => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
  process.stdout.write(`capture: ${file}, ${fmt(rows[0]!.packets)} packets; median of ${runs} runs, pinned to CPU ${cpu}; node ${process.version}\n\n`);
  process.stdout.write('| mode | CPU s | wall s | packets/s (CPU) | vs ndpiReader | peak RSS MB |\n|---|---|---|---|---|---|\n');
  for (const r of rows) {
    process.stdout.write(`| ${r.mode} | ${fmt(r.seconds, 2)} | ${fmt(r.wallSeconds, 2)} | ${fmt(r.pps)} | ${fmt(ndBest.seconds / r.seconds, 2)}× | ${fmt(r.rssMB)} |\n`);
  }
  process.stdout.write(`| ${ndBest.mode} | ${fmt(ndBest.seconds, 2)} | ${fmt(ndBest.wallSeconds, 2)} | ${fmt(ndBest.pps)} | 1.00× | — |\n\n`);
  process.stdout.write(`median flows: ${fmt(rows.find((r) => r.mode === 'flows')?.flows ?? 0)}\n`);
  const total = Object.values(timing).reduce((a, b) => a + b, 0);
  process.stdout.write('per-dissector CPU (ms, one timed run): ' + Object.entries(timing).map(([k, v]) => `${k} ${fmt(v)}`).join(', ') + ` (total ${fmt(total)})\n`);
  void median;
}

await main();
