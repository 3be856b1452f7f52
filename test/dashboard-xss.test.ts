/**
 * Everything an attacker controls reaches the dashboard as text, never as markup or script.
 * Alerts whose reason, SNI, user agent, DNS name, HTTP host, URI (an evidence value), detector
 * and category — and a sensor whose id and version — carry script tags, event-handler attributes
 * and javascript: URLs travel the real path (AlertPublisher → mosquitto → collector → HTTP →
 * browser). In Chromium: no script runs (a global flag stays unset, no dialog opens), no element
 * is created from the payloads, and the text shows literally. The Content-Security-Policy is in
 * force (Trusted Types make innerHTML with a string throw).
 */
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

const PAYLOADS = [
  '<script>window.__pwned=1;alert("script")</script>',
  '<img src=x onerror="window.__pwned=2;alert(2)">',
  '"><svg onload=window.__pwned=3>',
  "'><iframe src=javascript:window.parent.__pwned=4></iframe>",
  'javascript:window.__pwned=5',
  '<a href="javascript:alert(6)">click</a><style>*{display:none}</style>',
];

const broker = await startMosquitto();
t.teardown(() => broker.close());
const dir = tempDir('pk-xss-');
t.teardown(() => dir.remove());
const { collector } = await startCollector(broker.url, dir.path);
t.teardown(() => collector.stop());
await collector.subscriber.whenSubscribed(10_000);

// The sensor id is a topic level: anything but / + # is allowed, markup included.
const evilSensor = '<img src=x onerror=window.__pwned=7>';
const o = brokerOptionsFromFlags({ broker: broker.url, site: '<u onmouseover=alert(10)>lab', sensor: evilSensor }, { statusIntervalMs: 1000, version: '<script>window.__pwned=8</script>' }, {})!;
const pub = new AlertPublisher(o, { log: { info: () => {}, warn: () => {}, error: () => {} }, status: () => ({ lastError: '<img src=x onerror=window.__pwned=9>' }) });
await pub.start();
t.teardown(() => pub.stop());
const nowUs = Date.now() * 1000;
const evil: Alert[] = PAYLOADS.map((p, k) =>
  variedAlert(k, 0, {
    firstUs: nowUs - 600e6 + k * 1e6,
    lastUs: nowUs - 600e6 + k * 1e6 + 1,
    score: 0.99 - k / 100,
    reason: p,
    detector: p.slice(0, 60),
    category: `c${k}${p}`.slice(0, 60),
    appProtocol: 'http',
    evidence: { sni: p, userAgent: p, dnsName: p, httpHost: p, values: { uri: `/search?q=${p}`, [p.slice(0, 30)]: 'key' } },
  }),
);
for (const a of evil) pub.publish(a);
await pub.flush(10_000);
await until(() => collector.ingest.counters.inserted === evil.length, 10_000, 'the hostile alerts stored');

const browser = await launch();
t.teardown(() => browser.close());

t.test('hostile text is shown literally and nothing runs', async (t) => {
  const { page, problems, dialogs } = await watchedPage(browser);
  await page.goto(collector.httpUrl);
  await loaded(page);
  // Table: every payload appears as the literal reason text.
  const reasons = await page.$$eval('#alerts td.reason', (tds) => tds.map((td) => td.textContent));
  t.same(reasons, PAYLOADS, 'reasons shown literally, in score order');
  const sensors = await page.$$eval('#alerts tr td:nth-child(4)', (tds) => tds.map((td) => td.textContent));
  t.ok(sensors.every((s) => s === evilSensor), 'the sensor id shown literally');
  // Evidence panel for each alert: SNI, user agent, DNS name, host, URI literally.
  for (const a of evil) {
    await page.click(`#alerts tr[data-id="${a.id}"]`);
    await page.waitForSelector(`#evidence[data-id="${a.id}"]:not([hidden])`);
    const values = await page.$$eval('#evidence-values dd', (dds) => dds.map((d) => d.textContent));
    for (const v of [a.evidence.sni, a.evidence.httpHost, a.evidence.userAgent, a.evidence.dnsName, `/search?q=${a.reason}`]) {
      t.ok(values.includes(v!), `evidence shows ${JSON.stringify(v).slice(0, 50)} literally`);
    }
    const keys = await page.$$eval('#evidence-values dt', (dts) => dts.map((d) => d.textContent));
    t.ok(keys.includes(a.reason.slice(0, 30)), 'an evidence key is text too');
    const fields = await page.$$eval('#evidence-fields dd', (dds) => dds.map((d) => d.textContent));
    t.ok(fields.includes(a.reason) && fields.includes(a.detector) && fields.some((f) => f?.startsWith(evilSensor)), 'reason, detector, sensor');
  }
  await page.screenshot({ path: `${OUT_DIR}dashboard-xss.png`, fullPage: true });
  // The dropdowns, sensor table and chart titles got the same strings.
  const options = await page.$$eval('#f-sensor option, #f-category option', (os) => os.map((o) => o.textContent));
  t.ok(options.includes(evilSensor), 'sensor option as text');
  t.ok(options.includes(evil[1]!.category), 'category option as text');
  t.match(await page.textContent('#sensors'), '<img src=x onerror=window.__pwned=7>');
  // Nothing ran, nothing was created from the payloads.
  await page.waitForTimeout(500);
  t.equal(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned), undefined, 'no payload executed');
  t.same(dialogs, [], 'no dialog opened');
  const created = await page.evaluate(() => document.querySelectorAll('main img, main iframe, main script, main style, main a[href], aside img, aside script, aside iframe, main svg svg').length);
  t.equal(created, 0, 'no element created from hostile text');
  t.equal(await page.evaluate(() => document.querySelectorAll('script').length), 1, 'only the page\'s own module script');
  // The CSP is in force: Trusted Types refuse a string for innerHTML, inline script is refused.
  const refused = await page.evaluate(() => {
    try {
      document.body.insertAdjacentHTML('beforeend', '<b>x</b>');
      return 'allowed';
    } catch (e) {
      return (e as Error).name;
    }
  });
  t.equal(refused, 'TypeError', 'Trusted Types: HTML sinks reject strings');
  const inline = await page.evaluate(() => {
    const attempt = (f: () => void): string => {
      try {
        f();
        return 'allowed';
      } catch (e) {
        return (e as Error).name;
      }
    };
    return {
      scriptBody: attempt(() => {
        document.createElement('script').textContent = 'window.__inline = 1';
      }),
      handlerAttribute: attempt(() => document.createElement('img').setAttribute('onerror', 'window.__inline = 2')),
    };
  });
  t.same(inline, { scriptBody: 'TypeError', handlerAttribute: 'TypeError' }, 'Trusted Types: script bodies and inline handlers from strings are refused');
  t.ok(problems.every((p) => /Content Security Policy|Trusted Type|TrustedHTML|TrustedScript/i.test(p)), `only the probes' own CSP reports: ${problems.join(' | ')}`);
  await page.close();
});

t.test('the API returns the strings unchanged as JSON (escaping is the page\'s job, as text)', async (t) => {
  const r = await fetch(`${collector.httpUrl}api/alerts?limit=10`);
  t.match(r.headers.get('content-type'), /^application\/json/);
  t.equal(r.headers.get('x-content-type-options'), 'nosniff');
  const body = (await r.json()) as { alerts: { reason: string }[] };
  t.same(body.alerts.map((a) => a.reason), PAYLOADS);
});
