/**
 * Detector state under a spoofed SYN flood from 1 M distinct sources (one SYN each, to one
 * victim port, 20 k packets/s of packet time) through the whole offline path: decode → flow
 * table (default 262,144 flows, so it evicts) → dissectors → detectors → alert aggregation.
 * Reports heap before/after (after a forced GC), every detector's entries/capacity/evictions and
 * bytes, the alerts, and the time taken. Bounded state means the numbers stop growing.
 *
 *   node --expose-gc dist/bench/detect-memory.js [SOURCES=1000000]
 */
import { RawPacket } from '../agent/source/raw-packet.js';
import { PacketPipeline } from '../agent/pipeline/packet-pipeline.js';
import { DissectStage } from '../agent/dissect/dissect-stage.js';
import { composeObservers } from '../agent/flow/compose-observers.js';
import { Alerting } from '../agent/alert/alerting.js';

const sources = Number(process.argv[2] ?? 1_000_000);
const gc = (globalThis as { gc?: () => void }).gc;
const heapMB = (): number => {
  gc?.();
  return process.memoryUsage().heapUsed / 1e6;
};

const alerting = new Alerting();
const dissect = new DissectStage({ onEvent: alerting.event });
const pipeline = new PacketPipeline({ observer: composeObservers(dissect, alerting.detect), onRecord: () => {} });
alerting.attach(pipeline);

// One Ethernet + IPv4 + TCP SYN frame, rewritten in place per packet.
const frame = new Uint8Array(54);
frame.set([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00]);
frame.set([0x45, 0, 0, 40, 0, 1, 0x40, 0, 64, 6, 0, 0, 0, 0, 0, 0, 10, 10, 10, 10], 14);
frame.set([0, 0, 0x63, 0xdd, 0, 0, 0x10, 0, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0], 34);
const raw = new RawPacket();
raw.buf = frame;
raw.capLen = raw.wireLen = frame.length;
const T0 = 1_764_000_000e6;

const before = heapMB();
const t0 = performance.now();
let x = 0x12345678;
for (let i = 0; i < sources; i++) {
  // Distinct pseudo-random public sources (xorshift over the low 31 bits, top byte 1..223).
  x ^= x << 13;
  x ^= x >>> 17;
  x ^= x << 5;
  const src = ((((i % 223) + 1) << 24) | (x & 0xffffff)) >>> 0;
  frame[26] = src >>> 24;
  frame[27] = (src >>> 16) & 0xff;
  frame[28] = (src >>> 8) & 0xff;
  frame[29] = src & 0xff;
  frame[34] = (i >>> 8) & 0xff;
  frame[35] = i & 0xff;
  frame[38] = (i >>> 24) & 0xff;
  frame[39] = (i >>> 16) & 0xff;
  raw.tsUs = T0 + i * 50; // 20 k SYNs/s
  pipeline.packet(raw);
}
const elapsed = (performance.now() - t0) / 1000;
const during = heapMB();
pipeline.finish();
alerting.finish();
const after = heapMB();

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
process.stdout.write(`spoofed SYN flood: ${fmt(sources)} sources → 10.10.10.10:25565, ${fmt(sources / elapsed)} packets/s through the whole path (${elapsed.toFixed(1)} s)\n`);
process.stdout.write(`heap: ${before.toFixed(1)} MB before, ${during.toFixed(1)} MB at the end of the flood (flow table full), ${after.toFixed(1)} MB after flushing flows\n`);
process.stdout.write(`flow table: ${fmt(pipeline.table.stats.created)} created, ${fmt(pipeline.table.stats.evicted)} evicted\n\n`);
process.stdout.write('| detector | entries | capacity | evictions | state MB |\n|---|---|---|---|---|\n');
for (const [name, s] of alerting.detect.states()) process.stdout.write(`| ${name} | ${fmt(s.entries)} | ${fmt(s.capacity)} | ${fmt(s.evictions)} | ${(s.bytes / 1e6).toFixed(2)} |\n`);
process.stdout.write(`\nalerts: ${alerting.alerts().map((a) => `${a.detector} ×${fmt(a.count)}: ${a.reason}`).join('\n        ')}\n`);
process.stdout.write(`aggregator: ${JSON.stringify(alerting.aggregator.stats)}\n`);
