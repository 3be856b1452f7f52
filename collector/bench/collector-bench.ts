/**
 * Collector throughput and API latency, with anchors measured in the same run:
 *
 *   ingest   decode + sanitize + upsert per alert (Ingest.alert on protobuf payloads) vs the
 *            anchors "decode only" and "bare INSERT of the same columns in one table"
 *   e2e      AlertPublisher → mosquitto → collector → SQLite: alerts stored per second
 *   api      GET latency (p50/p95 over 30 requests) on a database of N alerts
 *
 *   node --import=@tapjs/typescript/import collector/bench/collector-bench.ts [N]   (TS_NODE_TRANSPILE_ONLY=1)
 *
 * Needs mosquitto. Numbers depend on the machine and on what else runs: compare with the anchors.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { AlertPublisher } from '../../agent/sink/mqtt/alert-publisher.js';
import { brokerOptionsFromFlags } from '../../agent/sink/mqtt/broker-options.js';
import { decodeAlert, encodeAlert } from '../../agent/sink/wire/alert-wire.js';
import { startMosquitto } from '../../test/helpers/mosquitto.js';
import { startCollector, variedAlert } from '../../test/collector-fixtures.js';
import { GeoIp } from '../geo/geoip.js';
import { Ingest } from '../ingest/ingest.js';
import { AlertStore } from '../store/alert-store.js';

const N = Number(process.argv[2] ?? 50_000);
const dir = mkdtempSync(join(tmpdir(), 'pk-col-bench-'));
const nowUs = Date.now() * 1000;
const payloads = Array.from({ length: N }, (_, k) => Buffer.from(encodeAlert(variedAlert(k, nowUs - 86_400e6 + k * (86_400e6 / N) - k * 1e6), 'edge-1', 'lab')));
const rate = (n: number, ms: number): string => `${Math.round((n / ms) * 1000).toLocaleString('en-US')}/s`;

// Anchor 1: decode only.
let t0 = performance.now();
let ok = 0;
for (const p of payloads) if (decodeAlert(p).ok) ok++;
const decodeMs = performance.now() - t0;

// Anchor 2: bare INSERT of decoded alerts, one autocommit statement each, same pragmas.
const bare = new Database(join(dir, 'bare.db'));
bare.pragma('journal_mode = WAL');
bare.pragma('synchronous = NORMAL');
bare.exec('CREATE TABLE a (id TEXT PRIMARY KEY, last_us INTEGER, score REAL, src TEXT, reason TEXT, evidence TEXT)');
const ins = bare.prepare('INSERT INTO a VALUES (?, ?, ?, ?, ?, ?)');
t0 = performance.now();
for (const p of payloads) {
  const d = decodeAlert(p);
  if (d.ok) ins.run(d.value.id, d.value.lastUs, d.value.score, d.value.source.ip, d.value.reason, JSON.stringify(d.value.evidence));
}
const bareMs = performance.now() - t0;
bare.close();

// The collector's ingest path.
const store = new AlertStore(join(dir, 'ingest.db'), { geo: new GeoIp() });
const ingest = new Ingest(store, { alert: () => {}, sensor: () => {} }, { error: (m) => console.error(m) });
t0 = performance.now();
for (const p of payloads) ingest.alert('lab', 'edge-1', p);
const ingestMs = performance.now() - t0;
t0 = performance.now();
for (const p of payloads.slice(0, 10_000)) ingest.alert('lab', 'edge-1', p);
const dupMs = performance.now() - t0;
console.log(`ingest  N=${N}: decode only ${rate(ok, decodeMs)} | bare INSERT ${rate(N, bareMs)} | collector ingest ${rate(N, ingestMs)} | redelivered duplicates ${rate(10_000, dupMs)}`);
console.log(`        database ${(store.usedBytes() / 1e6).toFixed(1)} MB for ${N} alerts (${Math.round(store.usedBytes() / N)} B/alert)`);
store.close();

// End to end through mosquitto.
const broker = await startMosquitto();
const { collector } = await startCollector(broker.url, dir);
await collector.subscriber.whenSubscribed(10_000);
const E2E = Math.min(N, 20_000);
const o = brokerOptionsFromFlags({ broker: broker.url, site: 'lab', sensor: 'bench' }, { inflightWindow: 1000 }, {})!;
const pub = new AlertPublisher(o, { log: { info: () => {}, warn: () => {}, error: (m) => console.error(m) } });
await pub.start();
const alerts = Array.from({ length: E2E }, (_, k) => variedAlert(k, nowUs - 3600e6));
t0 = performance.now();
for (const a of alerts) pub.publish(a);
while (collector.ingest.counters.inserted < E2E) await new Promise((r) => setTimeout(r, 5));
const e2eMs = performance.now() - t0;
console.log(`e2e     ${E2E} alerts publisher → mosquitto → collector: ${rate(E2E, e2eMs)} (${e2eMs.toFixed(0)} ms)`);
await pub.stop();
await collector.stop();
await broker.close();

// API latency on the ingest database.
if (process.env['BENCH_ANALYZE']) {
  const db = new Database(join(dir, 'ingest.db'));
  db.exec('ANALYZE');
  db.close();
}
const { collector: api } = await startCollector('mqtt://127.0.0.1:1', dir, { dbPath: join(dir, 'ingest.db') });
async function latency(path: string): Promise<string> {
  const times: number[] = [];
  for (let i = 0; i < 30; i++) {
    const s = performance.now();
    const r = await fetch(api.httpUrl + path);
    await r.arrayBuffer();
    times.push(performance.now() - s);
  }
  times.sort((a, b) => a - b);
  return `${path.padEnd(58)} p50 ${times[14]!.toFixed(1)} ms, p95 ${times[28]!.toFixed(1)} ms`;
}
for (const p of [
  'api/alerts',
  'api/alerts?severity=high,critical&limit=100&offset=1000',
  'api/alerts?src=185.220.101.34',
  'api/alerts?q=tunnel.example',
  'api/dashboard?range=3600',
  'api/dashboard?range=86400',
  'api/dashboard?range=604800',
]) {
  console.log(`api     ${await latency(p)}`);
}
await api.stop();
rmSync(dir, { recursive: true, force: true });
