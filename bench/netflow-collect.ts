/**
 * NetFlow/IPFIX collector throughput on one core, from real exports: softflowd (Debian package)
 * reads a 37 k-packet spoofed SYN flood capture (one flow per packet) and exports it as v5, v9 and
 * IPFIX; those datagrams are then
 *
 *   1. decoded in-process in a loop (decode-only records/s, FlowRecord + Community ID included),
 *      next to an anchor in the same run: node-netflowv9 decoding the same v5/v9 datagrams;
 *   2. sent by a child process over loopback UDP at rising rates to the collector in this
 *      process: the highest rate with zero loss (every datagram received, kernel drops 0);
 *   3. the receive-buffer table: softflowd flushing the whole capture at once (a burst) into the
 *      collector with SO_RCVBUF from the kernel default up to 8 MiB: datagrams lost.
 *
 *   npm run build && node dist/bench/netflow-collect.js [--seconds 2] [--decode-seconds 2]
 *        [--rates 25000,50000,100000,150000,200000,300000,400000] [--versions 5,9,10] [--skip-burst]
 *
 * Runs on a shared 2-core machine: numbers are lower bounds; rerun on a quiet machine.
 */
import { fork, spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { NetflowCollector } from '../agent/source/netflow/netflow-collector.js';
import { NetflowDecoder } from '../agent/source/netflow/netflow-decoder.js';

const FLOOD = new URL('../../../shared/corpora/attacks/stopddos/pkt.TCP.synflood.spoofed.pcap', import.meta.url).pathname;

const argv = process.argv.slice(2);
const opt = (name: string, d: string): string => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1]! : d;
};

function pack(grams: Uint8Array[]): Buffer {
  const parts: Buffer[] = [];
  for (const g of grams) {
    const h = Buffer.alloc(4);
    h.writeUInt32BE(g.length);
    parts.push(h, Buffer.from(g));
  }
  return Buffer.concat(parts);
}

function unpack(b: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let o = 0; o + 4 <= b.length; ) {
    const n = b.readUInt32BE(o);
    out.push(b.subarray(o + 4, o + 4 + n));
    o += 4 + n;
  }
  return out;
}

/** Runs softflowd on `capture` towards 127.0.0.1:port and resolves with its summary line. */
function runSoftflowd(capture: string, port: number, version: string): Promise<{ records: number; packets: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'pk-nf-'));
  return new Promise((resolve, reject) => {
    // Short relative -c/-p names: softflowd 1.1.0 hangs when the control socket path is ≥ 13 chars.
    const p = spawn('softflowd', ['-r', capture, '-n', `127.0.0.1:${port}`, '-v', version, '-d', '-m', '100000', '-p', 'p', '-c', 'c'], { cwd: dir });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.on('error', reject);
    p.on('close', () => {
      rmSync(dir, { recursive: true, force: true });
      const m = /\((\d+) records\) in (\d+) packets/.exec(out);
      if (m) resolve({ records: Number(m[1]), packets: Number(m[2]) });
      else reject(new Error(`softflowd: no summary (${out.slice(-200)})`));
    });
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** softflowd's export of the flood capture, captured raw (no decoding) so nothing is lost. */
async function captureExport(version: string): Promise<Buffer[]> {
  const sock = createSocket({ type: 'udp4', recvBufferSize: 64 * 1024 * 1024 });
  const grams: Buffer[] = [];
  sock.on('message', (m) => grams.push(m));
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
  const sent = await runSoftflowd(FLOOD, sock.address().port, version);
  for (let i = 0; i < 100 && grams.length < sent.packets; i++) await sleep(20);
  sock.close();
  if (grams.length !== sent.packets) throw new Error(`v${version}: captured ${grams.length} of ${sent.packets} datagrams; rerun`);
  return grams;
}

function recordsOf(grams: Uint8Array[]): number[] {
  let n = 0;
  const dec = new NetflowDecoder(() => n++);
  return grams.map((g) => {
    const before = n;
    dec.decode(g, '127.0.0.1', 9995, 0);
    return n - before;
  });
}

interface NfV9Anchor {
  nfPktDecode(msg: Buffer, rinfo: { address: string; port: number }): { flows?: unknown[] } | undefined;
}

async function main(): Promise<void> {
  const seconds = Number(opt('seconds', '2'));
  const decodeSeconds = Number(opt('decode-seconds', '2'));
  const rates = opt('rates', '25000,50000,100000,150000,200000,300000,400000').split(',').map(Number);
  const versions = opt('versions', '5,9,10').split(',');
  console.log(`# node dist/bench/netflow-collect.js ${argv.join(' ')}`.trim());
  console.log(`# input: softflowd -r ${FLOOD.replace(/.*corpora\//, 'corpora/')} -m 100000 (37 k flows), node ${process.version}`);

  const exportsBy = new Map<string, { grams: Buffer[]; perGram: number[] }>();
  for (const v of versions) {
    const grams = await captureExport(v);
    exportsBy.set(v, { grams, perGram: recordsOf(grams) });
  }
  console.log('\n## export datagrams');
  console.log('| version | datagrams | records | records/datagram | bytes/record |');
  console.log('|---|---|---|---|---|');
  for (const [v, e] of exportsBy) {
    const recs = e.perGram.reduce((a, b) => a + b, 0);
    const bytes = e.grams.reduce((a, g) => a + g.length, 0);
    console.log(`| ${v === '10' ? 'IPFIX' : `v${v}`} | ${e.grams.length} | ${recs} | ${(recs / e.grams.length).toFixed(1)} | ${(bytes / recs).toFixed(1)} |`);
  }

  // ------------------------------------------------------------ 1. decode-only
  console.log(`\n## decode only (one core, ${decodeSeconds} s each): datagram → FlowRecord incl. Community ID`);
  console.log('| version | Picket records/s | node-netflowv9 records/s (anchor: no FlowRecord, no Community ID) |');
  console.log('|---|---|---|');
  const require = createRequire(import.meta.url);
  const NetFlowV9 = require('node-netflowv9') as (o: { cb: () => void }) => NfV9Anchor;
  for (const [v, e] of exportsBy) {
    let n = 0;
    const dec = new NetflowDecoder(() => n++);
    let t0 = performance.now();
    let loops = 0;
    while (performance.now() - t0 < decodeSeconds * 1000) {
      for (const g of e.grams) dec.decode(g, '127.0.0.1', 9995, 0);
      loops++;
    }
    const ours = n / ((performance.now() - t0) / 1000);
    let anchor = '—';
    if (v !== '10') {
      const nf = NetFlowV9({ cb: () => undefined });
      let m = 0;
      const rinfo = { address: '127.0.0.1', port: 9995 };
      t0 = performance.now();
      while (performance.now() - t0 < decodeSeconds * 1000) {
        for (const g of e.grams) m += nf.nfPktDecode(g, rinfo)?.flows?.length ?? 0;
      }
      anchor = `${Math.round(m / ((performance.now() - t0) / 1000)).toLocaleString('en')}`;
    }
    console.log(`| ${v === '10' ? 'IPFIX' : `v${v}`} | ${Math.round(ours).toLocaleString('en')} (${loops} passes) | ${anchor} |`);
  }

  // ------------------------------------------------------------ 2. rate ramp over loopback
  const dir = mkdtempSync(join(tmpdir(), 'pk-nf-bench-'));
  const self = process.argv[1]!;
  console.log(`\n## loopback UDP from a child process, ${seconds} s per step (collector in this process, default receive buffer)`);
  console.log('| version | target records/s | datagrams/s | sent | received | kernel drops | records | collector CPU | zero loss |');
  console.log('|---|---|---|---|---|---|---|---|---|');
  const best = new Map<string, number>();
  for (const [v, e] of exportsBy) {
    const file = join(dir, `v${v}.bin`);
    writeFileSync(file, pack(e.grams));
    const avg = e.perGram.reduce((a, b) => a + b, 0) / e.grams.length;
    let failures = 0;
    for (const target of rates) {
      const gramRate = Math.max(1, Math.round(target / avg));
      let records = 0;
      const c = new NetflowCollector({ host: '127.0.0.1', port: 0, onFlow: () => records++, onWarning: () => undefined });
      const { port } = await c.start();
      const cpu0 = process.cpuUsage();
      const w0 = performance.now();
      const child = fork(self, ['--sender', file, String(port), String(gramRate), String(seconds)], { stdio: 'inherit' });
      const report = await new Promise<{ sent: number; seconds: number }>((resolve, reject) => {
        child.once('message', (m) => resolve(m as { sent: number; seconds: number }));
        child.once('error', reject);
      });
      let last = -1;
      while (c.stats().packets !== last) {
        last = c.stats().packets;
        await sleep(100);
      }
      const cpu = process.cpuUsage(cpu0);
      const wall = (performance.now() - w0 - 100) / 1000;
      const s = c.stats();
      await c.stop();
      let expected = 0;
      for (let i = 0; i < report.sent; i++) expected += e.perGram[i % e.grams.length]!;
      const zero = s.packets === report.sent && s.socketDrops === 0 && records === expected;
      if (zero) best.set(v, Math.max(best.get(v) ?? 0, target));
      const cpuPct = ((cpu.user + cpu.system) / 1e6 / wall) * 100;
      console.log(
        `| ${v === '10' ? 'IPFIX' : `v${v}`} | ${target.toLocaleString('en')} | ${gramRate.toLocaleString('en')} | ${report.sent} | ${s.packets} | ${s.socketDrops} | ${records}/${expected} | ${cpuPct.toFixed(0)} % | ${zero ? 'yes' : 'NO'} |`,
      );
      failures = zero ? 0 : failures + 1;
      if (failures >= 2) break;
    }
  }
  rmSync(dir, { recursive: true, force: true });
  console.log('\nhighest zero-loss rate: ' + [...best].map(([v, r]) => `${v === '10' ? 'IPFIX' : `v${v}`} ${r.toLocaleString('en')} records/s`).join(', '));

  // ------------------------------------------------------------ 3. burst vs receive buffer
  if (!argv.includes('--skip-burst')) {
    const rmemDefault = Number(readFileSync('/proc/sys/net/core/rmem_default', 'utf8'));
    const rmemMax = Number(readFileSync('/proc/sys/net/core/rmem_max', 'utf8'));
    console.log(`\n## burst: softflowd flushes the capture into the collector (net.core.rmem_default ${rmemDefault}, rmem_max ${rmemMax})`);
    console.log('| version | SO_RCVBUF asked | granted (getsockopt) | datagrams sent | received | kernel drops | lost |');
    console.log('|---|---|---|---|---|---|---|');
    for (const v of versions) {
      for (const size of [rmemDefault / 2, 1 << 20, 2 << 20, 4 << 20, 8 << 20]) {
        let records = 0;
        const c = new NetflowCollector({ host: '127.0.0.1', port: 0, receiveBufferBytes: size, onFlow: () => records++, onWarning: () => undefined });
        const { port, receiveBufferBytes } = await c.start();
        const sent = await runSoftflowd(FLOOD, port, v);
        let last = -1;
        while (c.stats().packets !== last) {
          last = c.stats().packets;
          await sleep(100);
        }
        const s = c.stats();
        await c.stop();
        const lost = sent.packets - s.packets;
        console.log(`| ${v === '10' ? 'IPFIX' : `v${v}`} | ${size} | ${receiveBufferBytes} | ${sent.packets} | ${s.packets} | ${s.socketDrops} | ${((lost / sent.packets) * 100).toFixed(1)} % |`);
      }
    }
  }
}

// ---------------------------------------------------------------- child: paced UDP sender
function sender(): void {
  const [, file, portText, rateText, secondsText] = argv;
  const grams = unpack(readFileSync(file!));
  const port = Number(portText);
  const rate = Number(rateText);
  const seconds = Number(secondsText);
  const sock = createSocket({ type: 'udp4', sendBufferSize: 8 * 1024 * 1024 });
  let sent = 0;
  let done = 0;
  let i = 0;
  const total = Math.round(rate * seconds);
  const t0 = performance.now();
  const tick = (): void => {
    const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * rate));
    while (sent < due) {
      sock.send(grams[i]!, port, '127.0.0.1', () => {
        done++;
        if (done === total) {
          process.send!({ sent: total, seconds: (performance.now() - t0) / 1000, first: 0 });
          sock.close();
        }
      });
      i = (i + 1) % grams.length;
      sent++;
    }
    if (sent < total) setImmediate(tick);
  };
  tick();
}

if (argv[0] === '--sender') sender();
else await main();
