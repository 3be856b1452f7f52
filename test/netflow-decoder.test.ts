import t from 'tap';
import { NetflowDecoder, type NetflowDecoderOptions } from '../agent/source/netflow/netflow-decoder.js';
import type { FlowRecord } from '../agent/flow/flow-record.js';
import { communityIdFromText } from '../agent/flow/community-id.js';
import {
  concat, dataSet, ip, ipfix, optionsTemplateSet, templateSet, u16, u32, u64, u8, v5, v9, varlen, withdrawalSet,
  type FieldSpec,
} from './fixtures/netflow/build-export.js';

const EXPORTER = '192.0.2.1';
const T0 = 1_700_000_000; // export time, seconds
const NOW = T0 * 1000;

function decoder(opts: NetflowDecoderOptions = {}): { dec: NetflowDecoder; recs: FlowRecord[] } {
  const recs: FlowRecord[] = [];
  return { dec: new NetflowDecoder((r) => recs.push(r), opts), recs };
}

/** IPv4 5-tuple + counters + absolute ms times: the common IPFIX layout. */
const BASIC: FieldSpec[] = [
  { id: 8, len: 4 }, { id: 12, len: 4 }, { id: 7, len: 2 }, { id: 11, len: 2 }, { id: 4, len: 1 },
  { id: 1, len: 8 }, { id: 2, len: 4 }, { id: 152, len: 8 }, { id: 153, len: 8 },
];
function basicRecord(src: string, dst: string, sp: number, dp: number, proto: number, bytes: number, pkts: number, startMs: number, endMs: number): Uint8Array {
  return concat(ip(src), ip(dst), u16(sp), u16(dp), u8(proto), u64(bytes), u32(pkts), u64(startMs), u64(endMs));
}

t.test('IPFIX template + data: fields, padding, FlowRecord mapping', async (t) => {
  const { dec, recs } = decoder();
  const msg = ipfix(7, T0, [
    templateSet(10, [{ id: 256, fields: BASIC }]),
    dataSet(256, [
      basicRecord('10.0.0.1', '10.0.0.2', 40000, 443, 6, 1500, 3, NOW - 2000, NOW - 1000),
      basicRecord('10.0.0.3', '8.8.8.8', 5353, 53, 17, 80, 1, NOW - 500, NOW - 500),
    ], 3),
  ]);
  const r = dec.decode(msg, EXPORTER, 4739, NOW);
  t.same(r, { ok: true, value: 2 });
  t.equal(recs.length, 2);
  const a = recs[0]!;
  t.equal(a.origin, 'netflow');
  t.equal(a.endReason, 'netflow');
  t.equal(a.ipVersion, 4);
  t.equal(a.transport, 'tcp');
  t.same(a.client, { ip: '10.0.0.1', port: 40000 });
  t.same(a.server, { ip: '10.0.0.2', port: 443 });
  t.equal(a.c2s.packets, 3);
  t.equal(a.c2s.bytes, 1500);
  t.equal(a.s2c.packets, 0);
  t.equal(a.startUs, (NOW - 2000) * 1000);
  t.equal(a.endUs, (NOW - 1000) * 1000);
  t.equal(a.c2s.firstUs, a.startUs);
  t.equal(a.communityId, communityIdFromText('10.0.0.1', '10.0.0.2', 6, 40000, 443));
  t.same(a.exporter, { ip: EXPORTER, samplingInterval: 1, observationDomain: 7 });
  t.equal(recs[1]!.transport, 'udp');
  t.equal(recs[1]!.state, 'new');
  t.not(a.uid, recs[1]!.uid, 'uids are unique');
  const s = dec.stats();
  t.equal(s.records, 2);
  t.equal(s.packetsIpfix, 1);
  t.equal(s.templatesLearned, 1);
  t.same(s.errors, {});
});

t.test('variable-length and enterprise fields are skipped by length; enterprise pairs counted', async (t) => {
  const { dec, recs } = decoder();
  const fields: FieldSpec[] = [
    { id: 8, len: 4 }, { id: 12, len: 4 },
    { id: 82, len: 0xffff }, // interfaceName, variable length
    { id: 100, len: 4, pen: 9 }, // Cisco enterprise field
    { id: 2, len: 4 },
    { id: 82, len: 0xffff },
  ];
  const rec = (name: string, longForm: boolean): Uint8Array =>
    concat(ip('10.1.1.1'), ip('10.1.1.2'), varlen(Buffer.from(name), longForm), u32(0xdeadbeef), u32(5), varlen([]));
  const long = 'x'.repeat(300); // > 254 bytes: needs the 3-byte length form
  dec.decode(ipfix(1, T0, [templateSet(10, [{ id: 300, fields }]), dataSet(300, [rec('eth0', false), rec('eth1', true), rec(long, false)])]), EXPORTER, 1, NOW);
  t.equal(recs.length, 3);
  t.same(recs.map((r) => r.c2s.packets), [5, 5, 5]);
  t.equal(recs[0]!.protocol, 0, 'no protocol field: 0');
  t.equal(recs[0]!.transport, '0');
  t.same(dec.stats().enterpriseFields, { '9:100': 3 });
  t.same(dec.stats().errors, {});
});

t.test('RFC 5103 biflow: reverse counters fill s2c, flags give TCP state', async (t) => {
  const { dec, recs } = decoder();
  const fields: FieldSpec[] = [
    ...BASIC.slice(0, 5), { id: 1, len: 4 }, { id: 2, len: 4 }, { id: 6, len: 1 },
    { id: 1, len: 4, pen: 29305 }, { id: 2, len: 4, pen: 29305 }, { id: 6, len: 1, pen: 29305 },
    { id: 150, len: 4 }, { id: 151, len: 4 }, { id: 136, len: 1 }, { id: 58, len: 2 },
  ];
  const rec = (cflags: number, sflags: number, endReason: number): Uint8Array =>
    concat(ip('10.0.0.1'), ip('10.0.0.9'), u16(50000), u16(80), u8(6), u32(400), u32(4), u8(cflags), u32(9000), u32(6), u8(sflags), u32(T0 - 10), u32(T0 - 1), u8(endReason), u16(42));
  dec.decode(ipfix(1, T0, [templateSet(10, [{ id: 256, fields }]), dataSet(256, [rec(0x1b, 0x1b, 3), rec(0x02, 0x12, 2), rec(0x14, 0x10, 1), rec(0x02, 0, 1)])]), EXPORTER, 1, NOW);
  t.equal(recs.length, 4);
  const [closed, open, reset, half] = recs as [FlowRecord, FlowRecord, FlowRecord, FlowRecord];
  t.equal(closed.s2c.packets, 6);
  t.equal(closed.s2c.bytes, 9000);
  t.equal(closed.state, 'closed');
  t.equal(closed.c2s.tcpFlags?.fin, 1);
  t.equal(closed.c2s.tcpFlags?.rst, 0);
  t.equal(closed.tcp?.handshake, true);
  t.equal(closed.tcp?.finServer, true);
  t.equal(closed.startUs, (T0 - 10) * 1e6);
  t.same(closed.vlan, [42]);
  t.equal(closed.partial, false);
  t.equal(open.state, 'established', 'SYN + SYN-ACK seen');
  t.equal(open.tcp?.synAck, true);
  t.equal(open.partial, true, 'flowEndReason 2 (active timeout) marks an interim record');
  t.equal(reset.state, 'reset');
  t.equal(reset.tcp?.midstream, true);
  t.equal(reset.tcp?.rstClient, true);
  t.equal(half.state, 'half_open');
});

t.test('data before its template is buffered and decoded when the template arrives', async (t) => {
  const { dec, recs } = decoder();
  const data = dataSet(256, [basicRecord('10.0.0.1', '10.0.0.2', 1, 2, 17, 100, 1, NOW, NOW)]);
  t.same(dec.decode(ipfix(1, T0 - 5, [data]), EXPORTER, 1, NOW), { ok: true, value: 0 });
  t.equal(dec.pendingSets, 1);
  t.equal(dec.stats().setsBuffered, 1);
  // Template and data in one message, data first: also decoded.
  dec.decode(ipfix(1, T0, [data, templateSet(10, [{ id: 256, fields: BASIC }])]), EXPORTER, 1, NOW + 1000);
  t.equal(recs.length, 2);
  t.equal(dec.pendingSets, 0);
  t.equal(dec.stats().setsDecodedLate, 2);
  t.equal(dec.stats().unknownTemplateSets, 0);
});

t.test('pending buffer: bounded in sets and time, refusals counted', async (t) => {
  const data = ipfix(1, T0, [dataSet(256, [basicRecord('10.0.0.1', '10.0.0.2', 1, 2, 17, 100, 1, NOW, NOW)])]);
  const off = decoder({ maxPendingSets: 0 });
  off.dec.decode(data, EXPORTER, 1, NOW);
  t.same(off.dec.stats().errors, { unknown_template: 1 });
  t.equal(off.dec.stats().unknownTemplateSets, 1);

  const small = decoder({ maxPendingSets: 1, pendingTimeoutMs: 5000 });
  small.dec.decode(data, EXPORTER, 1, NOW);
  small.dec.decode(data, EXPORTER, 1, NOW);
  t.same(small.dec.stats().errors, { pending_overflow: 1 });
  small.dec.sweep(NOW + 6000);
  t.same(small.dec.stats().errors, { pending_overflow: 1, pending_expired: 1 });
  t.equal(small.dec.stats().unknownTemplateSets, 2);
  t.equal(small.dec.pendingSets, 0);

  const bytes = decoder({ maxPendingBytes: 10 });
  bytes.dec.decode(data, EXPORTER, 1, NOW);
  t.same(bytes.dec.stats().errors, { pending_overflow: 1 });
});

t.test('templates expire when not refreshed; refresh keeps them; withdrawal removes them', async (t) => {
  const { dec, recs } = decoder({ templateTimeoutMs: 60_000 });
  const tmpl = templateSet(10, [{ id: 256, fields: BASIC }, { id: 257, fields: BASIC }]);
  const data = dataSet(256, [basicRecord('10.0.0.1', '10.0.0.2', 1, 2, 17, 100, 1, NOW, NOW)]);
  dec.decode(ipfix(1, T0, [tmpl]), EXPORTER, 1, NOW);
  dec.decode(ipfix(1, T0, [tmpl]), EXPORTER, 1, NOW + 50_000); // refresh
  dec.sweep(NOW + 100_000);
  t.equal(dec.templateCount, 2, 'refreshed at +50 s, alive at +100 s');
  dec.sweep(NOW + 111_000);
  t.equal(dec.templateCount, 0);
  t.equal(dec.stats().templatesExpired, 2);
  dec.decode(ipfix(1, T0, [data]), EXPORTER, 1, NOW + 112_000);
  t.equal(recs.length, 0, 'data after expiry waits for a template');

  const w = decoder();
  w.dec.decode(ipfix(1, T0, [tmpl, optionsTemplateSet(10, 258, [{ id: 149, len: 4 }], [{ id: 34, len: 4 }])]), EXPORTER, 1, NOW);
  t.equal(w.dec.templateCount, 3);
  w.dec.decode(ipfix(1, T0, [withdrawalSet([257])]), EXPORTER, 1, NOW);
  t.equal(w.dec.templateCount, 2);
  w.dec.decode(ipfix(1, T0, [withdrawalSet([2])]), EXPORTER, 1, NOW); // all data templates
  t.equal(w.dec.templateCount, 1, 'options template survives "withdraw all data templates"');
  w.dec.decode(ipfix(1, T0, [withdrawalSet([3], true)]), EXPORTER, 1, NOW);
  t.equal(w.dec.templateCount, 0);
  t.equal(w.dec.stats().templatesWithdrawn, 3);
  w.dec.decode(ipfix(1, T0, [data]), EXPORTER, 1, NOW);
  t.equal(w.recs.length, 0);
  t.equal(w.dec.pendingSets, 1);
});

t.test('a redefined template id replaces the old layout', async (t) => {
  const { dec, recs } = decoder();
  dec.decode(ipfix(1, T0, [templateSet(10, [{ id: 256, fields: BASIC }])]), EXPORTER, 1, NOW);
  const v6: FieldSpec[] = [{ id: 27, len: 16 }, { id: 28, len: 16 }, { id: 2, len: 4 }];
  dec.decode(ipfix(1, T0, [templateSet(10, [{ id: 256, fields: v6 }]), dataSet(256, [concat(ip('2001:db8::1'), ip('2001:db8::2'), u32(9))])]), EXPORTER, 1, NOW);
  t.equal(dec.stats().templatesReplaced, 1);
  t.equal(recs[0]!.ipVersion, 6);
  t.equal(recs[0]!.client.ip, '2001:db8::1');
  t.equal(recs[0]!.c2s.packets, 9);
});

t.test('template scope: exporter address + domain by default, port optional', async (t) => {
  const tmpl = ipfix(1, T0, [templateSet(10, [{ id: 256, fields: BASIC }])]);
  const data = ipfix(1, T0, [dataSet(256, [basicRecord('10.0.0.1', '10.0.0.2', 1, 2, 17, 100, 1, NOW, NOW)])]);
  const byAddr = decoder();
  byAddr.dec.decode(tmpl, EXPORTER, 1000, NOW);
  byAddr.dec.decode(data, EXPORTER, 2000, NOW); // exporter restarted its socket
  t.equal(byAddr.recs.length, 1, 'template learned from another source port applies');
  byAddr.dec.decode(data, '192.0.2.99', 1000, NOW);
  t.equal(byAddr.recs.length, 1, 'another exporter address does not share templates');
  byAddr.dec.decode(ipfix(2, T0, [dataSet(256, [basicRecord('10.0.0.1', '10.0.0.2', 1, 2, 17, 100, 1, NOW, NOW)])]), EXPORTER, 1000, NOW);
  t.equal(byAddr.recs.length, 1, 'another observation domain does not share templates');

  const byPort = decoder({ templateScope: 'exporter-port' });
  byPort.dec.decode(tmpl, EXPORTER, 1000, NOW);
  byPort.dec.decode(data, EXPORTER, 2000, NOW);
  t.equal(byPort.recs.length, 0);
  byPort.dec.decode(data, EXPORTER, 1000, NOW);
  t.equal(byPort.recs.length, 1);
  t.equal(byPort.dec.sessionCount, 2);
});

t.test('sampling: v9 options, IPFIX selector options, per-record fields, v5 header', async (t) => {
  // v9: options template (scope System) with SAMPLING_INTERVAL 34 and FLOW_SAMPLER_MODE 49.
  const a = decoder();
  const v9tmpl = templateSet(9, [{ id: 260, fields: [{ id: 8, len: 4 }, { id: 12, len: 4 }, { id: 1, len: 4 }, { id: 2, len: 4 }, { id: 22, len: 4 }, { id: 21, len: 4 }] }]);
  const v9opt = optionsTemplateSet(9, 261, [{ id: 1, len: 4 }], [{ id: 34, len: 4 }, { id: 49, len: 1 }]);
  a.dec.decode(v9(5, 100_000, T0, [v9tmpl, v9opt, dataSet(261, [concat(u32(0), u32(64), u8(2))], 3)]), EXPORTER, 1, NOW);
  a.dec.decode(v9(5, 100_000, T0, [dataSet(260, [concat(ip('10.0.0.1'), ip('10.0.0.2'), u32(1000), u32(10), u32(90_000), u32(99_000))])]), EXPORTER, 1, NOW);
  t.equal(a.recs[0]!.c2s.packets, 640);
  t.equal(a.recs[0]!.c2s.bytes, 64_000);
  t.equal(a.recs[0]!.exporter!.samplingInterval, 64);
  t.equal(a.recs[0]!.exporter!.observationDomain, 5);
  // v9 times are sysUptime-relative: start = export - (uptime - first).
  t.equal(a.recs[0]!.startUs, (NOW - 10_000) * 1000);
  t.equal(a.recs[0]!.endUs, (NOW - 1000) * 1000);
  t.equal(a.dec.stats().optionsRecords, 1);

  // IPFIX: two selectors, (interval, space) and (size, population); data names its selector.
  const b = decoder();
  const opt = optionsTemplateSet(10, 400, [{ id: 302, len: 4 }], [{ id: 305, len: 4 }, { id: 306, len: 4 }, { id: 309, len: 4 }, { id: 310, len: 4 }]);
  const tmpl = templateSet(10, [{ id: 401, fields: [{ id: 8, len: 4 }, { id: 12, len: 4 }, { id: 2, len: 4 }, { id: 302, len: 4 }] }]);
  b.dec.decode(ipfix(1, T0, [opt, tmpl, dataSet(400, [concat(u32(1), u32(1), u32(99), u32(0), u32(0)), concat(u32(2), u32(0), u32(0), u32(1), u32(256))])]), EXPORTER, 1, NOW);
  b.dec.decode(ipfix(1, T0, [dataSet(401, [concat(ip('10.0.0.1'), ip('10.0.0.2'), u32(1), u32(1)), concat(ip('10.0.0.1'), ip('10.0.0.2'), u32(1), u32(2)), concat(ip('10.0.0.1'), ip('10.0.0.2'), u32(1), u32(7))])]), EXPORTER, 1, NOW);
  t.same(b.recs.map((r) => r.exporter!.samplingInterval), [100, 256, 1], 'selector 1 → (1+99)/1, selector 2 → 256/1, unknown selector 7 → 1');
  t.same(b.recs.map((r) => r.c2s.packets), [100, 256, 1]);

  // Sampling fields carried by the data record itself, and a probability in options.
  const c = decoder();
  c.dec.decode(ipfix(1, T0, [
    templateSet(10, [{ id: 256, fields: [{ id: 8, len: 4 }, { id: 12, len: 4 }, { id: 2, len: 4 }, { id: 50, len: 4 }] }]),
    dataSet(256, [concat(ip('10.0.0.1'), ip('10.0.0.2'), u32(3), u32(1000))]),
  ]), EXPORTER, 1, NOW);
  t.equal(c.recs[0]!.c2s.packets, 3000);
  const p = decoder();
  const prob = new Uint8Array(8);
  new DataView(prob.buffer).setFloat64(0, 0.25);
  p.dec.decode(ipfix(1, T0, [
    optionsTemplateSet(10, 300, [{ id: 149, len: 4 }], [{ id: 311, len: 8 }]),
    dataSet(300, [concat(u32(1), prob)]),
    templateSet(10, [{ id: 256, fields: [{ id: 8, len: 4 }, { id: 12, len: 4 }, { id: 2, len: 4 }] }]),
    dataSet(256, [concat(ip('10.0.0.1'), ip('10.0.0.2'), u32(3))]),
  ]), EXPORTER, 1, NOW);
  t.equal(p.recs[0]!.exporter!.samplingInterval, 4, 'samplingProbability 0.25 → 1 in 4');

  // v5 header: mode bits + 14-bit interval.
  const d = decoder();
  d.dec.decode(v5(60_000, T0, [{ src: '10.0.0.1', dst: '10.0.0.2', sport: 1, dport: 2, proto: 17, packets: 2, bytes: 200, firstMs: 50_000, lastMs: 59_000 }], 0x4000 | 100), EXPORTER, 1, NOW);
  t.equal(d.recs[0]!.c2s.packets, 200);
  t.equal(d.recs[0]!.c2s.bytes, 20_000);
  t.equal(d.recs[0]!.exporter!.samplingInterval, 100);
  t.equal(d.recs[0]!.startUs, (NOW - 10_000) * 1000);

  // Defaults apply when the exporter says nothing.
  const e = decoder({ defaultSamplingInterval: 10 });
  e.dec.decode(v5(60_000, T0, [{ src: '10.0.0.1', dst: '10.0.0.2', sport: 1, dport: 2, proto: 17, packets: 2, bytes: 200, firstMs: 50_000, lastMs: 59_000 }]), EXPORTER, 1, NOW);
  t.equal(e.recs[0]!.exporter!.samplingInterval, 10);
});

t.test('times: uptime wrap, systemInitTime, deltas, NTP formats, export-time fallback', async (t) => {
  // v9 uptime wrapped: header uptime 1000 ms, flow started 3000 ms before the wrap.
  const a = decoder();
  a.dec.decode(v9(0, 1000, T0, [
    templateSet(9, [{ id: 256, fields: [{ id: 8, len: 4 }, { id: 12, len: 4 }, { id: 22, len: 4 }, { id: 21, len: 4 }] }]),
    dataSet(256, [concat(ip('10.0.0.1'), ip('10.0.0.2'), u32(0x1_0000_0000 - 3000), u32(500))]),
  ]), EXPORTER, 1, NOW);
  t.equal(a.recs[0]!.startUs, (NOW - 4000) * 1000);
  t.equal(a.recs[0]!.endUs, (NOW - 500) * 1000);

  // IPFIX sysUptime fields anchored by systemInitTimeMilliseconds from options data.
  const b = decoder();
  const init = NOW - 3_600_000;
  b.dec.decode(ipfix(1, T0, [
    optionsTemplateSet(10, 300, [{ id: 149, len: 4 }], [{ id: 160, len: 8 }]),
    dataSet(300, [concat(u32(1), u64(init))]),
    templateSet(10, [{ id: 256, fields: [{ id: 8, len: 4 }, { id: 12, len: 4 }, { id: 22, len: 4 }, { id: 21, len: 4 }] }]),
    dataSet(256, [concat(ip('10.0.0.1'), ip('10.0.0.2'), u32(1000), u32(2000))]),
  ]), EXPORTER, 1, NOW);
  t.equal(b.recs[0]!.startUs, (init + 1000) * 1000);
  t.equal(b.recs[0]!.endUs, (init + 2000) * 1000);
  t.equal(b.dec.stats().recordsUnanchoredTime, 0);

  // Without it: end anchored at export time, duration kept, counted.
  const c = decoder();
  c.dec.decode(ipfix(1, T0, [
    templateSet(10, [{ id: 256, fields: [{ id: 8, len: 4 }, { id: 12, len: 4 }, { id: 22, len: 4 }, { id: 21, len: 4 }] }]),
    dataSet(256, [concat(ip('10.0.0.1'), ip('10.0.0.2'), u32(1000), u32(4000))]),
  ]), EXPORTER, 1, NOW);
  t.equal(c.recs[0]!.endUs, NOW * 1000);
  t.equal(c.recs[0]!.startUs, (NOW - 3000) * 1000);
  t.equal(c.dec.stats().recordsUnanchoredTime, 1);

  // Delta microseconds before export time; NTP-format microseconds; seconds + duration.
  const d = decoder();
  const ntp = (ms: number): number[] => {
    const sec = Math.floor(ms / 1000) + 2_208_988_800;
    return [...u32(sec), ...u32(Math.round(((ms % 1000) / 1000) * 0x1_0000_0000))];
  };
  d.dec.decode(ipfix(1, T0, [
    templateSet(10, [
      { id: 256, fields: [{ id: 8, len: 4 }, { id: 12, len: 4 }, { id: 158, len: 4 }, { id: 159, len: 4 }] },
      { id: 257, fields: [{ id: 8, len: 4 }, { id: 12, len: 4 }, { id: 154, len: 8 }, { id: 155, len: 8 }] },
      { id: 258, fields: [{ id: 8, len: 4 }, { id: 12, len: 4 }, { id: 150, len: 4 }, { id: 161, len: 4 }] },
      { id: 259, fields: [{ id: 8, len: 4 }, { id: 12, len: 4 }] },
    ]),
    dataSet(256, [concat(ip('10.0.0.1'), ip('10.0.0.2'), u32(5_000_000), u32(1_000_000))]),
    dataSet(257, [concat(ip('10.0.0.1'), ip('10.0.0.2'), ntp(NOW - 7250), ntp(NOW - 250))]),
    dataSet(258, [concat(ip('10.0.0.1'), ip('10.0.0.2'), u32(T0 - 20), u32(1500))]),
    dataSet(259, [concat(ip('10.0.0.1'), ip('10.0.0.2'))]),
  ]), EXPORTER, 1, NOW);
  const [delta, micro, secs, none] = d.recs as [FlowRecord, FlowRecord, FlowRecord, FlowRecord];
  t.equal(delta.startUs, (NOW - 5000) * 1000);
  t.equal(delta.endUs, (NOW - 1000) * 1000);
  t.ok(Math.abs(micro.startUs - (NOW - 7250) * 1000) < 1, 'NTP start within 1 µs');
  t.ok(Math.abs(micro.endUs - (NOW - 250) * 1000) < 1);
  t.equal(secs.startUs, (T0 - 20) * 1e6);
  t.equal(secs.endUs, (T0 - 20) * 1e6 + 1_500_000);
  t.equal(none.startUs, NOW * 1000, 'no time fields: export time');
  t.equal(none.endUs, NOW * 1000);
});

t.test('ICMP type/code as client/server ports, from IEs or the destination port', async (t) => {
  const { dec, recs } = decoder();
  dec.decode(ipfix(1, T0, [
    templateSet(10, [
      { id: 256, fields: [{ id: 8, len: 4 }, { id: 12, len: 4 }, { id: 4, len: 1 }, { id: 32, len: 2 }] },
      { id: 257, fields: [{ id: 27, len: 16 }, { id: 28, len: 16 }, { id: 4, len: 1 }, { id: 11, len: 2 }] },
      { id: 258, fields: [{ id: 27, len: 16 }, { id: 28, len: 16 }, { id: 4, len: 1 }, { id: 178, len: 1 }, { id: 179, len: 1 }] },
    ]),
    dataSet(256, [concat(ip('10.0.0.1'), ip('10.0.0.2'), u8(1), u16(0x0800)), concat(ip('10.0.0.2'), ip('10.0.0.1'), u8(1), u16(0x0303))]),
    dataSet(257, [concat(ip('fe80::1'), ip('ff02::1'), u8(58), u16(0x8600)), concat(ip('fe80::1'), ip('ff02::1'), u8(58), u16(0x0086))]),
    dataSet(258, [concat(ip('2001:db8::1'), ip('2001:db8::2'), u8(58), u8(128), u8(0))]),
  ]), EXPORTER, 1, NOW);
  const ports = recs.map((r) => [r.transport, r.client.port, r.server.port]);
  t.same(ports, [
    ['icmp', 8, 0],
    ['icmp', 3, 3],
    ['ipv6-icmp', 134, 0],
    ['ipv6-icmp', 134, 0], // code·256+type (Cisco IOS XR IPv6) recognised: type 0 does not exist
    ['ipv6-icmp', 128, 0],
  ]);
  t.equal(recs[0]!.communityId, communityIdFromText('10.0.0.1', '10.0.0.2', 1, 8, 0));
  t.equal(recs[4]!.communityId, communityIdFromText('2001:db8::1', '2001:db8::2', 58, 128, 0));
});

t.test('address families: both present picks the non-zero one, ipVersion decides, none counted', async (t) => {
  const { dec, recs } = decoder();
  const both: FieldSpec[] = [{ id: 8, len: 4 }, { id: 12, len: 4 }, { id: 27, len: 16 }, { id: 28, len: 16 }, { id: 2, len: 4 }];
  const withVersion: FieldSpec[] = [...both, { id: 60, len: 1 }];
  dec.decode(ipfix(1, T0, [
    templateSet(10, [{ id: 256, fields: both }, { id: 257, fields: withVersion }, { id: 258, fields: [{ id: 2, len: 4 }, { id: 315, len: 0xffff }] }]),
    dataSet(256, [concat(ip('0.0.0.0'), ip('0.0.0.0'), ip('2001:db8::1'), ip('2001:db8::2'), u32(1)), concat(ip('10.0.0.1'), ip('10.0.0.2'), ip('::'), ip('::'), u32(1))]),
    dataSet(257, [concat(ip('0.0.0.0'), ip('0.0.0.0'), ip('2001:db8::1'), ip('2001:db8::2'), u32(1), u8(4))]),
    dataSet(258, [concat(u32(1), varlen([1, 2, 3]))]),
  ]), EXPORTER, 1, NOW);
  t.same(recs.map((r) => r.client.ip), ['2001:db8::1', '10.0.0.1', '0.0.0.0']);
  t.equal(dec.stats().recordsWithoutAddresses, 1, 'a data-link-section-only record is counted, not delivered');
});

t.test('NetFlow v9 specifics: 0xffff is a fixed length, scope fields are not IEs, padding', async (t) => {
  const { dec, recs } = decoder();
  // Scope type 1 (System) must not be read as IE 1 (octetDeltaCount).
  const opt = optionsTemplateSet(9, 300, [{ id: 1, len: 4 }], [{ id: 34, len: 2 }], 2);
  dec.decode(v9(0, 1000, T0, [opt, dataSet(300, [concat(u32(12345), u16(10))], 2)]), EXPORTER, 1, NOW);
  t.equal(dec.stats().optionsRecords, 1);
  dec.decode(v9(0, 1000, T0, [templateSet(9, [{ id: 256, fields: [{ id: 8, len: 4 }, { id: 12, len: 4 }, { id: 1, len: 4 }] }], 0), dataSet(256, [concat(ip('10.0.0.1'), ip('10.0.0.2'), u32(77))])]), EXPORTER, 1, NOW);
  t.equal(recs[0]!.c2s.bytes, 770, 'sampling from the System-scoped options record');
  dec.decode(v9(0, 1000, T0, [templateSet(9, [{ id: 257, fields: [{ id: 8, len: 4 }, { id: 82, len: 0xffff }] }]), dataSet(257, [concat(ip('10.0.0.1'), u8(3), u8(1), u8(2), u8(3))])]), EXPORTER, 1, NOW);
  t.equal(recs.length, 1, 'a 65535-byte v9 field never fits a datagram: no record');
  t.same(dec.stats().errors, { set_shorter_than_record: 1 });
});

t.test('NetFlow v5: records, header times, count checks', async (t) => {
  const { dec, recs } = decoder();
  const flows = [
    { src: '10.0.0.1', dst: '10.0.0.2', sport: 1234, dport: 80, proto: 6, packets: 10, bytes: 5000, firstMs: 1000, lastMs: 4000, flags: 0x1b },
    { src: '10.0.0.2', dst: '10.0.0.1', sport: 0, dport: 0x0800, proto: 1, packets: 1, bytes: 84, firstMs: 2000, lastMs: 2000 },
  ];
  t.same(dec.decode(v5(5000, T0, flows), EXPORTER, 1, NOW), { ok: true, value: 2 });
  t.equal(recs[0]!.state, 'closed');
  t.equal(recs[0]!.startUs, (NOW - 4000) * 1000);
  t.equal(recs[0]!.endUs, (NOW - 1000) * 1000);
  t.same([recs[1]!.client.port, recs[1]!.server.port], [8, 0]);
  t.equal(dec.stats().packetsV5, 1);
  const cut = v5(5000, T0, flows).subarray(0, 24 + 48 + 10);
  const r = dec.decode(cut, EXPORTER, 1, NOW);
  t.same(r, { ok: false, kind: 'incomplete', reason: 'v5_bad_count' });
  t.equal(recs.length, 3, 'the complete record before the cut is delivered');
  dec.decode(v5(5000, T0, flows, 0, 40), EXPORTER, 1, NOW);
  t.equal(dec.stats().errors.v5_bad_count, 2);
});

t.test('headers: short, unknown version, IPFIX length mismatch', async (t) => {
  const { dec } = decoder();
  t.same(dec.decode(new Uint8Array([0]), EXPORTER, 1, NOW), { ok: false, kind: 'incomplete', reason: 'short_header' });
  t.same(dec.decode(new Uint8Array([0, 7, 0, 0]), EXPORTER, 1, NOW), { ok: false, kind: 'malformed', reason: 'bad_version' });
  t.equal(dec.decode(new Uint8Array([0, 5, 0, 1]), EXPORTER, 1, NOW).ok, false);
  t.equal(dec.decode(new Uint8Array([0, 9, 0, 1]), EXPORTER, 1, NOW).ok, false);
  t.equal(dec.decode(new Uint8Array([0, 10, 0, 1]), EXPORTER, 1, NOW).ok, false);
  const msg = ipfix(1, T0, [templateSet(10, [{ id: 256, fields: BASIC }])]);
  const longer = msg.slice();
  longer[3] = longer[3]! + 8;
  t.same(dec.decode(longer, EXPORTER, 1, NOW), { ok: false, kind: 'malformed', reason: 'bad_message_length' });
  const trailing = concat(msg, [1, 2, 3, 4, 5]);
  t.same(dec.decode(trailing, EXPORTER, 1, NOW), { ok: true, value: 0 }, 'bytes after the message length are ignored');
  const s = dec.stats();
  t.same(s.errors, { short_header: 4, bad_version: 1, bad_message_length: 1 });
  t.equal(s.packets, 7);
});

t.test('a biflow whose forward direction is empty is turned around', async (t) => {
  const { dec, recs } = decoder();
  const fields: FieldSpec[] = [
    { id: 8, len: 4 }, { id: 12, len: 4 }, { id: 4, len: 1 }, { id: 32, len: 2 }, { id: 1, len: 4 }, { id: 2, len: 4 }, { id: 6, len: 1 },
    { id: 1, len: 4, pen: 29305 }, { id: 2, len: 4, pen: 29305 }, { id: 32, len: 2, pen: 29305 }, { id: 6, len: 1, pen: 29305 },
    { id: 7, len: 2 }, { id: 11, len: 2 },
  ];
  const rec = (proto: number, revTypeCode: number, revFlags: number): Uint8Array =>
    concat(ip('10.0.0.1'), ip('10.0.0.2'), u8(proto), u16(0), u32(0), u32(0), u8(0), u32(280), u32(5), u16(revTypeCode), u8(revFlags), u16(1234), u16(80));
  dec.decode(ipfix(1, T0, [templateSet(10, [{ id: 256, fields }]), dataSet(256, [rec(1, 0x0303, 0), rec(6, 0, 0x12)])]), EXPORTER, 1, NOW);
  const [icmp, tcp] = recs as [FlowRecord, FlowRecord];
  t.same([icmp.client.ip, icmp.server.ip, icmp.client.port, icmp.server.port], ['10.0.0.2', '10.0.0.1', 3, 3], 'type/code from the reverse icmpTypeCode');
  t.same([icmp.c2s.packets, icmp.c2s.bytes, icmp.s2c.packets], [5, 280, 0]);
  t.equal(icmp.state, 'new');
  t.same([tcp.client.ip, tcp.client.port, tcp.server.ip, tcp.server.port], ['10.0.0.2', 80, '10.0.0.1', 1234]);
  t.equal(tcp.c2s.tcpFlags?.syn, 1, 'flags follow the direction');
  t.equal(tcp.tcp?.syn, true);
});

t.test('NetFlow v9 sequence numbers: gaps are lost export packets, backward jumps resynchronise', async (t) => {
  const { dec } = decoder();
  const tmpl9 = templateSet(9, [{ id: 256, fields: [{ id: 8, len: 4 }, { id: 12, len: 4 }, { id: 2, len: 4 }] }]);
  const rec = concat(ip('10.0.0.1'), ip('10.0.0.2'), u32(1));
  for (const seq of [10, 11, 12, 15, 16, 3, 4]) dec.decode(v9(0, 1000, T0, [tmpl9, dataSet(256, [rec])], seq), EXPORTER, 1, NOW);
  t.equal(dec.stats().exportPacketsLost, 2, '13 and 14 missing');
  t.equal(dec.stats().sequenceResets, 1, '16 → 3: exporter restart, not loss');
  dec.decode(v9(7, 1000, T0, [], 100), EXPORTER, 1, NOW);
  t.equal(dec.stats().exportPacketsLost, 2, 'each source id has its own sequence');
  dec.decode(v9(0, 1000, T0, [], 0xfffffffe), EXPORTER, 1, NOW); // 4 → 2^32-2: a reset
  dec.decode(v9(0, 1000, T0, [], 0xffffffff), EXPORTER, 1, NOW);
  dec.decode(v9(0, 1000, T0, [], 1), EXPORTER, 1, NOW);
  t.equal(dec.stats().sequenceResets, 2);
  t.equal(dec.stats().exportPacketsLost, 3, 'across the 32-bit wrap, only 0 is missing');
});

t.test('an end time before the start time gives a zero duration, never a negative one', async (t) => {
  const { dec, recs } = decoder();
  dec.decode(ipfix(1, T0, [templateSet(10, [{ id: 256, fields: BASIC }]), dataSet(256, [basicRecord('10.0.0.1', '10.0.0.2', 1, 2, 17, 1, 1, NOW, NOW - 5000)])]), EXPORTER, 1, NOW);
  t.equal(recs[0]!.startUs, NOW * 1000);
  t.equal(recs[0]!.endUs, NOW * 1000);
});
