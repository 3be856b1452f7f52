/**
 * HTTP/2 and gRPC: real cleartext HTTP/2 from Node's http2 module captured in a network namespace
 * (test/captures/http2/generate.mjs — unary, server-streaming, client-streaming, bidirectional and
 * a trailers-only error call, plain HTTP/2, and an h2c upgrade) checked against the calls the
 * generator made and against tshark; then framing edge cases and budgets on hand-built frames,
 * and — as root with tcpdump — a fresh capture from the generator. Needs tshark.
 */
import t, { type Test } from 'tap';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCapture } from './helpers/run-capture.js';
import type { FlowRecord } from '../agent/flow/flow-record.js';
import { Verdict, type DissectContext } from '../agent/dissect/dissector.js';
import { httpDissector, type HttpMeta } from '../agent/dissect/http/index.js';
import { websocketDissector } from '../agent/dissect/websocket/index.js';
import { http2Dissector, probeHttp2, type Http2Meta } from '../agent/dissect/http2/index.js';
import { HTTP2_LIMITS, Http2Session, PREFACE } from '../agent/dissect/http2/session.js';
import { callType, GrpcMessageCounter, percentDecode, splitGrpcPath } from '../agent/dissect/http2/grpc.js';

const MINE = [httpDissector, websocketDissector, http2Dissector];
const CAPTURE = 'test/captures/http2/h2c-grpc.pcap';

function h2(r: FlowRecord | undefined): Http2Meta {
  return r!.app.http2 as Http2Meta;
}

/** The calls generate.mjs makes on the gRPC connection. */
const EXPECTED_CALLS = [
  { stream: 1, service: 'picket.test.Echo', method: 'Say', callType: 'unary', status: 0, message: 'OK', requests: 1, responses: 1, requestSizes: [5], responseSizes: [11] },
  { stream: 3, service: 'picket.test.Feed', method: 'Subscribe', callType: 'server_streaming', status: 0, message: 'OK', requests: 1, responses: 5, requestSizes: [7], responseSizes: [6, 6, 6, 6, 6] },
  { stream: 5, service: 'picket.test.Upload', method: 'Send', callType: 'client_streaming', status: 0, message: 'OK', requests: 4, responses: 1, requestSizes: [6, 12, 6, 6], responseSizes: [8] },
  { stream: 7, service: 'picket.test.Chat', method: 'Talk', callType: 'bidirectional', status: 0, message: 'OK', requests: 3, responses: 3, requestSizes: [2, 10, 3], responseSizes: [7, 20000, 8] },
  { stream: 9, service: 'picket.test.Echo', method: 'Missing', callType: 'unary', status: 5, message: 'no such item: é', requests: 1, responses: 0, requestSizes: [7], responseSizes: [] },
];

function checkGrpcFlow(t: Test, r: FlowRecord, ecs: Record<string, any>): void {
  t.equal(r.appProtocol, 'grpc');
  const m = h2(r);
  t.equal(m.start, 'prior_knowledge');
  t.same(
    m.grpcCalls.map((c) => ({ stream: c.stream, service: c.service, method: c.method, callType: c.callType, status: c.status, message: c.message, requests: c.requests, responses: c.responses, requestSizes: c.requestSizes, responseSizes: c.responseSizes })),
    EXPECTED_CALLS,
  );
  t.ok(m.grpcCalls.every((c) => c.complete), 'every call ended');
  t.equal(m.grpcCalls[4]!.rstCode, 0, 'the trailers-only call was reset with NO_ERROR after its response');
  t.equal(ecs.http.version, '2');
  t.equal(ecs.url.path, '/picket.test.Echo/Say');
  t.equal(ecs.network.protocol, 'grpc');
  t.same([ecs.picket.grpc.service, ecs.picket.grpc.method, ecs.picket.grpc.calls.length], ['picket.test.Echo', 'Say', 5]);
  t.same(ecs.picket.grpc.calls[3].call_type, 'bidirectional');
}

t.test('generated capture: gRPC calls, plain HTTP/2, h2c upgrade', async (t) => {
  const run = await runCapture(CAPTURE, { dissectors: MINE });
  const byPort = new Map(run.records.map((r, i) => [r.server.port, { r, ecs: run.ecs[i]! as Record<string, any> }]));
  const g = byPort.get(50051)!;
  checkGrpcFlow(t, g.r, g.ecs);
  t.same(
    run.events.filter((e) => e.type === 'grpc.call').map((e) => [e.data.path, e.data.status, e.data.requests, e.data.responses]),
    EXPECTED_CALLS.map((c) => [`/${c.service}/${c.method}`, c.status, c.requests, c.responses]),
    'one grpc.call event per call',
  );

  const plain = byPort.get(8080)!;
  t.equal(plain.r.appProtocol, 'http2');
  t.same(
    h2(plain.r).requests.map((q) => [q.stream, q.method, q.path, q.status, q.responseContentType, q.responseBytes]),
    [[1, 'GET', '/hello', 200, 'text/plain', 15]],
  );
  t.same(h2(plain.r).grpcCalls, []);
  t.equal(plain.ecs.picket.grpc, undefined);
  t.same(plain.ecs.user_agent, { original: 'picket-h2-gen/1.0' });

  const up = byPort.get(8081)!;
  t.equal(up.r.appProtocol, 'http2');
  const um = h2(up.r);
  t.equal(um.start, 'upgrade');
  t.same(um.requests.map((q) => [q.stream, q.method, q.path, q.status, q.responseContentType, q.responseBytes]), [[1, 'GET', '/upgraded', 200, 'text/plain', 6]]);
  t.same(um.settings, { client: { header_table_size: 16384, enable_push: 0 }, server: { max_concurrent_streams: 100 } }, 'client settings from HTTP2-Settings');
  t.equal((up.r.app.http as HttpMeta).upgradedTo, 'h2c');
  t.equal(up.ecs.http.version, '2', 'HTTP/2 wins over the HTTP/1.1 upgrade request in ECS');
  t.same([...run.dissect.counters], [], 'nothing malformed');
});

/** tshark's view of the gRPC connection: per stream, :path, last grpc-status, message lengths per direction. */
function tsharkGrpc(): Map<number, { path?: string; status?: string; c2s: number[]; s2c: number[] }> {
  const json = JSON.parse(
    execFileSync('tshark', ['-r', CAPTURE, '-d', 'tcp.port==50051,http2', '-Y', 'tcp.port==50051 && (http2.type==1 || grpc)', '-T', 'json', '-e', 'tcp.srcport', '-e', 'http2.streamid', '-e', 'http2.type', '-e', 'http2.header.name', '-e', 'http2.header.value', '-e', 'grpc.message_length'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }),
  ) as Array<{ _source: { layers: Record<string, string[]> } }>;
  const out = new Map<number, { path?: string; status?: string; c2s: number[]; s2c: number[] }>();
  for (const { _source } of json) {
    const l = _source.layers;
    const types = l['http2.type'] ?? [];
    const ids = l['http2.streamid'] ?? [];
    const streamOf = (type: string): number => Number(ids[types.lastIndexOf(type)]);
    const fromServer = l['tcp.srcport']![0] === '50051';
    if (l['http2.header.name']) {
      const s = streamOf('1');
      const e = out.get(s) ?? { c2s: [], s2c: [] };
      out.set(s, e);
      l['http2.header.name'].forEach((n, i) => {
        if (n === ':path') e.path = l['http2.header.value']![i]!;
        if (n === 'grpc-status') e.status = l['http2.header.value']![i]!;
      });
    }
    for (const len of l['grpc.message_length'] ?? []) {
      const s = streamOf('0');
      const e = out.get(s) ?? { c2s: [], s2c: [] };
      out.set(s, e);
      (fromServer ? e.s2c : e.c2s).push(Number(len));
    }
  }
  return out;
}

t.test('gRPC paths, statuses and message sizes equal tshark', async (t) => {
  const run = await runCapture(CAPTURE, { dissectors: MINE });
  const m = h2(run.records.find((r) => r.server.port === 50051));
  const ours = new Map(m.grpcCalls.map((c) => [c.stream, { path: c.path, status: c.status === undefined ? undefined : String(c.status), c2s: c.requestSizes, s2c: c.responseSizes }]));
  t.same(Object.fromEntries(ours), Object.fromEntries(tsharkGrpc()));
});

t.test('gRPC helpers', async (t) => {
  t.same([callType(1, 1), callType(0, 0), callType(1, 9), callType(9, 1), callType(2, 2)], ['unary', 'unary', 'server_streaming', 'client_streaming', 'bidirectional']);
  t.same(splitGrpcPath('/helloworld.Greeter/SayHello'), { service: 'helloworld.Greeter', method: 'SayHello' });
  for (const p of ['/', '/a/', '//m', '/a/b/c', 'x/y', '/a/b?x', undefined]) t.equal(splitGrpcPath(p), undefined, String(p));
  t.equal(percentDecode('no%20such%20item%3A%20%C3%A9'), 'no such item: é');
  t.equal(percentDecode('50%zz'), '50%zz', 'bad escapes kept');
  const c = new GrpcMessageCounter(2);
  const stream = Buffer.from('00000000026869' + '0100000000' + '0000000003616263', 'hex'); // "hi", compressed empty, "abc"
  for (let i = 0; i < stream.length; i++) c.feed(stream, i, i + 1);
  t.same([c.count, c.bytes, c.compressed, c.sizes, c.partial, c.broken], [3, 5, 1, [2, 0], false, false]);
  c.feed(Buffer.from([7]), 0, 1);
  t.ok(c.broken, 'a flag other than 0/1 is not gRPC framing');
});

// ---------------------------------------------------------------- hand-built frames

function frame(type: number, flags: number, stream: number, payload: Uint8Array | number[] = []): Buffer {
  const p = Buffer.from(payload);
  const h = Buffer.alloc(9);
  h.writeUIntBE(p.length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(stream, 5);
  return Buffer.concat([h, p]);
}

/** An HPACK string length (7-bit prefix integer, RFC 7541 §5.1), not Huffman-coded. */
function strLen(n: number): number[] {
  if (n < 127) return [n];
  const out = [127];
  for (n -= 127; n >= 128; n = Math.floor(n / 128)) out.push((n % 128) + 128);
  return [...out, n];
}

/** `:method POST`, `:path <path>` (literal, no indexing), content-type grpc. */
function requestBlock(path: string): Buffer {
  return Buffer.concat([Buffer.from([0x83, 0x04, ...strLen(path.length)]), Buffer.from(path), Buffer.from([0x0f, 0x10, 16]), Buffer.from('application/grpc')]);
}

function session(limits = HTTP2_LIMITS): { s: Http2Session; ctx: DissectContext; counters: Map<string, number>; feed: (dir: 0 | 1, b: Uint8Array) => number } {
  const counters = new Map<string, number>();
  const ctx: DissectContext = { flow: { uid: 'C', protocol: 6, ipVersion: 4, clientPort: 40000, serverPort: 80 }, count: (k) => counters.set(k, (counters.get(k) ?? 0) + 1), emit: () => {} };
  const s = new Http2Session(limits);
  const feed = (dir: 0 | 1, b: Uint8Array): number => http2Dissector.payload(s, dir, b, 0, b.length, 1, ctx);
  feed(0, Buffer.concat([PREFACE, frame(4, 0, 0)]));
  feed(1, frame(4, 0, 0, [0, 3, 0, 0, 0, 100]));
  return { s, ctx, counters, feed };
}

t.test('padding, priority, CONTINUATION, PUSH_PROMISE, RST_STREAM, GOAWAY', async (t) => {
  const { s, counters, feed, ctx } = session();
  const block = requestBlock('/a.B/C');
  // HEADERS with PADDED + PRIORITY: pad length 3, 5 priority bytes, block, 3 padding bytes; split over CONTINUATION.
  const padded = Buffer.concat([Buffer.from([3, 0, 0, 0, 0, 16]), block.subarray(0, 4)]);
  feed(0, Buffer.concat([frame(1, 0x08 | 0x20, 1, Buffer.concat([padded, Buffer.alloc(3)])), frame(9, 0x04, 1, block.subarray(4))]));
  feed(0, frame(0, 0x01 | 0x08, 1, Buffer.concat([Buffer.from([2]), Buffer.from('0000000001ff', 'hex'), Buffer.alloc(2)])));
  feed(1, frame(1, 0x04, 1, [0x88, 0x0f, 0x10, 16, ...Buffer.from('application/grpc')]));
  feed(1, frame(5, 0x04, 1, [0, 0, 0, 2, 0x82, 0x84])); // PUSH_PROMISE stream 2: GET /
  feed(1, frame(1, 0x05, 1, [0x40, 11, ...Buffer.from('grpc-status'), 1, 0x37])); // trailers grpc-status 7
  feed(1, frame(3, 0, 2, [0, 0, 0, 8])); // RST_STREAM CANCEL on the pushed stream
  feed(1, frame(7, 0, 0, [0, 0, 0, 1, 0, 0, 0, 2, 0x64, 0x62, 0x67]));
  const m = http2Dissector.finish(s, {} as never, ctx)!;
  t.same(m.grpcCalls.map((c) => [c.stream, c.service, c.method, c.status, c.requests, c.requestSizes, c.complete]), [[1, 'a.B', 'C', 7, 1, [1], true]]);
  t.same(m.requests.map((r) => [r.stream, r.method, r.path, r.pushed ?? false, r.rstCode]), [
    [1, 'POST', '/a.B/C', false, undefined],
    [2, 'GET', '/', true, 8],
  ]);
  t.same(m.goaway, { by: 'server', lastStreamId: 1, errorCode: 2 });
  t.same([...counters], []);
});

t.test('framing errors are counted; HPACK state is dropped when it cannot be trusted', async (t) => {
  const { s, counters, feed } = session();
  feed(0, Buffer.concat([frame(1, 0, 1, requestBlock('/x.Y/Z').subarray(0, 3)), frame(0, 0, 1, [1])])); // DATA inside a header block
  t.equal(counters.get('malformed.continuation_expected'), 1);
  t.same(s.hpackLost, [true, false]);
  feed(1, frame(3, 0, 1, [0, 0])); // RST_STREAM of 2 bytes
  feed(1, frame(9, 0x04, 7, [0x82])); // CONTINUATION out of nowhere
  t.equal(counters.get('malformed.rst_stream_length'), 1);
  t.equal(counters.get('malformed.orphan_continuation'), 1);
  const bad = session();
  bad.feed(1, frame(1, 0x04, 1, [0xbe])); // index 62 with an empty table
  t.equal(bad.counters.get('malformed.hpack_index'), 1);
  t.same(bad.s.hpackLost, [false, true]);
});

t.test('budgets: header block, HPACK table, streams, frames', async (t) => {
  const a = session();
  // HEADERS without END_HEADERS followed by CONTINUATION frames past the block budget.
  a.feed(0, frame(1, 0, 1, Buffer.alloc(16000, 0x82)));
  for (let i = 0; i < 6; i++) a.feed(0, frame(9, i === 5 ? 4 : 0, 1, Buffer.alloc(16000, 0x82)));
  t.equal(a.counters.get('limit.header_block_bytes'), 1);
  t.ok(a.s.readers[0].heldBytes <= HTTP2_LIMITS.headerBlockBytes, `held ${a.s.readers[0].heldBytes} bytes at most`);
  t.same(a.s.hpackLost, [true, false]);

  const b = session();
  b.feed(1, frame(4, 0, 0, [0, 1, 0x40, 0, 0, 0])); // server: SETTINGS_HEADER_TABLE_SIZE 2^30
  b.feed(0, frame(1, 0x04, 1, [0x3f, 0xe1, 0xff, 0xff, 0x03])); // client: size update to ~2^22
  t.equal(b.counters.get('limit.hpack_table_bytes'), 1);

  const c = session();
  for (let id = 1; id < 2 * 300; id += 2) c.feed(0, frame(1, 0x05, id, [0x82, 0x84]));
  t.equal(c.s.streams.size, HTTP2_LIMITS.streams);
  t.equal(c.s.untracked, 300 - HTTP2_LIMITS.streams);
  t.equal(c.counters.get('limit.streams'), 1);

  const e = session();
  for (let id = 1; id < 2 * 20; id += 2) e.feed(0, frame(1, 0x05, id, requestBlock(`/${'p'.repeat(3000)}.S/M${id}`)));
  const paths = [...e.s.streams.values()].map((x) => x.path ?? '');
  t.equal(paths.filter((x) => x.length > 0).length, 11, 'paths kept while the string budget lasts');
  t.equal(e.counters.get('limit.kept_chars'), 1);

  const d = session({ ...HTTP2_LIMITS, frames: 10 });
  const v = d.feed(1, Buffer.concat(Array.from({ length: 20 }, () => frame(6, 0, 0, Buffer.alloc(8)))));
  t.equal(v, Verdict.Done);
  t.equal(d.s.framesTotal, 10);
  t.equal(d.counters.get('limit.frames'), 1);
});

t.test('connection starts: probe, preface, refused upgrade', async (t) => {
  t.ok(probeHttp2(PREFACE, 0, 24));
  t.ok(probeHttp2(PREFACE, 0, 5), 'a preface cut short');
  t.ok(probeHttp2(frame(4, 0, 0, [0, 3, 0, 0, 0, 100]), 0, 15), 'server SETTINGS');
  t.notOk(probeHttp2(frame(4, 0, 0, [0, 3, 0, 0, 0]), 0, 14), 'SETTINGS of a length that is not a multiple of 6');
  t.ok(probeHttp2(Buffer.from('GET / HTTP/1.1\r\nUpgrade: H2C\r\n\r\n'), 0, 33));
  t.notOk(probeHttp2(Buffer.from('GET / HTTP/1.1\r\nHost: a\r\n\r\n'), 0, 27));
  const counters = new Map<string, number>();
  const ctx: DissectContext = { flow: { uid: 'C', protocol: 6, ipVersion: 4, clientPort: 1, serverPort: 2 }, count: (k) => counters.set(k, (counters.get(k) ?? 0) + 1), emit: () => {} };
  const s1 = http2Dissector.create(ctx);
  t.equal(http2Dissector.payload(s1, 0, Buffer.from('PRI * HTTP/2.0\r\n\r\nXX'), 0, 20, 1, ctx), Verdict.Reject, 'a wrong preface');
  const s2 = http2Dissector.create(ctx);
  const req = Buffer.from('GET / HTTP/1.1\r\nHost: a\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n');
  t.equal(http2Dissector.payload(s2, 0, req, 0, req.length, 1, ctx), Verdict.More);
  const no = Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
  t.equal(http2Dissector.payload(s2, 1, no, 0, no.length, 1, ctx), Verdict.Reject, 'upgrade refused: plain HTTP/1.1');
  t.equal(http2Dissector.finish(s2, {} as never, ctx), undefined);
});

const LIVE = process.getuid?.() === 0 && (existsSync('/usr/sbin/tcpdump') || existsSync('/usr/bin/tcpdump'));

t.test('live: the generator in a network namespace reproduces the calls', { skip: LIVE ? false : 'needs root and tcpdump' }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pk-h2-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const out = join(dir, 'h2.pcap');
  execFileSync(process.execPath, ['test/captures/http2/generate.mjs', out], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 90_000 });
  const run = await runCapture(out, { dissectors: MINE });
  const i = run.records.findIndex((r) => r.server.port === 50051);
  checkGrpcFlow(t, run.records[i]!, run.ecs[i] as Record<string, any>);
  t.equal(run.records.find((r) => r.server.port === 8081)?.appProtocol, 'http2');
});
