import t from 'tap';
import { ZoneMap, parseCidr, parseIp, parseIpv4, isGroupIp, cidrContains } from '../agent/util/zones.js';
import { SlotTable, mix32 } from '../agent/detect/state/slot-table.js';
import { HllSlab } from '../agent/detect/state/hll.js';
import { BoundedMap } from '../agent/detect/state/bounded-map.js';
import { EventWindow } from '../agent/detect/state/event-window.js';
import { bowleySkew, madm, sorted, entropyOf } from '../agent/detect/stats.js';
import { beaconScore } from '../agent/detect/detectors/beacon.js';
import { registeredDomain } from '../agent/detect/dns/registered-domain.js';
import { benignDomainModel } from '../agent/detect/dns/ngram-model.js';
import { BENIGN_DOMAINS } from '../agent/detect/dns/benign-domains.js';
import { EwmaVolumeBaseline } from '../agent/detect/host-volume-baseline.js';

t.test('addresses and CIDRs', async (t) => {
  t.equal(parseIpv4('10.15.1.2'), 0x0a0f0102);
  for (const bad of ['10.15.1', '256.1.1.1', '1.2.3.4.5', '1..2.3', 'a.b.c.d', '']) t.equal(parseIpv4(bad), -1, bad);
  t.same([...parseIp('2001:db8::1')!.words], [0x20010db8, 0, 0, 1]);
  t.same([...parseIp('::ffff:10.0.0.1')!.words], [0, 0, 0xffff, 0x0a000001]);
  t.same([...parseIp('::')!.words], [0, 0, 0, 0]);
  for (const bad of ['1::2::3', ':::', '12345::', 'g::1', '1:2:3:4:5:6:7:8:9']) t.equal(parseIp(bad), undefined, bad);
  const c = parseCidr('fc00::/7')!;
  t.ok(cidrContains(c, 6, parseIp('fd12:3456::1')!.words));
  t.notOk(cidrContains(c, 6, parseIp('fe80::1')!.words));
  t.equal(parseCidr('10.0.0.0/33'), undefined);
  t.equal(parseCidr('10.0.0.0/x'), undefined);
});

t.test('zones: RFC 1918/ULA/link-local trusted, longest prefix wins, bad config is one line', async (t) => {
  const z = new ZoneMap({ guest: ['10.15.99.0/24'], extra: { dmz: ['198.51.100.0/28'] } });
  t.equal(z.zoneOf('10.15.1.2'), 'trust');
  t.equal(z.zoneOf('10.15.99.7'), 'guest');
  t.equal(z.zoneOf('198.51.100.3'), 'dmz');
  t.equal(z.zoneOf('198.51.100.66'), 'untrust');
  t.equal(z.zoneOf('fe80::1'), 'trust');
  t.equal(z.zoneOf('2001:db8::1'), 'untrust');
  t.equal(z.zoneOf('not an ip'), 'untrust');
  t.ok(ZoneMap.internal('guest'));
  t.throws(() => new ZoneMap({ trust: ['10.0.0.0/8', 'ten'] }), /zones: "ten" is not a CIDR/);
  t.ok(isGroupIp('224.0.0.251'));
  t.ok(isGroupIp('255.255.255.255'));
  t.ok(isGroupIp('ff02::fb'));
  t.notOk(isGroupIp('10.0.0.1'));
});

t.test('SlotTable: fixed memory under a million keys, busy keys survive, evictions counted', async (t) => {
  const st = new SlotTable(1024, 2, 60e6);
  const bytes = st.bytes;
  st.key[0] = 42;
  st.key[1] = 7;
  const busy = st.acquire(0);
  t.ok(st.fresh);
  let moved = 0;
  for (let i = 0; i < 1_000_000; i++) {
    st.key[0] = i;
    st.key[1] = 99;
    st.acquire(i);
    if (i % 100 === 0) {
      st.key[0] = 42;
      st.key[1] = 7;
      if (st.acquire(i) !== busy) moved++;
    }
  }
  t.equal(moved, 0, 'a key touched every 100 insertions keeps its slot');
  t.equal(st.bytes, bytes, 'no growth');
  t.equal(st.size, st.capacity);
  t.ok(st.evictions > 900_000, `${st.evictions} evictions counted`);
  st.key[0] = 42;
  st.key[1] = 7;
  t.equal(st.find(), busy, 'the busy key survived the churn');
});

t.test('HyperLogLog counters stay within 15 % from 10 to 100 k items', async (t) => {
  const h = new HllSlab(2, 128);
  for (const n of [10, 50, 200, 1000, 100_000]) {
    h.reset(0);
    for (let i = 0; i < n; i++) h.add(0, mix32(i, 6));
    const e = h.estimate(0);
    t.ok(Math.abs(e - n) / n < 0.15, `${n} → ${e.toFixed(0)}`);
  }
  t.throws(() => new HllSlab(1, 100));
});

t.test('BoundedMap and EventWindow', async (t) => {
  const evicted: string[] = [];
  const m = new BoundedMap<string, number>(2, (k) => evicted.push(k));
  m.set('a', 1);
  m.set('b', 2);
  m.get('a');
  m.set('c', 3);
  t.same(evicted, ['b'], 'least recently used goes');
  t.equal(m.evictions, 1);
  t.equal(m.expireOldest((v) => v < 3), 1);
  t.throws(() => new BoundedMap(0));
  const w = new EventWindow(4);
  for (const ts of [1, 2, 3, 4, 5, 6]) w.add(ts);
  t.equal(w.countSince(2), 4, 'capacity bounds memory');
  t.equal(w.firstSince(3), 4);
  t.equal(w.total, 6);
});

t.test('RITA-style beacon score: regular high, jittered lower, Poisson below threshold', async (t) => {
  const n = 40;
  const times = new Float64Array(n);
  const sizes = new Float64Array(n).fill(412);
  let seed = 1;
  const rnd = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  for (let i = 0; i < n; i++) times[i] = i * 2e6;
  t.ok(beaconScore(times, sizes, n)!.score > 0.95);
  for (let i = 1; i < n; i++) times[i] = times[i - 1]! + 2e6 * (0.75 + 0.5 * rnd());
  const jittered = beaconScore(times, sizes, n)!;
  t.ok(jittered.score > 0.8 && jittered.score < 0.97, `±25 % jitter: ${jittered.score.toFixed(3)}`);
  for (let i = 1; i < n; i++) times[i] = times[i - 1]! - Math.log(1 - rnd()) * 2e6;
  const poisson = beaconScore(times, sizes, n)!;
  t.ok(poisson.score < 0.8, `Poisson: ${poisson.score.toFixed(3)}`);
  t.equal(beaconScore(times, sizes, 2), undefined);
  t.equal(bowleySkew(sorted([1, 1, 1, 1])), 0);
  t.equal(madm(sorted([1, 2, 3, 4, 100])), 1);
  t.ok(entropyOf('aaaa') === 0 && entropyOf('abcd') === 2);
});

t.test('registered domains and the n-gram model trained on the bundled list', async (t) => {
  t.match(registeredDomain('a.b.example.co.uk'), { domain: 'example.co.uk', label: 'example', subdomain: 'a.b' });
  t.match(registeredDomain('WWW.Example.COM.'), { domain: 'example.com', label: 'example', subdomain: 'www' });
  t.equal(registeredDomain('localhost'), undefined);
  t.equal(registeredDomain('a..b'), undefined);
  t.ok(BENIGN_DOMAINS.length > 2000, `${BENIGN_DOMAINS.length} training names`);
  const m = benignDomainModel();
  for (const ok of ['google', 'wikipedia', 'weatherforecast', 'stackoverflow', 'mybank']) t.notOk(m.unlikely(ok), ok);
  for (const dga of ['xkqjzvbtwq', 'jhgdsfkjhsd', 'zzxjqkvwpt', 'lqrmvbnxeatys', 'qwpeorituy']) t.ok(m.unlikely(dga), dga);
});

t.test('EWMA volume baseline: learns per-interval outbound bytes, idle intervals count as zero', async (t) => {
  const b = new EwmaVolumeBaseline({ intervalSec: 60, alpha: 0.5, minSamples: 3, maxHosts: 2 });
  const T = 1_764_000_000e6;
  for (let i = 0; i < 4; i++) b.observeOutbound('h', 1000, T + i * 60e6);
  t.equal(b.expectedOutbound('x', T), undefined);
  const e = b.expectedOutbound('h', T + 4 * 60e6)!;
  t.equal(e.mean, 1000);
  t.equal(e.std, 0);
  t.equal(e.intervalUs, 60e6);
  const later = b.expectedOutbound('h', T + 10 * 60e6)!;
  t.ok(later.mean < 100, 'idle intervals pull the mean down');
  b.observeOutbound('a', 1, T);
  b.observeOutbound('c', 1, T);
  t.same(b.size(), { entries: 2, capacity: 2, evictions: 1 });
});
