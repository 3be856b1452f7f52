import { Verdict, type Dissector } from '../dissector.js';
import { httpEcs, type HttpMeta } from './ecs.js';
import { lit, startsWith } from './ascii.js';
import { HTTP_LIMITS, HttpSession, STATUS_CLASSES } from './session.js';

export type { HttpMeta } from './ecs.js';
export type { HttpTransaction } from './session.js';

/**
 * Methods that open an HTTP/1.x request: RFC 9110, PATCH, WebDAV, and the UPnP/cache ones seen
 * on TCP. A fixed list keeps SIP, RTSP and other look-alike text protocols out.
 */
const METHODS = [
  'GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH',
  'PROPFIND', 'PROPPATCH', 'MKCOL', 'COPY', 'MOVE', 'LOCK', 'UNLOCK', 'SEARCH', 'REPORT',
  'MKACTIVITY', 'CHECKOUT', 'MERGE', 'MKCALENDAR', 'ACL', 'BIND', 'UNBIND', 'REBIND',
  'VERSION-CONTROL', 'BASELINE-CONTROL', 'NOTIFY', 'SUBSCRIBE', 'UNSUBSCRIBE', 'PURGE', 'LINK', 'UNLINK',
].map((m) => lit(`${m} `));
const HTTP1 = lit('HTTP/1.');
/** First bytes of the methods and of `HTTP/1.`: most non-HTTP payload fails this one lookup. */
const FIRST = new Uint8Array(256);
for (const m of [...METHODS, HTTP1]) FIRST[m[0]!] = 1;

/** True when a payload starts like an HTTP/1.x request or response. */
export function isHttp1Start(buf: Uint8Array, off: number, len: number): boolean {
  if (len <= 0 || FIRST[buf[off]!] === 0) return false;
  const end = off + len;
  if (startsWith(buf, off, end, HTTP1)) return true;
  for (const m of METHODS) if (startsWith(buf, off, end, m)) return true;
  return false;
}

/**
 * HTTP/1.x over TCP, both directions: pipelined requests and responses matched in order, bodies
 * skipped by length or chunk sizes, counts per flow. Stops at an Upgrade (101) or CONNECT tunnel
 * (the WebSocket and HTTP/2 dissectors take over there).
 */
export const httpDissector: Dissector<HttpSession, HttpMeta> = {
  name: 'http',
  transports: ['tcp'],
  limits: { ...HTTP_LIMITS },
  probe(buf, off, len) {
    return isHttp1Start(buf, off, len);
  },
  create() {
    return new HttpSession(HTTP_LIMITS);
  },
  payload(state, dir, buf, off, len, tsUs, ctx) {
    state.feed(dir, buf, off, len, tsUs, ctx);
    return state.finished ? Verdict.Done : Verdict.More;
  },
  gap(state, dir) {
    state.gap(dir);
    return Verdict.More;
  },
  finish(state, record) {
    if (state.requests === 0 && state.responses === 0) return undefined;
    const statusClasses: Record<string, number> = {};
    for (let i = 0; i < STATUS_CLASSES.length; i++) {
      const n = state.classes[i]!;
      if (n > 0) statusClasses[STATUS_CLASSES[i]!] = n;
    }
    const meta: HttpMeta = {
      requests: state.requests,
      responses: state.responses,
      statusClasses,
      // The final record may take the session's transactions as they are: nothing follows.
      transactions: state.snapshot(record.partial),
      transactionsDropped: state.dropped,
    };
    if (state.tunnel) meta.tunnel = state.tunnel;
    if (state.upgradedTo) meta.upgradedTo = state.upgradedTo;
    if (state.ambiguous) meta.ambiguousLength = state.ambiguous;
    return meta;
  },
  appProtocol() {
    return 'http';
  },
  ecs: httpEcs,
};
