/**
 * Alert wire path throughput and latency against a local mosquitto (started here, 127.0.0.1):
 *
 *   1. alerts/s through encode (protobuf) + durable disk queue + MQTT QoS 1 publish until every
 *      PUBACK (target ≥ 20 k/s with batched fsync), next to an anchor in the same run: mqtt.js
 *      alone publishing the same pre-encoded payloads with the same in-flight window;
 *   2. latency from publish() to PUBACK at a steady 1 k alerts/s (target p99 ≤ 50 ms).
 *
 *   npm run build && node dist/bench/alerts-publish.js [--alerts 100000] [--seconds 5] [--rate 1000]
 *        [--fsync batch,always,none] [--mqtt-version 5|3.1.1] [--broker-inflight 1000]
 *
 * `--broker-inflight` sets mosquitto's max_inflight_messages, which it offers as MQTT 5 Receive
 * Maximum (mosquitto's default 20 caps the window at 19). Needs the Debian package mosquitto.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import mqtt from 'mqtt';
import type { Alert } from '../agent/alert/alert.js';
import { flagString, parseArgs, type FlagSpecs } from '../agent/cli/args.js';
import { AlertPublisher } from '../agent/sink/mqtt/alert-publisher.js';
import { brokerOptionsFromFlags, type BrokerOptions } from '../agent/sink/mqtt/broker-options.js';
import type { FsyncMode } from '../agent/sink/queue/disk-queue.js';
import { encodeAlert } from '../agent/sink/wire/alert-wire.js';
import { alertFor } from '../test/helpers/alert-sequence.js';
import { startMosquitto } from '../test/helpers/mosquitto.js';

const SPECS: FlagSpecs = {
  alerts: { type: 'string', value: 'N', help: 'alerts for the throughput run' },
  seconds: { type: 'string', value: 'S', help: 'duration of the latency run' },
  rate: { type: 'string', value: 'PER_S', help: 'alert rate of the latency run' },
  fsync: { type: 'string', value: 'LIST', help: 'fsync policies to measure' },
  'mqtt-version': { type: 'string', value: '5|3.1.1', help: 'MQTT version' },
  'broker-inflight': { type: 'string', value: 'N', help: 'mosquitto max_inflight_messages' },
};

const args = parseArgs(process.argv.slice(2), SPECS);
const num = (name: string, d: number): number => Number(flagString(args, name) ?? d);
const ALERTS = num('alerts', 100_000);
const SECONDS = num('seconds', 5);
const RATE = num('rate', 1000);
const POLICIES = (flagString(args, 'fsync') ?? 'batch,always').split(',') as FsyncMode[];
const VERSION = flagString(args, 'mqtt-version') ?? '5';
const BROKER_INFLIGHT = num('broker-inflight', 1000);

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function policyLabel(o: BrokerOptions): string {
  return o.fsync === 'batch' ? `batch (${o.fsyncEveryRecords} rec / ${o.fsyncEveryMs} ms)` : o.fsync;
}

async function main(): Promise<void> {
  const broker = await startMosquitto({ extra: [`max_inflight_messages ${BROKER_INFLIGHT}`] });
  const work = mkdtempSync(join(tmpdir(), 'pk-bench-alerts-'));
  const alerts: Alert[] = Array.from({ length: ALERTS }, (_, k) => alertFor(k, 'bench', 'lab'));
  const encodedSize = encodeAlert(alerts[0]!).length;
  const rows: string[][] = [];
  try {
    let run = 0;
    const options = (fsync: FsyncMode): BrokerOptions => {
      const o = brokerOptionsFromFlags(
        { broker: broker.url, site: 'lab', sensor: `bench-${run++}`, 'mqtt-version': VERSION, 'queue-dir': join(work, `q${run}`) },
        { fsync },
        {},
      );
      if (!o) throw new Error('no broker options');
      return o;
    };

    // Anchor: mqtt.js alone, same payloads, same window (MQTT 5: capped by the broker's Receive
    // Maximum minus the slot the publisher keeps for status, as AlertPublisher does).
    const configured = options('none').inflightWindow;
    const window = VERSION === '5' ? Math.min(configured, BROKER_INFLIGHT - 1) : configured;
    {
      const client = await mqtt.connectAsync(broker.url, { protocolVersion: VERSION === '5' ? 5 : 4, clientId: 'bench-anchor' });
      const payloads = alerts.map((a) => Buffer.from(encodeAlert(a)));
      const t0 = performance.now();
      let next = 0;
      let done = 0;
      await new Promise<void>((resolve) => {
        const send = (): void => {
          while (next < payloads.length && next - done < window) {
            client.publish('picket/v1/lab/anchor/alert', payloads[next++]!, { qos: 1 }, () => {
              done++;
              if (done === payloads.length) resolve();
              else send();
            });
          }
        };
        send();
      });
      const s = (performance.now() - t0) / 1000;
      rows.push(['anchor: mqtt.js publish only (pre-encoded)', '-', String(window), String(ALERTS), s.toFixed(2), Math.round(ALERTS / s).toString()]);
      await client.endAsync();
    }

    for (const fsync of POLICIES) {
      // fsync per record is disk-bound: measure it on fewer alerts.
      const n = fsync === 'always' ? Math.min(ALERTS, 5000) : ALERTS;
      const o = options(fsync);
      let acks = 0;
      let resolveAll: () => void = () => {};
      const all = new Promise<void>((r) => (resolveAll = r));
      const pub = new AlertPublisher(o, { log: { info() {}, warn() {}, error: (m) => console.error(m) }, onAck: () => ++acks === n && resolveAll() });
      await pub.start();
      await sleep(200); // connected
      const t0 = performance.now();
      for (let i = 0; i < n; i++) {
        pub.publish(alerts[i]!);
        // Let PUBACKs in now and then, as a sensor's event loop would between packets.
        if ((i & 1023) === 1023) await new Promise((r) => setImmediate(r));
      }
      await all;
      const s = (performance.now() - t0) / 1000;
      await pub.stop();
      rows.push([`encode + disk queue + publish → PUBACK`, policyLabel(o), String(window), String(n), s.toFixed(2), Math.round(n / s).toString()]);
    }

    console.log(`\nThroughput (mosquitto 127.0.0.1, MQTT ${VERSION}, QoS 1, max_inflight_messages ${BROKER_INFLIGHT}, alert ≈ ${encodedSize} B encoded)`);
    printTable(['path', 'fsync', 'window', 'alerts', 'seconds', 'alerts/s'], rows);

    const lat: string[][] = [];
    for (const fsync of POLICIES) {
      const o = options(fsync);
      // fsync per record cannot sustain 1 k/s on most disks: report its throughput above instead.
      const alwaysRow = rows.find((r) => r[1] === 'always');
      if (fsync === 'always' && alwaysRow && Number(alwaysRow[5]) < RATE * 1.2) {
        lat.push(['always', String(RATE), '-', `sustains only ${alwaysRow[5]}/s`, '-', '-']);
        continue;
      }
      const sentAt = new Map<number, number>();
      const samples: number[] = [];
      const pub = new AlertPublisher(o, {
        log: { info() {}, warn() {}, error: (m) => console.error(m) },
        onAck: (seq) => {
          const t = sentAt.get(seq);
          if (t !== undefined) samples.push(performance.now() - t);
          sentAt.delete(seq);
        },
      });
      await pub.start();
      await sleep(200);
      const total = Math.round(RATE * SECONDS);
      const t0 = performance.now();
      let k = 0;
      while (k < total) {
        const due = Math.min(total, Math.floor(((performance.now() - t0) * RATE) / 1000) + 1);
        for (; k < due; k++) {
          const at = performance.now();
          const seq = pub.publish(alerts[k % alerts.length]!);
          sentAt.set(seq, at);
        }
        await sleep(1);
      }
      await pub.flush(10_000);
      await pub.stop();
      samples.sort((a, b) => a - b);
      lat.push([
        policyLabel(o),
        String(RATE),
        String(samples.length),
        percentile(samples, 50).toFixed(2),
        percentile(samples, 99).toFixed(2),
        (samples.at(-1) ?? NaN).toFixed(2),
      ]);
    }
    console.log(`\nLatency publish() → PUBACK at ${RATE} alerts/s for ${SECONDS} s (ms)`);
    printTable(['fsync', 'rate/s', 'samples', 'p50', 'p99', 'max'], lat);
    console.log('\nNote: measured on a shared machine; re-run at a quiet moment before quoting.');
  } finally {
    await broker.close();
    rmSync(work, { recursive: true, force: true });
  }
}

function printTable(head: string[], rows: string[][]): void {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]): string => r.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  console.log(line(head));
  for (const r of rows) console.log(line(r));
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
