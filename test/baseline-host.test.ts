/**
 * Host baselines with synthetic flow records spanning weeks: hour-of-week volume (quiet at the
 * usual Tuesday 03:00 backup, alert for the same volume on Wednesday and for 1.2 GB on Tuesday),
 * new peers, new ports, upload share; the exfiltration detector's HostVolumeBaseline view;
 * persistence round trip and refusal of corrupt files; bounded state under a million hosts.
 */
import t from 'tap';
import { mkdtempSync, rmSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DetectStage } from '../agent/detect/detect-stage.js';
import type { AlertCandidate } from '../agent/detect/detector.js';
import { hostBaseline } from '../agent/detect/baseline/host-baseline-detector.js';
import { HostBaselines, weekBucket, bucketLabel } from '../agent/detect/baseline/host-baselines.js';
import { decodeBaselines, encodeBaselines } from '../agent/detect/baseline/baseline-file.js';
import { SpaceSaving } from '../agent/detect/baseline/space-saving.js';
import type { FlowRecord } from '../agent/flow/flow-record.js';

const HOUR = 3600e6;
/** Monday 2026-11-02 00:00 UTC. */
const MONDAY = Date.UTC(2026, 10, 2) * 1000;
const dir = mkdtempSync(join(tmpdir(), 'pk-hb-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

let seq = 0;
function rec(client: string, server: string, port: number, sent: number, received: number, tsUs: number): FlowRecord {
  const d = (bytes: number) => ({ packets: Math.max(1, Math.ceil(bytes / 1400)), bytes, payloadBytes: bytes, firstUs: tsUs - 1e6, lastUs: tsUs });
  return {
    uid: `S${seq++}`, origin: 'packets', startUs: tsUs - 1e6, endUs: tsUs, ipVersion: 4, protocol: 6, transport: 'tcp',
    client: { ip: client, port: 50000 }, server: { ip: server, port }, c2s: d(sent), s2c: d(received),
    communityId: '', state: 'closed', endReason: 'fin', partial: false, app: {},
  };
}

function stage(volume?: HostBaselines) {
  const out: AlertCandidate[] = [];
  const s = new DetectStage({ sink: { candidate: (c) => out.push(c) }, factories: [hostBaseline], ...(volume ? { volume } : {}) });
  return { s, out };
}

const H = '10.0.0.5';
/** One week of normal traffic from `week` (0-based): 1 MB/h to the web, 40 MB at Tue 03:00 to the backup server. */
function normalWeek(s: DetectStage, week: number): void {
  for (let h = 0; h < 168; h++) {
    const ts = MONDAY + (week * 168 + h) * HOUR + 600e6;
    const backup = h === 24 + 3; // Tue 03:00
    s.record(rec(H, '198.51.100.20', 443, 1e6 + (h % 5) * 1e5, 3e6, ts));
    s.record(rec(H, '198.51.100.21', 443, 2e5, 1e6, ts + 60e6));
    if (backup) s.record(rec(H, '203.0.113.9', 22, 40e6 + (week % 2) * 2e6, 1e6, ts + 120e6));
  }
}

t.test('hour of week: usual Tuesday backup is quiet, same volume on Wednesday and 1.2 GB on Tuesday alert', async (t) => {
  t.equal(bucketLabel(weekBucket(Math.floor(MONDAY / HOUR) + 27)), 'Tue 03:00');
  const { s, out } = stage();
  for (let w = 0; w < 3; w++) normalWeek(s, w);
  t.same(out, [], 'three learning weeks, no alert');
  // Week 4: the usual backup.
  const tue3 = MONDAY + (3 * 168 + 27) * HOUR;
  s.record(rec(H, '198.51.100.20', 443, 1e6, 3e6, tue3 + 600e6));
  s.record(rec(H, '203.0.113.9', 22, 41e6, 1e6, tue3 + 700e6));
  t.same(out, [], 'Tue 03:00 backup of 41 MB: usual');
  // Same volume on Wednesday 03:00: unusual for that hour.
  const wed3 = tue3 + 24 * HOUR;
  s.record(rec(H, '203.0.113.9', 22, 61e6, 1e6, wed3 + 600e6));
  const wed = out.find((c) => c.evidence.values?.['kind'] === 'volume');
  t.ok(wed, 'a 61 MB backup on Wednesday 03:00 alerts');
  t.equal(wed!.detector, 'host_baseline');
  t.match(wed!.reason, /^10\.0\.0\.5 sent 61 MB out in hour Wed 03:00, \d+σ above its usual \d/);
  // 1.2 GB at Tue 03:00 the next week.
  const next = tue3 + 168 * HOUR;
  s.record(rec(H, '203.0.113.9', 22, 1.2e9, 1e6, next + 600e6));
  const big = out.find((c) => c.reason.includes('1.2 GB'))!;
  t.ok(big, 'the 1.2 GB hour alerts');
  t.match(big.reason, /^10\.0\.0\.5 sent 1\.2 GB out in hour Tue 03:00, \d+σ above its usual \d\d MB$/);
  t.comment(big.reason);
  t.equal(big.severity, 'high');
  t.equal(big.tactic, 'exfiltration');
  t.equal(big.technique, '');
  t.equal(big.aggregateTarget, 'volume');
  t.equal(big.destination.ip, '203.0.113.9');
});

t.test('learning period: nothing before it, even for huge volumes', async (t) => {
  const { s, out } = stage();
  s.record(rec(H, '198.51.100.20', 443, 1e6, 1e6, MONDAY));
  s.record(rec(H, '198.51.100.20', 443, 5e9, 1e6, MONDAY + 5 * 86_400e6));
  t.same(out, []);
});

t.test('new peers, new ports and upload share', async (t) => {
  const { s, out } = stage();
  for (let w = 0; w < 2; w++) normalWeek(s, w);
  const ts = MONDAY + (2 * 168 + 50) * HOUR;
  for (let i = 0; i < 80; i++) s.record(rec(H, `10.0.9.${i}`, 445, 300, 200, ts + i * 1e6));
  const peers = out.find((c) => c.evidence.values?.['kind'] === 'new_peers');
  t.ok(peers, 'many new peers');
  t.match(peers!.reason, /^10\.0\.0\.5 talked to \d+ new peers in hour Wed 02:00, usually \d/);
  t.equal(peers!.tactic, 'discovery');
  const out2 = stage();
  for (let w = 0; w < 2; w++) normalWeek(out2.s, w);
  for (let p = 0; p < 40; p++) out2.s.record(rec(H, '198.51.100.20', 1000 + p, 100, 100, ts + p * 1e6));
  const ports = out2.out.find((c) => c.evidence.values?.['kind'] === 'new_ports');
  t.ok(ports, 'many new ports');
  t.match(ports!.reason, /used \d+ new server ports in hour/);
  const out3 = stage();
  for (let w = 0; w < 2; w++) normalWeek(out3.s, w);
  out3.s.record(rec(H, '198.51.100.20', 443, 30e6, 1e5, ts));
  const up = out3.out.find((c) => c.evidence.values?.['kind'] === 'upload_ratio');
  t.ok(up, 'upload share jump');
  t.match(up!.reason, /^10\.0\.0\.5 uploaded \d+ % of its traffic \(30 MB sent\) in hour Wed 02:00, usually \d+ %$/);
});

t.test('HostVolumeBaseline for the exfiltration detector: hour-of-week expectation', async (t) => {
  const hb = new HostBaselines();
  const { s } = stage(hb);
  t.equal(hb.expectedOutbound(H, MONDAY), undefined, 'unknown host');
  for (let w = 0; w < 3; w++) normalWeek(s, w);
  const tue3 = MONDAY + (3 * 168 + 27) * HOUR + 1;
  const e = hb.expectedOutbound(H, tue3)!;
  t.ok(e, 'learnt');
  t.equal(e.intervalUs, HOUR);
  t.ok(e.mean > 20e6 && e.mean < 45e6, `Tue 03:00 expects 40 MB shrunk towards the host's 1 MB hours (${(e.mean / 1e6).toFixed(1)} MB after 3 weeks)`);
  const other = hb.expectedOutbound(H, tue3 + 24 * HOUR)!;
  t.ok(other.mean < 3e6, `Wed 03:00 expects ~1 MB (${(other.mean / 1e6).toFixed(1)})`);
  hb.observeOutbound(H, 1e9, tue3);
  t.equal(hb.expectedOutbound(H, tue3 + 2 * HOUR)!.mean, hb.expectedOutbound(H, tue3 + 2 * HOUR)!.mean, 'stable');
  t.ok(hb.size().entries >= 1);
  // Shrinkage: a bucket seen once is pulled towards the overall mean.
  const young = new HostBaselines({ shrinkage: 4 });
  const st = { s: new DetectStage({ sink: { candidate: () => undefined }, factories: [hostBaseline], volume: young }) };
  st.s.record(rec('10.0.0.6', '198.51.100.1', 443, 100e6, 1, MONDAY));
  st.s.record(rec('10.0.0.6', '198.51.100.1', 443, 1, 1, MONDAY + 10 * HOUR));
  const yst = young.host('10.0.0.6')!;
  const ex = young.expectation(yst, weekBucket(Math.floor(MONDAY / HOUR)));
  t.ok(ex.mean < 100e6 / 2 && ex.mean > yst.all.mean, `(shrinkage 4) one 100 MB sample shrunk to ${(ex.mean / 1e6).toFixed(1)} MB`);
});

t.test('save / load round trip; corrupt files refused in one line', async (t) => {
  const hb = new HostBaselines();
  const { s } = stage(hb);
  for (let w = 0; w < 2; w++) normalWeek(s, w);
  s.record(rec('10.0.0.7', '198.51.100.20', 8443, 5e5, 5e5, MONDAY + 300 * HOUR));
  const path = join(dir, 'baselines');
  await hb.save(path);
  const back = new HostBaselines();
  const r = await back.load(path);
  t.same(r, { ok: true, hosts: 2 });
  const ts = MONDAY + (2 * 168 + 27) * HOUR;
  t.same(back.expectedOutbound(H, ts), hb.expectedOutbound(H, ts), 'same expectation after reload');
  t.same([...back.host(H)!.typicalPorts], [...hb.host(H)!.typicalPorts]);
  t.equal(encodeBaselines(back, new Date(0)).toString(), encodeBaselines(hb, new Date(0)).toString(), 'identical state');
  const bytes = readFileSync(path);
  const flip = Buffer.from(bytes);
  flip[flip.length - 10]! ^= 0x01;
  const bad = join(dir, 'corrupt');
  writeFileSync(bad, flip);
  const c = await back.load(bad);
  t.equal(c.ok, false);
  if (!c.ok) {
    t.match(c.message, /^.*corrupt: file is corrupt \(checksum mismatch\); host baselines start learning again$/);
    t.notMatch(c.message, /\n/);
  }
  t.equal(back.size().entries, 0, 'learning starts again');
  writeFileSync(bad, bytes.subarray(0, bytes.length >> 1));
  t.match(((await back.load(bad)) as { message: string }).message, /checksum mismatch/);
  writeFileSync(bad, 'hello\n{}');
  t.match(((await back.load(bad)) as { message: string }).message, /bad magic/);
  const head = bytes.toString('latin1').split('\n')[0]!;
  writeFileSync(bad, bytes.toString('latin1').replace(head, head.replace('PICKETHB 1', 'PICKETHB 9')), 'latin1');
  t.match(((await back.load(bad)) as { message: string }).message, /format version 9 is not supported/);
  // Valid checksum but hostile content.
  const body = JSON.stringify({ format: 'picket-host-baselines', version: 1, hosts: [['10.0.0.1', { first: 'x' }]] });
  const { createHash } = await import('node:crypto');
  writeFileSync(bad, `PICKETHB 1 ${createHash('sha256').update(body).digest('hex')}\n${body}`);
  t.match(((await back.load(bad)) as { message: string }).message, /invalid content \(first is not a number in range\)/);
  t.same(await back.load(join(dir, 'missing')), { ok: true, hosts: 0 }, 'no file yet: first start');
  t.equal(decodeBaselines(new Uint8Array(0), back).ok, false);
});

t.test('bounded state under a million hosts', async (t) => {
  const hb = new HostBaselines({ maxHosts: 1000 });
  for (let i = 0; i < 1_000_000; i++) hb.observeFlow(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, '198.51.100.1', 100, 100, 100, 443, MONDAY + i * 1e3);
  const s = hb.size();
  t.equal(s.entries, 1000);
  t.equal(s.evictions, 999_000);
  const path = join(dir, 'big');
  await hb.save(path);
  const size = readFileSync(path).length;
  t.ok(size < 1000 * 4000, `state file ${size} B for 1000 hosts`);
});

t.test('space-saving keeps the heavy hitters and the 80 % set', async (t) => {
  const ss = new SpaceSaving<string>(4);
  for (let i = 0; i < 1000; i++) ss.add(i % 10 === 0 ? 'big' : i % 3 === 0 ? 'mid' : `rare${i}`, i % 10 === 0 ? 100 : 1);
  const top = ss.covering(0.8);
  t.equal(top[0], 'big');
  t.ok(top.length <= 4);
  ss.decay(0.5);
  t.equal(ss.total, (100 * 100 + 900) / 2);
});
