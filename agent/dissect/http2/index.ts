import { Verdict, type Dissector } from '../dissector.js';
import { isHttp1Start } from '../http/index.js';
import { http2Ecs, type GrpcCall, type Http2Meta, type Http2Request } from './ecs.js';
import { FRAME_NAMES } from './frame-reader.js';
import { callType, percentDecode, splitGrpcPath } from './grpc.js';
import { HTTP2_LIMITS, Http2Session, PREFACE, type H2Stream } from './session.js';

export type { GrpcCall, Http2Meta, Http2Request } from './ecs.js';


/**
 * Could this first payload open cleartext HTTP/2? The client preface (or its start), an HTTP/1.x
 * message mentioning h2c (or whose head continues in a later segment), or a server preface: a
 * SETTINGS frame on stream 0 that fits the segment.
 */
export function probeHttp2(buf: Uint8Array, off: number, len: number): boolean {
  const end = off + len;
  const n = Math.min(len, PREFACE.length);
  if (n >= 3) {
    let ok = true;
    for (let i = 0; i < n && ok; i++) ok = buf[off + i] === PREFACE[i];
    if (ok) return true;
  }
  if (isHttp1Start(buf, off, len)) return headMentionsH2c(buf, off, end);
  if (len < 9) return false;
  const length = (buf[off]! << 16) | (buf[off + 1]! << 8) | buf[off + 2]!;
  const stream = (buf[off + 5]! << 24) | (buf[off + 6]! << 16) | (buf[off + 7]! << 8) | buf[off + 8]!;
  return buf[off + 3] === 4 && buf[off + 4] === 0 && stream === 0 && length % 6 === 0 && length <= 96 && 9 + length <= len;
}

/**
 * True when the head in `buf[off, end)` mentions `h2c` (any case) or continues past `end`. One
 * pass that stops at the blank line: only the head can ask for h2c, and this probe runs on the
 * first segment of every HTTP/1.x flow, often ~1.4 KB of response body after the head.
 */
function headMentionsH2c(buf: Uint8Array, off: number, end: number): boolean {
  let h2c = false;
  for (let i = off; i < end; i++) {
    const c = buf[i]!;
    if (c === 0x0d) {
      if (i + 3 < end && buf[i + 1] === 0x0a && buf[i + 2] === 0x0d && buf[i + 3] === 0x0a) return h2c;
    } else if ((c | 0x20) === 0x68 && i + 2 < end && buf[i + 1] === 0x32 && (buf[i + 2]! | 0x20) === 0x63) h2c = true;
  }
  return true; // the head continues in a later segment
}

const SETTING_NAMES: Record<number, string> = {
  1: 'header_table_size',
  2: 'enable_push',
  3: 'max_concurrent_streams',
  4: 'initial_window_size',
  5: 'max_frame_size',
  6: 'max_header_list_size',
  8: 'enable_connect_protocol',
};

function settingsOf(list: ReadonlyArray<[number, number]>): Record<string, number> {
  const o: Record<string, number> = {};
  for (const [id, v] of list) o[SETTING_NAMES[id] ?? `0x${id.toString(16)}`] = v;
  return o;
}

function framesOf(counts: readonly number[]): Record<string, number> {
  const o: Record<string, number> = {};
  counts.forEach((n, i) => {
    if (n > 0) o[FRAME_NAMES[i]!] = n;
  });
  return o;
}

function requestOf(s: H2Stream): Http2Request {
  const r: Http2Request = { stream: s.id, requestBytes: s.dataBytes[0], responseBytes: s.dataBytes[1] };
  if (s.method !== undefined) r.method = s.method;
  if (s.path !== undefined) r.path = s.path;
  if (s.authority !== undefined) r.authority = s.authority;
  if (s.scheme !== undefined) r.scheme = s.scheme;
  if (s.userAgent !== undefined) r.userAgent = s.userAgent;
  if (s.status !== undefined) r.status = s.status;
  if (s.requestContentType !== undefined) r.requestContentType = s.requestContentType;
  if (s.responseContentType !== undefined) r.responseContentType = s.responseContentType;
  if (s.pushed) r.pushed = true;
  if (s.rstCode !== undefined) r.rstCode = s.rstCode;
  return r;
}

function callOf(s: H2Stream): GrpcCall {
  const m = s.messages;
  const requests = m ? m[0].count : 0;
  const responses = m ? m[1].count : 0;
  const c: GrpcCall = {
    stream: s.id,
    callType: callType(requests, responses),
    requests,
    responses,
    requestBytes: m ? m[0].bytes : 0,
    responseBytes: m ? m[1].bytes : 0,
    requestSizes: m ? [...m[0].sizes] : [],
    responseSizes: m ? [...m[1].sizes] : [],
    compressed: m ? m[0].compressed + m[1].compressed : 0,
    complete: (s.ended[0] && s.ended[1]) || s.rstCode !== undefined,
  };
  if (s.path !== undefined) {
    c.path = s.path;
    const sm = splitGrpcPath(s.path);
    if (sm) {
      c.service = sm.service;
      c.method = sm.method;
    }
  }
  if (s.grpcStatus !== undefined) c.status = s.grpcStatus;
  if (s.grpcMessage !== undefined) c.message = percentDecode(s.grpcMessage);
  if (s.grpcEncoding !== undefined) c.encoding = s.grpcEncoding;
  const ct = s.requestContentType ?? s.responseContentType;
  if (ct !== undefined) c.contentType = ct;
  if (s.rstCode !== undefined) c.rstCode = s.rstCode;
  return c;
}

/**
 * Cleartext HTTP/2 (prior knowledge or HTTP/1.1 Upgrade: h2c): frames, HPACK with a bounded
 * dynamic table, streams with method/path/status, and gRPC on top (service/method from `:path`,
 * status from trailers, message counts and sizes from the 5-byte prefixes, call type).
 * network.protocol is `grpc` when any stream carried gRPC, else `http2`.
 */
export const http2Dissector: Dissector<Http2Session, Http2Meta> = {
  name: 'http2',
  transports: ['tcp'],
  limits: { ...HTTP2_LIMITS },
  probe(buf, off, len) {
    return probeHttp2(buf, off, len);
  },
  create() {
    return new Http2Session(HTTP2_LIMITS);
  },
  payload(state, dir, buf, off, len, tsUs, ctx) {
    state.feed(dir, buf, off, off + len, tsUs, ctx);
    if (state.rejected) return Verdict.Reject;
    return state.finished ? Verdict.Done : Verdict.More;
  },
  gap(state, dir) {
    state.gap(dir);
    return state.finished ? Verdict.Done : Verdict.More;
  },
  finish(s) {
    if (!s.recognised || s.rejected) return undefined;
    const c = s.clientDir === 1 ? 1 : 0;
    const v = c === 0 ? 1 : 0;
    const ids = [...s.streams.keys()].sort((a, b) => a - b).slice(0, s.limits.streamsReported);
    const streams = ids.map((id) => s.streams.get(id)!);
    const meta: Http2Meta = {
      start: s.start === 'upgrade' ? 'upgrade' : 'prior_knowledge',
      streams: s.streams.size,
      untrackedStreams: s.untracked,
      frames: { client: framesOf(s.frameCounts[c]), server: framesOf(s.frameCounts[v]) },
      settings: { client: settingsOf(s.settings[c]), server: settingsOf(s.settings[v]) },
      rstStreams: s.rstStreams,
      requests: streams.map(requestOf),
      grpcCalls: streams.filter((x) => x.grpc).map(callOf),
    };
    if (s.goawayInfo) meta.goaway = { by: s.goawayInfo.dir === c ? 'client' : 'server', lastStreamId: s.goawayInfo.lastStreamId, errorCode: s.goawayInfo.errorCode };
    const lost: Array<'client' | 'server'> = [];
    if (s.hpackLost[c]) lost.push('client');
    if (s.hpackLost[v]) lost.push('server');
    if (lost.length) meta.hpackLost = lost;
    if (s.limitHit) meta.truncated = true;
    return meta;
  },
  appProtocol(meta) {
    return meta.grpcCalls.length > 0 ? 'grpc' : 'http2';
  },
  ecs: http2Ecs,
};
