/**
 * The collector's SQLite store on real files: upsert by alert id (insert, update, redelivery,
 * an older version arriving late), sanitizing of hostile text, the GeoIP country of sources,
 * sensors from status messages, aggregates and the status banner, retention by age and size.
 */
import { join } from 'node:path';
import t, { type Test } from 'tap';
import type { Alert } from '../agent/alert/alert.js';
import type { SensorStatusInfo } from '../agent/sink/wire/status-wire.js';
import { classifyAddress } from '../collector/geo/address-class.js';
import { GeoIp } from '../collector/geo/geoip.js';
import { worldMap } from '../collector/geo/world-map.js';
import { newSanitizeCounters, sanitizeAlert } from '../collector/ingest/sanitize.js';
import { kpis, statusBanner, timeSeries, topLists } from '../collector/store/aggregates.js';
import { AlertStore } from '../collector/store/alert-store.js';
import { applyRetention } from '../collector/store/retention.js';
import { PUBLIC_SOURCES, tempDir, variedAlert } from './collector-fixtures.js';

const geo = new GeoIp();
const BASE_US = Date.UTC(2026, 10, 25, 12, 0, 0) * 1000;

function status(over: Partial<SensorStatusInfo> = {}): SensorStatusInfo {
  return {
    sensorId: 'edge-1', site: 'lab', state: 'online', timeUs: 0, version: '0.1.0', startedUs: 0, uptimeS: 10,
    packets: 1_000_000, drops: 0, flows: 500, queueDepth: 0, queueBytes: 0, queueDropped: 0,
    alerts: { low: 0, medium: 0, high: 0, critical: 0 }, lastError: '', lastErrorUs: 0, ...over,
  };
}

function open(t: Test, now: () => number = Date.now): AlertStore {
  const dir = tempDir('pk-col-store-');
  const store = new AlertStore(join(dir.path, 'a.db'), { geo, now });
  t.teardown(() => {
    store.close();
    dir.remove();
  });
  return store;
}

function put(store: AlertStore, a: Alert, site = 'lab', sensor = 'edge-1') {
  return store.upsert(sanitizeAlert(a, site, sensor, newSanitizeCounters()), 300);
}

t.test('GeoIP: bundled database places public sources, private ranges are internal', async (t) => {
  for (const [ip, cc] of PUBLIC_SOURCES) t.equal(geo.country(ip), cc, ip);
  t.equal(geo.country('10.16.2.20'), 'internal');
  t.equal(geo.country('192.168.1.1'), 'internal');
  t.equal(geo.country('fd00::1'), 'internal');
  t.equal(geo.country('::ffff:172.16.0.9'), 'internal');
  t.equal(geo.country('198.51.100.53'), '', 'documentation range: no country');
  t.equal(geo.country('not an ip'), '');
  t.equal(classifyAddress('224.0.0.251'), 'reserved');
  t.equal(classifyAddress('8.8.8.8'), 'public');
});

t.test('world map: country shapes and a marker for every source country used', async (t) => {
  const m = worldMap();
  t.ok(m.countries.length > 150, `${m.countries.length} shapes`);
  for (const [, cc] of PUBLIC_SOURCES) t.ok(m.points[cc], `marker for ${cc}`);
  t.ok(m.points['SG'], 'small states get a marker (50m geometry)');
  t.ok(m.countries.every((c) => /^M[\d.,\-LZM]+/.test(c.d.slice(0, 12)) || c.d.startsWith('M')), 'path data');
  const [x, y] = m.points['US']!;
  t.ok(x > 0 && x < m.width / 2 && y > 0 && y < m.height / 2, 'the US is in the north-west quarter');
});

t.test('upsert: insert, redelivery, update (higher count, later last-seen), late older version', async (t) => {
  const store = open(t);
  const a = variedAlert(1, BASE_US);
  t.equal(put(store, a).outcome, 'inserted');
  t.equal(put(store, a).outcome, 'duplicate', 'the same alert again (QoS 1 redelivery) changes nothing');
  const newer: Alert = { ...a, count: 5, lastUs: a.lastUs + 10e6, reason: 'updated reason', score: 0.99 };
  const r = put(store, newer);
  t.equal(r.outcome, 'updated');
  t.equal(r.alert.count, 5);
  t.equal(r.alert.updates, 1);
  const older: Alert = { ...a, count: 3, lastUs: a.lastUs + 5e6, reason: 'stale version' };
  t.equal(put(store, older).outcome, 'duplicate', 'an older version arriving late is ignored');
  const got = store.get(a.id)!;
  t.equal(got.reason, 'updated reason');
  t.equal(got.count, 5);
  t.equal(got.score, 0.99);
  t.equal(got.lastUs, a.lastUs + 10e6);
  t.equal(store.list({}, { sort: 'score', order: 'desc', limit: 10, offset: 0 }).total, 1, 'one row per id');
  const sameTimeMore: Alert = { ...newer, count: 6 };
  t.equal(put(store, sameTimeMore).outcome, 'updated', 'same last-seen with a higher count is newer');
});

t.test('sanitize: control and bidi characters replaced, long text cut, numbers clamped, topic wins', async (t) => {
  const c = newSanitizeCounters();
  const a = variedAlert(2, BASE_US, {
    reason: `evil\u202etxt.exe\u0000\n<script>alert(1)</script>${'x'.repeat(5000)}`,
    score: 7,
    count: 0,
    sensorId: 'spoofed',
    evidence: { sni: 'a\u2066b', values: Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`k${i}`, i])) },
  });
  const s = sanitizeAlert(a, 'lab', 'edge-1', c);
  t.equal(s.reason.length, 1024);
  t.ok(s.reason.startsWith('evil\uFFFDtxt.exe\uFFFD\uFFFD<script>alert(1)</script>'), 'markup kept as text, controls replaced');
  t.equal(s.evidence.sni, 'a\uFFFDb');
  t.equal(s.score, 1);
  t.equal(s.count, 1);
  t.equal(s.sensorId, 'edge-1', 'the topic (tied to the broker login) decides the sensor');
  t.equal(Object.keys(s.evidence.values ?? {}).length, 64);
  t.ok(c.truncated >= 1 && c.controlChars >= 2 && c.clamped >= 2 && c.evidenceKeysDropped === 36, JSON.stringify(c));
});

t.test('list: filters, text search, sort by score, paging', async (t) => {
  const store = open(t);
  for (let k = 0; k < 120; k++) put(store, variedAlert(k, BASE_US), 'lab', k % 2 ? 'edge-1' : 'edge-2');
  const page = (f: object, limit = 500, offset = 0) => store.list(f, { sort: 'score', order: 'desc', limit, offset });
  const all = page({});
  t.equal(all.total, 120);
  t.ok(all.alerts.every((a, i) => i === 0 || all.alerts[i - 1]!.score >= a.score), 'sorted by score, highest first');
  t.equal(page({ severities: ['critical'] }).total, 30);
  t.equal(page({ severities: ['high', 'critical'] }).total, 60);
  t.equal(page({ sensor: 'edge-2' }).total, 60);
  t.equal(page({ sourceIp: '185.220.101.34' }).total, all.alerts.filter((a) => a.source.ip === '185.220.101.34').length);
  t.ok(page({ sourceIp: '185.220.101.34' }).total > 5);
  t.equal(page({ category: 'tunnel' }).total, 30);
  t.equal(page({ technique: 'T1110.001' }).total, 30);
  t.equal(page({ country: 'internal' }).total, all.alerts.filter((a) => a.source.ip.startsWith('10.')).length);
  t.equal(page({ fromUs: BASE_US + 10e6, toUs: BASE_US + 20e6 }).total, 10, 'time range on last-seen: [from, to)');
  t.equal(page({ text: 'Q7.T.TUNNEL' }).total, 1, 'text search is case-insensitive and covers evidence');
  t.equal(page({ text: '100%_' }).total, 0, 'search text is literal, not a LIKE pattern');
  t.equal(page({ category: 'scan', severities: ['low'] }).total, 30, 'filters combine (scan = every 4th, low = every 4th: same k)');
  const p1 = page({}, 50, 0);
  const p3 = page({}, 50, 100);
  t.equal(p1.alerts.length, 50);
  t.equal(p3.alerts.length, 20);
  const ids = new Set([...p1.alerts, ...page({}, 50, 50).alerts, ...p3.alerts].map((a) => a.id));
  t.equal(ids.size, 120, 'pages do not overlap or skip');
  const byTime = store.list({}, { sort: 'time', order: 'desc', limit: 1, offset: 0 });
  t.equal(byTime.alerts[0]!.lastUs, BASE_US + 119e6 + 500_000);
});

t.test('aggregates: KPIs with deltas, 5-minute series, top lists with countries, banner', async (t) => {
  const store = open(t);
  // 30 alerts in the previous hour, 50 in this hour, 40 of them in one 5-minute burst.
  for (let k = 0; k < 30; k++) put(store, variedAlert(k, BASE_US - 3600e6 + k * 60e6));
  for (let k = 0; k < 10; k++) put(store, variedAlert(k, BASE_US + k * 300e6));
  for (let k = 0; k < 40; k++) put(store, variedAlert(k, BASE_US + 1800e6));
  const f = { fromUs: BASE_US, toUs: BASE_US + 3600e6 };
  const k = kpis(store, f, 120e6, Date.now() * 1000);
  t.same([k.alerts.value, k.alerts.previous, k.alerts.delta], [50, 30, 20]);
  t.equal(k.events.value, 50);
  t.equal(k.uniqueSources.value, 7, 'six public sources and one private');
  t.equal(k.bySeverity.low + k.bySeverity.medium + k.bySeverity.high + k.bySeverity.critical, 50);
  const series = timeSeries(store, f, 300e6);
  t.equal(series.length, 12);
  t.equal(series[0]!.startUs % 300e6, 0, 'windows aligned to the clock');
  t.equal(series.reduce((n, b) => n + b.alerts, 0), 50);
  const burst = series.find((b) => b.startUs === BASE_US + 1800e6)!;
  t.equal(burst.alerts, 41, 'the burst window holds the burst (+ the periodic one)');
  t.ok(burst.meanScore > 0 && burst.meanScore <= 1);
  t.equal(Math.max(...series.map((b) => b.alerts)), burst.alerts, 'the burst stands out');
  const top = topLists(store, f, 5);
  t.equal(top.sources.length, 5);
  const de = top.sources.find((s) => s.key === '185.220.101.34');
  t.equal(de?.country, 'DE');
  t.equal(de?.countryName, 'Germany');
  t.ok(top.countries.some((c) => c.country === 'internal' && c.countryName === 'internal'));
  t.same(new Set(top.ports.map((p) => p.key)), new Set(['22', '443', '53']), 'alerts without a port are not a port');
  t.ok(top.protocols.some((p) => p.key === 'unknown'), 'no protocol reads as unknown');
  const online = statusBanner(k, store.sensors.list(120e6));
  t.equal(online.level, 'alert', 'high/critical alerts need action');
  t.ok(online.reasons.some((r) => /critical alert/.test(r)));
  const quiet = kpis(store, { fromUs: BASE_US + 7200e6, toUs: BASE_US + 10800e6 }, 120e6, Date.now() * 1000);
  t.match(statusBanner(quiet, []).reasons, ['no sensor has reported yet']);
  t.equal(statusBanner(quiet, []).level, 'attention');
});

t.test('sensors: status, retained status, Will, stale, problems, online count at a past time', async (t) => {
  let nowMs = Date.UTC(2026, 10, 25, 12, 0, 0);
  const store = open(t, () => nowMs);
  store.noteStatus('lab', 'edge-1', status({ timeUs: nowMs * 1000 }), false);
  store.noteStatus('lab', 'edge-2', status({ sensorId: 'edge-2', timeUs: nowMs * 1000 - 3600e6 }), true);
  let list = store.sensors.list(120e6);
  t.same(list.map((s) => [s.sensorId, s.health]), [['edge-1', 'online'], ['edge-2', 'stale']], 'a retained status from an hour ago is stale');
  nowMs += 60_000;
  store.noteStatus('lab', 'edge-1', status({ state: 'offline', timeUs: nowMs * 1000 - 60e6 }), false);
  store.noteStatus('lab', 'edge-3', status({ sensorId: 'edge-3', drops: 50_000, queueDepth: 5000, queueDropped: 3, lastError: 'broker refused', timeUs: nowMs * 1000 }), false);
  list = store.sensors.list(120e6);
  const by = Object.fromEntries(list.map((s) => [s.sensorId, s]));
  t.equal(by['edge-1']!.health, 'offline', 'the Will (state offline) marks it offline');
  t.equal(by['edge-3']!.health, 'online');
  t.match(by['edge-3']!.problems, [/dropping packets: 4\.8 %/, /5000 alerts waiting/, /queue dropped 3/, /error: broker refused/]);
  t.equal(store.sensors.onlineAtUs(nowMs * 1000 - 30e6), 2, 'edge-1 and edge-2 were online half a minute ago');
  t.equal(store.sensors.onlineAtUs(nowMs * 1000), 2, 'now: edge-2 (stale but online by its last status) and edge-3');
  const b = statusBanner(kpis(store, { fromUs: 0, toUs: 1 }, 120e6, nowMs * 1000), list);
  t.equal(b.level, 'alert');
  t.match(b.reasons.join('\n'), /offline: edge-1[\s\S]*silent: edge-2[\s\S]*edge-3: dropping packets/);
  put(store, variedAlert(1, BASE_US), 'lab', 'edge-4');
  t.equal(store.sensors.list(120e6).find((s) => s.sensorId === 'edge-4')?.health, 'unknown', 'alerts without a status: unknown');
});

t.test('retention: by arrival age, then by size (oldest arrivals first), space reused', async (t) => {
  let nowMs = Date.UTC(2026, 10, 25, 12, 0, 0);
  const store = open(t, () => nowMs);
  for (let k = 0; k < 500; k++) put(store, variedAlert(k, BASE_US));
  nowMs += 3 * 86_400_000;
  const fresh = [];
  for (let k = 0; k < 300; k++) fresh.push(put(store, variedAlert(k, BASE_US)).alert.id);
  const r1 = applyRetention(store, { maxAgeUs: 2 * 86_400e6, maxBytes: 0 }, nowMs * 1000);
  t.equal(r1.byAge, 500, 'alerts that arrived 3 days ago go with a 2-day limit');
  t.equal(store.bounds().alerts, 300);
  // Size: fill to several MB, then cap at 1 MiB.
  const big = 'x'.repeat(900);
  for (let k = 0; k < 4000; k++) {
    nowMs += 1;
    put(store, variedAlert(k, BASE_US, { reason: `${k} ${big}` }));
  }
  const before = store.usedBytes();
  t.ok(before > 4 * 1024 * 1024, `${before} bytes before`);
  const r2 = applyRetention(store, { maxAgeUs: 0, maxBytes: 1024 * 1024 }, nowMs * 1000);
  t.ok(r2.bySize > 3000, `${r2.bySize} deleted by size`);
  t.ok(r2.usedBytes <= 1024 * 1024, `${r2.usedBytes} bytes after`);
  t.notOk(store.get(fresh[0]!), 'the oldest arrivals went first');
  const newest = store.list({}, { sort: 'time', order: 'desc', limit: 1, offset: 0 }).alerts[0]!;
  t.match(newest.reason, /^3999 /, 'the newest arrival stayed');
  const pageCountBefore = store.db.pragma('page_count', { simple: true }) as number;
  t.ok(pageCountBefore * 4096 < before, 'incremental vacuum returned pages to the file system');
});
