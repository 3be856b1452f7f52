import t from 'tap';
import { AlertAggregator, type AlertChange } from '../agent/alert/aggregator.js';
import { AllowList } from '../agent/alert/allow-list.js';
import type { Alert } from '../agent/alert/alert.js';
import type { AlertCandidate } from '../agent/detect/detector.js';
import { isUlid, ulidTime } from '../agent/util/ulid.js';

const T0 = 1_764_000_000_000_000;

function cand(over: Partial<AlertCandidate> = {}): AlertCandidate {
  return {
    detector: 'port_scan', category: 'scan', technique: 'T1046', tactic: 'discovery', severity: 'medium', score: 0.6,
    source: { ip: '10.0.0.5', zone: 'trust' }, destination: { ip: '10.0.0.9', zone: 'trust' },
    evidence: { values: { ports: 20 } }, reason: 'r', firstUs: T0, lastUs: T0, count: 1, ...over,
  };
}

function collect(cfg = {}, allow = {}) {
  const got: Array<{ a: Alert; c: AlertChange }> = [];
  const agg = new AlertAggregator({ sink: (a, c) => got.push({ a, c }), config: cfg, allow, random: (b) => b.fill(7) });
  return { agg, got };
}

t.test('a 65,536-port scan is one alert that grows; updates keep the id and are rate-limited', async (t) => {
  const { agg, got } = collect({ updateIntervalSec: 30 });
  for (let i = 0; i < 65_536; i++) agg.candidate(cand({ firstUs: T0 + i * 100, lastUs: T0 + i * 100, reason: `ports ${i + 1}` }));
  agg.finish(T0 + 65_536 * 100);
  t.equal(agg.openCount, 1);
  t.equal(got[0]!.c, 'new');
  t.equal(got[0]!.a.count, 1);
  const last = got[got.length - 1]!;
  t.equal(last.c, 'update');
  t.equal(last.a.count, 65_536);
  t.equal(last.a.reason, 'ports 65536', 'latest reason');
  t.equal(last.a.firstUs, T0);
  t.equal(last.a.lastUs, T0 + 65_535 * 100);
  t.ok(got.every((g) => g.a.id === got[0]!.a.id), 'every update carries the same id');
  t.ok(isUlid(got[0]!.a.id));
  t.equal(ulidTime(got[0]!.a.id), Math.floor(T0 / 1000), 'id time = packet time when the alert opened');
  t.ok(got.length <= 3, `6.5 s of packet time → at most one timed update plus the final one (got ${got.length})`);
  t.not(got[0]!.a, last.a, 'snapshots, not the live object');
});

t.test('severity rise is sent at once; score and severity only go up; technique follows the detector', async (t) => {
  const { agg, got } = collect({ updateIntervalSec: 3600 });
  agg.candidate(cand({ technique: 'T1498.001', score: 0.7 }));
  agg.candidate(cand({ severity: 'high', score: 0.5, technique: 'T1499.001', lastUs: T0 + 1 }));
  t.equal(got.length, 2);
  t.equal(got[1]!.a.severity, 'high');
  t.equal(got[1]!.a.score, 0.7, 'max score kept');
  t.equal(got[1]!.a.technique, 'T1499.001');
  agg.candidate(cand({ severity: 'low', lastUs: T0 + 2 }));
  t.equal(got.length, 2, 'no severity rise, interval not passed: held');
  agg.finish(T0 + 3);
  t.equal(got.length, 3);
  t.equal(got[2]!.a.severity, 'high');
  t.equal(got[2]!.a.count, 3);
});

t.test('a quiet window closes the alert; the next occurrence opens a new id', async (t) => {
  const { agg, got } = collect({ windowSec: 60 });
  agg.candidate(cand());
  agg.tick(T0 + 61e6);
  t.equal(agg.openCount, 0);
  t.equal(agg.stats.closed, 1);
  agg.candidate(cand({ firstUs: T0 + 62e6, lastUs: T0 + 62e6 }));
  const ids = new Set(got.map((g) => g.a.id));
  t.equal(ids.size, 2);
  t.ok([...ids][1]! > [...ids][0]!, 'ids sort by creation');
});

t.test('aggregation keys: different targets are different alerts; aggregateSource/Target override', async (t) => {
  const { agg } = collect();
  agg.candidate(cand());
  agg.candidate(cand({ destination: { ip: '10.0.0.10', zone: 'trust' } }));
  agg.candidate(cand({ detector: 'ddos', source: { ip: '1.1.1.1', zone: 'untrust' }, aggregateSource: '*', aggregateTarget: 'v' }));
  agg.candidate(cand({ detector: 'ddos', source: { ip: '2.2.2.2', zone: 'untrust' }, aggregateSource: '*', aggregateTarget: 'v' }));
  t.equal(agg.openCount, 3);
  const ddos = agg.openAlerts().find((a) => a.detector === 'ddos')!;
  t.equal(ddos.count, 2);
  t.equal(ddos.source.ip, '1.1.1.1', 'first endpoints kept');
});

t.test('maxOpen evicts the least recently active alert (sent if changed) and counts it', async (t) => {
  const { agg, got } = collect({ maxOpen: 2, updateIntervalSec: 3600 });
  agg.candidate(cand({ destination: { ip: 'a', zone: 'trust' } }));
  agg.candidate(cand({ destination: { ip: 'a', zone: 'trust' }, lastUs: T0 + 1 }));
  agg.candidate(cand({ destination: { ip: 'b', zone: 'trust' } }));
  agg.candidate(cand({ destination: { ip: 'c', zone: 'trust' } }));
  t.equal(agg.openCount, 2);
  t.equal(agg.stats.evicted, 1);
  t.equal(got.filter((g) => g.a.destination.ip === 'a').length, 2, 'the evicted alert was sent once more with count 2');
});

t.test('allow-lists: hosts (CIDR, either side), domains (suffix on label boundary), JA4, detectors', async (t) => {
  const { agg, got } = collect({}, { hosts: ['192.168.7.0/24', '2001:db8::1'], domains: ['*.example.com', 'corp.lan.'], ja4: ['t13d1516h2_8daaf6152771_02713d6af862'], detectors: ['beacon'] });
  agg.candidate(cand({ source: { ip: '192.168.7.44', zone: 'trust' } }));
  agg.candidate(cand({ destination: { ip: '2001:db8::1', zone: 'trust' } }));
  agg.candidate(cand({ evidence: { sni: 'cdn.EXAMPLE.com' } }));
  agg.candidate(cand({ evidence: { dnsName: 'corp.lan' } }));
  agg.candidate(cand({ evidence: { ja4: 't13d1516h2_8daaf6152771_02713d6af862' } }));
  agg.candidate(cand({ detector: 'beacon' }));
  t.equal(got.length, 0);
  t.same(agg.stats.allowed, { host: 2, domain: 2, ja4: 1, detector: 1 });
  agg.candidate(cand({ evidence: { sni: 'badexample.com' } }));
  agg.candidate(cand({ source: { ip: '192.168.8.1', zone: 'trust' }, destination: { ip: '10.1.1.1', zone: 'trust' } }));
  t.equal(got.length, 2, 'near misses are not allowed');
  t.throws(() => new AllowList({ hosts: ['10.0.0.0/33'] }), /allow\.hosts: "10\.0\.0\.0\/33" is not an address or CIDR/);
});
