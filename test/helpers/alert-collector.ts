/**
 * A test-side collector: subscribes to every sensor's alert and status topics with a persistent
 * session (QoS 1, clean=false, fixed client id), decodes the protobuf payloads and de-duplicates
 * alerts by id — what a central collector does. Survives broker restarts (reconnects every 100 ms).
 */
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { Alert } from '../../agent/alert/alert.js';
import { decodeAlert } from '../../agent/sink/wire/alert-wire.js';
import { decodeStatus, type SensorStatusInfo } from '../../agent/sink/wire/status-wire.js';

export interface CollectorOptions {
  url: string;
  topic?: string;
  username?: string;
  password?: string;
  clientId?: string;
  protocolVersion?: 4 | 5;
  extra?: IClientOptions;
}

export class AlertCollector {
  readonly alerts = new Map<string, Alert>();
  /** Every alert message received, duplicates included. */
  received = 0;
  badPayloads = 0;
  readonly statuses: { topic: string; retained: boolean; status: SensorStatusInfo }[] = [];
  private waiters: (() => void)[] = [];

  private constructor(readonly client: MqttClient) {
    client.on('message', (topic, payload, packet) => {
      if (topic.endsWith('/alert')) {
        this.received++;
        const r = decodeAlert(payload);
        if (r.ok) this.alerts.set(r.value.id, r.value);
        else this.badPayloads++;
      } else if (topic.endsWith('/status')) {
        const r = decodeStatus(payload);
        if (r.ok) this.statuses.push({ topic, retained: packet.retain, status: r.value });
        else this.badPayloads++;
      }
      for (const w of [...this.waiters]) w();
    });
  }

  static async connect(o: CollectorOptions): Promise<AlertCollector> {
    const opts: IClientOptions = {
      protocolVersion: o.protocolVersion ?? 5,
      clientId: o.clientId ?? `collector-${process.pid}-${Math.random().toString(36).slice(2, 8)}`,
      clean: false,
      reconnectPeriod: 100,
      connectTimeout: 5000,
      ...(o.protocolVersion === 4 ? {} : { properties: { sessionExpiryInterval: 600 } }),
      ...(o.username !== undefined ? { username: o.username } : {}),
      ...(o.password !== undefined ? { password: o.password } : {}),
      ...o.extra,
    };
    const client = await mqtt.connectAsync(o.url, opts);
    client.on('error', () => {});
    const c = new AlertCollector(client);
    await client.subscribeAsync(o.topic ?? 'picket/v1/#', { qos: 1 });
    return c;
  }

  /** Resolves when `pred` holds (checked on every message), or rejects after `timeoutMs`. */
  waitFor(pred: () => boolean, timeoutMs: number, what = 'condition'): Promise<void> {
    if (pred()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (!pred()) return;
        cleanup();
        resolve();
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what} (have ${this.alerts.size} alerts, ${this.received} messages)`));
      }, timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        this.waiters = this.waiters.filter((w) => w !== check);
      };
      this.waiters.push(check);
    });
  }

  async close(): Promise<void> {
    await this.client.endAsync(true);
  }
}
