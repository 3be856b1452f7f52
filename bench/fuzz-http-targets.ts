/**
 * Fuzz targets for the HTTP/1.x, WebSocket and HTTP/2 dissectors: where their seeds come from,
 * how to build synthetic flows with the protocol's structure (so random choices reach deep
 * states), and which declared limits the per-flow state must respect.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Direction } from '../agent/flow/flow-observer.js';
import { httpDissector, isHttp1Start } from '../agent/dissect/http/index.js';
import { HTTP_LIMITS, type HttpSession } from '../agent/dissect/http/session.js';
import type { HttpMeta } from '../agent/dissect/http/ecs.js';
import { probeWebSocket, websocketDissector } from '../agent/dissect/websocket/index.js';
import { WEBSOCKET_LIMITS, type WebSocketSession } from '../agent/dissect/websocket/session.js';
import type { WebSocketMeta } from '../agent/dissect/websocket/ecs.js';
import { http2Dissector, probeHttp2 } from '../agent/dissect/http2/index.js';
import { HTTP2_LIMITS, PREFACE, type Http2Session } from '../agent/dissect/http2/session.js';
import type { Http2Meta } from '../agent/dissect/http2/ecs.js';
import { CODES, CODE_LENGTHS } from '../agent/dissect/http2/huffman.js';
import { readSeeds, type FuzzTarget, type Piece, type Rng, type Seed } from './fuzz-http-kit.js';

const CORPORA = process.env.PICKET_CORPORA ?? resolve(process.cwd(), '../shared/corpora');
const CAPTURES = resolve(process.cwd(), 'test/captures');
const enc = new TextEncoder();
const T0 = 1_700_000_000_000_000;

function httpCapturePaths(): string[] {
  const out = [`${CORPORA}/ja4/pcap/http1.pcapng`, `${CORPORA}/ja4/pcap/http1-with-cookies.pcapng`, `${CORPORA}/ja4/pcap/http-empty-useragent.pcap`];
  const manifest = `${CORPORA}/ndpi/MANIFEST.tsv`;
  if (existsSync(manifest)) {
    for (const line of readFileSync(manifest, 'utf8').split('\n')) {
      const [file, , cat] = line.split('\t');
      if (cat === 'http' || cat === 'websocket') out.push(`${CORPORA}/ndpi/pcap/${file}`);
    }
  }
  out.push(`${CAPTURES}/websocket/ws-frames.pcap`, `${CAPTURES}/http2/h2c-grpc.pcap`);
  return out.filter((p) => existsSync(p));
}

/** Splits bytes into 1–4 pieces and interleaves them into `out` for one direction. */
function pieces(rng: Rng, dir: Direction, bytes: Uint8Array, out: Piece[], t: { us: number }): void {
  let o = 0;
  const n = 1 + rng.int(4);
  for (let k = 0; k < n && o < bytes.length; k++) {
    const len = k === n - 1 ? bytes.length - o : 1 + rng.int(bytes.length - o);
    out.push({ dir, bytes: bytes.subarray(o, o + len), tsUs: (t.us += 1 + rng.int(5000)) });
    o += len;
  }
}

function concat(parts: Array<Uint8Array | string>): Uint8Array {
  const bs = parts.map((p) => (typeof p === 'string' ? enc.encode(p) : p));
  const out = new Uint8Array(bs.reduce((n, b) => n + b.length, 0));
  let o = 0;
  for (const b of bs) {
    out.set(b, o);
    o += b.length;
  }
  return out;
}

const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[rng.int(xs.length)]!;

// ---------------------------------------------------------------- HTTP/1.x

function httpBody(rng: Rng, chunked: boolean): { headers: string; body: Uint8Array } {
  const size = pick(rng, [0, 1, 10, 100, 3000]);
  if (!chunked) return { headers: rng.int(6) === 0 ? `Content-Length: ${pick(rng, ['x', '-1', '99999999999999999', String(size)])}\r\n` : `Content-Length: ${size}\r\n`, body: rng.bytes(size) };
  const parts: Array<Uint8Array | string> = [];
  const n = rng.int(4);
  for (let i = 0; i < n; i++) {
    const c = 1 + rng.int(200);
    parts.push(`${c.toString(16)}${rng.int(4) === 0 ? ';ext=1' : ''}\r\n`, rng.bytes(c), '\r\n');
  }
  parts.push('0\r\n', rng.int(3) === 0 ? 'X-Trailer: 1\r\n' : '', '\r\n');
  return { headers: 'Transfer-Encoding: chunked\r\n', body: concat(parts) };
}

function synthHttp(rng: Rng): Seed {
  const out: Piece[] = [];
  const t = { us: T0 };
  // Sometimes a long pipeline, past the kept-transactions budget.
  const n = 1 + rng.int(rng.int(6) === 0 ? 40 : 5);
  const reqs: Uint8Array[] = [];
  const resps: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const method = pick(rng, ['GET', 'POST', 'HEAD', 'PUT', 'CONNECT', 'OPTIONS', 'PROPFIND']);
    const b = httpBody(rng, rng.int(3) === 0);
    const extra = rng.int(4) === 0 ? `X-Long: ${'a'.repeat(rng.int(12000))}\r\n` : '';
    const up = rng.int(6) === 0 ? 'Upgrade: websocket\r\nConnection: Upgrade\r\n' : '';
    reqs.push(concat([`${method} /p${i}?q=${rng.int(100)} HTTP/1.${rng.int(2)}\r\nHost: h${i}.example\r\nUser-Agent: fuzz/${i}\r\n${up}${extra}${method === 'GET' || method === 'HEAD' ? '' : b.headers}\r\n`, method === 'GET' || method === 'HEAD' ? new Uint8Array(0) : b.body]));
    const status = pick(rng, [100, 101, 200, 204, 206, 304, 404, 500, 999]);
    const rb = httpBody(rng, rng.int(3) === 0);
    resps.push(concat([`HTTP/1.1 ${status} X\r\nContent-Type: text/plain\r\nServer: s\r\n${rng.int(5) === 0 ? '' : rb.headers}\r\n`, rb.body]));
  }
  // Requests first, then responses, both pipelined; sometimes interleaved.
  const req = concat(reqs);
  const res = concat(resps);
  if (rng.int(2) === 0) {
    pieces(rng, 0, req, out, t);
    pieces(rng, 1, res, out, t);
  } else {
    for (let i = 0; i < n; i++) {
      pieces(rng, 0, reqs[i]!, out, t);
      pieces(rng, 1, resps[i]!, out, t);
    }
  }
  return { info: { uid: 'Fh', protocol: 6, ipVersion: 4, clientPort: 40000 + rng.int(1000), serverPort: 80 }, pieces: out };
}

function checkHttp(state: unknown, meta: unknown): string | undefined {
  const s = state as HttpSession | undefined;
  if (!s) return undefined;
  const L = HTTP_LIMITS;
  if (s.transactions.length > L.transactionsKept) return `transactions ${s.transactions.length}`;
  for (const st of s.streams) if (st.parser.lines.held > L.lineBytes + 1) return `line held ${st.parser.lines.held}`;
  if (s.streams[0].bytes + s.streams[1].bytes > L.bytesInspected) return 'bytes inspected';
  if (s.requests > L.requestsPerFlow + 1) return `requests ${s.requests}`;
  const m = meta as HttpMeta | undefined;
  let chars = 0;
  for (const tx of m?.transactions ?? []) {
    for (const v of [tx.uri, tx.host, tx.userAgent, tx.referer, tx.requestContentType, tx.upgrade, tx.reason, tx.responseContentType, tx.server, tx.location]) chars += v?.length ?? 0;
  }
  // The budget may be passed by the last transaction kept (checked before adding it).
  if (chars > L.keptChars + L.uriBytes + 9 * L.valueBytes) return `kept chars ${chars}`;
  for (const tx of m?.transactions ?? []) {
    if ((tx.uri?.length ?? 0) > L.uriBytes) return `uri ${tx.uri?.length}`;
    for (const v of [tx.host, tx.userAgent, tx.referer, tx.requestContentType, tx.responseContentType, tx.server, tx.location, tx.upgrade]) {
      if ((v?.length ?? 0) > L.valueBytes) return `value ${v?.length}`;
    }
  }
  return undefined;
}

// ---------------------------------------------------------------- WebSocket

function wsFrame(rng: Rng, masked: boolean): Uint8Array {
  const opcode = rng.int(8) === 0 ? rng.int(16) : pick(rng, [0, 1, 2, 8, 9, 10]);
  const fin = rng.int(4) !== 0;
  const rsv = rng.int(8) === 0 ? 0x40 : 0;
  const len = pick(rng, [0, 2, 5, 125, 126, 300, 65535, 65536, 70000]);
  const send = Math.min(len, 2000);
  const ext = len < 126 ? 0 : len < 65536 ? 2 : 8;
  const h = new Uint8Array(2 + ext + (masked ? 4 : 0));
  h[0] = (fin ? 0x80 : 0) | rsv | opcode;
  h[1] = (masked ? 0x80 : 0) | (ext === 0 ? len : ext === 2 ? 126 : 127);
  const dv = new DataView(h.buffer);
  if (ext === 2) dv.setUint16(2, len);
  if (ext === 8) {
    dv.setUint32(2, rng.int(50) === 0 ? 0x80000000 : 0);
    dv.setUint32(6, len);
  }
  if (masked) h.set(rng.bytes(4), 2 + ext);
  return concat([h, rng.bytes(send)]);
}

function synthWebSocket(rng: Rng): Seed {
  const out: Piece[] = [];
  const t = { us: T0 };
  const mid = rng.int(4) === 0;
  if (!mid) {
    pieces(rng, 0, enc.encode(`GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`), out, t);
    pieces(rng, 1, enc.encode(`HTTP/1.1 ${rng.int(5) === 0 ? 403 : 101} S\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n`), out, t);
  } else out.push({ dir: 1, bytes: concat([new Uint8Array([0x81, 5]), enc.encode('hello')]), tsUs: t.us });
  const n = rng.int(30);
  for (let i = 0; i < n; i++) {
    const dir = rng.int(2) as Direction;
    pieces(rng, dir, wsFrame(rng, dir === 0), out, t);
  }
  return { info: { uid: 'Fw', protocol: 6, ipVersion: 4, clientPort: 40000, serverPort: 8080 }, pieces: out };
}

function checkWebSocket(state: unknown, meta: unknown): string | undefined {
  const s = state as WebSocketSession | undefined;
  if (!s) return undefined;
  const L = WEBSOCKET_LIMITS;
  for (const r of s.readers) if (r.sampled > L.sampleBytes) return `sampled ${r.sampled}`;
  if (s.framesTotal > L.frames) return `frames ${s.framesTotal}`;
  const m = meta as WebSocketMeta | undefined;
  if (m && m.sampledBytes > 2 * L.sampleBytes) return 'sampled total';
  return undefined;
}

// ---------------------------------------------------------------- HTTP/2

function h2Frame(type: number, flags: number, stream: number, payload: Uint8Array): Uint8Array {
  const h = new Uint8Array(9 + payload.length);
  h[0] = (payload.length >> 16) & 0xff;
  h[1] = (payload.length >> 8) & 0xff;
  h[2] = payload.length & 0xff;
  h[3] = type;
  h[4] = flags;
  new DataView(h.buffer).setUint32(5, stream);
  h.set(payload, 9);
  return h;
}

function hpackInt(first: number, prefix: number, v: number): number[] {
  const max = (1 << prefix) - 1;
  if (v < max) return [first | v];
  const out = [first | max];
  v -= max;
  while (v >= 128) {
    out.push((v % 128) + 128);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}

function huffman(text: string): number[] {
  const out: number[] = [];
  let acc = 0;
  let bits = 0;
  for (let i = 0; i < text.length; i++) {
    const sym = text.charCodeAt(i) & 0xff;
    const len = CODE_LENGTHS[sym]!;
    const code = CODES[sym]!;
    for (let b = len - 1; b >= 0; b--) {
      acc = (acc << 1) | ((code >>> b) & 1);
      if (++bits === 8) {
        out.push(acc);
        acc = 0;
        bits = 0;
      }
    }
  }
  if (bits > 0) out.push((acc << (8 - bits)) | ((1 << (8 - bits)) - 1));
  return out;
}

function hpackString(rng: Rng, text: string): number[] {
  if (rng.int(2) === 0) {
    const h = huffman(text);
    return [...hpackInt(0x80, 7, h.length), ...h];
  }
  return [...hpackInt(0, 7, text.length), ...Array.from(enc.encode(text))];
}

function hpackBlock(rng: Rng, grpc: boolean, response: boolean): Uint8Array {
  const b: number[] = [];
  if (rng.int(10) === 0) b.push(...hpackInt(0x20, 5, pick(rng, [0, 100, 4096, 65536, 1 << 20, 2 ** 28])));
  const fields: Array<[string, string]> = response
    ? [[':status', String(pick(rng, [200, 404, 100]))], ['content-type', grpc ? 'application/grpc' : 'text/html'], ['grpc-status', String(rng.int(17))]]
    : [[':method', 'POST'], [':path', `/pkg.Svc${rng.int(3)}/M${rng.int(3)}`], [':authority', 'a'], ['content-type', grpc ? 'application/grpc+proto' : 'text/plain'], ['x-big', 'v'.repeat(rng.int(3) === 0 ? 5000 : 3)]];
  for (const [name, value] of fields) {
    const kind = rng.int(5);
    if (kind === 0) b.push(...hpackInt(0x80, 7, 1 + rng.int(70))); // indexed (static or dynamic)
    else {
      b.push(...hpackInt(kind === 1 ? 0x40 : kind === 2 ? 0x10 : 0, kind === 1 ? 6 : 4, 0));
      b.push(...hpackString(rng, name), ...hpackString(rng, value));
    }
  }
  for (let i = rng.int(20) === 0 ? 2000 : 0; i > 0; i--) b.push(0x80 | (62 + rng.int(3))); // reference storm
  return Uint8Array.from(b);
}

function grpcData(rng: Rng): Uint8Array {
  const parts: Uint8Array[] = [];
  for (let i = rng.int(4); i >= 0; i--) {
    const len = rng.int(8) === 0 ? 0x7fffffff : rng.int(300);
    const h = new Uint8Array(5);
    h[0] = rng.int(10) === 0 ? 2 : rng.int(2);
    new DataView(h.buffer).setUint32(1, len);
    parts.push(h, rng.bytes(Math.min(len, 300)));
  }
  return concat(parts);
}

function synthHttp2(rng: Rng): Seed {
  const out: Piece[] = [];
  const t = { us: T0 };
  const grpc = rng.int(2) === 0;
  pieces(rng, 1, h2Frame(4, 0, 0, Uint8Array.from([0, 1, 0, 0, rng.int(2) ? 0x10 : 0, 0])), out, t);
  pieces(rng, 0, concat([PREFACE, h2Frame(4, 0, 0, new Uint8Array(0))]), out, t);
  const n = rng.int(24);
  for (let i = 0; i < n; i++) {
    const dir = rng.int(2) as Direction;
    const stream = 1 + 2 * rng.int(4);
    let f: Uint8Array;
    switch (rng.int(9)) {
      case 0:
      case 1: {
        const block = hpackBlock(rng, grpc, dir === 1);
        if (rng.int(4) === 0 && block.length > 2) {
          const cut = 1 + rng.int(block.length - 1);
          f = concat([h2Frame(1, rng.int(2), stream, block.subarray(0, cut)), h2Frame(9, 4, rng.int(5) === 0 ? stream + 2 : stream, block.subarray(cut))]);
        } else f = h2Frame(1, 4 | rng.int(2) | (rng.int(6) === 0 ? 0x28 : 0), stream, rng.int(6) === 0 ? concat([new Uint8Array([3]), new Uint8Array(5), block, new Uint8Array(3)]) : block);
        break;
      }
      case 2:
      case 3:
        f = h2Frame(0, rng.int(2) | (rng.int(6) === 0 ? 8 : 0), stream, grpcData(rng));
        break;
      case 4:
        f = h2Frame(4, rng.int(2), 0, rng.bytes(6 * rng.int(4) + (rng.int(8) === 0 ? 1 : 0)));
        break;
      case 5:
        f = h2Frame(3, 0, stream, rng.bytes(4));
        break;
      case 6:
        f = h2Frame(5, 4, stream, concat([new Uint8Array([0, 0, 0, 2 + 2 * rng.int(4)]), hpackBlock(rng, grpc, false)]));
        break;
      case 7:
        f = h2Frame(7, 0, 0, rng.bytes(8 + rng.int(10)));
        break;
      default:
        f = h2Frame(rng.int(256), rng.int(256), rng.int(10), rng.bytes(rng.int(40)));
    }
    pieces(rng, dir, f, out, t);
  }
  return { info: { uid: 'F2', protocol: 6, ipVersion: 4, clientPort: 40000, serverPort: 50051 }, pieces: out };
}

function checkHttp2(state: unknown, meta: unknown): string | undefined {
  const s = state as Http2Session | undefined;
  if (!s) return undefined;
  const L = HTTP2_LIMITS;
  if (s.streams.size > L.streams) return `streams ${s.streams.size}`;
  if (s.framesTotal > L.frames) return `frames ${s.framesTotal}`;
  for (const r of s.readers) if (r.heldBytes > L.headerBlockBytes) return `header block ${r.heldBytes}`;
  for (const d of [0, 1] as const) {
    if (s.decoder(d).size > L.tableBytes) return `hpack table ${s.decoder(d).size}`;
    if (s.settings[d].length > L.settingsKept) return 'settings';
  }
  const m = meta as Http2Meta | undefined;
  if (m) {
    let chars = 0;
    for (const r of m.requests) for (const v of [r.method, r.path, r.authority, r.scheme, r.userAgent, r.requestContentType, r.responseContentType]) chars += v?.length ?? 0;
    if (chars > L.keptChars + 2 * L.uriBytes + 8 * L.valueBytes) return `kept chars ${chars}`;
    if (m.requests.length > L.streamsReported) return 'requests listed';
    for (const c of m.grpcCalls) if (c.requestSizes.length > L.messageSizesKept || c.responseSizes.length > L.messageSizesKept) return 'message sizes';
  }
  return undefined;
}

// ---------------------------------------------------------------- targets

export async function httpTarget(maxSeeds = 400): Promise<FuzzTarget> {
  return { dissector: httpDissector, seeds: await readSeeds(httpCapturePaths(), (b) => isHttp1Start(b, 0, b.length), maxSeeds), synth: synthHttp, checkLimits: checkHttp };
}

export async function websocketTarget(maxSeeds = 400): Promise<FuzzTarget> {
  return { dissector: websocketDissector, seeds: await readSeeds(httpCapturePaths(), (b) => probeWebSocket(b, 0, b.length), maxSeeds), synth: synthWebSocket, checkLimits: checkWebSocket };
}

export async function http2Target(maxSeeds = 400): Promise<FuzzTarget> {
  return { dissector: http2Dissector, seeds: await readSeeds(httpCapturePaths(), (b) => probeHttp2(b, 0, b.length), maxSeeds), synth: synthHttp2, checkLimits: checkHttp2 };
}
