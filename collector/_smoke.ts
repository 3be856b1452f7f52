import { startMosquitto } from '../test/helpers/mosquitto.js';
import { Collector } from './collector.js';
import { AlertPublisher } from '../agent/sink/mqtt/alert-publisher.js';
import { brokerOptionsFromFlags } from '../agent/sink/mqtt/broker-options.js';
import { alertFor } from '../test/helpers/alert-sequence.js';
const broker = await startMosquitto();
const c = await Collector.start({ brokerUrl: broker.url, dbPath: '/tmp/pk7/smoke.db', httpHost: '127.0.0.1', httpPort: 0, group: 'g', topicPrefix: 'picket/v1', protocol: 'auto', clientId: 'smoke', retentionDays: 30, maxDbMb: 0, staleAfterS: 120, retentionIntervalMs: 60000 });
console.log(c.httpUrl);
const pub = new AlertPublisher(brokerOptionsFromFlags({ broker: broker.url, site: 'lab', sensor: 'edge-1' }, {}, {})!);
await pub.start();
const t0 = performance.now();
for (let k = 0; k < 2000; k++) { const a = alertFor(k, 'x', 'y'); a.firstUs = Date.now()*1000 - (2000-k)*1e6; a.lastUs = a.firstUs + 1000; pub.publish(a); }
await pub.flush(20000);
while (c.ingest.counters.inserted < 2000) await new Promise(r => setTimeout(r, 20));
console.log('2000 alerts in', (performance.now()-t0).toFixed(0), 'ms', c.ingest.counters);
for (const p of ['api/alerts?limit=2&severity=high', 'api/sensors', 'api/kpis', 'api/timeseries?range=3600', 'api/top?limit=3', 'api/health', 'api/alerts?bogus=1', 'api/alerts?q=probed%2011']) {
  const r = await fetch(c.httpUrl + p); const txt = await r.text(); console.log(p, r.status, txt.slice(0, 400));
}
const r = await fetch(c.httpUrl + 'api/dashboard'); const d = await r.json() as any; console.log('dashboard', r.status, JSON.stringify(d.status), d.window, d.series.length, JSON.stringify(d.kpis).slice(0,300));
await pub.stop(); await c.stop(); await broker.close();
