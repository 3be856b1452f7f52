import t from 'tap';
import type { Alert } from '../agent/alert/alert.js';
import { alertJsonLine, alertToEcs, isoFromUs } from '../agent/alert/alert-json.js';

const us = (iso: string): number => Date.parse(iso) * 1000;

/** The alert of the example line in issue 4 ("Alerts"). */
const beacon: Alert = {
  id: '01JDX3Q8K4M2V7R9T0B5N6C1ZA',
  firstUs: us('2026-11-25T12:47:31.204Z') + 999, // sub-ms digits are truncated, not rounded
  lastUs: us('2026-11-25T12:53:02.118Z'),
  severity: 'high',
  score: 0.91,
  category: 'c2',
  detector: 'beacon',
  technique: 'T1071.001',
  tactic: 'command-and-control',
  source: { ip: '10.10.1.13', zone: 'trust' },
  destination: { ip: '198.51.100.66', port: 443, zone: 'untrust' },
  evidence: {},
  reason: '10.10.1.13 → 198.51.100.66:443 every 2.0 s ±4 % for 6 min, 412 B each',
  count: 183,
};

t.test('matches the documented example line (plus zones)', async (t) => {
  const example =
    '{"@timestamp":"2026-11-25T12:53:02.118Z","event":{"id":"01JDX3Q8K4M2V7R9T0B5N6C1ZA","kind":"alert","start":"2026-11-25T12:47:31.204Z","end":"2026-11-25T12:53:02.118Z","severity":3},"rule":{"name":"beacon"},"threat":{"technique":{"id":"T1071.001"},"tactic":{"name":"command-and-control"}},"source":{"ip":"10.10.1.13"},"destination":{"ip":"198.51.100.66","port":443},"message":"10.10.1.13 → 198.51.100.66:443 every 2.0 s ±4 % for 6 min, 412 B each","picket":{"alert":{"severity":"high","score":0.91,"category":"c2","count":183}}}';
  const expected = JSON.parse(example);
  expected.picket.alert.zones = { source: 'trust', destination: 'untrust' };
  const line = alertJsonLine(beacon);
  t.notMatch(line, /\n/);
  t.same(JSON.parse(line), expected);
  t.same(Object.keys(JSON.parse(line)), Object.keys(expected), 'top-level key order as documented');
  t.equal(JSON.stringify(expected), line, 'byte-identical once zones are added');
});

t.test('maps every optional field to its ECS or picket.alert name', async (t) => {
  const full: Alert = {
    ...beacon,
    sensorId: 'edge-7',
    site: 'lab',
    severity: 'critical',
    appProtocol: 'tls',
    modelVersion: 'iforest-3',
    source: { ip: '10.0.0.1', port: 51234, zone: 'guest' },
    evidence: {
      sni: 'evil.example',
      ja3: 'e7d705a3286e19ea42f587b344ee6865',
      ja4: 't13d1516h2_8daaf6152771_b186095e22b6',
      httpHost: 'evil.example',
      userAgent: 'curl/8.0',
      dnsName: 'a.evil.example',
      rmmTool: 'anydesk',
      values: { period_s: 2, jitter: 0.04, note: 'x' },
    },
  };
  const e = alertToEcs(full);
  t.equal(e.event.severity, 4);
  t.same(e.source, { ip: '10.0.0.1', port: 51234 });
  t.same(e.network, { protocol: 'tls' });
  t.same(e.observer, { name: 'edge-7', geo: { name: 'lab' } });
  t.same(e.picket.alert.zones, { source: 'guest', destination: 'untrust' });
  t.equal(e.picket.alert.model_version, 'iforest-3');
  t.same(e.picket.alert.evidence, {
    sni: 'evil.example',
    ja3: 'e7d705a3286e19ea42f587b344ee6865',
    ja4: 't13d1516h2_8daaf6152771_b186095e22b6',
    http_host: 'evil.example',
    user_agent: 'curl/8.0',
    dns_name: 'a.evil.example',
    rmm_tool: 'anydesk',
    values: { period_s: 2, jitter: 0.04, note: 'x' },
  });
  t.same(Object.keys(e), ['@timestamp', 'event', 'rule', 'threat', 'source', 'destination', 'message', 'network', 'observer', 'picket']);
});

t.test('omits empty groups instead of writing empty objects', async (t) => {
  const bare: Alert = { ...beacon, technique: '', tactic: '', evidence: { values: {} } };
  const e = alertToEcs(bare);
  t.notOk('threat' in e);
  t.notOk('network' in e);
  t.notOk('observer' in e);
  t.notOk('evidence' in e.picket.alert);
  const onlyTactic = alertToEcs({ ...beacon, technique: '', site: 'lab' });
  t.same(onlyTactic.threat, { tactic: { name: 'command-and-control' } });
  t.same(onlyTactic.observer, { geo: { name: 'lab' } });
  t.same(alertToEcs({ ...beacon, tactic: '' }).threat, { technique: { id: 'T1071.001' } });
});

t.test('never throws on impossible times', async (t) => {
  t.equal(isoFromUs(Number.NaN), '1970-01-01T00:00:00.000Z');
  t.equal(isoFromUs(1e30), '1970-01-01T00:00:00.000Z');
  t.equal(isoFromUs(1_000_999), '1970-01-01T00:00:01.000Z');
  t.doesNotThrow(() => alertJsonLine({ ...beacon, firstUs: Number.POSITIVE_INFINITY }));
});
