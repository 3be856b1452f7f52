/**
 * WebSocket dissector: the corpus capture (frames without a handshake), connections generated in
 * a network namespace (test/captures/websocket/generate.mjs) checked against known frame counts
 * and against tshark, frame-level edge cases and limits, and — when run as root with tcpdump — a
 * fresh capture from the generator. Needs tshark.
 */
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCapture } from './helpers/run-capture.js';
import { flowConfig } from '../agent/flow/flow-config.js';
import type { FlowRecord } from '../agent/flow/flow-record.js';
import { Verdict, type DissectContext } from '../agent/dissect/dissector.js';
import { httpDissector, type HttpMeta } from '../agent/dissect/http/index.js';
import { http2Dissector } from '../agent/dissect/http2/index.js';
import { probeWebSocket, websocketDissector, type WebSocketMeta } from '../agent/dissect/websocket/index.js';
import { acceptFor, WEBSOCKET_LIMITS, WebSocketSession } from '../agent/dissect/websocket/session.js';
import { entropy, FrameReader, looksLikeFrames, type FrameSink } from '../agent/dissect/websocket/frame-reader.js';

const MINE = [httpDissector, websocketDissector, http2Dissector];
const GENERATED = 'test/captures/websocket/ws-frames.pcap';
const CORPUS = '../shared/corpora/ndpi/pcap/websocket.pcap';
const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));

function ws(r: FlowRecord | undefined): WebSocketMeta {
  return r!.app.websocket as WebSocketMeta;
}

t.test('Sec-WebSocket-Accept: the RFC 6455 §1.3 example', async (t) => {
  t.equal(acceptFor('dGhlIHNhbXBsZSBub25jZQ=='), 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
});

t.test('corpus: frames without a handshake are recognised (nDPI: WebSocket)', async (t) => {
  const run = await runCapture(CORPUS, { dissectors: MINE });
  t.equal(run.records.length, 1);
  const r = run.records[0]!;
  t.equal(r.appProtocol, 'websocket');
  const m = ws(r);
  t.equal(m.midstream, true);
  t.equal(m.frames, 5);
  t.equal(m.text, 5);
  t.equal(m.binary, 0);
  // 192.168.43.1 masks its frames: it is the WebSocket client although it did not start the flow record.
  t.same([m.client.frames, m.client.masked, m.server.frames, m.server.masked], [2, 2, 3, 0]);
  t.equal(m.binaryRatio, 0);
  t.ok(m.entropyServer! > 3 && m.entropyServer! < 5.5, `text entropy ${m.entropyServer}`);
});

/** Frames per direction as tshark decodes them: `port:opcode:mask:rsv` → count. */
function tsharkFrames(path: string): Map<string, number> {
  const out = execFileSync(
    'tshark',
    ['-r', path, '-d', 'tcp.port==8765,http', '-d', 'tcp.port==8766,http', '-d', 'tcp.port==8767,http', '-Y', 'websocket', '-T', 'fields', '-E', 'separator=\t', '-e', 'tcp.srcport', '-e', 'tcp.dstport', '-e', 'websocket.opcode', '-e', 'websocket.mask', '-e', 'websocket.rsv'],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
  );
  const m = new Map<string, number>();
  for (const line of out.split('\n')) {
    if (!line) continue;
    const [sp, dp, op, mask, rsv] = line.split('\t');
    // Several frames in one packet come as comma lists.
    const ops = op!.split(',');
    ops.forEach((o, i) => {
      const k = `${sp}>${dp}:${o}:${mask!.split(',')[i]}:${rsv!.split(',')[i]}`;
      m.set(k, (m.get(k) ?? 0) + 1);
    });
  }
  return m;
}

t.test('generated connections: counts, handshake, entropy, close; same frames as tshark', async (t) => {
  const run = await runCapture(GENERATED, { flow: flowConfig({ reassemblyBytes: 1 << 20 }), dissectors: MINE });
  const byPort = new Map(run.records.map((r) => [r.server.port, r]));
  const a = byPort.get(8765)!;
  t.equal(a.appProtocol, 'websocket');
  const m = ws(a);
  t.same(
    { ...m.client },
    { frames: 7, text: 4, binary: 1, continuation: 2, ping: 1, pong: 0, close: 1, masked: 7, compressed: 0, messages: 3, payloadBytes: 5 + 300 + 6 + 6 + 5 + 2 + 5 },
    'client frames',
  );
  t.same({ ...m.server }, { frames: 4, text: 1, binary: 1, continuation: 0, ping: 0, pong: 1, close: 1, masked: 0, compressed: 0, messages: 2, payloadBytes: 7 + 2 + 65536 + 2 }, 'server frames');
  t.same(m.handshake, {
    keyPresent: true,
    compression: false,
    uri: '/chat?room=7',
    host: '10.13.0.1:8765',
    origin: 'http://picket.test',
    version: '13',
    requestedProtocols: 'chat, superchat',
    requestedExtensions: 'permessage-deflate; client_max_window_bits',
    status: 101,
    protocol: 'chat',
    acceptValid: true,
  });
  t.same([m.frames, m.text, m.binary, m.control], [11, 5, 2, 4]);
  t.equal(m.binaryRatio, 2 / 7);
  t.equal(m.closeCode, 1000);
  t.equal(m.closedBy, 'client');
  t.ok(m.entropyServer! > 7.5, `random binary payload: entropy ${m.entropyServer}`);
  t.equal(m.sampledBytes, 5 + 300 + 17 + 7 + (WEBSOCKET_LIMITS.sampleBytes - 7), 'client sample all data, server sample capped');
  t.ok(m.iatUs!.min >= 0 && m.iatUs!.max > 5000 && m.frameRate! > 10, 'frames spaced ~10 ms apart');
  t.equal((a.app.http as HttpMeta).upgradedTo, 'websocket');

  const b = ws(byPort.get(8766));
  t.equal(b.handshake!.compression, true);
  t.same([b.client.compressed, b.server.compressed, b.client.frames, b.server.frames], [2, 2, 3, 3]);
  t.same([b.closeCode, b.closedBy], [1001, 'server']);

  const c = byPort.get(8767)!;
  t.equal(c.appProtocol, 'http', 'refused upgrade stays HTTP');
  t.equal(ws(c).handshake!.status, 403);
  t.equal(ws(c).frames, 0);

  // Cross-check every frame's opcode/mask/RSV per direction with tshark.
  const ours = new Map<string, number>();
  for (const r of [a, byPort.get(8766)!]) {
    const w = ws(r);
    const add = (src: number, dst: number, side: typeof w.client, masked: number): void => {
      const put = (op: number, n: number, rsv: string): void => {
        if (n > 0) ours.set(`${src}>${dst}:${op}:${masked}:${rsv}`, (ours.get(`${src}>${dst}:${op}:${masked}:${rsv}`) ?? 0) + n);
      };
      const rsv = side.compressed > 0 ? '0x04' : '0x00';
      put(1, side.text - side.continuation, side.compressed > 0 ? rsv : '0x00');
      put(2, side.binary, '0x00');
      put(0, side.continuation, '0x00');
      put(8, side.close, '0x00');
      put(9, side.ping, '0x00');
      put(10, side.pong, '0x00');
    };
    add(r.client.port, r.server.port, w.client, 1);
    add(r.server.port, r.client.port, w.server, 0);
  }
  t.same(Object.fromEntries([...ours].sort()), Object.fromEntries([...tsharkFrames(GENERATED)].sort()), 'frame counts per direction, opcode, mask and RSV equal tshark');
  const opens = run.events.filter((e) => e.type === 'websocket.open');
  t.same(opens.map((e) => e.data.protocol), ['chat', undefined]);
});

t.test('default reassembly budget: frames past 32 KiB are not seen, earlier ones are exact', async (t) => {
  const run = await runCapture(GENERATED, { dissectors: MINE });
  const m = ws(run.records.find((r) => r.server.port === 8765));
  t.equal(m.client.frames, 7);
  t.equal(m.server.frames, 3, 'welcome, pong, and the 64-bit-length binary frame whose payload runs past the budget');
  t.equal(m.server.close, 0);
  t.equal(m.closedBy, 'client');
});

function reader(sample = 4096): { r: FrameReader; frames: number[]; bad: string[]; sink: FrameSink } {
  const frames: number[] = [];
  const bad: string[] = [];
  const sink: FrameSink = { frame: (_r, op, _fin, len) => frames.push(op, len), malformed: (_r, why) => bad.push(why) };
  return { r: new FrameReader(0, sample), frames, bad, sink };
}

t.test('frame reader: length encodings, masking across pieces, close code, bad frames', async (t) => {
  const x = reader(10);
  const stream = hex(`
    81 05 68656c6c6f
    82 7e 0100 ${'ab'.repeat(256)}
    82 7f 0000000000010000 ${'cd'.repeat(65536)}
    88 82 01020304 ${Buffer.from([0x03 ^ 1, 0xe8 ^ 2]).toString('hex')}`);
  // Fed one byte at a time: the reader must not care.
  for (let i = 0; i < stream.length; i++) x.r.feed(stream, i, i + 1, 1, x.sink);
  t.same(x.frames, [1, 5, 2, 256, 2, 65536, 8, 2]);
  t.equal(x.r.closeCode, 1000, 'masked close code unmasked');
  t.equal(x.r.sampled, 10, 'sampling stops at its budget');
  t.equal(entropy(x.r.histogram, x.r.sampled)! > 0, true);
  t.ok(x.r.stopped, 'nothing is read after a Close');
  t.same(x.bad, []);

  for (const [bytes, why] of [
    ['83 00', 'opcode'],
    ['8b 00', 'opcode'],
    ['89 7e 00 7e', 'control_frame'],
    ['09 00', 'control_frame'],
    ['82 7f 8000000000000000', 'length_msb'],
  ] as const) {
    const y = reader();
    const b = hex(bytes);
    y.r.feed(b, 0, b.length, 1, y.sink);
    t.same(y.bad, [why], `${bytes} → ${why}`);
    t.ok(y.r.stopped);
  }
  const z = reader();
  const orphan = hex('80 00 81 00');
  z.r.feed(orphan, 0, orphan.length, 1, z.sink);
  t.same(z.bad, ['orphan_continuation'], 'counted, reading goes on');
  t.same(z.frames, [0, 0, 1, 0]);
});

t.test('mid-stream probe: exact frame tiling only', async (t) => {
  t.ok(looksLikeFrames(hex('81 02 6869 89 00'), 0, 6), 'text + ping');
  t.ok(looksLikeFrames(hex('01 01 61 80 01 62'), 0, 6), 'fragmented text');
  t.ok(looksLikeFrames(hex('81 81 00000000 61'), 0, 7), 'masked');
  t.notOk(looksLikeFrames(hex('81 00 00 44' + '41'.repeat(68)), 0, 72), 'NetBIOS session request (netbios.pcap): continuation after a complete message');
  t.notOk(looksLikeFrames(hex('81 00 81 80 00000000'), 0, 8), 'mixed masking');
  t.notOk(looksLikeFrames(hex('16 03 01 00 05 0102030405'), 0, 10), 'TLS record');
  t.notOk(looksLikeFrames(hex('81 05 6869'), 0, 4), 'frame longer than the segment');
  t.notOk(looksLikeFrames(hex('82 7e 0010' + '00'.repeat(16)), 0, 20), 'non-minimal 16-bit length');
  t.ok(probeWebSocket(Buffer.from('GET /x HTTP/1.1\r\nUpgrade: WebSocket\r\n\r\n'), 0, 40));
  t.notOk(probeWebSocket(Buffer.from('GET /x HTTP/1.1\r\nHost: a\r\n\r\n'), 0, 30), 'a complete head without websocket');
  t.ok(probeWebSocket(Buffer.from('GET /x HTTP/1.1\r\nHost: a\r\n'), 0, 27), 'an incomplete head: decided later');
});

t.test('frame budget: inspection stops and says so', async (t) => {
  const counters = new Map<string, number>();
  const ctx: DissectContext = { flow: { uid: 'C', protocol: 6, ipVersion: 4, clientPort: 1, serverPort: 2 }, count: (k) => counters.set(k, (counters.get(k) ?? 0) + 1), emit: () => {} };
  const s = new WebSocketSession({ ...WEBSOCKET_LIMITS, frames: 5 });
  const frames = hex('81 01 61'.repeat(12));
  s.feed(1, frames, 0, frames.length, 1, ctx);
  t.equal(s.framesTotal, 5);
  t.ok(s.finished);
  t.equal(counters.get('limit.frames'), 1);
  const d = websocketDissector;
  const st = d.create(ctx);
  t.equal(d.payload(st, 0, hex('16030100'), 0, 4, 1, ctx), Verdict.Reject, 'neither a handshake nor frames');
  const st2 = d.create(ctx);
  const get = Buffer.from('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
  t.equal(d.payload(st2, 0, get, 0, get.length, 1, ctx), Verdict.Reject, 'a GET without Upgrade: websocket');
});

const LIVE = process.getuid?.() === 0 && (existsSync('/usr/sbin/tcpdump') || existsSync('/usr/bin/tcpdump'));

t.test('live: the generator in a network namespace reproduces the counts', { skip: LIVE ? false : 'needs root and tcpdump' }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pk-ws-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const out = join(dir, 'ws.pcap');
  execFileSync(process.execPath, ['test/captures/websocket/generate.mjs', out], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 90_000 });
  const run = await runCapture(out, { flow: flowConfig({ reassemblyBytes: 1 << 20 }), dissectors: MINE });
  const m = ws(run.records.find((r) => r.server.port === 8765));
  t.same([m.client.frames, m.server.frames, m.closeCode, m.handshake?.acceptValid], [7, 4, 1000, true]);
  t.equal(run.records.find((r) => r.server.port === 8766)?.appProtocol, 'websocket');
});
