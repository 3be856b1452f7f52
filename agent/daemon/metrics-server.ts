/**
 * The /metrics HTTP endpoint. Listens where configured (127.0.0.1 by default: metrics reveal
 * traffic volumes, so exposing them is a deliberate choice) and answers GET /metrics only.
 */
import { createServer, type Server } from 'node:http';
import type { DaemonMetrics } from './metrics.js';

export interface MetricsAddress {
  host: string;
  port: number;
}

export class MetricsServer {
  private server: Server | undefined;

  constructor(private readonly metrics: DaemonMetrics) {}

  /** Binds; rejects with one line (address in use, not permitted...). Resolves with the bound address. */
  listen(host: string, port: number): Promise<MetricsAddress> {
    const server = createServer((req, res) => {
      if (req.method !== 'GET' || (req.url !== '/metrics' && !req.url?.startsWith('/metrics?'))) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('picket: metrics are at /metrics\n');
        return;
      }
      this.metrics.text().then(
        (body) => res.writeHead(200, { 'content-type': this.metrics.registry.contentType }).end(body),
        (err: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`picket: metrics failed: ${String(err)}\n`),
      );
    });
    // A scraper that never reads must not hold sockets forever.
    server.requestTimeout = 10_000;
    server.headersTimeout = 5_000;
    return new Promise((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) => {
        reject(new Error(`cannot serve metrics on ${host}:${port} (${err.code ?? err.message}): choose another --metrics HOST:PORT or set metrics.listen to "" to turn metrics off`));
      });
      server.listen(port, host, () => {
        this.server = server;
        const a = server.address();
        resolve({ host, port: typeof a === 'object' && a ? a.port : port });
      });
    });
  }

  async close(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}
