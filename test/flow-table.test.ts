import t from 'tap';
import { mkdtempSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RawPacket } from '../agent/source/raw-packet.js';
import { PacketPipeline } from '../agent/pipeline/packet-pipeline.js';
import { flowConfig } from '../agent/flow/flow-config.js';
import type { FlowRecord } from '../agent/flow/flow-record.js';
import { tcpFrame, udpFrame, icmpEchoFrame } from './helpers/frames.js';
import { runCapture } from './helpers/run-capture.js';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const T0 = 1_700_000_000e6;

/** Feeds frames (with times in seconds after T0) through a real pipeline; returns the records. */
function run(frames: Array<[number, Uint8Array]>, cfg = flowConfig()): { records: FlowRecord[]; p: PacketPipeline } {
  const records: FlowRecord[] = [];
  const p = new PacketPipeline({ flow: cfg, onRecord: (r) => records.push(r) });
  const raw = new RawPacket();
  for (const [sec, frame] of frames) {
    raw.buf = frame;
    raw.off = 0;
    raw.capLen = raw.wireLen = frame.length;
    raw.tsUs = T0 + sec * 1e6;
    raw.linkType = 1;
    p.packet(raw);
  }
  return { records, p };
}

const C = { src: '10.0.0.1', dst: '10.0.0.2', sport: 40000, dport: 443 };
const S = { src: '10.0.0.2', dst: '10.0.0.1', sport: 443, dport: 40000 };
const MSS_WS = [2, 4, 5, 0xb4, 1, 3, 3, 7, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0];

function handshakeAndClose(offset = 0): Array<[number, Uint8Array]> {
  return [
    [offset + 0, tcpFrame({ ...C, flags: 'S', seq: 100, options: MSS_WS })],
    [offset + 0.01, tcpFrame({ ...S, flags: 'SA', seq: 500, ack: 101, options: [2, 4, 5, 0x78] })],
    [offset + 0.02, tcpFrame({ ...C, flags: 'A', seq: 101, ack: 501 })],
    [offset + 0.03, tcpFrame({ ...C, flags: 'PA', seq: 101, ack: 501, payload: 'hello' })],
    [offset + 0.05, tcpFrame({ ...S, flags: 'PA', seq: 501, ack: 106, payload: 'world!!' })],
    [offset + 0.06, tcpFrame({ ...C, flags: 'FA', seq: 106, ack: 508 })],
    [offset + 0.07, tcpFrame({ ...S, flags: 'FA', seq: 508, ack: 107 })],
    [offset + 0.08, tcpFrame({ ...C, flags: 'A', seq: 107, ack: 509 })],
  ];
}

t.test('a TCP connection: handshake, data, FIN close', async (t) => {
  const { records, p } = run(handshakeAndClose());
  t.equal(records.length, 0, 'kept for late packets after the close');
  p.finish();
  t.equal(records.length, 1);
  const r = records[0]!;
  t.same(r.client, { ip: '10.0.0.1', port: 40000 });
  t.same(r.server, { ip: '10.0.0.2', port: 443 });
  t.equal(r.state, 'closed');
  t.equal(r.endReason, 'fin');
  t.equal(r.c2s.packets, 5);
  t.equal(r.s2c.packets, 3);
  t.equal(r.c2s.payloadBytes, 5);
  t.equal(r.s2c.payloadBytes, 7);
  t.equal(r.c2s.bytes, 60 + 40 + 45 + 40 + 40, 'IP-layer bytes (the SYN has 20 option bytes)');
  t.equal(r.s2c.bytes, 44 + 47 + 40);
  t.same(r.c2s.tcpFlags, { fin: 1, syn: 1, rst: 0, psh: 1, ack: 4, urg: 0, ece: 0, cwr: 0 });
  t.same(r.s2c.tcpFlags, { fin: 1, syn: 1, rst: 0, psh: 1, ack: 3, urg: 0, ece: 0, cwr: 0 });
  t.match(r.tcp, { syn: true, synAck: true, handshake: true, midstream: false, finClient: true, finServer: true, clientMss: 1460, clientWindowScale: 7, sackPermitted: true, timestamps: true, serverMss: 1400 });
  t.equal(r.startUs, T0);
  t.equal(r.endUs, T0 + 0.08e6);
  t.equal(r.c2s.iat!.min, 0.01e6);
  t.equal(r.c2s.iat!.max, 0.03e6);
  t.match(r.communityId, /^1:[A-Za-z0-9+/]{27}=$/);
});

t.test('retransmissions and out-of-order segments are counted over the whole flow', async (t) => {
  const seg = (sec: number, seq: number, payload: string): [number, Uint8Array] => [sec, tcpFrame({ ...C, flags: 'PA', seq, ack: 501, payload })];
  const frames: Array<[number, Uint8Array]> = [
    [0, tcpFrame({ ...C, flags: 'S', seq: 100 })],
    [0.01, tcpFrame({ ...S, flags: 'SA', seq: 500, ack: 101 })],
    seg(0.02, 101, 'aaaa'), // 101..105
    seg(0.03, 109, 'cccc'), // starts past 105: a hole (out of order)
    seg(0.04, 105, 'bbbb'), // fills the hole, below the highest seen
    seg(0.05, 101, 'aaaa'), // plain retransmission
    seg(0.06, 113, 'dddd'), // in order again
  ];
  // Without dissectors no payload is reassembled: the counts must not depend on that.
  const { records, p } = run(frames);
  p.finish();
  t.equal(records[0]!.tcp!.outOfOrder, 1);
  t.equal(records[0]!.tcp!.retransmits, 2, 'the hole filler and the duplicate');
});

t.test('closed flows are exported after the close delay; a new SYN on the same ports is a new flow', async (t) => {
  const cfg = flowConfig({ idleTimeout: { tcpClosed: 5 } });
  const frames = [...handshakeAndClose(0), ...handshakeAndClose(2)];
  const { records, p } = run(frames, cfg);
  t.equal(records.length, 1, 'the second SYN ended the first connection');
  t.equal(records[0]!.endReason, 'fin');
  run([[0, new Uint8Array(0)]]);
  p.packet(Object.assign(new RawPacket(), { buf: udpFrame({ src: '1.1.1.1', dst: '2.2.2.2', sport: 1, dport: 2 }), capLen: 42, wireLen: 42, tsUs: T0 + 20e6, linkType: 1 }));
  t.equal(records.length, 2, 'the close delay passed (sweep on packet time)');
  t.not(records[0]!.uid, records[1]!.uid);
});

t.test('an RST resets; the initiator is the SYN sender even when the SYN-ACK is seen first', async (t) => {
  const { records, p } = run([
    [0, tcpFrame({ ...S, flags: 'SA', seq: 500, ack: 101 })],
    [0.01, tcpFrame({ ...C, flags: 'R', seq: 101 })],
  ]);
  p.finish();
  t.equal(records.length, 1);
  t.same(records[0]!.client, { ip: '10.0.0.1', port: 40000 });
  t.equal(records[0]!.state, 'reset');
  t.equal(records[0]!.endReason, 'rst');
  t.equal(records[0]!.c2s.packets, 1);
  t.equal(records[0]!.s2c.packets, 1);
});

t.test('mid-stream flows take the service port side as the server', async (t) => {
  const { records, p } = run([[0, tcpFrame({ ...S, flags: 'A', seq: 9 })], [1, udpFrame({ src: '8.8.8.8', dst: '10.0.0.5', sport: 53, dport: 5555, payload: 'x' })]]);
  p.finish();
  const tcp = records.find((r) => r.transport === 'tcp')!;
  const udp = records.find((r) => r.transport === 'udp')!;
  t.same(tcp.server, { ip: '10.0.0.2', port: 443 });
  t.equal(tcp.tcp!.midstream, true);
  t.equal(tcp.state, 'established');
  t.same(udp.server, { ip: '8.8.8.8', port: 53 });
  t.equal(udp.s2c.packets, 1);
  t.equal(udp.state, 'new');
});

t.test('ICMP echo request and reply are one flow', async (t) => {
  const { records, p } = run([
    [0, icmpEchoFrame('10.0.0.1', '10.0.0.9', false)],
    [0.001, icmpEchoFrame('10.0.0.9', '10.0.0.1', true)],
    [1, icmpEchoFrame('10.0.0.8', '10.0.0.1', true)], // a reply alone: the other side asked
  ]);
  p.finish();
  t.equal(records.length, 2);
  const ping = records.find((r) => r.client.ip === '10.0.0.1')!;
  t.equal(ping.transport, 'icmp');
  t.equal(ping.state, 'bidirectional');
  t.same([ping.client.port, ping.server.port], [8, 0], 'type and code of the request');
  const lone = records.find((r) => r.server.ip === '10.0.0.8')!;
  t.same([lone.client.ip, lone.server.ip], ['10.0.0.1', '10.0.0.8'], 'a lone reply makes its destination the client');
  t.same([lone.client.port, lone.server.port], [8, 0], 'and the record shows the request type');
  t.equal(lone.c2s.packets, 0);
  t.equal(lone.s2c.packets, 1);
});

t.test('idle timeouts per protocol', async (t) => {
  const cfg = flowConfig({ idleTimeout: { udp: 30, tcp: 300 } });
  const { records } = run(
    [
      [0, udpFrame({ src: '10.0.0.1', dst: '10.0.0.2', sport: 1000, dport: 53 })],
      [0, tcpFrame({ ...C, flags: 'A' })],
      [31, udpFrame({ src: '10.0.0.3', dst: '10.0.0.4', sport: 1000, dport: 53 })],
    ],
    cfg,
  );
  t.equal(records.length, 1, 'only the UDP flow timed out');
  t.equal(records[0]!.endReason, 'idle_timeout');
  t.equal(records[0]!.transport, 'udp');
});

t.test('long flows export interim records and keep counting', async (t) => {
  const cfg = flowConfig({ activeTimeout: 600, idleTimeout: { udp: 3600 } });
  const frames: Array<[number, Uint8Array]> = [];
  for (let s = 0; s <= 1800; s += 100) frames.push([s, udpFrame({ src: '10.0.0.1', dst: '10.0.0.2', sport: 40000, dport: 40001 })]);
  const { records, p } = run(frames, cfg);
  p.finish();
  t.equal(records.length, 4, 'three interim records (600, 1200, 1800 s) and the final one');
  t.same(records.map((r) => r.partial), [true, true, true, false]);
  t.same(records.map((r) => r.endReason), ['active_timeout', 'active_timeout', 'active_timeout', 'end_of_input']);
  t.ok(records.every((r) => r.uid === records[0]!.uid), 'one uid for the whole flow');
  t.equal(records.reduce((n, r) => n + r.c2s.packets, 0), frames.length, 'no packet counted twice or lost');
});

t.test('the hard maximum evicts the least recently seen flow', async (t) => {
  const cfg = flowConfig({ maxFlows: 4 });
  const frames: Array<[number, Uint8Array]> = [];
  for (let i = 0; i < 10; i++) frames.push([i * 0.001, udpFrame({ src: `10.0.1.${i}`, dst: '10.0.0.2', sport: 1000, dport: 53 })]);
  // Refresh flow 0 before the table fills further: it must survive.
  frames.splice(4, 0, [0.0035, udpFrame({ src: '10.0.1.0', dst: '10.0.0.2', sport: 1000, dport: 53 })]);
  const { records, p } = run(frames, cfg);
  t.equal(p.table.stats.evicted, 6);
  // 0..3 fill the table; 0 is refreshed; 4..9 each evict the least recently seen.
  t.same(records.map((r) => r.client.ip), ['10.0.1.1', '10.0.1.2', '10.0.1.3', '10.0.1.0', '10.0.1.4', '10.0.1.5']);
  t.ok(records.every((r) => r.endReason === 'evicted'));
  t.equal(p.table.stats.active, 4);
});

t.test('the index stays consistent through heavy churn (insert, evict, expire)', async (t) => {
  const cfg = flowConfig({ maxFlows: 3000, idleTimeout: { udp: 2 } });
  const records: FlowRecord[] = [];
  const p = new PacketPipeline({ flow: cfg, onRecord: (r) => records.push(r) });
  const raw = new RawPacket();
  let seed = 7;
  const rnd = (n: number): number => ((seed = (Math.imul(seed, 48271) + 1) >>> 0) % n);
  let packets = 0;
  for (let i = 0; i < 60000; i++) {
    const host = rnd(5000);
    const frame = udpFrame({ src: `10.9.${host >> 8}.${host & 255}`, dst: '10.0.0.2', sport: 2000 + (host % 7), dport: 53 });
    raw.buf = frame;
    raw.off = 0;
    raw.capLen = raw.wireLen = frame.length;
    raw.tsUs = T0 + i * 100; // 6 s in total: idle expiry and eviction both happen
    raw.linkType = 1;
    p.packet(raw);
    packets++;
  }
  p.finish();
  t.equal(records.reduce((n, r) => n + r.c2s.packets + r.s2c.packets, 0), packets, 'every packet in exactly one record');
  t.equal(p.table.stats.active, 0);
  // No flow may appear twice at once: per key, records must not overlap in time.
  const byKey = new Map<string, FlowRecord[]>();
  for (const r of records) {
    const k = `${r.client.ip}:${r.client.port}`;
    byKey.set(k, [...(byKey.get(k) ?? []), r]);
  }
  let overlaps = 0;
  for (const list of byKey.values()) {
    list.sort((a, b) => a.startUs - b.startUs);
    for (let i = 1; i < list.length; i++) if (list[i]!.startUs <= list[i - 1]!.endUs) overlaps++;
  }
  t.equal(overlaps, 0, 'a key never has two live flows');
});

/** tshark's TCP/UDP conversations: endpoints → [frames A→B, frames B→A]. */
function tsharkConversations(path: string): Map<string, [number, number]> {
  const out = new Map<string, [number, number]>();
  for (const proto of ['tcp', 'udp']) {
    const text = execFileSync('tshark', ['-r', path, '-q', '-z', `conv,${proto}`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    for (const line of text.split('\n')) {
      const m = /^(\S+):(\d+)\s+<->\s+(\S+):(\d+)\s+(\d+)\s+\S+(?: \S?B| bytes)?\s+(\d+)\s/.exec(line);
      if (!m) continue;
      // tshark's first column counts frames from the right endpoint to the left one.
      out.set(`${proto} ${m[1]}:${m[2]} ${m[3]}:${m[4]}`, [Number(m[6]), Number(m[5])]);
    }
  }
  return out;
}

t.test('flows from real captures agree with tshark conversations', async (t) => {
  for (const path of ['../shared/corpora/ndpi/pcap/443-git.pcap', '../shared/corpora/ja4/pcap/tls-handshake.pcapng', '../shared/corpora/ndpi/pcap/dns_fragmented.pcap']) {
    const { records } = await runCapture(path);
    const conv = tsharkConversations(path);
    let matched = 0;
    for (const r of records) {
      const a = `${r.transport} ${r.client.ip}:${r.client.port} ${r.server.ip}:${r.server.port}`;
      const b = `${r.transport} ${r.server.ip}:${r.server.port} ${r.client.ip}:${r.client.port}`;
      const fwd = conv.get(a);
      const rev = conv.get(b);
      const got = fwd ?? (rev ? ([rev[1], rev[0]] as [number, number]) : undefined);
      if (got && got[0] === r.c2s.packets && got[1] === r.s2c.packets) matched++;
    }
    t.ok(conv.size > 0, `${path}: tshark found conversations`);
    t.equal(matched, conv.size, `${path}: every conversation has a flow with the same packets per direction`);
  }
  const git = (await runCapture('../shared/corpora/ndpi/pcap/443-git.pcap')).records.find((r) => r.server.port === 443)!;
  t.equal(git.tcp!.handshake, true, 'the handshake was seen');
  t.ok(git.c2s.payloadBytes > 0 && git.s2c.payloadBytes > git.c2s.payloadBytes, 'download-heavy TLS');
});

t.test('memory per flow is bounded: 100k concurrent flows', async (t) => {
  const cfg = flowConfig();
  const p = new PacketPipeline({ flow: cfg, onRecord: () => {} });
  const raw = new RawPacket();
  gc();
  const before = process.memoryUsage();
  for (let i = 0; i < 100_000; i++) {
    const frame = tcpFrame({ src: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, dst: '192.0.2.1', sport: 1024 + (i % 60000), dport: 80, flags: 'S' });
    raw.buf = frame;
    raw.off = 0;
    raw.capLen = raw.wireLen = frame.length;
    raw.tsUs = T0 + i;
    raw.linkType = 1;
    p.packet(raw);
  }
  t.equal(p.table.stats.active, 100_000);
  gc();
  const after = process.memoryUsage();
  const grew = (after.heapUsed + after.arrayBuffers - before.heapUsed - before.arrayBuffers) / 1e6;
  t.ok(grew < 80, `heap + typed arrays grew ${grew.toFixed(1)} MB for 100k flows`);
});
void join;
void mkdtempSync;
void tmpdir;
