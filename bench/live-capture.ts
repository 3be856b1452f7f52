/**
 * Live capture benchmark: tcpreplay a generated capture onto a veth pair at rising rates and
 * report, per rate, what the capture delivered, what the kernel dropped (pcap_stats) and the
 * CPU the capturing process used. Two consumers are measured:
 *   addon  - the capture path alone (batches counted, frames not touched by JS)
 *   source - LiveSource with a trivial per-packet sink (one byte read + a counter), i.e. the
 *            cost of one JS call per frame that every pipeline pays; decode and flows come later.
 * A last run overloads a small ring and checks delivered + ps_drop = sent.
 *
 * With --capture FILE (the benchmark capture of bench/make-bench-capture.sh, real traffic), a
 * third consumer is measured on that file:
 *   pipeline - what `picket run` runs: the Daemon with LiveSource → decode → flows → every
 *              dissector → every detector → alert aggregation (no outputs, no metrics server),
 * at --pipeline-rates, and an overload run (1 MiB ring, highest rate) checks that what was not
 * delivered is exactly what pcap_stats reports as dropped.
 *
 * Needs root, tcpreplay and iproute2. Run: bash bench/live-capture.sh (pins this process to one
 * CPU and tcpreplay to another). Options: --seconds N (per rate, default 2), --rates a,b,c (pps),
 * --capture FILE, --pipeline-rates a,b,c, --only pipeline (skip the synthetic consumers).
 */
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { LiveSource } from '../agent/source/live/live-source.js';
import { loadPcapAddon, type PcapCapture } from '../agent/source/live/pcap-addon.js';
import type { RawPacket } from '../agent/source/raw-packet.js';
import { Daemon } from '../agent/daemon/daemon.js';
import { defaultConfig } from '../agent/daemon/config-loader.js';
import { createLogger } from '../agent/daemon/logger.js';

const NS = 'pk-live-bn';
const HOST_IF = 'pk-live-bnh';
const NS_IF = 'pk-live-bnn';
const FRAMES = 100_000;
/** Frame sizes cycled through the generated capture (Ethernet bytes without FCS). */
const SIZES = [64, 64, 64, 128, 128, 256, 576, 1514];

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1]! : def;
}
const SECONDS = Number(arg('seconds', '2'));
const RATES = arg('rates', '50000,100000,200000,300000,400000,500000,700000,1000000')
  .split(',')
  .map(Number);
const SENDER_CPU = arg('sender-cpu', '0');
const CAPTURE = arg('capture', '');
/** 0 = tcpreplay --topspeed. */
const PIPELINE_RATES = arg('pipeline-rates', '25000,50000,100000,150000,200000,250000,300000,400000,0')
  .split(',')
  .map(Number);
const ONLY = arg('only', '');

function sh(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}
function quiet(cmd: string, args: string[]): void {
  try {
    execFileSync(cmd, args, { stdio: 'ignore' });
  } catch {
    // absent
  }
}

function setup(): void {
  teardown();
  sh('ip', ['netns', 'add', NS]);
  sh('ip', ['link', 'add', HOST_IF, 'type', 'veth', 'peer', 'name', NS_IF, 'netns', NS]);
  sh('sysctl', ['-qw', `net.ipv6.conf.${HOST_IF}.disable_ipv6=1`]);
  sh('ip', ['netns', 'exec', NS, 'sysctl', '-qw', `net.ipv6.conf.${NS_IF}.disable_ipv6=1`]);
  sh('ip', ['link', 'set', HOST_IF, 'up']);
  sh('ip', ['netns', 'exec', NS, 'ip', 'link', 'set', NS_IF, 'up']);
}
function teardown(): void {
  quiet('ip', ['link', 'del', HOST_IF]);
  quiet('ip', ['netns', 'del', NS]);
}

/** Writes a classic pcap of FRAMES Ethernet/IPv4/UDP frames over 4096 flows; returns its path. */
function generateCapture(): { path: string; avgBytes: number } {
  // A temporary file (~36 MB), removed at the end: the capture is regenerated on every run.
  const dir = mkdtempSync(join(tmpdir(), 'pk-live-bench-'));
  let total = 24;
  for (let i = 0; i < FRAMES; i++) total += 16 + SIZES[i % SIZES.length]!;
  const b = Buffer.alloc(total);
  b.writeUInt32LE(0xa1b2c3d4, 0);
  b.writeUInt16LE(2, 4);
  b.writeUInt16LE(4, 6);
  b.writeUInt32LE(65535, 16);
  b.writeUInt32LE(1, 20);
  let o = 24;
  let bytes = 0;
  for (let i = 0; i < FRAMES; i++) {
    const len = SIZES[i % SIZES.length]!;
    bytes += len;
    b.writeUInt32LE(1_700_000_000 + Math.floor(i / 1000), o);
    b.writeUInt32LE((i % 1000) * 1000, o + 4);
    b.writeUInt32LE(len, o + 8);
    b.writeUInt32LE(len, o + 12);
    o += 16;
    const f = o;
    b.set([0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2], f);
    b.writeUInt16BE(0x0800, f + 12);
    const ip = f + 14;
    const flow = i % 4096;
    b[ip] = 0x45;
    b.writeUInt16BE(len - 14, ip + 2);
    b.writeUInt16BE(i & 0xffff, ip + 4);
    b[ip + 8] = 64;
    b[ip + 9] = 17;
    b.set([10, 6, 201, 1 + (flow >> 8)], ip + 12);
    b.set([10, 6, 200, 1 + (flow & 0x7f)], ip + 16);
    let sum = 0;
    for (let k = 0; k < 20; k += 2) sum += b.readUInt16BE(ip + k);
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
    b.writeUInt16BE(~sum & 0xffff, ip + 10);
    b.writeUInt16BE(10000 + flow, ip + 20);
    b.writeUInt16BE(53 + (flow % 7), ip + 22);
    b.writeUInt16BE(len - 34, ip + 24);
    o += len;
  }
  const path = join(dir, 'live-bench.pcap');
  writeFileSync(path, b);
  return { path, avgBytes: bytes / FRAMES };
}

interface Replay {
  sent: number;
  actualPps: number;
}

/** tcpreplay from inside the namespace, asynchronously so the capture keeps being polled. */
function replay(file: string, pps: number, count: number): Promise<Replay> {
  const args = ['-c', SENDER_CPU, 'ip', 'netns', 'exec', NS, 'tcpreplay', '-q', '-K', '-i', NS_IF, `--limit=${count}`, '--loop=0'];
  // Above ~100 k/s tcpreplay's per-packet timer cannot keep up; send in groups of N per tick.
  const multi = pps >= 100_000 ? Math.ceil(pps / 50_000) : 1;
  // pps 0: as fast as tcpreplay can send (the sender's own ceiling).
  if (pps === 0) args.push('--topspeed', file);
  else args.push(`--pps=${pps}`, `--pps-multi=${multi}`, file);
  return new Promise((resolve, reject) => {
    const child = spawn('taskset', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('exit', () => {
      const sent = /Successful packets:\s+(\d+)/.exec(out);
      const rate = /Rated: [\d.]+ Bps, [\d.]+ Mbps, ([\d.]+) pps/.exec(out);
      if (sent === null) return reject(new Error(`tcpreplay output not understood: ${out}`));
      resolve({ sent: Number(sent[1]), actualPps: rate === null ? NaN : Number(rate[1]) });
    });
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** "N packets, avg B bytes" of a capture, from capinfos when it is installed. */
function capinfo(file: string): string {
  try {
    const out = execFileSync('capinfos', ['-c', '-z', '-M', file], { encoding: 'utf8' });
    const n = /Number of packets:\s+(\d+)/.exec(out)?.[1];
    const avg = /Average packet size:\s+([\d.]+)/.exec(out)?.[1];
    return `${n ?? '?'} packets, avg ${avg ?? '?'} B`;
  } catch {
    return 'capinfos not installed';
  }
}

interface Row {
  mode: string;
  offered: number;
  actual: number;
  sent: number;
  captured: number;
  dropped: number;
  cpu: number;
  /** CPU time of the capturing process per delivered frame. */
  nsPerPacket: number;
}

/** A consumer under test: how many frames it saw and the pcap counters so far. */
interface Consumer {
  captured(): number;
  dropped(): number;
  stop(): Promise<void>;
}

function addonConsumer(bufferBytes: number): Consumer {
  const addon = loadPcapAddon();
  let n = 0;
  const cap: PcapCapture = addon.open(
    { device: HOST_IF, bufferBytes, snapLen: 262144, timeoutMs: 50, batchBytes: 2 * 1024 * 1024 },
    (count) => {
      n += count;
    },
    (e) => console.error(`capture error: ${e.message}`),
  );
  return {
    captured: () => n,
    dropped: () => {
      const s = cap.stats();
      return s.dropped + s.ifDropped;
    },
    stop: async () => cap.close(),
  };
}

function sourceConsumer(bufferBytes: number, workPerPacket = 0): Consumer {
  const src = new LiveSource(
    { interfaces: [HOST_IF], bufferBytes, timeoutMs: 50, statsIntervalMs: 1_000_000, logger: { info: () => {}, warn: () => {} } },
  );
  const sink = {
    n: 0,
    /** Kept on the object so the per-packet work is observable and not optimised away. */
    x: 0,
    packet(p: RawPacket): void {
      sink.n++;
      let x = sink.x ^ p.buf[p.off + 23]!;
      for (let i = 0; i < workPerPacket; i++) x = (x * 31 + i) | 0;
      sink.x = x;
    },
  };
  const ac = new AbortController();
  const done = src.run(sink, ac.signal);
  return {
    captured: () => sink.n,
    dropped: () => {
      src.pollStats();
      return src.stats().drops;
    },
    stop: async () => {
      ac.abort();
      await done;
    },
  };
}

/**
 * The daemon's packet path, built by the Daemon exactly as `picket run --interface` builds it
 * (flow table, dissectors, detectors, aggregation); outputs, broker and metrics are off.
 */
async function pipelineConsumer(bufferBytes: number): Promise<Consumer & { daemon: Daemon }> {
  const config = defaultConfig();
  config.capture.interfaces = [HOST_IF];
  config.capture.buffer_bytes = bufferBytes;
  config.capture.timeout_ms = 50;
  config.capture.stats_interval = 3600;
  config.metrics.listen = '';
  const daemon = new Daemon({ configPath: undefined, config, broker: undefined }, { log: createLogger('warn') });
  await daemon.start();
  const live = daemon.live!;
  return {
    daemon,
    captured: () => live.stats().packets,
    dropped: () => {
      live.pollStats();
      return live.stats().drops;
    },
    stop: () => daemon.stop('benchmark done'),
  };
}

async function measure(mode: string, c: Consumer, file: string, pps: number, count: number): Promise<Row> {
  const n0 = c.captured();
  const d0 = c.dropped();
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const r = await replay(file, pps, count);
  // Drain: the last partly filled kernel block arrives within timeoutMs.
  const deadline = Date.now() + 2000;
  while (c.captured() - n0 + (c.dropped() - d0) < r.sent && Date.now() < deadline) await sleep(20);
  const wallUs = Number(process.hrtime.bigint() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return {
    mode,
    offered: pps,
    actual: r.actualPps,
    sent: r.sent,
    captured: c.captured() - n0,
    dropped: c.dropped() - d0,
    cpu: (100 * (cpu.user + cpu.system)) / wallUs,
    nsPerPacket: (1000 * (cpu.user + cpu.system)) / Math.max(1, c.captured() - n0),
  };
}

function print(rows: Row[]): void {
  const head = ['consumer', 'offered pps', 'tcpreplay pps', 'sent', 'captured', 'ps_drop', 'CPU %', 'CPU ns/pkt'];
  console.log(head.map((h) => h.padStart(14)).join(''));
  for (const r of rows) {
    console.log(
      [r.mode, r.offered, Math.round(r.actual), r.sent, r.captured, r.dropped, r.cpu.toFixed(1), r.nsPerPacket.toFixed(0)]
        .map((v) => String(v).padStart(14))
        .join(''),
    );
  }
}

let capturePath: string | undefined;

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('the live capture benchmark needs root (namespaces, tcpreplay)');
  setup();
  try {
    const { path, avgBytes } = generateCapture();
    capturePath = path;
    console.log(`libpcap: ${loadPcapAddon().libVersion}; capture: ${FRAMES} UDP frames, sizes ${SIZES.join('/')} (avg ${avgBytes.toFixed(0)} B), ${SECONDS} s per rate`);
    const rows: Row[] = [];
    const best: Record<string, number> = {};
    for (const [mode, make] of ONLY === 'pipeline' ? [] : ([
      ['addon', () => addonConsumer(32 << 20)],
      ['source', () => sourceConsumer(32 << 20)],
    ] as const)) {
      const c = make();
      await sleep(200);
      for (const pps of RATES) {
        const row = await measure(mode, c, path, pps, Math.round(pps * SECONDS));
        rows.push(row);
        if (row.dropped === 0 && row.captured === row.sent) best[mode] = Math.max(best[mode] ?? 0, row.actual);
      }
      await c.stop();
    }
    // Overload: 1 MiB ring and ~2 µs of JS work per packet, at the highest rate.
    const top = RATES[RATES.length - 1]!;
    const overloads: Row[] = [];
    if (ONLY !== 'pipeline') {
      const slow = sourceConsumer(1 << 20, 400);
      await sleep(200);
      const over = await measure('overload', slow, path, top, Math.round(top * SECONDS));
      await slow.stop();
      rows.push(over);
      overloads.push(over);
    }
    if (CAPTURE) {
      console.log(`pipeline: ${CAPTURE} (${capinfo(CAPTURE)}), rates ${PIPELINE_RATES.join(', ')} pps`);
      const p = await pipelineConsumer(32 << 20);
      await sleep(200);
      // Warm-up (not reported): JIT, and the flow table growing to the capture's working set.
      const warm = await measure('warm-up', p, CAPTURE, 50_000, 200_000);
      console.log(`pipeline warm-up: ${warm.captured} of ${warm.sent} captured, ${warm.dropped} dropped (not counted)`);
      for (const pps of PIPELINE_RATES) {
        // topspeed (0) sends as many packets as the top fixed rate would.
        const row = await measure('pipeline', p, CAPTURE, pps, Math.round((pps || Math.max(...PIPELINE_RATES)) * SECONDS));
        rows.push(row);
        if (row.dropped === 0 && row.captured === row.sent) best['pipeline'] = Math.max(best['pipeline'] ?? 0, row.actual);
      }
      const flows = p.daemon.pipeline!.table.stats;
      console.log(`pipeline: ${flows.created} flows created, ${flows.active} active, ${flows.evicted} evicted; RSS ${(process.memoryUsage().rss / 1e6).toFixed(0)} MB`);
      await p.stop();
      // Overload the whole pipeline: small ring, the highest rate.
      const small = await pipelineConsumer(1 << 20);
      await sleep(200);
      const topPipe = Math.max(...PIPELINE_RATES);
      const over = await measure('pipe-overload', small, CAPTURE, 0, Math.round(topPipe * SECONDS));
      await small.stop();
      rows.push(over);
      overloads.push(over);
    }
    print(rows);
    for (const [mode, pps] of Object.entries(best)) {
      console.log(`${mode}: highest rate with zero drops and every frame captured: ${Math.round(pps)} pps (tcpreplay's measured rate)`);
    }
    for (const over of overloads) {
      const accounted = over.captured + over.dropped;
      console.log(
        `${over.mode}: captured ${over.captured} + ps_drop ${over.dropped} = ${accounted} of ${over.sent} sent ` +
          `(${accounted === over.sent ? 'every packet accounted for' : 'MISMATCH'})`,
      );
    }
  } finally {
    teardown();
    if (capturePath !== undefined) rmSync(dirname(capturePath), { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  teardown();
  process.exit(1);
});
