/**
 * The collector's HTTP API over real HTTP: filters and paging, input validation on every
 * parameter, the aggregates, the live stream (SSE), and the hardening (token, Host check,
 * methods, CSP and other headers, static files only from the dashboard folder).
 */
import { request } from 'node:http';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { encodeAlert } from '../agent/sink/wire/alert-wire.js';
import { encodeStatus } from '../agent/sink/wire/status-wire.js';
import type { Collector } from '../collector/collector.js';
import { newSanitizeCounters, sanitizeAlert } from '../collector/ingest/sanitize.js';
import { CONTENT_SECURITY_POLICY } from '../collector/http/server.js';
import { startCollector, tempDir, until, variedAlert } from './collector-fixtures.js';
import { startMosquitto } from './helpers/mosquitto.js';

const broker = await startMosquitto();
t.teardown(() => broker.close());
const dir = tempDir('pk-col-api-');
t.teardown(() => dir.remove());

interface Res {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  json: any;
}

/** A raw HTTP request (fetch would normalise the Host header and the path). */
function http(base: string, path: string, opts: { method?: string; headers?: Record<string, string> } = {}): Promise<Res> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, path, method: opts.method ?? 'GET', headers: opts.headers ?? {} }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => {
        let json: unknown;
        try {
          json = JSON.parse(body);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

const BASE_US = Date.UTC(2026, 10, 25, 12, 0, 0) * 1000;

async function filled(t: Test, over = {}): Promise<Collector> {
  const { collector } = await startCollector(broker.url, dir.path, over);
  t.teardown(() => collector.stop());
  for (let k = 0; k < 200; k++) {
    // Alert k: last seen at BASE + 10·k + 0.5 s; sensor edge-2 for every 5th.
    collector.store.upsert(sanitizeAlert(variedAlert(k, BASE_US + k * 9e6), 'lab', k % 5 === 0 ? 'edge-2' : 'edge-1', newSanitizeCounters()), 300);
  }
  return collector;
}

t.test('alerts: filters, paging, sort by score, one alert by id', async (t) => {
  const c = await filled(t);
  const get = (q: string) => http(c.httpUrl, `/api/alerts${q}`);
  const all = await get('?limit=500');
  t.equal(all.status, 200);
  t.equal(all.json.total, 200);
  t.equal(all.json.alerts.length, 200);
  t.ok(all.json.alerts.every((a: any, i: number) => i === 0 || all.json.alerts[i - 1].score >= a.score), 'highest score first');
  t.equal((await get('')).json.alerts.length, 50, 'default page size 50');
  t.equal((await get('?severity=critical')).json.total, 50);
  t.equal((await get('?severity=high,critical&sensor=edge-2')).json.total, 20, 'severity (k%4 in 2,3) and sensor (k%5 = 0) combine');
  t.equal((await get('?sensor=edge-2')).json.total, 40);
  t.equal((await get('?src=185.220.101.34')).json.total, all.json.alerts.filter((a: any) => a.source.ip === '185.220.101.34').length);
  t.equal((await get('?category=brute_force')).json.total, 50);
  t.equal((await get('?technique=T1071.004')).json.total, 50);
  t.equal((await get('?country=DE')).json.total, all.json.alerts.filter((a: any) => a.source.country === 'DE').length);
  const sni1 = Array.from({ length: 200 }, (_, k) => k).filter((k) => k % 4 === 2 && k % 3 === 1).length;
  t.equal((await get('?q=c2-1.example')).json.total, sni1, 'text search reaches the evidence (SNI)');
  const from = new Date((BASE_US + 100e6) / 1000).toISOString();
  const to = (BASE_US + 200e6) / 1000;
  t.equal((await get(`?from=${from}&to=${to}`)).json.total, 10, 'ISO and millisecond times');
  const p2 = await get('?limit=30&offset=30&sort=time&order=asc');
  t.equal(p2.json.alerts.length, 30);
  t.equal(p2.json.alerts[0].lastUs, BASE_US + 300e6 + 500_000, 'offset 30 in time order is alert 30');
  const last = await get('?limit=30&offset=180');
  t.equal(last.json.alerts.length, 20);
  const one = all.json.alerts[0];
  const byId = await http(c.httpUrl, `/api/alerts/${one.id}`);
  t.equal(byId.status, 200);
  t.equal(byId.json.id, one.id);
  t.ok(byId.json.evidence, 'evidence in the detail');
  t.equal((await http(c.httpUrl, '/api/alerts/01NOTTHERE0000000000000000')).status, 404);
  t.equal((await http(c.httpUrl, `/api/alerts/${'x'.repeat(65)}`)).status, 400);
  t.equal((await http(c.httpUrl, '/api/alerts/%E0%A4%A')).status, 400, 'broken percent-encoding');
});

t.test('every parameter is validated (400 with one line)', async (t) => {
  const c = await filled(t);
  const bad = [
    '/api/alerts?bogus=1',
    '/api/alerts?limit=1&limit=2',
    '/api/alerts?severity=urgent',
    '/api/alerts?severity=low,low,low,low,low',
    '/api/alerts?limit=0',
    '/api/alerts?limit=501',
    '/api/alerts?limit=1e3',
    '/api/alerts?offset=-1',
    '/api/alerts?from=yesterday',
    '/api/alerts?from=2026-11-25T12:00:00',
    '/api/alerts?from=2026-11-25T12:00:00Z&to=2026-11-25T11:00:00Z',
    '/api/alerts?src=10.0.0.300',
    '/api/alerts?dst=example.com',
    '/api/alerts?port=65536',
    '/api/alerts?q=' + encodeURIComponent('a\u0000b'),
    '/api/alerts?q=' + 'x'.repeat(201),
    '/api/alerts?sensor=',
    '/api/alerts?country=Germany',
    '/api/alerts?sort=reason',
    '/api/alerts?order=up',
    '/api/kpis?range=10',
    '/api/kpis?range=3600&from=1',
    '/api/timeseries?step=90',
    '/api/timeseries?range=31536000&step=60',
    '/api/top?limit=1000',
    '/api/sensors?x=1',
    '/api/map?x=1',
    '/api/stream?x=1',
  ];
  for (const path of bad) {
    const r = await http(c.httpUrl, path);
    t.equal(r.status, 400, path);
    t.match(r.json?.error, /^[^\n]{10,300}$/, `${path}: ${r.json?.error}`);
  }
  t.equal((await http(c.httpUrl, '/api/nothing')).status, 404);
});

t.test('aggregates: kpis, time series, top lists, dashboard anchored at old data, map', async (t) => {
  const c = await filled(t);
  const to = BASE_US / 1000 + 2000 * 1000;
  const k = await http(c.httpUrl, `/api/kpis?range=1000&to=${to}`);
  t.equal(k.status, 200);
  t.equal(k.json.alerts.value, 100, 'last 1000 s: alerts 100..199');
  t.equal(k.json.alerts.previous, 100);
  t.equal(k.json.alerts.delta, 0);
  const ts = await http(c.httpUrl, `/api/timeseries?range=2000&to=${to}&step=300`);
  t.equal(ts.json.stepS, 300);
  t.equal(ts.json.buckets.reduce((n: number, b: any) => n + b.alerts, 0), 200);
  const top = await http(c.httpUrl, `/api/top?range=2000&to=${to}&limit=3`);
  t.equal(top.json.sources.length, 3);
  t.ok(top.json.sources[0].countryName, 'top sources carry a country name');
  const d = await http(c.httpUrl, '/api/dashboard?range=3600');
  t.equal(d.status, 200);
  t.equal(d.json.window.anchored, 'data', 'alerts older than the window: it ends at the newest alert');
  t.ok(d.json.window.toUs > BASE_US + 1990e6 && d.json.window.toUs <= BASE_US + 1990e6 + 300e6);
  t.equal(d.json.kpis.alerts.value, 200);
  t.equal(d.json.series.length, 12);
  t.match(d.json.status, { level: 'alert', headline: 'Needs action' });
  const live = await http(c.httpUrl, `/api/dashboard?range=3600&to=${Date.now()}`);
  t.equal(live.json.window.anchored, 'request');
  t.equal(live.json.kpis.alerts.value, 0);
  const week = await http(c.httpUrl, '/api/dashboard?range=31536000');
  t.ok(week.json.series.length <= 2016 && week.json.window.stepS % 300 === 0, 'long windows grow the step in 5-minute multiples');
  const map = await http(c.httpUrl, '/api/map');
  t.ok(map.json.countries.length > 150);
});

t.test('dashboard: alerts stamped in the future (a capture whose clock runs ahead) anchor the window too', async (t) => {
  const { collector: c } = await startCollector(broker.url, dir.path);
  t.teardown(() => c.stop());
  const future = Date.now() * 1000 + 7200e6;
  for (let k = 0; k < 5; k++) c.store.upsert(sanitizeAlert(variedAlert(k, future), 'lab', 'edge-1', newSanitizeCounters()), 300);
  const d = await http(c.httpUrl, '/api/dashboard?range=3600');
  t.equal(d.json.window.anchored, 'data');
  t.equal(d.json.kpis.alerts.value, 5);
  const skew = Date.now() * 1000 + 60e6;
  const { collector: c2 } = await startCollector(broker.url, dir.path);
  t.teardown(() => c2.stop());
  c2.store.upsert(sanitizeAlert(variedAlert(9, 0, { firstUs: skew, lastUs: skew }), 'lab', 'edge-1', newSanitizeCounters()), 300);
  const d2 = await http(c2.httpUrl, '/api/dashboard?range=3600');
  t.equal(d2.json.window.anchored, 'now', 'a minute of sensor clock skew is not replayed data');
});

t.test('hardening: headers, methods, Host check, static files only, URL length', async (t) => {
  const c = await filled(t);
  const page = await http(c.httpUrl, '/');
  t.equal(page.status, 200);
  t.match(page.headers['content-type'], /text\/html/);
  t.equal(page.headers['content-security-policy'], CONTENT_SECURITY_POLICY);
  t.match(CONTENT_SECURITY_POLICY, /script-src 'self'/);
  t.notMatch(CONTENT_SECURITY_POLICY, /unsafe-inline|unsafe-eval/);
  t.equal(page.headers['x-content-type-options'], 'nosniff');
  t.equal(page.headers['x-frame-options'], 'DENY');
  t.notMatch(page.body, /<script>|\son\w+=/i, 'no inline script or handlers in the page');
  const api = await http(c.httpUrl, '/api/sensors');
  t.equal(api.headers['content-security-policy'], CONTENT_SECURITY_POLICY);
  t.equal(api.headers['cache-control'], 'no-store');
  t.equal((await http(c.httpUrl, '/js/app.js')).status, 200);
  for (const p of ['/../package.json', '/js/../../package.json', '/%2e%2e/package.json', '/collector.ts', '/tsconfig.json', '/js/', '/web/index.html']) {
    t.equal((await http(c.httpUrl, p)).status, 404, p);
  }
  const post = await http(c.httpUrl, '/api/alerts', { method: 'POST' });
  t.equal(post.status, 405);
  t.equal(post.headers['allow'], 'GET, HEAD');
  t.equal((await http(c.httpUrl, '/api/alerts', { method: 'DELETE' })).status, 405);
  const rebind = await http(c.httpUrl, '/api/alerts', { headers: { host: 'attacker.example:8080' } });
  t.equal(rebind.status, 421, 'a loopback collector answers only to loopback host names (DNS rebinding)');
  t.equal((await http(c.httpUrl, '/api/alerts', { headers: { host: 'localhost:8080' } })).status, 200);
  t.equal((await http(c.httpUrl, `/api/alerts?q=${'a'.repeat(5000)}`)).status, 414);
  const head = await http(c.httpUrl, '/api/alerts', { method: 'HEAD' });
  t.equal(head.status, 200);
  t.equal(head.body, '');
});

t.test('token: the API needs it, static files do not; the health endpoint reports rejections', async (t) => {
  const token = 'k3y-' + 'a1b2c3d4'.repeat(4);
  const c = await filled(t, { token });
  t.equal((await http(c.httpUrl, '/')).status, 200);
  const no = await http(c.httpUrl, '/api/alerts');
  t.equal(no.status, 401);
  t.match(no.headers['www-authenticate'], /Bearer/);
  t.equal((await http(c.httpUrl, '/api/alerts', { headers: { authorization: 'Bearer wrong-token-of-some-length' } })).status, 401);
  t.equal((await http(c.httpUrl, '/api/alerts', { headers: { authorization: `Basic ${token}` } })).status, 401);
  t.equal((await http(c.httpUrl, '/api/stream')).status, 401, 'the stream too');
  const ok = await http(c.httpUrl, '/api/alerts?limit=1', { headers: { authorization: `Bearer ${token}` } });
  t.equal(ok.status, 200);
  t.equal(ok.json.total, 200);
  const h = await http(c.httpUrl, '/api/health', { headers: { authorization: `Bearer ${token}` } });
  t.ok(h.json.http.rejected >= 4);
  t.equal(h.json.database.alerts, 200);
});

interface StreamClient {
  events: { name: string; data: any }[];
  status: number;
  close(): void;
}

function openStream(base: string): Promise<StreamClient> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const events: { name: string; data: any }[] = [];
    const req = request({ host: u.hostname, port: u.port, path: '/api/stream' }, (res) => {
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buf += chunk;
        let cut;
        while ((cut = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, cut);
          buf = buf.slice(cut + 2);
          const name = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (name && data) events.push({ name, data: JSON.parse(data) });
        }
      });
      res.on('error', () => {});
      resolve({ events, status: res.statusCode ?? 0, close: () => req.destroy() });
    });
    req.on('error', reject);
    req.end();
  });
}

t.test('live stream: new and updated alerts and sensor changes arrive coalesced; clients capped', async (t) => {
  const { collector: c } = await startCollector(broker.url, dir.path, { live: { flushMs: 50, maxClients: 2 } });
  t.teardown(() => c.stop());
  const s1 = await openStream(c.httpUrl);
  const s2 = await openStream(c.httpUrl);
  t.teardown(() => {
    s1.close();
    s2.close();
  });
  t.equal(s1.status, 200);
  const third = await http(c.httpUrl, '/api/stream');
  t.equal(third.status, 503, 'over the client cap');
  await until(() => s1.events.some((e) => e.name === 'hello'), 2000, 'hello');
  const alerts = Array.from({ length: 120 }, (_, k) => variedAlert(k, BASE_US));
  for (const a of alerts) c.ingest.alert('lab', 'edge-1', Buffer.from(encodeAlert(a)));
  c.ingest.alert('lab', 'edge-1', Buffer.from(encodeAlert(alerts[0]!)));
  c.ingest.status('lab', 'edge-1', Buffer.from(encodeStatus({
    sensorId: 'edge-1', site: 'lab', state: 'online', timeUs: Date.now() * 1000, version: 'x', startedUs: 0, uptimeS: 1,
    packets: 0, drops: 0, flows: 0, queueDepth: 0, queueBytes: 0, queueDropped: 0, alerts: { low: 0, medium: 0, high: 0, critical: 0 }, lastError: '', lastErrorUs: 0,
  })), false);
  await until(() => s1.events.filter((e) => e.name === 'alerts').reduce((n, e) => n + e.data.count, 0) >= 120, 3000, '120 alerts on the stream');
  await until(() => s2.events.some((e) => e.name === 'sensors'), 3000, 'sensor event');
  const batches = s1.events.filter((e) => e.name === 'alerts');
  t.equal(batches.reduce((n, e) => n + e.data.count, 0), 120, 'the duplicate is not announced');
  t.ok(batches.length <= 3, `${batches.length} messages for 120 alerts (coalesced)`);
  t.ok(batches.every((b) => b.data.alerts.length <= 50));
  t.equal(batches[0]!.data.alerts[0].id, alerts[119]!.id, 'newest first');
  c.ingest.alert('lab', 'edge-1', Buffer.from(encodeAlert({ ...alerts[5]!, count: 9, lastUs: alerts[5]!.lastUs + 1e6 })));
  await until(() => s1.events.some((e) => e.name === 'alerts' && e.data.alerts.some((a: any) => a.id === alerts[5]!.id && a.count === 9)), 3000, 'update');
  t.pass('an update is announced with its new count');
  t.same(c.ingest.counters.duplicates, 1);
});

t.test('the collector refuses a foreign database file and a busy HTTP port with one line', async (t) => {
  const bogus = join(dir.path, 'not-a-db.db');
  writeFileSync(bogus, 'this is not sqlite'.repeat(100));
  await t.rejects(startCollector(broker.url, dir.path, { dbPath: bogus }), /is not an SQLite database: give a new file name/);
  const { collector: c } = await startCollector(broker.url, dir.path);
  t.teardown(() => c.stop());
  const port = Number(new URL(c.httpUrl).port);
  await t.rejects(startCollector(broker.url, dir.path, { httpPort: port }), /cannot listen on 127\.0\.0\.1:\d+: the address is in use/);
});
