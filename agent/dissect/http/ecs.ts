import { isoMicros } from '../../util/time-format.js';
import type { HttpTransaction } from './session.js';
import { urlParts } from './url.js';

/** What the HTTP/1.x dissector reports for one flow. */
export interface HttpMeta {
  requests: number;
  responses: number;
  /** Responses per status class (`1xx` … `5xx`, `other`), only classes seen. */
  statusClasses: Record<string, number>;
  /** The first transactions in order (bounded), each request with its response. */
  transactions: HttpTransaction[];
  /** Transactions beyond the kept list. */
  transactionsDropped: number;
  /** The connection stopped being HTTP/1.x: `upgrade` (101) or `connect` (CONNECT 2xx). */
  tunnel?: 'upgrade' | 'connect';
  /** Upgrade header of the 101 response (`websocket`, `h2c`, …). */
  upgradedTo?: string;
  /** Requests whose length was ambiguous (request-smuggling signal). */
  ambiguousLength?: number;
}

type Json = Record<string, unknown>;

function put(o: Json, key: string, v: unknown): void {
  if (v !== undefined && v !== '') o[key] = v;
}

function transactionJson(tx: HttpTransaction): Json {
  const o: Json = { timestamp: isoMicros(tx.tsUs) };
  put(o, 'method', tx.method);
  put(o, 'uri', tx.uri);
  put(o, 'version', tx.version);
  put(o, 'host', tx.host);
  put(o, 'user_agent', tx.userAgent);
  put(o, 'referrer', tx.referer);
  put(o, 'request_content_type', tx.requestContentType);
  put(o, 'request_body_bytes', tx.requestBodyBytes);
  put(o, 'upgrade', tx.upgrade);
  put(o, 'status_code', tx.status);
  put(o, 'reason', tx.reason);
  put(o, 'response_content_type', tx.responseContentType);
  put(o, 'response_body_bytes', tx.responseBodyBytes);
  put(o, 'server', tx.server);
  put(o, 'location', tx.location);
  if (tx.ambiguousLength) o.ambiguous_length = true;
  return o;
}

/**
 * ECS form: the first transaction fills `http.*`, `url.*` and `user_agent.original` (ECS
 * describes one transaction per event; a flow may carry many), every kept transaction and the
 * per-flow counts go under `picket.http`. `http.*.mime_type` stays empty on purpose: ECS wants it
 * sniffed from the body, not copied from Content-Type, so Content-Type goes to
 * `picket.http.transactions[].{request,response}_content_type`.
 */
export function httpEcs(meta: HttpMeta): Json {
  const out: Json = {};
  const first = meta.transactions[0];
  if (first) {
    const http: Json = {};
    put(http, 'version', first.version ?? first.responseVersion);
    const request: Json = {};
    put(request, 'method', first.method);
    put(request, 'referrer', first.referer);
    if (first.requestBodyBytes !== undefined) request.body = { bytes: first.requestBodyBytes };
    if (Object.keys(request).length) http.request = request;
    const response: Json = {};
    put(response, 'status_code', first.status);
    if (first.responseBodyBytes !== undefined) response.body = { bytes: first.responseBodyBytes };
    if (Object.keys(response).length) http.response = response;
    out.http = http;
    if (first.uri !== undefined) {
      const u = urlParts(first.uri, first.host, first.method ?? '');
      const url: Json = { original: u.original };
      put(url, 'scheme', u.scheme);
      put(url, 'domain', u.domain);
      put(url, 'port', u.port);
      put(url, 'path', u.path);
      put(url, 'query', u.query);
      out.url = url;
    }
    if (first.userAgent !== undefined) out.user_agent = { original: first.userAgent };
  }
  const picket: Json = {
    requests: meta.requests,
    responses: meta.responses,
    status_classes: meta.statusClasses,
    transactions: meta.transactions.map(transactionJson),
  };
  if (meta.transactionsDropped) picket.transactions_dropped = meta.transactionsDropped;
  put(picket, 'tunnel', meta.tunnel);
  put(picket, 'upgraded_to', meta.upgradedTo);
  if (meta.ambiguousLength) picket.ambiguous_length = meta.ambiguousLength;
  out.picket = { http: picket };
  return out;
}
