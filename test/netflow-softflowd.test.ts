/**
 * softflowd (Debian package `softflowd`) reads a real capture and exports its flows to the
 * collector over loopback UDP as NetFlow v5, v9 and IPFIX: each version must give the same flows,
 * and the flows must match the capture itself (packets and IP bytes per 5-tuple, start times).
 */
import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NetflowCollector, type NetflowCollectorOptions, type NetflowCollectorStats } from '../agent/source/netflow/index.js';
import type { FlowRecord } from '../agent/flow/flow-record.js';
import { openCapture } from '../agent/source/capture-file/open-capture.js';
import { RawPacket } from '../agent/source/raw-packet.js';
import { Decoder } from '../agent/decode/decoder.js';
import { ipv4ToString, ipv6ToString } from '../agent/util/ip-format.js';

const CAPTURE = new URL('../../shared/corpora/ndpi/pcap/iphone.pcap', import.meta.url).pathname;
const FLOOD = new URL('../../shared/corpora/attacks/stopddos/pkt.TCP.synflood.spoofed.pcap', import.meta.url).pathname;

const haveSoftflowd = spawnSync('softflowd', ['-h']).error === undefined;

interface Export {
  recs: FlowRecord[];
  stats: NetflowCollectorStats;
  /** From softflowd's summary: "Flows exported: F (R records) in P packets". */
  sent: { records: number; packets: number };
}

/**
 * Runs softflowd on `capture` against a fresh collector. softflowd 1.1.0 hangs in accept() when
 * its control socket path (-c) is 13 characters or longer, so it runs in a temporary directory
 * with short relative names.
 */
async function softflowdExport(capture: string, args: string[], opts: NetflowCollectorOptions = {}): Promise<Export> {
  const dir = mkdtempSync(join(tmpdir(), 'pk-nf-'));
  const recs: FlowRecord[] = [];
  const collector = new NetflowCollector({ host: '127.0.0.1', port: 0, onFlow: (r) => recs.push(r), onWarning: () => undefined, ...opts });
  const { port } = await collector.start();
  try {
    const out = await new Promise<string>((resolve, reject) => {
      const p = spawn('softflowd', ['-r', capture, '-n', `127.0.0.1:${port}`, '-d', '-p', 'p', '-c', 'c', ...args], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
      let text = '';
      p.stdout.on('data', (d: Buffer) => (text += d.toString()));
      p.stderr.on('data', (d: Buffer) => (text += d.toString()));
      const timer = setTimeout(() => p.kill('SIGKILL'), 30_000);
      p.on('error', reject);
      p.on('close', (code) => {
        clearTimeout(timer);
        if (code === 0) resolve(text);
        else reject(new Error(`softflowd exited with ${code}: ${text.slice(-300)}`));
      });
    });
    const m = /Flows exported: \d+ \((\d+) records\) in (\d+) packets/.exec(out);
    if (!m) throw new Error(`no export summary from softflowd: ${out.slice(-300)}`);
    const sent = { records: Number(m[1]), packets: Number(m[2]) };
    // Datagrams already sit in the socket buffer; let the event loop drain it.
    for (let i = 0; i < 100 && collector.stats().packets + Math.max(0, collector.stats().socketDrops) < sent.packets; i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    await new Promise((r) => setTimeout(r, 50));
    await collector.stop();
    return { recs, stats: collector.stats(), sent };
  } finally {
    await collector.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

type Totals = Map<string, { packets: number; bytes: number; firstMs: number }>;

function tupleKey(v: number, proto: number, src: string, sport: number, dst: string, dport: number): string {
  return `${v} ${proto} ${src}:${sport} > ${dst}:${dport}`;
}

function totalsOf(recs: FlowRecord[]): Totals {
  const m: Totals = new Map();
  for (const r of recs) {
    const k = tupleKey(r.ipVersion, r.protocol, r.client.ip, r.client.port, r.server.ip, r.server.port);
    const v = m.get(k) ?? { packets: 0, bytes: 0, firstMs: Infinity };
    v.packets += r.c2s.packets;
    v.bytes += r.c2s.bytes;
    v.firstMs = Math.min(v.firstMs, r.startUs / 1000);
    m.set(k, v);
  }
  return m;
}

/** Packets, IP bytes and first-packet time per one-way TCP/UDP 5-tuple, read from the capture. */
function captureTruth(path: string): Totals {
  const reader = openCapture(path);
  const raw = new RawPacket();
  const dec = new Decoder();
  const m: Totals = new Map();
  while (reader.next(raw)) {
    if (!dec.decode(raw)) continue;
    const d = dec.out;
    if (d.protocol !== 6 && d.protocol !== 17) continue;
    const ipText = (w: Uint32Array): string => (d.ipVersion === 4 ? ipv4ToString(w[0]! >>> 0) : ipv6ToString(w[0]!, w[1]!, w[2]!, w[3]!));
    const k = tupleKey(d.ipVersion, d.protocol, ipText(d.src), d.sport, ipText(d.dst), d.dport);
    const v = m.get(k) ?? { packets: 0, bytes: 0, firstMs: Infinity };
    v.packets++;
    v.bytes += d.ipLen;
    v.firstMs = Math.min(v.firstMs, d.tsUs / 1000);
    m.set(k, v);
  }
  reader.close();
  return m;
}

const counts = (m: Totals): Record<string, string> => Object.fromEntries([...m].map(([k, v]) => [k, `${v.packets} pkts ${v.bytes} B`]).sort());

t.test('softflowd v5, v9 and IPFIX exports of one capture give the same flows', { skip: haveSoftflowd ? false : 'softflowd not installed (apt-get install softflowd)' }, async (t) => {
  // -a: export times follow the capture's clock; -6: track IPv6 too.
  const v5 = await softflowdExport(CAPTURE, ['-v', '5', '-a']);
  const v9 = await softflowdExport(CAPTURE, ['-v', '9', '-a', '-6']);
  const ipfix = await softflowdExport(CAPTURE, ['-v', '10', '-a', '-6']);

  for (const [name, e] of [['v5', v5], ['v9', v9], ['ipfix', ipfix]] as const) {
    t.equal(e.stats.packets, e.sent.packets, `${name}: every datagram softflowd sent was received`);
    t.equal(e.stats.socketDrops, 0, `${name}: kernel dropped nothing`);
    t.equal(e.recs.length, e.sent.records, `${name}: ${e.sent.records} records, as softflowd reports`);
    t.same(e.stats.errors, {}, `${name}: no decode errors`);
    t.equal(e.stats.unknownTemplateSets, 0);
    t.same([e.stats.exportPacketsLost, e.stats.sequenceResets], [0, 0], `${name}: v9 sequence numbers in order`);
  }
  t.equal(v5.stats.packetsV5, v5.sent.packets);
  t.equal(v9.stats.packetsV9, v9.sent.packets);
  t.equal(ipfix.stats.packetsIpfix, ipfix.sent.packets);

  const t5 = totalsOf(v5.recs);
  const t9 = totalsOf(v9.recs);
  const t10 = totalsOf(ipfix.recs);
  t.ok(t9.size > 40, `${t9.size} one-way flows`);
  t.same(counts(t10), counts(t9), 'IPFIX and v9: same 5-tuples, packets and bytes');
  const v4only = new Map([...t9].filter(([k]) => k.startsWith('4 ')));
  t.ok(v4only.size < t9.size, 'the capture has IPv6 flows, which v5 cannot carry');
  t.same(counts(t5), counts(v4only), 'v5: the same IPv4 flows');

  // Times: v5 and IPFIX carry milliseconds; v9's header time has whole seconds only.
  let maxV5 = 0;
  let maxV9 = 0;
  for (const [k, v] of t10) {
    if (t5.has(k)) maxV5 = Math.max(maxV5, Math.abs(t5.get(k)!.firstMs - v.firstMs));
    maxV9 = Math.max(maxV9, Math.abs(t9.get(k)!.firstMs - v.firstMs));
  }
  t.ok(maxV5 <= 1, `v5 and IPFIX start times agree within 1 ms (max ${maxV5} ms)`);
  t.ok(maxV9 < 1000, `v9 start times within its 1 s header resolution (max ${maxV9} ms)`);

  // Against the capture itself (TCP/UDP: ICMP keys differ by design, type/code vs ports).
  const truth = captureTruth(CAPTURE);
  const exportedL4 = new Map([...t10].filter(([k]) => / (6|17) /.test(k.slice(0, 5))));
  t.same(counts(exportedL4), counts(truth), 'packets and IP bytes per 5-tuple equal the capture');
  // softflowd tracks both directions as one flow and stamps each direction's record with the
  // flow's first packet (the query's time on the reply record). It truncates to milliseconds
  // twice (its uptime and the flow time), so its times run up to 2 ms early.
  const reverse = (k: string): string => {
    const [v, p, a, , b] = k.split(' ');
    return `${v} ${p} ${b} > ${a}`;
  };
  let maxTruth = 0;
  for (const [k, v] of exportedL4) {
    const first = Math.min(truth.get(k)!.firstMs, truth.get(reverse(k))?.firstMs ?? Infinity);
    maxTruth = Math.max(maxTruth, Math.abs(v.firstMs - first));
  }
  t.ok(maxTruth < 2, `flow start = first packet of the flow within 2 ms (max ${maxTruth.toFixed(3)} ms)`);

  const icmp = ipfix.recs.filter((r) => r.protocol === 1 || r.protocol === 58);
  t.ok(icmp.length > 0, 'ICMP flows exported');
  t.ok(icmp.every((r) => r.client.port < 256 && r.server.port < 256), 'ICMP type/code are single bytes');
  t.ok(v9.recs.every((r) => r.exporter?.ip === '127.0.0.1' && r.origin === 'netflow'));
});

t.test('softflowd bidirectional IPFIX (RFC 5103) matches its one-way export', { skip: haveSoftflowd ? false : 'softflowd not installed' }, async (t) => {
  const uni = await softflowdExport(CAPTURE, ['-v', '10', '-a', '-6']);
  const bi = await softflowdExport(CAPTURE, ['-v', '10', '-a', '-6', '-b']);
  t.same(bi.stats.errors, {});
  t.ok(bi.recs.length < uni.recs.length, `${bi.recs.length} biflows for ${uni.recs.length} one-way records`);
  const one = totalsOf(uni.recs);
  // softflowd -b writes ICMP type/code 0 in both directions of an IPv4 ICMP biflow (tshark shows
  // "ICMP Type: 0x0000" for a port-unreachable flow), so ICMP is matched without type/code.
  const icmpKey = (k: string): string => k.replace(/:\d+ > /, ' > ').replace(/:\d+$/, '');
  const oneIcmp = new Map([...one].filter(([k]) => / (1|58) /.test(k.slice(0, 5))).map(([k, v]) => [icmpKey(k), v]));
  let matched = 0;
  let both = 0;
  for (const r of bi.recs) {
    const icmp = r.protocol === 1 || r.protocol === 58;
    const look = (k: string): { packets: number; bytes: number } | undefined => (icmp ? oneIcmp.get(icmpKey(k)) : one.get(k));
    const fwd = look(tupleKey(r.ipVersion, r.protocol, r.client.ip, r.client.port, r.server.ip, r.server.port));
    const rev = look(tupleKey(r.ipVersion, r.protocol, r.server.ip, r.server.port, r.client.ip, r.client.port));
    const fwdOk = fwd !== undefined && fwd.packets === r.c2s.packets && fwd.bytes === r.c2s.bytes;
    const revOk = r.s2c.packets === 0 || (rev !== undefined && rev.packets === r.s2c.packets && rev.bytes === r.s2c.bytes);
    if (fwdOk && revOk) matched++;
    else t.comment('unmatched biflow', JSON.stringify([r.protocol, r.client, r.server, r.c2s.packets, r.s2c.packets, fwd, rev]));
    if (r.s2c.packets > 0) both++;
  }
  const reverseOnly = bi.recs.find((r) => r.protocol === 1 && r.client.ip === '192.168.2.17');
  t.ok(reverseOnly && reverseOnly.c2s.packets === 5 && reverseOnly.s2c.packets === 0, 'a biflow with an empty forward direction is turned around: the sender is the client');
  t.equal(matched, bi.recs.length, 'every biflow direction equals a one-way record');
  t.ok(both > 10, `${both} biflows carry reverse counters`);
  const sum = (rs: FlowRecord[]): number => rs.reduce((a, r) => a + r.c2s.packets + r.s2c.packets, 0);
  t.equal(sum(bi.recs), sum(uni.recs), 'same total packets');
});

t.test('softflowd sampling (-s 4) is read from the export and applied', { skip: haveSoftflowd ? false : 'softflowd not installed' }, async (t) => {
  const truth = [...captureTruth(CAPTURE).values()].reduce((a, v) => a + v.packets, 0);
  for (const v of ['5', '9', '10']) {
    const e = await softflowdExport(CAPTURE, ['-v', v, '-a', '-6', '-s', '4']);
    t.same([...new Set(e.recs.map((r) => r.exporter!.samplingInterval))], [4], `v${v}: every record says 1 in 4`);
    const l4 = e.recs.filter((r) => r.protocol === 6 || r.protocol === 17).reduce((a, r) => a + r.c2s.packets, 0);
    t.ok(Math.abs(l4 - truth) / truth < 0.1, `v${v}: sampled estimate ${l4} packets vs ${truth} in the capture`);
  }
});

t.test('a receive buffer too small for a burst loses datagrams, and the loss is counted', { skip: haveSoftflowd ? false : 'softflowd not installed' }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pk-nf-'));
  const collector = new NetflowCollector({ host: '127.0.0.1', port: 0, receiveBufferBytes: 4096, onFlow: () => undefined, onWarning: () => undefined });
  const { port } = await collector.start();
  try {
    // spawnSync blocks this event loop on purpose: the whole burst must fit in the kernel buffer.
    const r = spawnSync('softflowd', ['-r', FLOOD, '-n', `127.0.0.1:${port}`, '-v', '9', '-d', '-p', 'p', '-c', 'c', '-m', '100000'], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
    const sent = Number(/in (\d+) packets/.exec(r.stdout)?.[1] ?? NaN);
    await new Promise((res) => setTimeout(res, 200));
    const s = collector.stats();
    t.ok(sent > 500, `softflowd sent ${sent} datagrams`);
    t.ok(s.socketDrops > 0, `kernel dropped ${s.socketDrops} with a 4 KiB buffer`);
    t.equal(s.packets + s.socketDrops, sent, 'received + dropped = sent');
    // The kernel kept the first datagrams and dropped the rest: a loss at the end leaves no gap in
    // the v9 sequence numbers (a gap shows only when a later packet arrives).
    t.ok(s.exportPacketsLost <= s.socketDrops);
  } finally {
    await collector.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
