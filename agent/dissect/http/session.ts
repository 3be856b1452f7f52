import type { DissectContext } from '../dissector.js';
import type { HttpHead } from './head-parser.js';
import { Body, Http1Stream, type StreamLimits, type StreamSink } from './message-stream.js';

/** Budgets of the HTTP/1.x dissector, per flow unless said otherwise. */
export interface HttpLimits extends StreamLimits {
  /** Requests parsed per flow; then the dissector is done. */
  readonly requestsPerFlow: number;
  /** Transactions reported in full (the rest are only counted). */
  readonly transactionsKept: number;
  /** Pipelined requests waiting for their response. */
  readonly pendingRequests: number;
  /** Payload bytes looked at, both directions together. */
  readonly bytesInspected: number;
  /** Characters of kept strings (URIs, header values) per flow; later transactions are only counted. */
  readonly keptChars: number;
}

export const HTTP_LIMITS: HttpLimits = {
  lineBytes: 8192,
  headersPerMessage: 128,
  valueBytes: 1024,
  uriBytes: 4096,
  chunksPerMessage: 65_536,
  requestsPerFlow: 1000,
  transactionsKept: 16,
  pendingRequests: 64,
  bytesInspected: 4 << 20,
  keptChars: 16_384,
};

/** One request and its response (either may be missing: capture started late, or no answer). */
export interface HttpTransaction {
  method?: string;
  uri?: string;
  version?: string;
  host?: string;
  userAgent?: string;
  referer?: string;
  requestContentType?: string;
  /** Request body bytes (Content-Length, or the sum of chunk sizes). */
  requestBodyBytes?: number;
  /** Upgrade header of the request (e.g. `websocket`, `h2c`). */
  upgrade?: string;
  status?: number;
  reason?: string;
  responseVersion?: string;
  responseContentType?: string;
  responseBodyBytes?: number;
  server?: string;
  location?: string;
  /** Content-Length with Transfer-Encoding, or two different Content-Lengths (smuggling signal). */
  ambiguousLength?: boolean;
  /** Time of the request head (or of the response head when no request was seen), µs. */
  tsUs: number;
}

/**
 * The empty request queue every session starts with and returns to. Never mutated: the first
 * request replaces it with a one-entry array, and shift() is not called on an empty queue.
 */
const NO_PENDING: Pending[] = [];

interface Pending {
  tx: HttpTransaction | undefined;
  head: boolean;
  connect: boolean;
}

/** Status classes counted per flow: 1xx … 5xx, then anything else. */
export const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx', 'other'] as const;

/**
 * The HTTP/1.x state of one flow: both directions' message streams, and the matching of
 * responses to requests in order (pipelining) with bounded queues and lists.
 */
export class HttpSession implements StreamSink {
  readonly streams: [Http1Stream, Http1Stream];
  requests = 0;
  responses = 0;
  readonly classes = [0, 0, 0, 0, 0, 0];
  /**
   * Kept transactions. This list and `pending` start as exact-size arrays on their first entry
   * (`[]` reserves 17 slots at its first push, and most flows hold one request).
   */
  transactions: HttpTransaction[] = [];
  /** Transactions beyond the kept list. */
  dropped = 0;
  /** Characters held by kept transactions (bounded by keptChars plus one transaction's worth). */
  private chars = 0;
  /** Requests with ambiguous message length (Content-Length + Transfer-Encoding, or conflicting lengths). */
  ambiguous = 0;
  private pending: Pending[] = NO_PENDING;
  /** Transaction whose body each direction is reading. */
  private open0: HttpTransaction | undefined = undefined;
  private open1: HttpTransaction | undefined = undefined;
  /** `upgrade` after 101, `connect` after a CONNECT 2xx: the rest is not HTTP/1.x. */
  tunnel: '' | 'upgrade' | 'connect' = '';
  /** Protocol named by the Upgrade header of an accepted 101 response. */
  upgradedTo = '';
  /** The last request asked to upgrade and no final response came yet. */
  private upgradeAsked = false;
  /** A budget ended the inspection. */
  exhausted = false;
  ctx: DissectContext | undefined;

  constructor(readonly limits: HttpLimits = HTTP_LIMITS) {
    this.streams = [new Http1Stream(limits, 0), new Http1Stream(limits, 1)];
  }

  /** Nothing more to parse in either direction. */
  get finished(): boolean {
    return this.exhausted || (this.streams[0].stopped && this.streams[1].stopped);
  }

  feed(dir: 0 | 1, buf: Uint8Array, off: number, len: number, tsUs: number, ctx: DissectContext): void {
    this.ctx = ctx;
    const s = this.streams[dir];
    const budget = this.limits.bytesInspected - this.streams[0].bytes - this.streams[1].bytes;
    if (len > budget) {
      len = budget > 0 ? budget : 0;
      this.exhausted = true;
      ctx.count('limit.bytes_inspected');
    }
    if (len > 0) s.feed(buf, off, off + len, tsUs, this);
  }

  head(stream: Http1Stream, head: HttpHead, tsUs: number): Body {
    if (head.truncatedLines > 0) this.ctx?.count('limit.line_bytes');
    if (head.headersOverLimit) this.ctx?.count('limit.headers_per_message');
    if (head.badHeaderLines > 0) this.ctx?.count('malformed.header_line');
    if (head.extraSpaces) this.ctx?.count('malformed.request_line_spaces');
    return head.kind === 'request' ? this.request(stream, head, tsUs) : this.response(stream, head, tsUs);
  }

  private request(stream: Http1Stream, head: HttpHead, tsUs: number): Body {
    this.requests++;
    if (this.requests > this.limits.requestsPerFlow) {
      this.ctx?.count('limit.requests_per_flow');
      this.exhausted = true;
      this.streams[0].stop();
      this.streams[1].stop();
      return Body.Stop;
    }
    const tx: HttpTransaction = { tsUs, method: head.method, uri: head.target };
    if (head.version) tx.version = head.version;
    if (head.host !== undefined) tx.host = head.host;
    if (head.userAgent !== undefined) tx.userAgent = head.userAgent;
    if (head.referer !== undefined) tx.referer = head.referer;
    if (head.contentType !== undefined) tx.requestContentType = head.contentType;
    if (head.upgrade !== undefined) tx.upgrade = head.upgrade;
    if (head.ambiguousLength) {
      tx.ambiguousLength = true;
      this.ambiguous++;
    }
    const kept = this.keep(tx);
    this.setOpen(stream.dir, kept);
    const method = head.method.toUpperCase();
    if (this.pending.length < this.limits.pendingRequests) {
      const p: Pending = { tx: kept, head: method === 'HEAD', connect: method === 'CONNECT' };
      if (this.pending.length === 0) this.pending = [p];
      else this.pending.push(p);
    } else this.ctx?.count('limit.pending_requests');
    this.upgradeAsked = head.upgrade !== undefined;
    if (this.ctx?.wantsEvents !== false) this.ctx?.emit('http.request', tsUs, {
      method: head.method,
      host: head.host,
      uri: head.target,
      user_agent: head.userAgent,
      version: head.version,
    });
    if (head.chunked) return Body.Chunked;
    if (head.contentLength === -2) {
      this.fail(stream, 'malformed', 'content_length');
      stream.stop();
      return Body.Stop;
    }
    return head.contentLength > 0 ? Body.Length : Body.None;
  }

  private response(stream: Http1Stream, head: HttpHead, tsUs: number): Body {
    this.responses++;
    const status = head.status;
    const cls = status >= 100 && status < 600 ? Math.floor(status / 100) - 1 : 5;
    this.classes[cls]!++;
    const interim = status >= 100 && status < 200 && status !== 101;
    // Interim responses (100 Continue, 103 Early Hints) precede the final one for the same request.
    const p = interim || this.pending.length === 0 ? undefined : this.pending.shift();
    // An answered queue goes back to the shared empty list (idle flows hold no array of their own).
    if (this.pending.length === 0) this.pending = NO_PENDING;
    let tx = p?.tx;
    if (!interim) {
      if (!p) tx = this.keep({ tsUs });
      if (tx) {
        tx.status = status;
        tx.responseVersion = head.version;
        // Response strings only while the flow's string budget lasts (the status always).
        if (this.chars <= this.limits.keptChars) {
          tx.reason = head.reason;
          if (head.contentType !== undefined) tx.responseContentType = head.contentType;
          if (head.server !== undefined) tx.server = head.server;
          if (head.location !== undefined) tx.location = head.location;
          this.chars += head.reason.length + (tx.responseContentType?.length ?? 0) + (tx.server?.length ?? 0) + (tx.location?.length ?? 0);
        }
      }
      this.upgradeAsked = false;
    }
    this.setOpen(stream.dir, interim ? undefined : tx);
    if (this.ctx?.wantsEvents !== false) this.ctx?.emit('http.response', tsUs, {
      status,
      method: p?.tx?.method,
      host: p?.tx?.host,
      uri: p?.tx?.uri,
      content_type: head.contentType,
    });
    if (status === 101) {
      this.tunnel = 'upgrade';
      this.upgradedTo = head.upgrade ?? '';
      this.streams[0].stop();
      this.streams[1].stop();
      return Body.Stop;
    }
    if (p?.connect && status >= 200 && status < 300) {
      this.tunnel = 'connect';
      this.streams[0].stop();
      this.streams[1].stop();
      return Body.Stop;
    }
    if (interim || status === 204 || status === 304 || p?.head) return Body.None;
    if (head.chunked) return Body.Chunked;
    if (head.contentLength >= 0) return Body.Length;
    if (head.contentLength === -2) {
      this.fail(stream, 'malformed', 'content_length');
      stream.stop();
      return Body.Stop;
    }
    return Body.UntilClose;
  }

  end(stream: Http1Stream, head: HttpHead, bodyBytes: number): void {
    const tx = stream.dir === 0 ? this.open0 : this.open1;
    this.setOpen(stream.dir, undefined);
    if (!tx) return;
    if (head.kind === 'request') tx.requestBodyBytes = bodyBytes;
    else tx.responseBodyBytes = bodyBytes;
  }

  fail(stream: Http1Stream, kind: 'malformed' | 'limit', reason: string): void {
    // Bytes after an Upgrade request that are not HTTP are the new protocol, not an error.
    if (this.upgradeAsked && kind === 'malformed' && stream.role === 'request') {
      this.tunnel = 'upgrade';
      return;
    }
    this.ctx?.count(`${kind}.${reason}`);
  }

  gap(dir: 0 | 1): void {
    const s = this.streams[dir];
    // The message being read ends here as far as we can tell: keep its (declared) body size.
    if (s.inBody && s.current && !s.untilClose) this.end(s, s.current, s.bodyBytes);
    s.gap();
  }

  /** Transaction whose body direction `dir` is reading (two fields: no array per flow). */
  private setOpen(dir: 0 | 1, tx: HttpTransaction | undefined): void {
    if (dir === 0) this.open0 = tx;
    else this.open1 = tx;
  }

  private keep(tx: HttpTransaction): HttpTransaction | undefined {
    // Strings are what costs memory per flow: bound them as well as the count (the first is kept).
    const chars = (tx.uri?.length ?? 0) + (tx.host?.length ?? 0) + (tx.userAgent?.length ?? 0) + (tx.referer?.length ?? 0) + (tx.requestContentType?.length ?? 0) + (tx.upgrade?.length ?? 0);
    const full = this.transactions.length >= this.limits.transactionsKept;
    if (full || (this.transactions.length > 0 && this.chars + chars > this.limits.keptChars)) {
      if (!full && this.dropped === 0) this.ctx?.count('limit.kept_chars');
      this.dropped++;
      return undefined;
    }
    this.chars += chars;
    if (this.transactions.length === 0) this.transactions = [tx];
    else this.transactions.push(tx);
    return tx;
  }

  /**
   * The kept transactions, with the body bytes seen so far for messages still open: copies for
   * an interim record (the flow goes on and must not change it), the session's own objects for
   * the final one (`copy` false; the session is dropped right after).
   */
  snapshot(copy = true): HttpTransaction[] {
    const out = copy ? this.transactions.map((tx) => ({ ...tx })) : this.transactions;
    for (const s of this.streams) {
      const tx = s.dir === 0 ? this.open0 : this.open1;
      if (!tx || !s.inBody) continue;
      const i = this.transactions.indexOf(tx);
      const copy = out[i];
      if (!copy) continue;
      if (s.role === 'request') copy.requestBodyBytes = s.bodyBytes;
      else copy.responseBodyBytes = s.bodyBytes;
    }
    return out;
  }
}
