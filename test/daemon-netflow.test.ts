/**
 * NetFlow through the daemon: softflowd (Debian) reads a real capture and exports it as NetFlow
 * v5, v9 and IPFIX to `picket run --netflow`; every export gives the flows of the capture (packets
 * and IP bytes per one-way 5-tuple), they go out through --flows-jsonl and the metrics count them.
 */
import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openCapture } from '../agent/source/capture-file/open-capture.js';
import { RawPacket } from '../agent/source/raw-packet.js';
import { Decoder } from '../agent/decode/decoder.js';
import { ipv4ToString, ipv6ToString } from '../agent/util/ip-format.js';
import { fetchText, metric, PicketProcess, sleep } from './daemon-process.js';

const CAPTURE = new URL('../../shared/corpora/ndpi/pcap/iphone.pcap', import.meta.url).pathname;
const haveSoftflowd = spawnSync('softflowd', ['-h']).error === undefined;

type Flow = Record<string, any>;
type Totals = Map<string, string>;

/** Packets and IP bytes per one-way TCP/UDP 5-tuple, from the capture itself. */
function captureTruth(path: string, v4only: boolean): Totals {
  const reader = openCapture(path);
  const raw = new RawPacket();
  const dec = new Decoder();
  const m = new Map<string, { p: number; b: number }>();
  while (reader.next(raw)) {
    if (!dec.decode(raw)) continue;
    const d = dec.out;
    if ((d.protocol !== 6 && d.protocol !== 17) || (v4only && d.ipVersion !== 4)) continue;
    const ip = (w: Uint32Array): string => (d.ipVersion === 4 ? ipv4ToString(w[0]! >>> 0) : ipv6ToString(w[0]!, w[1]!, w[2]!, w[3]!));
    const k = `${d.protocol === 6 ? 'tcp' : 'udp'} ${ip(d.src)}:${d.sport} > ${ip(d.dst)}:${d.dport}`;
    const v = m.get(k) ?? { p: 0, b: 0 };
    v.p++;
    v.b += d.ipLen;
    m.set(k, v);
  }
  reader.close();
  return new Map([...m].map(([k, v]) => [k, `${v.p} pkts ${v.b} B`]));
}

/** The same from the daemon's NetFlow flow records (one-way: the client side carries the counters). */
function recordTotals(flows: Flow[]): Totals {
  const m = new Map<string, { p: number; b: number }>();
  for (const f of flows) {
    if (f.network.transport !== 'tcp' && f.network.transport !== 'udp') continue;
    const k = `${f.network.transport} ${f.source.ip}:${f.source.port} > ${f.destination.ip}:${f.destination.port}`;
    const v = m.get(k) ?? { p: 0, b: 0 };
    v.p += f.source.packets;
    v.b += f.source.bytes;
    m.set(k, v);
  }
  return new Map([...m].map(([k, v]) => [k, `${v.p} pkts ${v.b} B`]));
}

const sorted = (m: Totals): Array<[string, string]> => [...m].sort((a, b) => (a[0] < b[0] ? -1 : 1));

/** softflowd on the capture to the collector; resolves with "R records in P packets". */
function softflowd(port: number, version: string, cwd: string): Promise<{ records: number; packets: number }> {
  return new Promise((resolve, reject) => {
    // Short relative control socket path: softflowd 1.1.0 hangs with a long -c path.
    const p = spawn('softflowd', ['-r', CAPTURE, '-n', `127.0.0.1:${port}`, '-v', version, '-a', '-6', '-d', '-p', 'p', '-c', 'c'], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    p.stdout.on('data', (d: Buffer) => (text += d.toString()));
    p.stderr.on('data', (d: Buffer) => (text += d.toString()));
    const timer = setTimeout(() => p.kill('SIGKILL'), 30_000);
    p.on('close', (code) => {
      clearTimeout(timer);
      const m = /Flows exported: \d+ \((\d+) records\) in (\d+) packets/.exec(text);
      if (code !== 0 || !m) reject(new Error(`softflowd ${version} failed (${code}): ${text.slice(-300)}`));
      else resolve({ records: Number(m[1]), packets: Number(m[2]) });
    });
  });
}

t.test('softflowd v5, v9 and IPFIX through picket run --netflow give the capture\'s flows', { skip: haveSoftflowd ? false : 'softflowd not installed (apt-get install softflowd)' }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pk-dmn-nf-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const flowsPath = join(dir, 'flows.jsonl');
  const picket = new PicketProcess(['run', '--netflow', '127.0.0.1:0', '--flows-jsonl', flowsPath, '--metrics', '127.0.0.1:0']);
  t.teardown(async () => {
    if (picket.running) await picket.stop(2000);
  });
  const started = await picket.started();
  const port = started.netflowPort as number;
  t.ok(port > 0, `collecting on UDP ${port}`);
  t.match(started.msg, /collecting NetFlow\/IPFIX on 127\.0\.0\.1:0/);
  const url = `http://127.0.0.1:${started.metricsPort as number}/metrics`;

  const readFlows = (): Flow[] => (existsSync(flowsPath) ? readFileSync(flowsPath, 'utf8').trim().split('\n').filter((l) => l).map((l) => JSON.parse(l) as Flow) : []);
  const results = new Map<string, Totals>();
  let recordsBefore = 0;
  for (const version of ['5', '9', '10']) {
    const sent = await softflowd(port, version, dir);
    let m = '';
    for (let i = 0; i < 100; i++) {
      m = await fetchText(url);
      if ((metric(m, 'picket_netflow_records_total') ?? 0) >= recordsBefore + sent.records) break;
      await sleep(100);
    }
    t.equal(metric(m, 'picket_netflow_records_total'), recordsBefore + sent.records, `v${version}: ${sent.records} records counted`);
    t.equal(metric(m, 'picket_netflow_socket_drops_total'), 0, `v${version}: no socket drops`);
    // Flow lines are written in batches, flushed every second.
    let flows: Flow[] = [];
    for (let i = 0; i < 50; i++) {
      flows = readFlows();
      if (flows.length >= recordsBefore + sent.records) break;
      await sleep(100);
    }
    const mine = flows.slice(recordsBefore);
    t.equal(mine.length, sent.records, `v${version}: every record in --flows-jsonl`);
    t.ok(mine.every((f) => f.picket.flow.origin === 'netflow' && f.picket.flow.exporter?.ip === '127.0.0.1'), 'NetFlow records, exporter 127.0.0.1');
    results.set(version, recordTotals(mine));
    recordsBefore += sent.records;
  }
  const e = await picket.stop();
  t.equal(e.code, 0);
  t.match(picket.lines().find((l) => l.event === 'stopped')?.msg, new RegExp(`${recordsBefore} NetFlow records`));

  const truthAll = captureTruth(CAPTURE, false);
  const truthV4 = captureTruth(CAPTURE, true);
  t.ok(truthAll.size > 40, `${truthAll.size} one-way TCP/UDP flows in the capture`);
  t.same(sorted(results.get('10')!), sorted(truthAll), 'IPFIX: packets and bytes per 5-tuple equal the capture');
  t.same(sorted(results.get('9')!), sorted(truthAll), 'v9: the same');
  t.same(sorted(results.get('5')!), sorted(truthV4), 'v5: the same IPv4 flows (v5 carries no IPv6)');
});
