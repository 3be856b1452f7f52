/**
 * `picket collect`, assembled: MQTT subscriber → ingest (decode, sanitize) → SQLite store →
 * HTTP API, live stream and dashboard, plus periodic retention.
 *
 *   const c = await Collector.start(options);   // listening and connecting
 *   c.httpUrl                                   // http://127.0.0.1:8080/
 *   await c.stop();
 */
import { readPem } from '../agent/sink/mqtt/broker-options.js';
import { GeoIp, type CountryLookup } from './geo/geoip.js';
import { Ingest } from './ingest/ingest.js';
import { DEFAULT_LIVE_OPTIONS, LiveStream, type LiveStreamOptions } from './http/live-stream.js';
import { CollectorHttp } from './http/server.js';
import { loadStaticFiles } from './http/static-files.js';
import { AlertSubscriber, defaultSubscriberOptions, type SubscriberLog } from './mqtt/subscriber.js';
import { AlertStore } from './store/alert-store.js';
import { applyRetention, type RetentionResult } from './store/retention.js';

export interface CollectorOptions {
  brokerUrl: string;
  dbPath: string;
  httpHost: string;
  /** 0: any free port. */
  httpPort: number;
  token?: string;
  group: string;
  topicPrefix: string;
  protocol: 'auto' | 5 | 4;
  /** Plain alert subscription even on MQTT 5 (see SubscriberOptions.noShare). */
  noShare?: boolean;
  clientId: string;
  username?: string;
  password?: string;
  caFile?: string;
  certFile?: string;
  keyFile?: string;
  /** 0: keep forever. */
  retentionDays: number;
  /** 0: no size limit. */
  maxDbMb: number;
  staleAfterS: number;
  retentionIntervalMs: number;
  /** Dashboard files (default collector/web of the package). */
  webRoot?: string;
  live?: Partial<LiveStreamOptions>;
  /** Broker reconnect backoff (tests shorten it). */
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
}

export type CollectorLog = SubscriberLog;

export interface CollectorDeps {
  log?: CollectorLog;
  geo?: CountryLookup;
  now?: () => number;
}

export const stderrCollectorLog: CollectorLog = {
  info: (m) => process.stderr.write(`picket collect: ${m}\n`),
  warn: (m) => process.stderr.write(`picket collect: warning: ${m}\n`),
  error: (m) => process.stderr.write(`picket collect: error: ${m}\n`),
};

export interface CollectorHealth {
  broker: ReturnType<AlertSubscriber['state']> & { url: string; group: string };
  ingest: Ingest['counters'];
  database: { path: string; usedBytes: number; alerts: number; retention: RetentionResult & { runs: number } };
  http: { requests: number; rejected: number; liveClients: number; liveMessages: number; liveSlowDropped: number };
}

export class Collector {
  private retentionTimer: NodeJS.Timeout | null = null;
  private lastRetention: RetentionResult = { byAge: 0, bySize: 0, sensorEvents: 0, usedBytes: 0 };
  private retentionRuns = 0;
  private stopped = false;

  private constructor(
    readonly options: CollectorOptions,
    readonly store: AlertStore,
    readonly ingest: Ingest,
    readonly subscriber: AlertSubscriber,
    readonly http: CollectorHttp,
    readonly stream: LiveStream,
    readonly httpUrl: string,
    private readonly log: CollectorLog,
    private readonly now: () => number,
  ) {}

  /** Opens the database, listens, starts connecting. Throws one-line Errors for local problems. */
  static async start(o: CollectorOptions, deps: CollectorDeps = {}): Promise<Collector> {
    const log = deps.log ?? stderrCollectorLog;
    const now = deps.now ?? Date.now;
    const sub = defaultSubscriberOptions(o.brokerUrl, o.clientId);
    sub.group = o.group;
    sub.topicPrefix = o.topicPrefix;
    sub.protocol = o.protocol;
    sub.noShare = o.noShare === true;
    if (o.reconnectMinMs !== undefined) sub.reconnectMinMs = o.reconnectMinMs;
    if (o.reconnectMaxMs !== undefined) sub.reconnectMaxMs = o.reconnectMaxMs;
    if (o.username !== undefined) sub.username = o.username;
    if (o.password !== undefined) sub.password = o.password;
    if (o.caFile) sub.ca = readPem(o.caFile, 'broker-ca');
    if (o.certFile) sub.cert = readPem(o.certFile, 'broker-cert');
    if (o.keyFile) sub.key = readPem(o.keyFile, 'broker-key');
    const files = loadStaticFiles(o.webRoot);
    const store = new AlertStore(o.dbPath, { geo: deps.geo ?? new GeoIp(), now });
    const stream = new LiveStream({ ...DEFAULT_LIVE_OPTIONS, ...o.live });
    const ingest = new Ingest(store, stream, log);
    const subscriber = new AlertSubscriber(
      sub,
      {
        alert: (site, sensor, payload) => ingest.alert(site, sensor, payload),
        status: (site, sensor, payload, retained) => ingest.status(site, sensor, payload, retained),
        unexpected: () => ingest.unexpected(),
      },
      log,
    );
    let collector: Collector | undefined;
    const http = new CollectorHttp(
      { host: o.httpHost, port: o.httpPort, ...(o.token !== undefined ? { token: o.token } : {}) },
      { store, staleAfterUs: o.staleAfterS * 1e6, nowMs: now, health: () => collector?.health() },
      stream,
      files,
      log,
    );
    let addr;
    try {
      addr = await http.listen();
    } catch (err) {
      stream.close();
      store.close();
      throw err;
    }
    const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
    collector = new Collector(o, store, ingest, subscriber, http, stream, `http://${host}:${addr.port}/`, log, now);
    collector.runRetention();
    collector.retentionTimer = setInterval(() => collector?.runRetention(), Math.max(50, o.retentionIntervalMs));
    collector.retentionTimer.unref();
    subscriber.start();
    return collector;
  }

  /** Applies retention now; returns what it deleted. */
  runRetention(): RetentionResult {
    try {
      this.lastRetention = applyRetention(
        this.store,
        { maxAgeUs: this.options.retentionDays * 86_400e6, maxBytes: this.options.maxDbMb * 1024 * 1024 },
        this.now() * 1000,
      );
      this.retentionRuns++;
      const r = this.lastRetention;
      if (r.bySize > 0) this.log.warn(`database above --max-db-mb ${this.options.maxDbMb}: deleted the ${r.bySize} oldest alerts`);
    } catch (err) {
      this.log.error(`retention failed: ${err instanceof Error ? err.message : String(err)}`);
    }
    return this.lastRetention;
  }

  health(): CollectorHealth {
    return {
      broker: { ...this.subscriber.state(), url: this.options.brokerUrl, group: this.options.group },
      ingest: this.ingest.counters,
      database: { path: this.options.dbPath, usedBytes: this.store.usedBytes(), alerts: this.store.bounds().alerts, retention: { ...this.lastRetention, runs: this.retentionRuns } },
      http: { requests: this.http.requests, rejected: this.http.rejected, liveClients: this.stream.size, liveMessages: this.stream.sent, liveSlowDropped: this.stream.slowDropped },
    };
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.retentionTimer) clearInterval(this.retentionTimer);
    await this.subscriber.stop();
    await this.http.close();
    this.store.close();
  }
}
