/**
 * Server-Sent Events (GET /api/stream): the dashboard's live updates. Changes are coalesced and
 * flushed every `flushMs`, so a burst of thousands of alerts becomes a few small messages:
 *
 *   event: alerts    data: {"count": N, "alerts": [up to 50 newest summaries]}
 *   event: sensors   data: {"sensors": [{"site": ..., "sensorId": ...}]}
 *   : ping           (comment every heartbeatMs, keeps proxies from closing the connection)
 *
 * Clients are capped; a client that does not read (its socket buffer above maxBufferedBytes) is
 * disconnected instead of making the collector buffer for it.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { UpsertOutcome } from '../store/alert-store.js';
import type { AlertSummary } from '../store/rows.js';

export interface LiveStreamOptions {
  maxClients: number;
  flushMs: number;
  heartbeatMs: number;
  maxBufferedBytes: number;
}

export const DEFAULT_LIVE_OPTIONS: LiveStreamOptions = { maxClients: 32, flushMs: 250, heartbeatMs: 15_000, maxBufferedBytes: 1 << 20 };

/** Newest alerts carried per message; the rest are only counted. */
const MAX_ALERTS_PER_MESSAGE = 50;
const MAX_SENSORS_PER_MESSAGE = 200;

export class LiveStream {
  private readonly clients = new Set<ServerResponse>();
  private pending: AlertSummary[] = [];
  private pendingCount = 0;
  private pendingSensors = new Map<string, { site: string; sensorId: string }>();
  private flushTimer: NodeJS.Timeout | null = null;
  private readonly heartbeat: NodeJS.Timeout;
  /** Messages written and clients dropped for not reading, since start. */
  sent = 0;
  slowDropped = 0;

  constructor(private readonly o: LiveStreamOptions = DEFAULT_LIVE_OPTIONS) {
    this.heartbeat = setInterval(() => this.broadcast(': ping\n\n'), o.heartbeatMs);
    this.heartbeat.unref();
  }

  get size(): number {
    return this.clients.size;
  }

  /** Takes over a request; false (and nothing written) when the client cap is reached. */
  add(req: IncomingMessage, res: ServerResponse): boolean {
    if (this.clients.size >= this.o.maxClients) return false;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-accel-buffering': 'no',
      connection: 'keep-alive',
    });
    res.write(`retry: 3000\nevent: hello\ndata: ${JSON.stringify({ timeUs: Date.now() * 1000 })}\n\n`);
    this.clients.add(res);
    const drop = (): void => {
      this.clients.delete(res);
    };
    req.on('close', drop);
    res.on('close', drop);
    res.on('error', drop);
    return true;
  }

  alert(_outcome: UpsertOutcome, a: AlertSummary): void {
    this.pendingCount++;
    this.pending.push(a);
    if (this.pending.length > MAX_ALERTS_PER_MESSAGE * 2) this.pending = this.pending.slice(-MAX_ALERTS_PER_MESSAGE);
    this.schedule();
  }

  sensor(site: string, sensorId: string): void {
    if (this.pendingSensors.size < MAX_SENSORS_PER_MESSAGE) this.pendingSensors.set(`${site}\u0000${sensorId}`, { site, sensorId });
    this.schedule();
  }

  private schedule(): void {
    if (this.flushTimer || this.clients.size === 0) {
      if (this.clients.size === 0) this.reset();
      return;
    }
    this.flushTimer = setTimeout(() => this.flush(), this.o.flushMs);
    this.flushTimer.unref();
  }

  private reset(): void {
    this.pending = [];
    this.pendingCount = 0;
    this.pendingSensors.clear();
  }

  private flush(): void {
    this.flushTimer = null;
    if (this.pendingCount > 0) {
      const alerts = this.pending.slice(-MAX_ALERTS_PER_MESSAGE).reverse();
      this.broadcast(`event: alerts\ndata: ${JSON.stringify({ count: this.pendingCount, alerts })}\n\n`);
    }
    if (this.pendingSensors.size > 0) {
      this.broadcast(`event: sensors\ndata: ${JSON.stringify({ sensors: [...this.pendingSensors.values()] })}\n\n`);
    }
    this.reset();
  }

  private broadcast(chunk: string): void {
    for (const res of this.clients) {
      if (res.writableLength > this.o.maxBufferedBytes) {
        this.slowDropped++;
        this.clients.delete(res);
        res.destroy();
        continue;
      }
      res.write(chunk);
      this.sent++;
    }
  }

  /** Ends every stream (server shutdown). */
  close(): void {
    clearInterval(this.heartbeat);
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    for (const res of this.clients) res.end();
    this.clients.clear();
  }
}
