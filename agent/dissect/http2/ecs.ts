import { urlParts } from '../http/url.js';
import type { CallType } from './grpc.js';

/** One gRPC call (one HTTP/2 stream with content-type application/grpc*). */
export interface GrpcCall {
  stream: number;
  path?: string;
  service?: string;
  method?: string;
  callType: CallType;
  /** grpc-status from the trailers (or a trailers-only response). */
  status?: number;
  /** grpc-message, percent-decoded. */
  message?: string;
  /** Length-prefixed messages client → server and back, and their summed lengths. */
  requests: number;
  responses: number;
  requestBytes: number;
  responseBytes: number;
  /** First message lengths per direction (bounded). */
  requestSizes: number[];
  responseSizes: number[];
  /** Messages with the compressed flag set. */
  compressed: number;
  encoding?: string;
  contentType?: string;
  /** Both sides ended the stream (END_STREAM), or it was reset. */
  complete: boolean;
  rstCode?: number;
}

/** One HTTP/2 request/response exchange (stream). */
export interface Http2Request {
  stream: number;
  method?: string;
  path?: string;
  authority?: string;
  scheme?: string;
  userAgent?: string;
  status?: number;
  requestContentType?: string;
  responseContentType?: string;
  pushed?: boolean;
  requestBytes: number;
  responseBytes: number;
  rstCode?: number;
}

/** What the HTTP/2 dissector reports for one flow; `client`/`server` are the HTTP/2 roles. */
export interface Http2Meta {
  start: 'prior_knowledge' | 'upgrade';
  streams: number;
  untrackedStreams: number;
  frames: { client: Record<string, number>; server: Record<string, number> };
  settings: { client: Record<string, number>; server: Record<string, number> };
  goaway?: { by: 'client' | 'server'; lastStreamId: number; errorCode: number };
  rstStreams: number;
  /** Sides whose HPACK state was lost (budget, bad bytes or capture gap): later headers unknown. */
  hpackLost?: Array<'client' | 'server'>;
  /** The first streams (bounded), gRPC or not. */
  requests: Http2Request[];
  /** gRPC calls among them; empty when the connection carried no gRPC. */
  grpcCalls: GrpcCall[];
  /** The frame budget ended the inspection. */
  truncated?: boolean;
}

type Json = Record<string, unknown>;

function put(o: Json, key: string, v: unknown): void {
  if (v !== undefined && v !== '') o[key] = v;
}

function requestJson(r: Http2Request): Json {
  const o: Json = { stream: r.stream };
  put(o, 'method', r.method);
  put(o, 'path', r.path);
  put(o, 'authority', r.authority);
  put(o, 'scheme', r.scheme);
  put(o, 'user_agent', r.userAgent);
  put(o, 'status_code', r.status);
  put(o, 'request_content_type', r.requestContentType);
  put(o, 'response_content_type', r.responseContentType);
  if (r.pushed) o.pushed = true;
  o.request_body_bytes = r.requestBytes;
  o.response_body_bytes = r.responseBytes;
  put(o, 'rst_code', r.rstCode);
  return o;
}

function callJson(c: GrpcCall): Json {
  const o: Json = { stream: c.stream };
  put(o, 'service', c.service);
  put(o, 'method', c.method);
  put(o, 'path', c.path);
  o.call_type = c.callType;
  put(o, 'status', c.status);
  put(o, 'message', c.message);
  o.requests = c.requests;
  o.responses = c.responses;
  o.request_bytes = c.requestBytes;
  o.response_bytes = c.responseBytes;
  o.request_sizes = c.requestSizes;
  o.response_sizes = c.responseSizes;
  if (c.compressed) o.compressed = c.compressed;
  put(o, 'encoding', c.encoding);
  put(o, 'content_type', c.contentType);
  o.complete = c.complete;
  put(o, 'rst_code', c.rstCode);
  return o;
}

/**
 * ECS form: the first request fills `url.*`, `http.request.method`, `http.response.status_code`,
 * `user_agent.original`, with `http.version` "2"; HTTP/2 details under `picket.http2`, gRPC under
 * `picket.grpc` (service and method of the first call, and every listed call).
 */
export function http2Ecs(m: Http2Meta): Json {
  const out: Json = {};
  const http: Json = { version: '2' };
  const first = m.requests.find((r) => r.method !== undefined || r.path !== undefined);
  if (first) {
    if (first.method !== undefined) http.request = { method: first.method };
    if (first.status !== undefined) http.response = { status_code: first.status };
    if (first.path !== undefined) {
      const u = urlParts(first.path, first.authority, first.method ?? '');
      const url: Json = { original: u.original };
      put(url, 'scheme', first.scheme);
      put(url, 'domain', u.domain);
      put(url, 'port', u.port);
      put(url, 'path', u.path);
      put(url, 'query', u.query);
      out.url = url;
    }
    if (first.userAgent !== undefined) out.user_agent = { original: first.userAgent };
  }
  out.http = http;
  const h2: Json = {
    start: m.start,
    streams: m.streams,
    frames: m.frames,
    settings: m.settings,
    rst_streams: m.rstStreams,
    requests: m.requests.map(requestJson),
  };
  if (m.untrackedStreams) h2.untracked_streams = m.untrackedStreams;
  if (m.goaway) h2.goaway = { by: m.goaway.by, last_stream_id: m.goaway.lastStreamId, error_code: m.goaway.errorCode };
  if (m.hpackLost) h2.hpack_lost = m.hpackLost;
  if (m.truncated) h2.truncated = true;
  const picket: Json = { http2: h2 };
  if (m.grpcCalls.length > 0) {
    const c0 = m.grpcCalls[0]!;
    const grpc: Json = {};
    put(grpc, 'service', c0.service);
    put(grpc, 'method', c0.method);
    grpc.calls = m.grpcCalls.map(callJson);
    picket.grpc = grpc;
  }
  out.picket = picket;
  return out;
}
