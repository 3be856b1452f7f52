/**
 * The dashboard in headless Chromium, fed through a real broker: alerts published by the real
 * AlertPublisher to mosquitto, stored by the collector, shown by the page. Checks what a person
 * relies on: the banner and KPIs, the table sorted by score with severity colours, the map, the
 * bar charts, filters, the evidence panel, live updates over SSE, and the token prompt.
 * Saves screenshots to test/out/.
 */
import { join } from 'node:path';
import t from 'tap';
import type { Alert } from '../agent/alert/alert.js';
import { AlertPublisher } from '../agent/sink/mqtt/alert-publisher.js';
import { brokerOptionsFromFlags } from '../agent/sink/mqtt/broker-options.js';
import { startCollector, tempDir, until, variedAlert } from './collector-fixtures.js';
import { launch, loaded, OUT_DIR, watchedPage } from './dashboard-fixtures.js';
import { startMosquitto } from './helpers/mosquitto.js';

// Globals of the browser, used inside page.evaluate callbacks: the project compiles without the DOM
// lib (adding it would loosen type checking for all Node code), so they are declared for this file only.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
declare const document: any, window: any, getComputedStyle: any;

const broker = await startMosquitto();
t.teardown(() => broker.close());
const dir = tempDir('pk-dash-');
t.teardown(() => dir.remove());
const { collector } = await startCollector(broker.url, dir.path);
t.teardown(() => collector.stop());
await collector.subscriber.whenSubscribed(10_000);

const quiet = { info: () => {}, warn: () => {}, error: () => {} };
async function publisher(sensor: string): Promise<AlertPublisher> {
  const o = brokerOptionsFromFlags({ broker: broker.url, site: 'hq', sensor }, { statusIntervalMs: 1000 }, {})!;
  const p = new AlertPublisher(o, { log: quiet, status: () => ({ packets: 5000, drops: 0, flows: 40 }) });
  await p.start();
  t.teardown(() => p.stop());
  return p;
}

// 80 alerts over the last 40 minutes from two sensors.
const nowUs = Date.now() * 1000;
const edge1 = await publisher('edge-1');
const edge2 = await publisher('edge-2');
const sent: Alert[] = [];
for (let k = 0; k < 80; k++) {
  const a = variedAlert(k, nowUs - 2400e6 + k * 29e6);
  sent.push(a);
  (k % 3 === 0 ? edge2 : edge1).publish(a);
}
await edge1.flush(10_000);
await edge2.flush(10_000);
await until(() => collector.ingest.counters.inserted === 80, 10_000, '80 alerts stored');
// The API's order: score, then newest first.
const byScore = [...sent].sort((a, b) => b.score - a.score || b.lastUs - a.lastUs);

const browser = await launch();
t.teardown(() => browser.close());

t.test('page loads and answers the four questions', async (t) => {
  const { page, problems } = await watchedPage(browser);
  await page.goto(collector.httpUrl);
  await loaded(page);
  t.equal(await page.textContent('#banner-headline'), 'Needs action', 'high/critical alerts: the banner says so');
  t.match(await page.getAttribute('#banner', 'class'), /banner-alert/);
  t.equal(await page.textContent('#kpi-alerts .kpi-value'), '80');
  t.match(await page.textContent('#kpi-alerts .kpi-delta'), /▲ \+80 vs previous 1 hour/);
  t.equal(await page.textContent('#kpi-sources .kpi-value'), '7');
  t.equal(await page.textContent('#kpi-sensors .kpi-value'), '2 / 2');
  const scores = (await page.$$eval('#alerts tr td:nth-child(2)', (tds) => tds.map((td) => Number(td.textContent)))) as number[];
  t.equal(scores.length, 50, 'first page of 50');
  t.same(scores, byScore.slice(0, 50).map((a) => a.score), 'sorted by score, highest first');
  t.equal(await page.textContent('#page-info'), '1–50 of 80');
  // Severity colours: critical/high red, medium orange, low yellow.
  const colour = (sev: string) => page.$eval(`#alerts .sev-badge.sev-${sev}`, (el) => getComputedStyle(el).backgroundColor);
  t.equal(await colour('critical'), 'rgb(142, 0, 0)');
  t.equal(await colour('high'), 'rgb(211, 47, 47)');
  t.equal(await colour('medium'), 'rgb(245, 124, 0)');
  t.equal(await colour('low'), 'rgb(249, 200, 14)');
  const first = byScore[0]!;
  const row = await page.$$eval('#alerts tr:first-child td', (tds) => tds.map((td) => td.textContent));
  t.match(row, [first.severity, first.score.toFixed(2), /\d\d:\d\d:\d\d/, /edge-\d/, new RegExp(first.source.ip.replace(/\./g, '\\.')), /10\.16\.1\.10/, first.appProtocol ?? '–', first.technique, first.reason]);
  // Time series: 5-minute windows, bars present.
  t.match(await page.textContent('#series-step'), /5-minute windows/);
  t.ok((await page.$$('#series rect.bar')).length >= 8, 'bars in the time series');
  t.ok(await page.$('#series polyline.score-line'), 'mean score line');
  // Map: a marker per source country, private ranges as "internal".
  const markers = (await page.$$eval('#map circle.origin', (cs) => cs.map((c) => c.getAttribute('data-key')))) as string[];
  t.same(new Set(markers), new Set(['DE', 'CN', 'BR', 'RU', 'KR', 'SG']));
  t.match(await page.textContent('#map-extra'), /internal \(private ranges\): \d+ alerts, 1 sources/);
  t.ok((await page.$$('#map path.land')).length > 150, 'world geometry drawn');
  const ports = (await page.$$eval('#ports g.bar-row', (gs) => gs.map((g) => g.getAttribute('data-key')))) as string[];
  t.same(new Set(ports), new Set(['22', '443', '53']));
  t.ok((await page.$$('#protocols g.bar-row')).length >= 3);
  t.equal(await page.textContent('#top-sources tr:first-child td:nth-child(2)'), 'Germany', 'top source with its country');
  t.same(await page.$$eval('#sensors tr td:first-child', (tds) => tds.map((td) => td.textContent)), ['edge-1 hq', 'edge-2 hq']);
  t.equal(await page.textContent('#live'), 'live');
  t.match(await page.getAttribute('#live', 'class'), /live-on/);
  await page.screenshot({ path: join(OUT_DIR, 'dashboard.png'), fullPage: true });
  t.same(problems, [], 'no console errors, no CSP violations');
  await page.close();
});

t.test('filters narrow the table and the charts; clicks on charts filter too', async (t) => {
  const { page, problems } = await watchedPage(browser);
  await page.goto(collector.httpUrl);
  await loaded(page);
  const rows = async () => (await page.$$eval('#alerts tr[data-id]', (trs) => trs.map((tr) => Array.from(tr.children).map((td: any) => td.textContent ?? '')))) as string[][];

  let t0 = Date.now();
  await page.selectOption('#f-sensor', 'edge-2');
  await loaded(page, t0);
  t.equal(await page.textContent('#page-info'), `1–27 of 27`);
  t.ok((await rows()).every((r) => r[3] === 'edge-2'), 'sensor filter');

  t0 = Date.now();
  await page.click('#f-reset');
  await loaded(page, t0);
  await page.fill('#f-src', '185.220.101.34');
  t0 = Date.now();
  await page.click('#filters button[type=submit]');
  await loaded(page, t0);
  const expected = sent.filter((a) => a.source.ip === '185.220.101.34').length;
  t.equal((await rows()).length, expected);
  t.ok((await rows()).every((r) => r[4]!.startsWith('185.220.101.34')), 'source filter');
  t.equal(await page.$$eval('#map circle.origin', (cs) => cs.map((c) => c.getAttribute('data-key')).join()), 'DE', 'the map follows the filter');

  t0 = Date.now();
  await page.click('#f-reset');
  await loaded(page, t0);
  for (const sev of ['critical', 'high', 'medium']) {
    t0 = Date.now();
    await page.uncheck(`#filters input[value=${sev}]`);
    await loaded(page, t0);
  }
  t.ok((await rows()).every((r) => r[0] === 'low'), 'severity filter');
  t.equal(await page.textContent('#page-info'), '1–20 of 20');

  t0 = Date.now();
  await page.click('#f-reset');
  await loaded(page, t0);
  await page.fill('#f-q', 'q3.t.tunnel');
  t0 = Date.now();
  await page.press('#f-q', 'Enter');
  await loaded(page, t0);
  t.same((await rows()).map((r) => r[8]), ['alert 3: dns_tunnel from 45.155.205.233'], 'text search reaches the DNS name in the evidence');

  t0 = Date.now();
  await page.click('#f-reset');
  await loaded(page, t0);
  t0 = Date.now();
  await page.click('#ports g.bar-row[data-key="22"]');
  await loaded(page, t0);
  t.ok((await rows()).every((r) => r[5]!.endsWith(':22')), 'clicking a port bar filters on it');
  t.match(await page.textContent('#chips'), /port: 22 ×/);
  t0 = Date.now();
  await page.click('#chips .chip');
  await loaded(page, t0);
  t0 = Date.now();
  await page.click('#map circle.origin[data-key="BR"]');
  await loaded(page, t0);
  t.ok((await rows()).every((r) => r[4]!.startsWith('177.54.144.9')), 'clicking a country filters on it');

  // Evidence panel.
  t0 = Date.now();
  await page.click('#f-reset');
  await loaded(page, t0);
  const id = await page.getAttribute('#alerts tr:first-child', 'data-id');
  await page.click('#alerts tr:first-child');
  await page.waitForSelector('#evidence:not([hidden])');
  const a = sent.find((x) => x.id === id)!;
  const fields = await page.$$eval('#evidence-fields dd', (dds) => dds.map((d) => d.textContent));
  t.ok(fields.includes(a.reason) && fields.includes(a.id) && fields.includes(a.technique), 'reason, id, technique in the panel');
  await page.screenshot({ path: join(OUT_DIR, 'dashboard-evidence.png') });
  await page.keyboard.press('Escape');
  t.ok(await page.$('#evidence[hidden]'), 'Escape closes the panel');
  t.same(problems, []);
  await page.close();
});

t.test('live: a new alert published to the broker appears without a reload', async (t) => {
  const { page, problems } = await watchedPage(browser);
  await page.goto(collector.httpUrl);
  await loaded(page);
  await page.waitForSelector('#live.live-on');
  const fresh = variedAlert(500, 0, { reason: 'live probe: brand-new alert', score: 0.999, severity: 'critical', firstUs: Date.now() * 1000 - 2e6, lastUs: Date.now() * 1000 - 1e6 });
  const published = Date.now();
  edge1.publish(fresh);
  await page.waitForFunction((id) => document.querySelector('#alerts tr:first-child')?.getAttribute('data-id') === id, fresh.id, { timeout: 20_000 });
  const ms = Date.now() - published;
  t.ok(ms < 8000, `shown ${ms} ms after publishing`);
  t.equal(await page.textContent('#alerts tr:first-child td.reason'), 'live probe: brand-new alert');
  t.match(await page.getAttribute('#alerts tr:first-child', 'class'), /fresh/, 'highlighted as new');
  t.equal(await page.textContent('#kpi-alerts .kpi-value'), '81');
  t.match(await page.textContent('#live'), /live · 1 new/);
  t.same(problems, []);
  await page.close();
});

t.test('token: the page asks for it, then works', async (t) => {
  const token = 'dashboard-token-0123456789';
  const { collector: locked } = await startCollector(broker.url, dir.path, { token, group: 'locked' });
  t.teardown(() => locked.stop());
  await locked.subscriber.whenSubscribed(10_000);
  const { page, problems } = await watchedPage(browser);
  await page.goto(locked.httpUrl);
  await page.waitForSelector('#login:not([hidden])');
  t.pass('login prompt shown');
  await page.fill('#login-token', token);
  await page.click('#login-form button');
  await loaded(page);
  await page.waitForSelector('#live.live-on', { timeout: 10_000 });
  t.equal(await page.isHidden('#login'), true);
  t.match(await page.textContent('#banner-headline'), /Needs|All clear/);
  t.same(problems.filter((p) => !/401/.test(p)), [], 'only the expected 401s');
  await page.close();
});
