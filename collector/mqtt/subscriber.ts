/**
 * The collector's MQTT side: one connection, QoS 1, persistent session (clean=false, MQTT 5
 * session expiry), so alerts published while the collector restarts wait at the broker.
 *
 * Protocol: MQTT 5 first. A broker that refuses MQTT 5 (aedes, old brokers) gets MQTT 3.1.1,
 * where there are no shared subscriptions: the collector then subscribes to the alert topics
 * plainly and says so in one log line (every collector on such a broker receives every alert).
 * An MQTT 5 broker that refuses the shared subscription (reason 0x9E) gets the same fallback.
 *
 * Messages are handed to the callbacks synchronously inside mqtt.js's handleMessage, before the
 * PUBACK is sent: an alert is acknowledged only after it is in the database (at-least-once).
 * Each kind of connection problem is logged once, then retried with exponential backoff.
 */
import mqtt, { type IClientOptions, type IPublishPacket, type MqttClient } from 'mqtt';
import { collectorTopics, parseTopic, type CollectorTopics } from './topics.js';

export interface SubscriberLog {
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

export interface SubscriberOptions {
  url: string;
  clientId: string;
  group: string;
  topicPrefix: string;
  /** `auto`: MQTT 5, falling back to 3.1.1 when the broker refuses 5. */
  protocol: 'auto' | 5 | 4;
  /**
   * Subscribe to alerts plainly even on MQTT 5 (a single collector). mosquitto 2.0 does not keep
   * shared subscriptions across its own restart, so alerts published after a broker restart and
   * before the collector reconnects are lost to a shared subscription; a plain one keeps them.
   */
  noShare: boolean;
  username?: string;
  password?: string;
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  keepaliveS: number;
  connectTimeoutMs: number;
  sessionExpiryS: number;
  reconnectMinMs: number;
  reconnectMaxMs: number;
  /** Largest message accepted (MQTT 5 Maximum Packet Size told to the broker). */
  maxPacketBytes: number;
}

export interface SubscriberHandlers {
  alert(site: string, sensorId: string, payload: Buffer): void;
  status(site: string, sensorId: string, payload: Buffer, retained: boolean): void;
  /** A message on a topic the collector did not ask for. */
  unexpected(topic: string): void;
}

export interface SubscriberState {
  connected: boolean;
  /** 5 or 4 (3.1.1); the version of the current or last connection. */
  protocolVersion: 4 | 5;
  /** Alerts come through the shared subscription. */
  shared: boolean;
  connects: number;
  /** The current connection problem line, '' when none. */
  problem: string;
}

export function defaultSubscriberOptions(url: string, clientId: string): SubscriberOptions {
  return {
    url,
    clientId,
    group: 'picket-collectors',
    topicPrefix: 'picket/v1',
    protocol: 'auto',
    noShare: false,
    keepaliveS: 30,
    connectTimeoutMs: 10_000,
    sessionExpiryS: 3600,
    reconnectMinMs: 500,
    reconnectMaxMs: 15_000,
    maxPacketBytes: 300 * 1024,
  };
}

/** MQTT 3.1.1 CONNACK return codes and MQTT 5 reason codes a person can act on. */
function connackAdvice(code: number, o: SubscriberOptions, version: 4 | 5): { key: string; message: string } | undefined {
  const who = o.username !== undefined ? `user "${o.username}"` : 'an anonymous client';
  if ((version === 4 && (code === 4 || code === 5)) || code === 0x86 || code === 0x87) {
    return { key: 'auth', message: `broker ${o.url} refused login as ${who}: check --broker-user and --broker-password-file; retrying` };
  }
  if ((version === 4 && code === 2) || code === 0x85) {
    return { key: 'client-id', message: `broker ${o.url} refused client id "${o.clientId}": give another --client-id; retrying` };
  }
  if ((version === 4 && code === 3) || code === 0x88 || code === 0x89) {
    return { key: 'unavailable', message: `broker ${o.url} is unavailable (CONNACK ${code}); retrying` };
  }
  return undefined;
}

function describeError(err: unknown, o: SubscriberOptions, version: 4 | 5): { key: string; message: string } {
  const e = err as { code?: unknown; message?: string };
  const code = e.code;
  if (typeof code === 'number') {
    const advice = connackAdvice(code, o, version);
    if (advice) return advice;
    return { key: `connack-${code}`, message: `broker ${o.url} refused the connection (${e.message ?? code}); retrying` };
  }
  const c = typeof code === 'string' ? code : '';
  if (c === 'ECONNREFUSED') return { key: c, message: `cannot connect to broker ${o.url}: connection refused (is it running and listening there?); retrying` };
  if (c === 'ENOTFOUND' || c === 'EAI_AGAIN') return { key: c, message: `cannot resolve the broker host of ${o.url} (${c}); retrying` };
  if (c === 'ETIMEDOUT' || c === 'EHOSTUNREACH' || c === 'ENETUNREACH') return { key: c, message: `broker ${o.url} unreachable (${c}); retrying` };
  if (c.startsWith('ERR_TLS') || /certificate|self[- ]signed/i.test(e.message ?? '')) {
    return { key: 'tls', message: `TLS with broker ${o.url} failed (${e.message ?? c}): check --broker-ca; retrying` };
  }
  return { key: c || (e.message ?? 'error'), message: `broker ${o.url}: ${e.message ?? c}; retrying` };
}

export class AlertSubscriber {
  private readonly topics: CollectorTopics;
  private client: MqttClient | null = null;
  private generation = 0;
  private version: 4 | 5;
  private connected = false;
  private shared = false;
  private attempt = 0;
  private connects = 0;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private problemKey = '';
  private problem = '';
  private fallbackLogged = false;
  private everConnected = false;
  /** Reconnect at once (after switching to MQTT 3.1.1). */
  private retryNow = false;
  private subscribed = false;
  private lostReason = '';
  private subscribedWaiters: (() => void)[] = [];

  constructor(
    readonly options: SubscriberOptions,
    private readonly handlers: SubscriberHandlers,
    private readonly log: SubscriberLog,
  ) {
    this.topics = collectorTopics(options.topicPrefix, options.group);
    this.version = options.protocol === 4 ? 4 : 5;
  }

  start(): void {
    this.connect();
  }

  /** Resolves true once the alert subscription is in place (false after `timeoutMs`). */
  whenSubscribed(timeoutMs: number): Promise<boolean> {
    if (this.subscribed) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(t);
        resolve(true);
      };
      const t = setTimeout(() => {
        this.subscribedWaiters = this.subscribedWaiters.filter((w) => w !== done);
        resolve(false);
      }, timeoutMs);
      this.subscribedWaiters.push(done);
    });
  }

  state(): SubscriberState {
    return { connected: this.connected, protocolVersion: this.version, shared: this.shared, connects: this.connects, problem: this.problem };
  }

  /** Disconnects (waiting at most 2 s for acknowledgements in flight). */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const client = this.client;
    this.client = null;
    this.generation++;
    this.connected = false;
    if (!client) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        client.end(true);
        resolve();
      }, 2000);
      t.unref();
      client.end(false, {}, () => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  private setProblem(key: string, message: string): void {
    if (key === this.problemKey) return;
    this.problemKey = key;
    this.problem = message;
    if (message) this.log.error(message);
  }

  private connect(): void {
    if (this.stopped) return;
    const o = this.options;
    const gen = ++this.generation;
    const version = this.version;
    const opts: IClientOptions = {
      protocolVersion: version,
      clientId: o.clientId,
      clean: false,
      keepalive: o.keepaliveS,
      connectTimeout: o.connectTimeoutMs,
      reconnectPeriod: 0,
      resubscribe: false,
      rejectUnauthorized: true,
    };
    if (version === 5) opts.properties = { sessionExpiryInterval: o.sessionExpiryS, maximumPacketSize: o.maxPacketBytes, receiveMaximum: 1000 };
    if (o.username !== undefined) opts.username = o.username;
    if (o.password !== undefined) opts.password = o.password;
    if (o.ca) opts.ca = o.ca;
    if (o.cert) opts.cert = o.cert;
    if (o.key) opts.key = o.key;
    const client = mqtt.connect(o.url, opts);
    this.client = client;
    client.handleMessage = (packet: IPublishPacket, done) => {
      if (gen === this.generation) this.dispatch(packet);
      done();
    };
    client.on('connect', () => {
      if (gen === this.generation) this.onConnect(client, gen);
    });
    client.on('error', (err: Error) => {
      if (gen !== this.generation) return;
      const code = (err as { code?: unknown }).code;
      // MQTT 3.1.1 return code 1 / MQTT 5 reason 0x84: unsupported protocol version.
      if (version === 5 && o.protocol === 'auto' && (code === 1 || code === 0x84)) {
        this.version = 4;
        this.retryNow = true;
        this.log.info(`broker ${o.url} does not speak MQTT 5; using MQTT 3.1.1`);
        return;
      }
      // An error on an established connection is an outage, reported once by onClose.
      if (this.connected) {
        this.lostReason = typeof code === 'string' ? code : err.message;
        return;
      }
      const p = describeError(err, o, version);
      this.setProblem(p.key, p.message);
    });
    client.on('close', () => {
      if (gen !== this.generation) return;
      this.onClose(client);
    });
  }

  private onConnect(client: MqttClient, gen: number): void {
    this.connected = true;
    this.connects++;
    this.attempt = 0;
    const had = this.problemKey !== '';
    this.setProblem('', '');
    if (!this.everConnected || had) {
      this.log.info(`connected to broker ${this.options.url} (MQTT ${this.version === 5 ? '5' : '3.1.1'}) as "${this.options.clientId}"`);
    }
    this.everConnected = true;
    void this.subscribe(client, gen);
  }

  private async subscribe(client: MqttClient, gen: number): Promise<void> {
    const t = this.topics;
    const sub = async (filter: string): Promise<number> => {
      try {
        await client.subscribeAsync(filter, { qos: 1 });
        return 0;
      } catch (err) {
        const code = (err as { code?: unknown }).code;
        return typeof code === 'number' ? code : -1;
      }
    };
    let alertFilter = this.version === 5 && !this.options.noShare ? t.sharedAlertFilter : t.alertFilter;
    let code = await sub(alertFilter);
    if (gen !== this.generation) return;
    if (this.version === 5 && code === 0x9e) {
      if (!this.fallbackLogged) this.log.warn(`broker ${this.options.url} does not support shared subscriptions: subscribed to ${t.alertFilter} plainly; every collector on this broker receives every alert`);
      this.fallbackLogged = true;
      alertFilter = t.alertFilter;
      code = await sub(alertFilter);
    } else if (this.version === 4 && !this.fallbackLogged) {
      this.fallbackLogged = true;
      this.log.warn(`MQTT 3.1.1 has no shared subscriptions: subscribed to ${t.alertFilter} plainly; every collector on this broker receives every alert (run one collector per broker, or use an MQTT 5 broker)`);
    }
    if (gen !== this.generation) return;
    this.shared = code === 0 && alertFilter === t.sharedAlertFilter;
    if (code !== 0) this.refused(alertFilter, code);
    else {
      this.subscribed = true;
      for (const w of this.subscribedWaiters.splice(0)) w();
    }
    const statusCode = await sub(t.statusFilter);
    if (gen !== this.generation) return;
    if (statusCode !== 0) this.refused(t.statusFilter, statusCode);
  }

  private refused(filter: string, code: number): void {
    const who = this.options.username !== undefined ? `user "${this.options.username}"` : 'anonymous clients';
    this.setProblem(
      `suback-${filter}`,
      `broker ${this.options.url} refused the subscription ${filter} (reason ${code === -1 ? 'unknown' : `0x${code.toString(16)}`}): check that its ACL lets ${who} read ${this.options.topicPrefix}/#`,
    );
  }

  private dispatch(packet: IPublishPacket): void {
    const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
    const t = parseTopic(packet.topic, this.options.topicPrefix);
    if (!t) {
      this.handlers.unexpected(packet.topic);
      return;
    }
    if (t.kind === 'alert') this.handlers.alert(t.site, t.sensorId, payload);
    else this.handlers.status(t.site, t.sensorId, payload, packet.retain === true);
  }

  private onClose(client: MqttClient): void {
    const was = this.connected;
    this.connected = false;
    this.client = null;
    this.generation++;
    client.removeAllListeners();
    client.on('error', () => {});
    client.end(true);
    if (this.stopped) return;
    if (was && !this.problemKey) this.log.warn(`lost connection to broker ${this.options.url}${this.lostReason ? ` (${this.lostReason})` : ''}; reconnecting`);
    this.lostReason = '';
    const o = this.options;
    const base = Math.min(o.reconnectMaxMs, o.reconnectMinMs * 2 ** Math.min(this.attempt, 20));
    this.attempt++;
    const delay = this.retryNow ? 0 : Math.round(base * (0.5 + Math.random() * 0.5));
    this.retryNow = false;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.connect();
    }, delay);
    this.timer.unref();
  }
}
