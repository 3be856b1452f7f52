/**
 * Hostile exports: every malformed structure is counted under its kind, every limit holds, and
 * random mutations of real exports never make the decoder throw or emit an implausible record.
 */
import t from 'tap';
import { join } from 'node:path';
import { NetflowDecoder, type NetflowDecoderOptions } from '../agent/source/netflow/netflow-decoder.js';
import type { FlowRecord } from '../agent/flow/flow-record.js';
import { concat, dataSet, ip, ipfix, optionsTemplateSet, templateSet, u16, u32, u8, v9, varlen, type FieldSpec } from './fixtures/netflow/build-export.js';
import { readExportDatagrams } from './fixtures/netflow/export-datagrams.js';

const EXPORTER = '198.51.100.7';
const T0 = 1_700_000_000;
const NOW = T0 * 1000;
const V4: FieldSpec[] = [{ id: 8, len: 4 }, { id: 12, len: 4 }, { id: 2, len: 4 }];

function decoder(opts: NetflowDecoderOptions = {}): { dec: NetflowDecoder; recs: FlowRecord[] } {
  const recs: FlowRecord[] = [];
  return { dec: new NetflowDecoder((r) => recs.push(r), opts), recs };
}

/** A raw IPFIX set with an arbitrary (possibly lying) length field. */
function rawSet(id: number, declaredLen: number, body: ArrayLike<number>): Uint8Array {
  return concat(u16(id), u16(declaredLen), body);
}

t.test('truncated and inconsistent sets', async (t) => {
  const { dec, recs } = decoder();
  const tmpl = templateSet(10, [{ id: 256, fields: V4 }]);
  const good = dataSet(256, [concat(ip('10.0.0.1'), ip('10.0.0.2'), u32(1))]);
  // Set length past the end of the message.
  t.same(dec.decode(ipfix(1, T0, [tmpl, rawSet(256, 400, [1, 2, 3, 4])]), EXPORTER, 1, NOW), { ok: false, kind: 'malformed', reason: 'bad_set_length' });
  // Set length below the 4-byte header.
  t.equal(dec.decode(ipfix(1, T0, [rawSet(256, 2, [])]), EXPORTER, 1, NOW).ok, false);
  // A record cut in the middle: the whole ones before it are kept.
  const cut = dataSet(256, [concat(ip('10.0.0.1'), ip('10.0.0.2'), u32(1)), concat(ip('10.0.0.3'), ip('10.0.0.4'))]);
  dec.decode(ipfix(1, T0, [cut]), EXPORTER, 1, NOW);
  t.equal(recs.length, 1, 'first record delivered, 8-byte tail is padding-sized for a 12-byte record');
  dec.decode(ipfix(1, T0, [good, rawSet(1, 4, []), rawSet(100, 4, [])]), EXPORTER, 1, NOW);
  t.equal(recs.length, 2);
  // Template sets cut inside a record or a field.
  dec.decode(ipfix(1, T0, [rawSet(2, 10, [1, 44, 0, 3, 0, 8])]), EXPORTER, 1, NOW);
  dec.decode(ipfix(1, T0, [rawSet(2, 14, [1, 45, 0, 1, 0x80, 8, 0, 4, 0, 0])]), EXPORTER, 1, NOW); // enterprise number cut
  dec.decode(ipfix(1, T0, [rawSet(3, 9, [1, 46, 0, 1, 0])]), EXPORTER, 1, NOW); // options: scope count cut
  dec.decode(v9(0, 1, T0, [rawSet(0, 12, [1, 44, 0, 3, 0, 8, 0, 4])]), EXPORTER, 1, NOW);
  dec.decode(v9(0, 1, T0, [rawSet(1, 14, [1, 44, 0, 4, 0, 8, 0, 1, 0, 4])]), EXPORTER, 1, NOW);
  // A variable-length prefix pointing past the set.
  dec.decode(ipfix(1, T0, [templateSet(10, [{ id: 257, fields: [{ id: 8, len: 4 }, { id: 82, len: 0xffff }] }]), dataSet(257, [concat(ip('10.0.0.1'), [200, 1, 2])])]), EXPORTER, 1, NOW);
  dec.decode(ipfix(1, T0, [dataSet(257, [concat(ip('10.0.0.1'), [255, 0])])]), EXPORTER, 1, NOW); // 3-byte form cut
  t.same(dec.stats().errors, {
    bad_set_length: 2,
    reserved_set_id: 2,
    truncated_template: 5,
    truncated_record: 2,
  });
});

t.test('zero-length fields, templates with no fields, huge field counts', async (t) => {
  const { dec, recs } = decoder({ maxFieldsPerTemplate: 64 });
  // Zero-length fields among real ones are legal and skipped; an address of length 0 is not an address.
  const zeroes: FieldSpec[] = [{ id: 8, len: 4 }, { id: 210, len: 0 }, { id: 12, len: 4 }, { id: 7, len: 0 }, { id: 2, len: 4 }];
  dec.decode(ipfix(1, T0, [templateSet(10, [{ id: 256, fields: zeroes }]), dataSet(256, [concat(ip('10.0.0.1'), ip('10.0.0.2'), u32(3))])]), EXPORTER, 1, NOW);
  t.equal(recs.length, 1);
  t.equal(dec.stats().errors.bad_field_length, 1, 'a 0-byte port is counted and ignored');
  // Every field 0 bytes long: records would be empty, the set loop could never advance.
  dec.decode(ipfix(1, T0, [templateSet(10, [{ id: 257, fields: [{ id: 8, len: 0 }, { id: 12, len: 0 }] }]), dataSet(257, [new Uint8Array(40)])]), EXPORTER, 1, NOW);
  t.equal(dec.stats().errors.template_zero_length, 1);
  t.equal(recs.length, 1);
  // NetFlow v9 template with 0 fields (IPFIX would treat it as a withdrawal).
  dec.decode(v9(0, 1, T0, [rawSet(0, 8, [1, 44, 0, 0])]), EXPORTER, 1, NOW);
  dec.decode(v9(0, 1, T0, [rawSet(1, 10, [1, 44, 0, 0, 0, 0])]), EXPORTER, 1, NOW);
  t.equal(dec.stats().errors.template_no_fields, 2);
  // Field count 65535 announced in a 12-byte set; and 100 (over the cap of 64).
  dec.decode(ipfix(1, T0, [rawSet(2, 12, [1, 47, 0xff, 0xff, 0, 8, 0, 4])]), EXPORTER, 1, NOW);
  dec.decode(v9(0, 1, T0, [rawSet(0, 12, [1, 47, 0xff, 0xff, 0, 8, 0, 4])]), EXPORTER, 1, NOW);
  dec.decode(v9(0, 1, T0, [rawSet(1, 14, [1, 47, 0xff, 0xfc, 0, 0, 0, 8, 0, 4])]), EXPORTER, 1, NOW);
  const many = Array.from({ length: 100 }, () => ({ id: 2, len: 4 }));
  dec.decode(ipfix(1, T0, [templateSet(10, [{ id: 258, fields: many }])]), EXPORTER, 1, NOW);
  t.equal(dec.stats().errors.template_too_many_fields, 4);
  // Template ids below 256, options scope counts 0 or larger than the field count.
  dec.decode(ipfix(1, T0, [templateSet(10, [{ id: 255, fields: V4 }])]), EXPORTER, 1, NOW);
  dec.decode(v9(0, 1, T0, [templateSet(9, [{ id: 3, fields: V4 }])]), EXPORTER, 1, NOW);
  dec.decode(ipfix(1, T0, [withdrawalSet255()]), EXPORTER, 1, NOW);
  dec.decode(ipfix(1, T0, [rawSet(3, 14, [1, 48, 0, 1, 0, 0, 0, 8, 0, 4])]), EXPORTER, 1, NOW);
  dec.decode(ipfix(1, T0, [rawSet(3, 14, [1, 49, 0, 1, 0, 5, 0, 8, 0, 4])]), EXPORTER, 1, NOW);
  dec.decode(v9(0, 1, T0, [rawSet(1, 14, [1, 44, 0, 3, 0, 4, 0, 8, 0, 4])]), EXPORTER, 1, NOW);
  t.equal(dec.stats().errors.bad_template_id, 3);
  t.equal(dec.stats().errors.bad_scope_count, 3);
  t.equal(dec.templateCount, 1, 'only the first, valid template was kept');
  // A non-empty data set shorter than one record is not padding.
  dec.decode(ipfix(1, T0, [dataSet(256, [new Uint8Array(8)])]), EXPORTER, 1, NOW);
  t.equal(dec.stats().errors.set_shorter_than_record, 1);
  // Fields whose length cannot hold their type: a 5-byte IPv4 address, a 9-byte counter.
  dec.decode(ipfix(1, T0, [templateSet(10, [{ id: 259, fields: [{ id: 8, len: 5 }, { id: 12, len: 4 }, { id: 2, len: 9 }, { id: 27, len: 4 }, { id: 154, len: 4 }, { id: 311, len: 2 }] }]), dataSet(259, [new Uint8Array(28)])]), EXPORTER, 1, NOW);
  t.equal(dec.stats().errors.bad_field_length, 6);
});

function withdrawalSet255(): Uint8Array {
  // Withdrawal of a reserved template id (not 2/3, not ≥ 256).
  return rawSet(2, 8, [0, 100, 0, 0]);
}

t.test('limits: templates per session, sessions, samplers, enterprise keys', async (t) => {
  const { dec } = decoder({ maxTemplatesPerSession: 4, maxSessions: 2, maxSamplersPerSession: 2, maxEnterpriseFieldKeys: 2 });
  const five = [256, 257, 258, 259, 260].map((id) => ({ id, fields: V4 }));
  dec.decode(ipfix(1, T0, [templateSet(10, five)]), EXPORTER, 1, NOW);
  t.equal(dec.templateCount, 4);
  t.equal(dec.stats().errors.template_limit, 1);
  dec.decode(ipfix(1, T0, [templateSet(10, five.slice(0, 1))]), EXPORTER, 1, NOW);
  t.equal(dec.stats().errors.template_limit, 1, 'refreshing a known template is not a new one');
  dec.decode(ipfix(2, T0, [templateSet(10, five.slice(0, 1))]), EXPORTER, 1, NOW);
  t.same(dec.decode(ipfix(3, T0, [templateSet(10, five.slice(0, 1))]), EXPORTER, 1, NOW), { ok: false, kind: 'limit', reason: 'session_limit' });
  t.same(dec.decode(v9(3, 1, T0, []), '198.51.100.8', 1, NOW), { ok: false, kind: 'limit', reason: 'session_limit' });
  t.equal(dec.sessionCount, 2);
  const opt = optionsTemplateSet(10, 300, [{ id: 48, len: 1 }], [{ id: 34, len: 4 }]);
  const sampler = (id: number): Uint8Array => concat(u8(id), u32(10));
  dec.decode(ipfix(2, T0, [opt, dataSet(300, [sampler(1), sampler(2), sampler(3), sampler(1)])]), EXPORTER, 1, NOW);
  t.equal(dec.stats().errors.sampler_limit, 1);
  const ent = (pen: number): FieldSpec => ({ id: 1, len: 1, pen });
  dec.decode(ipfix(2, T0, [templateSet(10, [{ id: 301, fields: [...V4, ent(1), ent(2), ent(3), ent(4)] }]), dataSet(301, [concat(ip('10.0.0.1'), ip('10.0.0.2'), u32(1), [1, 2, 3, 4])])]), EXPORTER, 1, NOW);
  t.same(dec.stats().enterpriseFields, { '1:1': 1, '2:1': 1, other: 2 });
});

t.test('random mutations of real exports never throw and never emit implausible records', async (t) => {
  const corpus = '../shared/corpora/flow-export';
  const seeds: Uint8Array[] = [];
  for (const f of [
    'pmacct/100-IPFIXv10-CISCO/traffic-00.pcap',
    'pmacct/101-NFv9-CISCO-cust_primitives/traffic-00.pcap',
    'pmacct/104-IPFIXv10-IPv6-CISCO-sampling_option/traffic-00.pcap',
    'pmacct/106-IPFIXv10-HUAWEI-vrf_name/traffic-00.pcap',
    'pmacct/500-IPFIXv10-BGP-CISCO-SRv6/traffic-00.pcap',
    'akvorado/netflow/testdata/nfv5.pcap',
    'akvorado/netflow/testdata/data+templates.pcap',
    'akvorado/netflow/testdata/ipfixprobe-templates.pcap',
    'akvorado/netflow/testdata/ipfixprobe-data.pcap',
    'akvorado/netflow/testdata/multiplesamplingrates-options-template.pcap',
    'akvorado/netflow/testdata/multiplesamplingrates-options-data.pcap',
    'akvorado/netflow/testdata/juniper-cpid-template.pcap',
    'akvorado/netflow/testdata/juniper-cpid-data.pcap',
  ]) {
    for (const d of readExportDatagrams(join(corpus, f))) {
      const v = d.payload.length >= 2 ? (d.payload[0]! << 8) | d.payload[1]! : 0;
      if (v === 5 || v === 9 || v === 10) seeds.push(d.payload);
    }
  }
  t.ok(seeds.length > 50, `${seeds.length} real export datagrams as seeds`);

  // mulberry32: a fixed seed makes a failure reproducible.
  let state = 0x5eed1e55;
  const rnd = (): number => {
    state = (state + 0x6d2b79f5) | 0;
    let x = Math.imul(state ^ (state >>> 15), 1 | state);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 0x1_0000_0000;
  };
  const pick = (n: number): number => Math.floor(rnd() * n);
  const mutate = (src: Uint8Array): Uint8Array => {
    const b = Uint8Array.from(src);
    const kind = pick(6);
    if (kind === 0) for (let i = 0, n = 1 + pick(8); i < n; i++) b[pick(b.length)] = pick(256);
    else if (kind === 1) return b.subarray(0, pick(b.length + 1));
    else if (kind === 2) {
      // Lengths and counts live in the first bytes of headers and sets: hit them harder.
      const p = pick(Math.min(b.length, 64));
      b[p] = [0, 0xff, 1, 4][pick(4)]!;
    } else if (kind === 3) {
      const from = pick(b.length);
      return concat(b, b.subarray(from, from + pick(200)));
    } else if (kind === 4) {
      const p = pick(b.length);
      b.fill(pick(2) ? 0 : 0xff, p, Math.min(b.length, p + 1 + pick(16)));
    } else for (let i = 0; i < b.length; i++) if (rnd() < 0.01) b[i] = b[i]! ^ (1 << pick(8));
    return b;
  };

  const opts = { maxTemplatesPerSession: 64, maxSessions: 32, maxPendingSets: 64, maxPendingBytes: 256 * 1024, pendingTimeoutMs: 2000, templateTimeoutMs: 60_000 };
  const recs: FlowRecord[] = [];
  const dec = new NetflowDecoder((r) => recs.push(r), opts);
  let throws = 0;
  let bad = 0;
  let iterations = 0;
  let now = NOW;
  const deadline = Date.now() + 20_000;
  for (; iterations < 150_000 && Date.now() < deadline; iterations++) {
    const seed = seeds[pick(seeds.length)]!;
    const input = pick(10) === 0 ? seed : mutate(seed);
    now += pick(50);
    try {
      const r = dec.decode(input, `10.9.${pick(4)}.${pick(4)}`, 2055 + pick(3), now);
      if (r.ok ? !Number.isInteger(r.value) || r.value < 0 : typeof r.reason !== 'string') bad++;
    } catch {
      throws++;
    }
    for (const r of recs) {
      const finite = [r.startUs, r.endUs, r.c2s.packets, r.c2s.bytes, r.s2c.packets, r.s2c.bytes, r.client.port, r.server.port].every(Number.isFinite);
      if (!finite || r.endUs < r.startUs || r.c2s.packets < 0 || !r.client.ip || !r.server.ip || !r.communityId.startsWith('1:') || r.exporter!.samplingInterval <= 0) bad++;
    }
    recs.length = 0;
    if (dec.pendingSets > opts.maxPendingSets || dec.templateCount > opts.maxSessions * opts.maxTemplatesPerSession) bad++;
  }
  const s = dec.stats();
  t.equal(throws, 0, `${iterations} mutated datagrams, no exception`);
  t.equal(bad, 0, 'every result and record plausible, every limit held');
  t.ok(iterations >= 5000, `${iterations} iterations within the time budget`);
  t.ok(s.records > 1000, `${s.records} records still decoded from surviving input`);
  t.ok(Object.keys(s.errors).length >= 8, `errors counted by kind: ${Object.keys(s.errors).sort().join(', ')}`);
  t.ok(s.packets === iterations, 'every datagram counted');
});

t.test('random bytes after valid headers never throw', async (t) => {
  const { dec } = decoder();
  let throws = 0;
  let state = 12345;
  const rnd = (): number => (state = (Math.imul(state, 1103515245) + 12345) >>> 0) / 0x1_0000_0000;
  for (let i = 0; i < 5000; i++) {
    const body = Uint8Array.from({ length: Math.floor(rnd() * 300) }, () => Math.floor(rnd() * 256));
    const version = [5, 9, 10][i % 3]!;
    const msg = version === 10 ? concat(u16(10), u16(16 + body.length), u32(T0), u32(i), u32(i % 4), body) : concat(u16(version), body);
    try {
      dec.decode(msg, EXPORTER, i % 7, NOW + i);
    } catch {
      throws++;
    }
  }
  t.equal(throws, 0);
  t.equal(dec.stats().packets, 5000);
  t.ok(dec.templateCount <= 4 * 1024);
  // Variable-length encodings at their limits decode.
  const v = decoder();
  v.dec.decode(ipfix(1, T0, [templateSet(10, [{ id: 256, fields: [{ id: 8, len: 4 }, { id: 12, len: 4 }, { id: 82, len: 0xffff }] }]), dataSet(256, [concat(ip('10.0.0.1'), ip('10.0.0.2'), varlen(new Uint8Array(1000)))])]), EXPORTER, 1, NOW);
  t.equal(v.recs.length, 1);
});
