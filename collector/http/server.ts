/**
 * The collector's HTTP server (node:http): the dashboard's static files, the JSON API and the
 * live stream. Hardening, because the API shows attacker-controlled text and may be reachable
 * from a network:
 *
 * - Bound to 127.0.0.1 by default; any other address needs a token (the caller refuses to start
 *   without one). With a token, every /api/ request needs `Authorization: Bearer <token>`
 *   (compared in constant time).
 * - On a loopback address, requests must name a loopback host (Host header), so a web page
 *   elsewhere cannot reach the API through DNS rebinding.
 * - Only GET and HEAD; URL length capped; no request bodies are read; header and request timeouts.
 * - Every response carries a strict Content-Security-Policy (no inline script, no eval, nothing
 *   from other origins, Trusted Types enforced so HTML sinks reject strings), nosniff,
 *   no framing, no referrer.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { alertById, alertsList, dashboard, healthOf, kpisOf, mapOf, sensorsList, timeSeriesOf, topOf, type ApiContext, type ApiResult } from './api.js';
import type { LiveStream } from './live-stream.js';
import { BadRequest } from './params.js';
import type { StaticFile } from './static-files.js';

export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "font-src 'none'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "require-trusted-types-for 'script'",
  "trusted-types 'none'",
].join('; ');

const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'permissions-policy': 'camera=(), microphone=(), geolocation=()',
};

const MAX_URL = 4096;

export interface HttpOptions {
  host: string;
  port: number;
  /** Required for /api/ when set. */
  token?: string;
}

export interface HttpLog {
  error(msg: string): void;
}

/** True for 127.0.0.0/8, ::1 and localhost. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

function hostOfHeader(value: string | undefined): string {
  if (!value) return '';
  const m = /^(\[[^\]]*\]|[^:]*)(:\d+)?$/.exec(value);
  return m ? m[1]! : '';
}

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

export class CollectorHttp {
  private readonly server: Server;
  private readonly tokenDigest: Buffer | undefined;
  private readonly loopback: boolean;
  private errorLogged = false;
  requests = 0;
  rejected = 0;

  constructor(
    private readonly options: HttpOptions,
    private readonly api: ApiContext,
    private readonly stream: LiveStream,
    private readonly files: Map<string, StaticFile>,
    private readonly log: HttpLog,
  ) {
    this.tokenDigest = options.token !== undefined ? digest(options.token) : undefined;
    this.loopback = isLoopbackHost(options.host);
    this.server = createServer({ headersTimeout: 10_000, requestTimeout: 30_000, maxHeaderSize: 16 * 1024 }, (req, res) => this.handle(req, res));
    this.server.maxConnections = 256;
    // SSE responses stay open; idle keep-alive sockets do not.
    this.server.keepAliveTimeout = 5000;
  }

  /** Listens; resolves with the bound address (port 0 → a free port). */
  listen(): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException): void => {
        const why = err.code === 'EADDRINUSE' ? 'the address is in use (another collector or demo running?)' : err.code === 'EACCES' ? 'permission denied' : err.message;
        reject(new Error(`cannot listen on ${this.options.host}:${this.options.port}: ${why}`));
      };
      this.server.once('error', onError);
      this.server.listen(this.options.port, this.options.host, () => {
        this.server.off('error', onError);
        resolve(this.server.address() as AddressInfo);
      });
    });
  }

  async close(): Promise<void> {
    this.stream.close();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private send(res: ServerResponse, status: number, body: unknown, head = false): void {
    const text = JSON.stringify(body);
    res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text) });
    res.end(head ? undefined : text);
  }

  private authorized(req: IncomingMessage): boolean {
    if (!this.tokenDigest) return true;
    const h = req.headers.authorization ?? '';
    const m = /^Bearer ([\x21-\x7e]{1,512})$/.exec(h);
    if (!m) return false;
    return timingSafeEqual(digest(m[1]!), this.tokenDigest);
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    this.requests++;
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) res.setHeader(k, v);
    const method = req.method ?? '';
    const head = method === 'HEAD';
    if (method !== 'GET' && !head) {
      this.rejected++;
      res.setHeader('allow', 'GET, HEAD');
      this.send(res, 405, { error: 'only GET and HEAD' });
      return;
    }
    const rawUrl = req.url ?? '/';
    if (rawUrl.length > MAX_URL) {
      this.rejected++;
      this.send(res, 414, { error: `URL longer than ${MAX_URL} characters` });
      return;
    }
    if (this.loopback && !isLoopbackHost(hostOfHeader(req.headers.host))) {
      this.rejected++;
      this.send(res, 421, { error: 'this collector answers only to a loopback host name (127.0.0.1 or localhost)' });
      return;
    }
    let url: URL;
    try {
      url = new URL(rawUrl, 'http://collector.invalid');
    } catch {
      this.rejected++;
      this.send(res, 400, { error: 'malformed URL' });
      return;
    }
    const path = url.pathname;
    if (!path.startsWith('/api/')) {
      const file = this.files.get(path);
      if (!file) {
        this.send(res, 404, { error: 'not found' }, head);
        return;
      }
      res.writeHead(200, { 'content-type': file.type, 'content-length': file.body.length, 'cache-control': 'no-cache' });
      res.end(head ? undefined : file.body);
      return;
    }
    if (!this.authorized(req)) {
      this.rejected++;
      res.setHeader('www-authenticate', 'Bearer realm="picket"');
      this.send(res, 401, { error: 'token required: send Authorization: Bearer <token> (the dashboard asks for it)' }, head);
      return;
    }
    if (path === '/api/stream') {
      if (url.search !== '') {
        this.send(res, 400, { error: '/api/stream takes no parameters' }, head);
        return;
      }
      if (!this.stream.add(req, res)) this.send(res, 503, { error: 'too many live dashboards connected; try again later' }, head);
      return;
    }
    let result: ApiResult;
    try {
      result = this.route(path, url.searchParams);
    } catch (err) {
      if (err instanceof BadRequest) {
        this.rejected++;
        this.send(res, err.status, { error: err.message }, head);
        return;
      }
      if (!this.errorLogged) {
        this.errorLogged = true;
        this.log.error(`HTTP API error on ${path}: ${err instanceof Error ? err.message : String(err)}`);
      }
      this.send(res, 500, { error: 'internal error; see the collector log' }, head);
      return;
    }
    this.send(res, result.status, result.body, head);
  }

  private route(path: string, q: URLSearchParams): ApiResult {
    switch (path) {
      case '/api/alerts':
        return alertsList(this.api, q);
      case '/api/sensors':
        return sensorsList(this.api, q);
      case '/api/kpis':
        return kpisOf(this.api, q);
      case '/api/timeseries':
        return timeSeriesOf(this.api, q);
      case '/api/top':
        return topOf(this.api, q);
      case '/api/dashboard':
        return dashboard(this.api, q);
      case '/api/map':
        return mapOf(q);
      case '/api/health':
        return healthOf(this.api, q);
    }
    const m = /^\/api\/alerts\/([^/]+)$/.exec(path);
    if (m) return alertById(this.api, m[1]!, q);
    return { status: 404, body: { error: 'no such API path; see GET /api/alerts, /api/sensors, /api/dashboard' } };
  }
}
