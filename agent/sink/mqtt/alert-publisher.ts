/**
 * Publishes alerts to an MQTT broker through the durable queue:
 *
 *   publish(alert) → encode (protobuf) → queue.append → send in order, at most `window` unacknowledged
 *   PUBACK → queue.ack → removed
 *
 * Topics: `<prefix>/<site>/<sensor>/alert` (QoS 1) and `.../status` (QoS 1, retained; on connect,
 * every statusIntervalMs, and as the MQTT Will with state OFFLINE). Client id = sensor id,
 * clean=false (MQTT 5: session expiry), MQTT 5 by default or 3.1.1.
 *
 * The broker may be down, misconfigured or unreachable for hours: publish() never blocks or
 * throws for that, alerts wait in the queue (bounded, drop policy in the queue), and each kind of
 * connection problem is logged once as one line (connection-errors.ts), then retried with
 * exponential backoff. Each connection attempt uses a fresh mqtt.js client with automatic
 * reconnect off; when a connection drops, in-flight records go back to the queue and are sent
 * again on the next connection (at-least-once; collectors de-duplicate by alert id).
 */
import mqtt, { type IClientOptions, type IConnackPacket, type MqttClient } from 'mqtt';
import type { Alert } from '../../alert/alert.js';
import { SEVERITY_RANK } from '../../alert/alert.js';
import type { AlertQueue, SeverityRank } from '../queue/alert-queue.js';
import { DiskQueue } from '../queue/disk-queue.js';
import { MemoryQueue } from '../queue/memory-queue.js';
import { encodeAlert } from '../wire/alert-wire.js';
import { encodeStatus, type AlertCountsBySeverity, type SensorStatusInfo } from '../wire/status-wire.js';
import { BrokerConfigError, sensorTopics, type BrokerOptions, type SensorTopics } from './broker-options.js';
import { CLOSED_BEFORE_CONNACK, describeConnectionError, type ConnectionContext } from './connection-errors.js';
import { loadTlsFiles, type TlsMaterial } from './tls-files.js';

/** Where the publisher's one-line messages go (a pino logger fits). */
export interface PublisherLog {
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

/** Sensor-side numbers for the status message; the publisher adds identity, queue and alert counts. */
export type StatusFields = Partial<Pick<SensorStatusInfo, 'packets' | 'drops' | 'flows' | 'lastError' | 'lastErrorUs'>>;

export interface PublisherDeps {
  log?: PublisherLog;
  /** Called for each status message. */
  status?: () => StatusFields;
  /** Use this queue instead of opening one from the options (tests). */
  queue?: AlertQueue;
  /** Milliseconds since the epoch (tests). */
  now?: () => number;
  /** Called when the broker acknowledged the alert with this queue sequence number (metrics, benchmarks). */
  onAck?: (seq: number) => void;
}

export interface PublisherStats {
  connected: boolean;
  /** Alerts given to publish() since start. */
  published: number;
  /** Alerts acknowledged by the broker since start. */
  acked: number;
  /** Alerts the broker refused for good (MQTT 5 PUBACK with a payload/topic error). */
  rejected: number;
  queueDepth: number;
  queueBytes: number;
  dropped: number;
  connects: number;
  /** The last connection problem line, empty once connected. */
  problem: string;
}

/** Only MQTT 5 PUBACK reasons that a retry cannot fix; anything else is retried on a new connection. */
const PERMANENT_PUBACK = new Set([0x90 /* topic name invalid */, 0x95 /* packet too large */, 0x99 /* payload format invalid */]);

/** Problem key of a PUBACK refusal (ACL, quota), which reconnecting does not clear. */
const PUBLISH_REFUSED = 'publish-refused';

/** Waiting for the final offline status at stop(), at most. */
const STOP_STATUS_WAIT_MS = 2000;
/** Repeat "queue is dropping" at most this often. */
const DROP_LOG_INTERVAL_MS = 60_000;

const stderrLog: PublisherLog = {
  info: (m) => process.stderr.write(`picket: ${m}\n`),
  warn: (m) => process.stderr.write(`picket: warning: ${m}\n`),
  error: (m) => process.stderr.write(`picket: error: ${m}\n`),
};

export class AlertPublisher {
  private readonly log: PublisherLog;
  private readonly now: () => number;
  private readonly topics: SensorTopics;
  private queue: AlertQueue | undefined;
  private client: MqttClient | null = null;
  /** Incremented for every client and when one is abandoned: callbacks of older clients are ignored. */
  private generation = 0;
  private connected = false;
  private window: number;
  private inflight = 0;
  private attempt = 0;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private statusTimer: NodeJS.Timeout | null = null;
  private stopped = false;
  private started = false;
  private readonly startedMs: number;
  private tls: TlsMaterial = {};
  private problemKey = '';
  private problem = '';
  private everConnected = false;
  private lostLogged = false;
  private lostReason = '';
  private connects = 0;
  private published = 0;
  private acked = 0;
  private rejected = 0;
  private rejectLogged = false;
  private readonly alertCounts: AlertCountsBySeverity = { low: 0, medium: 0, high: 0, critical: 0 };
  private waiters: (() => void)[] = [];
  private dropLoggedAt = -Infinity;
  private dropsSinceLog = 0;
  private writeErrorLoggedAt = -Infinity;

  constructor(
    readonly options: BrokerOptions,
    private readonly deps: PublisherDeps = {},
  ) {
    this.log = deps.log ?? stderrLog;
    this.now = deps.now ?? Date.now;
    this.topics = sensorTopics(options);
    this.window = Math.max(1, options.inflightWindow);
    this.startedMs = this.now();
  }

  /**
   * Opens the queue (replaying what a previous run left) and starts connecting in the background.
   * Rejects only for local configuration problems (unreadable certificate files, unusable or
   * locked queue directory) with a BrokerConfigError; broker problems are logged and retried.
   */
  async start(): Promise<void> {
    if (this.started) return;
    const o = this.options;
    this.tls = loadTlsFiles(o);
    this.queue = this.deps.queue ?? this.openQueue();
    this.started = true;
    const c = this.queue.counters();
    if (this.queue.depth > 0 || c.torn > 0 || c.corrupt > 0) {
      const damage = c.torn + c.corrupt > 0 ? ` (skipped ${c.torn} torn and ${c.corrupt} corrupt records)` : '';
      this.log.info(`resuming ${this.queue.depth} queued alerts from ${o.queueDir ?? 'memory'}${damage}`);
    }
    this.connect();
  }

  private openQueue(): AlertQueue {
    const o = this.options;
    const onDrop = (r: { severity: SeverityRank }): void => this.noteDrop(r.severity);
    if (!o.queueDir) {
      return new MemoryQueue({ onDrop, ...(o.queueMaxBytes !== undefined ? { maxBytes: o.queueMaxBytes } : {}) });
    }
    try {
      return new DiskQueue({
        dir: o.queueDir,
        fsync: o.fsync,
        fsyncEveryRecords: o.fsyncEveryRecords,
        fsyncEveryMs: o.fsyncEveryMs,
        onDrop,
        onWriteError: (message) => this.noteWriteError(message),
        ...(o.queueMaxBytes !== undefined ? { maxBytes: o.queueMaxBytes } : {}),
      });
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      const why = e.code ? `${e.code}` : e.message;
      throw new BrokerConfigError(`cannot use --queue-dir ${o.queueDir}: ${why}${e.code ? '; check the path and its permissions' : ''}`);
    }
  }

  /** Queue, then send when connected. Returns the queue sequence number. Never throws for broker problems. */
  publish(alert: Alert): number {
    const q = this.requireQueue();
    const payload = encodeAlert(alert, this.options.sensorId, this.options.site);
    const rank = (SEVERITY_RANK[alert.severity] ?? 1) as SeverityRank;
    this.alertCounts[alert.severity]++;
    this.published++;
    const seq = q.append(payload, rank, alert.id);
    this.pump();
    return seq;
  }

  /**
   * Waits until every queued alert is acknowledged or `timeoutMs` passes.
   * `acked`: alerts acknowledged since start; `left`: alerts still in the queue.
   */
  async flush(timeoutMs: number): Promise<{ acked: number; left: number }> {
    const q = this.requireQueue();
    if (q.depth > 0) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          this.waiters = this.waiters.filter((w) => w !== done);
          resolve();
        };
        const timer = setTimeout(done, Math.max(0, timeoutMs));
        this.waiters.push(done);
      });
    }
    return { acked: this.acked, left: q.depth };
  }

  /**
   * Publishes an offline status (when connected), disconnects cleanly and closes the queue.
   * Unacknowledged alerts stay in a disk queue for the next start.
   */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    if (this.statusTimer) clearInterval(this.statusTimer);
    this.reconnectTimer = null;
    this.statusTimer = null;
    const client = this.client;
    if (client && this.connected) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, STOP_STATUS_WAIT_MS);
        client.publish(this.topics.status, Buffer.from(this.statusPayload('offline')), { qos: 1, retain: true }, () => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    const ending = this.abandonClient(false);
    if (ending) await ending;
    if (this.dropsSinceLog > 0) this.logDrops();
    for (const w of [...this.waiters]) w();
    if (this.queue && this.started) this.queue.close();
  }

  stats(): PublisherStats {
    const q = this.queue;
    return {
      connected: this.connected,
      published: this.published,
      acked: this.acked,
      rejected: this.rejected,
      queueDepth: q?.depth ?? 0,
      queueBytes: q?.bytes ?? 0,
      dropped: q?.counters().dropped ?? 0,
      connects: this.connects,
      problem: this.problem,
    };
  }

  private requireQueue(): AlertQueue {
    // Calling publish/flush before start() is a programmer error.
    if (!this.queue || !this.started) throw new Error('AlertPublisher: call start() first');
    return this.queue;
  }

  private context(): ConnectionContext {
    const o = this.options;
    const ctx: ConnectionContext = { url: o.url, protocolVersion: o.protocolVersion, sensorId: o.sensorId };
    if (o.username !== undefined) ctx.username = o.username;
    if (o.caFile !== undefined) ctx.caFile = o.caFile;
    if (o.certFile !== undefined) ctx.certFile = o.certFile;
    return ctx;
  }

  private connect(): void {
    if (this.stopped) return;
    const o = this.options;
    const gen = ++this.generation;
    const opts: IClientOptions = {
      protocolVersion: o.protocolVersion,
      clientId: o.sensorId,
      clean: false,
      keepalive: o.keepaliveS,
      connectTimeout: o.connectTimeoutMs,
      reconnectPeriod: 0,
      resubscribe: false,
      queueQoSZero: false,
      rejectUnauthorized: true,
      will: { topic: this.topics.status, payload: Buffer.from(this.statusPayload('offline')), qos: 1, retain: true },
      ...this.tls,
    };
    if (o.protocolVersion === 5) opts.properties = { sessionExpiryInterval: o.sessionExpiryS };
    if (o.username !== undefined) opts.username = o.username;
    if (o.password !== undefined) opts.password = o.password;
    let sawError = false;
    const attemptStart = this.now();
    let client: MqttClient;
    try {
      client = mqtt.connect(o.url, opts);
    } catch (err) {
      // Whatever makes the client constructor throw must not escape a reconnect timer.
      this.noteProblem(err);
      this.onClose();
      return;
    }
    this.client = client;
    client.on('connect', (connack: IConnackPacket) => {
      if (gen === this.generation) this.onConnect(connack);
    });
    client.on('error', (err: Error) => {
      if (gen !== this.generation) return;
      sawError = true;
      // A socket error on an established connection is an outage, reported by onClose.
      if (this.connected) this.lostReason = String((err as { code?: unknown }).code ?? err.message);
      else this.noteProblem(err);
    });
    client.on('close', () => {
      if (gen !== this.generation) return;
      if (!sawError && !this.connected && !this.stopped) {
        // Closed without an error and without CONNACK: either our connect timeout or the broker hung up.
        const early = this.now() - attemptStart < o.connectTimeoutMs * 0.9;
        this.noteProblem(early ? Object.assign(new Error('closed before CONNACK'), { code: CLOSED_BEFORE_CONNACK }) : new Error('connack timeout'));
      }
      this.onClose();
    });
  }

  private onConnect(connack: IConnackPacket): void {
    this.connected = true;
    this.connects++;
    // Back off from a broker that accepts the connection but refuses our alerts, too.
    if (this.problemKey !== PUBLISH_REFUSED) this.attempt = 0;
    // MQTT 5: the broker's Receive Maximum caps unacknowledged QoS 1 publishes (one slot kept for status).
    const max = connack.properties?.receiveMaximum;
    this.window = Math.max(1, Math.min(this.options.inflightWindow, max !== undefined ? max - 1 : Number.MAX_SAFE_INTEGER));
    const depth = this.queue?.depth ?? 0;
    // A refused publish is not solved by connecting: keep it until an alert is acknowledged.
    const connectionProblem = this.problemKey !== '' && this.problemKey !== PUBLISH_REFUSED;
    if (!this.everConnected || connectionProblem || this.lostLogged) {
      this.log.info(`connected to broker ${this.options.url} as sensor "${this.options.sensorId}" (MQTT ${this.options.protocolVersion === 5 ? '5' : '3.1.1'}); ${depth} alerts queued`);
    }
    this.everConnected = true;
    if (connectionProblem) {
      this.problemKey = '';
      this.problem = '';
    }
    this.lostLogged = false;
    this.publishStatus();
    if (this.statusTimer) clearInterval(this.statusTimer);
    this.statusTimer = setInterval(() => this.publishStatus(), Math.max(100, this.options.statusIntervalMs));
    this.statusTimer.unref();
    this.pump();
  }

  private noteProblem(err: unknown): void {
    const p = describeConnectionError(err, this.context());
    this.setProblem(p.key, p.message);
  }

  /** Logs a problem when it differs from the one already reported (so retries stay quiet). */
  private setProblem(key: string, message: string): void {
    if (key === this.problemKey) return;
    this.problemKey = key;
    this.problem = message;
    if (message) this.log.error(message);
  }

  private onClose(): void {
    const wasConnected = this.connected;
    void this.abandonClient(true);
    if (this.stopped) return;
    if (wasConnected && !this.lostLogged && !this.problemKey) {
      this.lostLogged = true;
      const why = this.lostReason ? ` (${this.lostReason})` : '';
      this.log.warn(`lost connection to broker ${this.options.url}${why}; ${this.queue?.depth ?? 0} alerts queued, reconnecting with backoff`);
    }
    this.lostReason = '';
    const o = this.options;
    const base = Math.min(o.reconnectMaxMs, o.reconnectMinMs * 2 ** Math.min(this.attempt, 20));
    this.attempt++;
    // Jitter (50-100 %) so a fleet of sensors does not reconnect in lockstep after a broker restart.
    const delay = Math.round(base * (0.5 + Math.random() * 0.5));
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      this.connect();
    }, delay);
    this.reconnectTimer.unref();
  }

  /**
   * Forgets the current client: its callbacks are ignored from now on and in-flight records
   * requeued. Resolves when the client has closed (bounded), or undefined when there was none.
   */
  private abandonClient(force: boolean): Promise<void> | undefined {
    const client = this.client;
    this.client = null;
    this.generation++;
    this.connected = false;
    if (this.statusTimer) clearInterval(this.statusTimer);
    this.statusTimer = null;
    if (this.queue && this.started && this.inflight > 0) this.queue.requeueInflight();
    this.inflight = 0;
    if (client) {
      client.removeAllListeners('connect');
      client.removeAllListeners('close');
      client.removeAllListeners('error');
      // mqtt.js may still emit errors while tearing down; nobody listens to them any more.
      client.on('error', () => {});
      // Not unref'd: stop() awaits this, and an unref'd timer could let the process exit mid-stop.
      return new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, STOP_STATUS_WAIT_MS);
        client.end(force, {}, () => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return undefined;
  }

  /** Sends queued records while the window has room. */
  private pump(): void {
    const client = this.client;
    const q = this.queue;
    if (!client || !this.connected || !q || this.stopped) return;
    const gen = this.generation;
    while (this.inflight < this.window) {
      const batch = q.next(this.window - this.inflight);
      if (batch.length === 0) break;
      for (const rec of batch) {
        this.inflight++;
        const seq = rec.seq;
        const payload = Buffer.from(rec.payload.buffer, rec.payload.byteOffset, rec.payload.byteLength);
        client.publish(this.topics.alert, payload, { qos: 1 }, (err) => this.onPuback(gen, seq, err));
      }
    }
  }

  private onPuback(gen: number, seq: number, err: Error | undefined): void {
    if (gen !== this.generation || !this.queue) return;
    const code = (err as { code?: unknown } | undefined)?.code;
    if (err && !(typeof code === 'number' && PERMANENT_PUBACK.has(code))) {
      // E.g. MQTT 5 "not authorized" from the ACL or "quota exceeded": say so once, retry later
      // on a new connection (the records go back to the queue when this one closes).
      const user = this.options.username !== undefined ? `user "${this.options.username}"` : 'anonymous clients';
      this.setProblem(
        PUBLISH_REFUSED,
        `broker ${this.options.url} refused alerts on ${this.topics.alert} (${err.message.replace(/^Publish error: /, '')}): ` +
          `check that its ACL lets ${user} write this topic (with the example ACL the user name must equal --sensor); alerts stay queued and are retried with backoff`,
      );
      this.client?.end(true);
      return;
    }
    if (!err && this.problemKey === PUBLISH_REFUSED) {
      this.attempt = 0;
      this.setProblem('', '');
      this.log.info(`broker ${this.options.url} accepts alerts on ${this.topics.alert} again`);
    }
    if (err) {
      this.rejected++;
      if (!this.rejectLogged) {
        this.rejectLogged = true;
        this.log.error(`broker rejected an alert for good (${err.message}); it is removed from the queue (counted as rejected)`);
      }
    } else this.acked++;
    this.inflight--;
    this.queue.ack(seq);
    if (!err) this.deps.onAck?.(seq);
    if (this.queue.depth === 0) for (const w of [...this.waiters]) w();
    this.pump();
  }

  private statusPayload(state: 'online' | 'offline'): Uint8Array {
    let extra: StatusFields = {};
    try {
      extra = this.deps.status?.() ?? {};
    } catch {
      // A failing status callback must not stop publishing; report zeros.
    }
    const nowMs = this.now();
    const q = this.queue;
    return encodeStatus({
      sensorId: this.options.sensorId,
      site: this.options.site,
      state,
      timeUs: nowMs * 1000,
      version: this.options.version,
      startedUs: this.startedMs * 1000,
      uptimeS: Math.max(0, Math.floor((nowMs - this.startedMs) / 1000)),
      packets: extra.packets ?? 0,
      drops: extra.drops ?? 0,
      flows: extra.flows ?? 0,
      queueDepth: q?.depth ?? 0,
      queueBytes: q?.bytes ?? 0,
      queueDropped: q?.counters().dropped ?? 0,
      alerts: { ...this.alertCounts },
      lastError: extra.lastError ?? this.problem,
      lastErrorUs: extra.lastErrorUs ?? 0,
    });
  }

  private publishStatus(): void {
    const client = this.client;
    if (!client || !this.connected) return;
    client.publish(this.topics.status, Buffer.from(this.statusPayload('online')), { qos: 1, retain: true });
  }

  private noteWriteError(message: string): void {
    if (this.now() - this.writeErrorLoggedAt < DROP_LOG_INTERVAL_MS) return;
    this.writeErrorLoggedAt = this.now();
    this.log.error(
      `cannot write the alert queue in ${this.options.queueDir ?? ''} (${message}): alerts are kept in memory until writes work again; check free space and permissions`,
    );
  }

  private noteDrop(_severity: SeverityRank): void {
    this.dropsSinceLog++;
    if (this.now() - this.dropLoggedAt >= DROP_LOG_INTERVAL_MS) this.logDrops();
  }

  private logDrops(): void {
    const c = this.queue?.counters();
    const by = c ? c.droppedBySeverity : [0, 0, 0, 0];
    const where = this.options.queueDir ?? 'memory';
    const total = by.reduce((a, b) => a + b, 0);
    this.log.warn(
      `alert queue full (${this.queue?.maxBytes ?? 0} bytes, ${where}): dropped ${total} alerts so far, oldest lowest-severity first ` +
        `(low ${by[0]}, medium ${by[1]}, high ${by[2]}, critical ${by[3]}); restore the broker connection or give the queue more room`,
    );
    this.dropLoggedAt = this.now();
    this.dropsSinceLog = 0;
  }
}
