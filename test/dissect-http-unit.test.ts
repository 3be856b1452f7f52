/**
 * HTTP/1.x dissector on hand-built exchanges: pipelining, body delimiting (Content-Length,
 * chunked, HEAD/204/304, until close), interim responses, tunnels, smuggling signals, limits,
 * capture gaps, URL splitting, and results that do not depend on how the bytes are cut.
 */
import t, { type Test } from 'tap';
import { httpDissector, isHttp1Start, type HttpMeta } from '../agent/dissect/http/index.js';
import { HttpSession, HTTP_LIMITS } from '../agent/dissect/http/session.js';
import { urlParts, splitHostPort } from '../agent/dissect/http/url.js';
import { LineReader } from '../agent/dissect/http/line-reader.js';
import { Verdict, type DissectContext } from '../agent/dissect/dissector.js';
import { rechunk, Rng, runPieces, type Piece } from '../bench/fuzz-http-kit.js';

const enc = new TextEncoder();
const INFO = { uid: 'Ct', protocol: 6, ipVersion: 4, clientPort: 40000, serverPort: 80 };
let clock = 1_700_000_000_000_000;

function p(dir: 0 | 1, text: string | Uint8Array): Piece {
  return { dir, bytes: typeof text === 'string' ? enc.encode(text) : text, tsUs: (clock += 1000) };
}

interface Run {
  meta: HttpMeta | undefined;
  ecs: Record<string, any> | undefined;
  events: Array<[string, number, Record<string, unknown>]>;
  counters: Record<string, number>;
  json: string;
}

function run(pieces: Piece[]): Run {
  const r = runPieces(httpDissector, INFO, pieces);
  if (r.json === 'none') return { meta: undefined, ecs: undefined, events: [], counters: {}, json: r.json };
  const [meta, ecs, events, counters] = JSON.parse(r.json);
  return { meta, ecs, events, counters, json: r.json };
}

/** Runs the pieces as given and re-cut at many random points: results must be identical. */
function runStable(t: Test, pieces: Piece[]): Run {
  const whole = run(pieces);
  const rng = new Rng(7);
  for (let i = 0; i < 25; i++) {
    const again = runPieces(httpDissector, INFO, rechunk(rng, pieces), rng).json;
    if (again !== whole.json) {
      t.fail(`re-chunked run differs:\n${whole.json}\n${again}`);
      break;
    }
  }
  return whole;
}

t.test('probe accepts HTTP/1 starts and nothing else', async (t) => {
  for (const s of ['GET / HTTP/1.1\r\n', 'POST /x HTTP/1.0\r\n', 'HTTP/1.1 200 OK\r\n', 'PROPFIND /d HTTP/1.1\r\n', 'CONNECT a:443 HTTP/1.1\r\n']) {
    t.ok(isHttp1Start(enc.encode(s), 0, s.length), s.trim());
  }
  for (const s of ['INVITE sip:a@b SIP/2.0\r\n', 'SSH-2.0-OpenSSH_9\r\n', 'PRI * HTTP/2.0\r\n', '\x16\x03\x01\x02\x00', 'get / HTTP/1.1', 'GE']) {
    t.notOk(isHttp1Start(enc.encode(s), 0, s.length), JSON.stringify(s));
  }
});

t.test('pipelined requests and responses are matched in order', async (t) => {
  const r = runStable(t, [
    p(0, 'GET /a?x=1 HTTP/1.1\r\nHost: example.com\r\nUser-Agent: ua/1\r\nReferer: http://r/\r\n\r\nHEAD /b HTTP/1.1\r\nHost: example.com\r\n\r\nPOST /c HTTP/1.1\r\nHost: example.com:8080\r\nContent-Type: application/json\r\nContent-Length: 7\r\n\r\n{"a":1}'),
    p(1, 'HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 5\r\nServer: nginx\r\n\r\nhello'),
    p(1, 'HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n'), // HEAD: no body despite Content-Length
    p(1, 'HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n4;ext=1\r\nabcd\r\n3\r\nefg\r\n0\r\nX-Trailer: y\r\n\r\n'),
  ]);
  const m = r.meta!;
  t.equal(m.requests, 3);
  t.equal(m.responses, 3);
  t.same(m.statusClasses, { '2xx': 3 });
  t.same(
    m.transactions.map((x) => [x.method, x.uri, x.status, x.requestBodyBytes, x.responseBodyBytes]),
    [
      ['GET', '/a?x=1', 200, 0, 5],
      ['HEAD', '/b', 200, 0, 0],
      ['POST', '/c', 201, 7, 7],
    ],
  );
  t.equal(m.transactions[0]!.referer, 'http://r/');
  t.equal(m.transactions[0]!.server, 'nginx');
  t.equal(m.transactions[2]!.requestContentType, 'application/json');
  t.same(r.counters, {}, 'nothing malformed');
  const e = r.ecs!;
  t.same(e.http, { version: '1.1', request: { method: 'GET', referrer: 'http://r/', body: { bytes: 0 } }, response: { status_code: 200, body: { bytes: 5 } } });
  t.same(e.url, { original: '/a?x=1', domain: 'example.com', path: '/a', query: 'x=1' });
  t.same(e.user_agent, { original: 'ua/1' });
  t.equal(e.picket.http.transactions.length, 3);
  t.equal(e.picket.http.transactions[0].response_content_type, 'text/html');
  t.equal(e.http.request.mime_type, undefined, 'mime_type is for sniffed bodies (ECS), not Content-Type');
  t.same(
    r.events.map((x) => x[0]),
    ['http.request', 'http.request', 'http.request', 'http.response', 'http.response', 'http.response'],
  );
});

t.test('interim 100 Continue, 204 and 304 carry no body; a later response still parses', async (t) => {
  const r = runStable(t, [
    p(0, 'PUT /up HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n'),
    p(1, 'HTTP/1.1 100 Continue\r\n\r\n'),
    p(0, 'abc'),
    p(1, 'HTTP/1.1 204 No Content\r\nContent-Length: 50\r\n\r\n'),
    p(0, 'GET /c HTTP/1.1\r\nHost: h\r\n\r\n'),
    p(1, 'HTTP/1.1 304 Not Modified\r\n\r\nHTTP/1.1 500 Oops\r\n\r\n'),
  ]);
  const m = r.meta!;
  t.same(m.transactions.map((x) => x.status), [204, 304, 500], 'a response without a request still makes a transaction');
  t.equal(m.responses, 4, '100, 204, 304 and the unmatched 500');
  t.same(m.statusClasses, { '1xx': 1, '2xx': 1, '3xx': 1, '5xx': 1 });
  t.equal(m.transactions[0]!.requestBodyBytes, 3);
});

t.test('a response without length runs until close', async (t) => {
  const r = runStable(t, [p(0, 'GET / HTTP/1.0\r\n\r\n'), p(1, 'HTTP/1.0 200 OK\r\n\r\nsome body'), p(1, ' and more')]);
  t.equal(r.meta!.transactions[0]!.responseBodyBytes, 18);
});

t.test('CONNECT 200 and 101 end HTTP/1.x without counting the tunnel as malformed', async (t) => {
  const c = run([p(0, 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n'), p(1, 'HTTP/1.1 200 Connection established\r\n\r\n'), p(0, '\x16\x03\x01\x00\x05hello'), p(1, '\x16\x03\x03')]);
  t.equal(c.meta!.tunnel, 'connect');
  t.same(c.counters, {});
  t.same(c.ecs!.url, { original: 'example.com:443', domain: 'example.com', port: 443 });
  const u = run([p(0, 'GET /chat HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\x81\x85abcdefghi'), p(1, 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x02hi')]);
  t.equal(u.meta!.tunnel, 'upgrade');
  t.equal(u.meta!.upgradedTo, 'websocket');
  t.same(u.counters, {}, 'frames after the upgrade request are not malformed HTTP');
});

t.test('Content-Length with Transfer-Encoding, or two lengths, is flagged (request smuggling signal)', async (t) => {
  const r = run([
    p(0, 'POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nPOST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n'),
  ]);
  t.equal(r.meta!.ambiguousLength, 2);
  t.equal(r.meta!.transactions[0]!.ambiguousLength, true);
  t.equal(r.counters['malformed.content_length'], 1, 'conflicting lengths stop the direction');
  t.equal(r.ecs!.picket.http.ambiguous_length, 2);
});

t.test('bad input stops a direction and is counted, never thrown', async (t) => {
  const r = run([p(0, 'GET / HTTP/1.1\r\nHost: h\r\n\r\n\x00\x01garbage\r\n'), p(1, 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n')]);
  t.equal(r.counters['malformed.request_line'], 1);
  t.equal(r.counters['malformed.chunk_size'], 1);
  t.equal(r.meta!.requests, 1);
  const sp = run([p(0, 'GET     /spaced HTTP/1.1\r\nHost: h\r\n\r\n')]);
  t.equal(sp.meta!.transactions[0]!.uri, '/spaced', 'RFC 9112 §3 allows parsing on whitespace boundaries');
  t.equal(sp.counters['malformed.request_line_spaces'], 1, 'but the oddity is counted');
  const rtsp = run([p(0, 'OPTIONS rtsp://cam/ RTSP/1.0\r\nCSeq: 1\r\n\r\n')]);
  t.notOk(rtsp.meta, 'RTSP is not HTTP');
  t.equal(rtsp.counters['malformed.request_version'], 1);
});

t.test('limits: long lines cut, transactions kept, requests per flow, bytes inspected', async (t) => {
  const long = 'x'.repeat(20000);
  const r = runStable(t, [p(0, `GET /${long} HTTP/1.1\r\nHost: h\r\nUser-Agent: ${long}\r\nX: ${long}\r\n\r\n`), p(1, 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n')]);
  const tx = r.meta!.transactions[0]!;
  t.equal(tx.uri!.length, HTTP_LIMITS.uriBytes, 'URI kept up to its budget');
  t.equal(tx.version, undefined, 'the version was beyond the cut');
  t.equal(tx.userAgent!.length, HTTP_LIMITS.valueBytes);
  t.equal(tx.host, 'h');
  t.equal(r.counters['limit.line_bytes'], 1);
  t.equal(tx.status, 200);

  const many = Array.from({ length: 30 }, (_, i) => `GET /${i} HTTP/1.1\r\nHost: h\r\n\r\n`).join('');
  const m = run([p(0, many), p(1, 'HTTP/1.1 204 N\r\n\r\n'.repeat(30))]).meta!;
  t.equal(m.requests, 30);
  t.equal(m.responses, 30);
  t.equal(m.transactions.length, HTTP_LIMITS.transactionsKept);
  t.equal(m.transactionsDropped, 30 - HTTP_LIMITS.transactionsKept);

  const longUris = Array.from({ length: 10 }, (_, i) => `GET /${String(i).repeat(3000)} HTTP/1.1\r\nHost: h\r\n\r\n`).join('');
  const lu = run([p(0, longUris)]);
  t.equal(lu.meta!.requests, 10);
  t.equal(lu.meta!.transactions.length, 5, 'the string budget per flow keeps the first transactions only');
  t.equal(lu.meta!.transactionsDropped, 5);
  t.equal(lu.counters['limit.kept_chars'], 1);

  const counters = new Map<string, number>();
  const ctx: DissectContext = { flow: INFO, count: (k) => counters.set(k, (counters.get(k) ?? 0) + 1), emit: () => {} };
  const small = new HttpSession({ ...HTTP_LIMITS, requestsPerFlow: 3, bytesInspected: 1_000_000, pendingRequests: 2 });
  const buf = enc.encode(many);
  small.feed(0, buf, 0, buf.length, 1, ctx);
  t.equal(small.requests, 4, 'the fourth request hits the budget');
  t.ok(small.finished);
  t.equal(counters.get('limit.requests_per_flow'), 1);
  t.equal(counters.get('limit.pending_requests'), 1);
  const tiny = new HttpSession({ ...HTTP_LIMITS, bytesInspected: 100 });
  tiny.feed(0, buf, 0, buf.length, 1, ctx);
  t.equal(tiny.streams[0].bytes, 100);
  t.ok(tiny.finished);
  t.equal(counters.get('limit.bytes_inspected'), 1);
});

t.test('a capture gap resynchronises on the next start line', async (t) => {
  const counters = new Map<string, number>();
  const ctx: DissectContext = { flow: INFO, count: (k) => counters.set(k, (counters.get(k) ?? 0) + 1), emit: () => {} };
  const s = httpDissector.create(ctx) as HttpSession;
  const feed = (dir: 0 | 1, text: string): number => {
    const b = enc.encode(text);
    return httpDissector.payload(s, dir, b, 0, b.length, 1, ctx);
  };
  feed(0, 'POST /a HTTP/1.1\r\nContent-Length: 100000\r\n\r\nabc');
  t.equal(httpDissector.gap!(s, 0, ctx), Verdict.More);
  feed(0, 'tail of the lost body');
  feed(0, 'GET /after-gap HTTP/1.1\r\nHost: h\r\n\r\n');
  const m = httpDissector.finish(s, {} as never, ctx)!;
  t.same(m.transactions.map((x) => x.uri), ['/a', '/after-gap']);
  t.equal(m.transactions[0]!.requestBodyBytes, 100000, 'declared size reported');
  t.equal(counters.size, 0);
});

t.test('a response seen without its request still counts', async (t) => {
  const r = run([p(1, 'HTTP/1.1 302 Found\r\nLocation: /x\r\nContent-Length: 0\r\n\r\n')]);
  t.same(r.meta!.transactions.map((x) => [x.status, x.location, x.method]), [[302, '/x', undefined]]);
  t.equal(r.ecs!.url, undefined);
  t.same(r.ecs!.http.response, { status_code: 302, body: { bytes: 0 } });
});

t.test('URL parts from request targets and Host', async (t) => {
  t.same(urlParts('/p/q?a=1#f', 'Example.COM:8080', 'GET'), { original: '/p/q?a=1#f', path: '/p/q', query: 'a=1', domain: 'example.com', port: 8080 });
  t.same(urlParts('http://user@proxy.test:3128/x?y', 'ignored', 'GET'), { original: 'http://user@proxy.test:3128/x?y', scheme: 'http', domain: 'proxy.test', port: 3128, path: '/x', query: 'y' });
  t.same(urlParts('*', 'h', 'OPTIONS'), { original: '*', domain: 'h' });
  t.same(splitHostPort('[2001:db8::1]:443'), { domain: '2001:db8::1', port: 443 });
  t.same(splitHostPort('2001:db8::1'), { domain: '2001:db8::1' });
  t.same(splitHostPort('h:99999'), { domain: 'h' });
});

t.test('line reader: CRLF and LF, lines across pieces, cut at the budget', async (t) => {
  const lr = new LineReader(8);
  const lines: string[] = [];
  const feed = (s: string): void => {
    const b = enc.encode(s);
    let off = 0;
    while (off < b.length) {
      off = lr.next(b, off, b.length);
      if (lr.complete) lines.push(`${Buffer.from(lr.lineBuf.subarray(lr.lineStart, lr.lineEnd)).toString()}${lr.truncated ? '…' : ''}`);
    }
  };
  feed('ab\r\ncd\nef');
  feed('gh\r');
  feed('\n0123456789abc\r\n12345678\r\n');
  t.same(lines, ['ab', 'cd', 'efgh', '01234567…', '12345678']);
  t.ok(lr.held === 0);
});
