/**
 * Flow features on real captures, checked against tshark's reading of the same packets: a TLS
 * flow's certificate facts (self-signed, expired, validity), a DNS tunnel flow's name entropy /
 * labels / length and packet counts, an nmap scanner's distinct ports in the host window; NaN
 * for absent L7 and NetFlow records; bounded host context under a million sources.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { runCapture } from './helpers/run-capture.js';
import { FeatureExtractor, FEATURE_COUNT, featureIndex } from '../agent/features/index.js';
import { HostContext } from '../agent/features/host-context.js';
import { certMatchesSni, nameMatches, uaClass, UaClass, riskyContentType, SeenSet } from '../agent/features/classifiers.js';
import type { FlowRecord } from '../agent/flow/flow-record.js';

const C = '../shared/corpora';
const hasTshark = spawnSync('sh', ['-c', 'command -v tshark']).status === 0;
const tshark = (args: string[]): string[] =>
  spawnSync('tshark', args, { encoding: 'utf8', maxBuffer: 1 << 26 }).stdout.split('\n').filter((l) => l.length > 0);
const v = (x: Float64Array, name: string): number => x[featureIndex(name)]!;

/** Shannon entropy in bits per character of a DNS name, case-folded, dots excluded (the dissector's definition). */
function entropy(name: string): number {
  const s = name.toLowerCase().replace(/\./g, '');
  const counts = new Map<string, number>();
  for (const ch of s) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  let h = 0;
  for (const n of counts.values()) h -= (n / s.length) * Math.log2(n / s.length);
  return h;
}

t.test('TLS: self-signed, expired certificate, validity, SNI mismatch (vs tshark)', { skip: !hasTshark && 'tshark missing' }, async (t) => {
  const file = `${C}/ndpi/pcap/selfsigned.pcap`;
  const run = await runCapture(file);
  const fx = new FeatureExtractor();
  const r = run.records.find((x) => x.appProtocol === 'tls')!;
  t.ok(r, 'a TLS flow');
  const x = fx.extract(r);
  t.equal(x.length, FEATURE_COUNT);
  // tshark: notBefore, notAfter and the subject/issuer strings of the one certificate.
  const [times, printable, utf8] = tshark(['-r', file, '-Y', 'tls.handshake.certificate', '-T', 'fields', '-E', 'separator=|', '-e', 'x509af.utcTime', '-e', 'x509sat.printableString', '-e', 'x509sat.uTF8String'])[0]!.split('|');
  const strings = utf8 || printable;
  const [nb, na] = times!.split(',').map((s) => Date.parse(s.replace(' (UTC)', 'Z').replace(' ', 'T')));
  const days = (na! - nb!) / 86_400e3;
  t.equal(days, 365, 'tshark: 365 days of validity');
  t.equal(v(x, 'tls.cert_validity_days_log'), Math.log1p(days));
  t.ok(r.startUs / 1000 > na!, 'the capture is after notAfter');
  t.equal(v(x, 'tls.cert_expired'), 1);
  const subjIssuer = strings!.split(',');
  t.same(subjIssuer.slice(0, subjIssuer.length / 2), subjIssuer.slice(subjIssuer.length / 2), 'tshark: issuer equals subject');
  t.equal(v(x, 'tls.cert_self_signed'), 1);
  t.equal(v(x, 'tls.cert_valid'), 0);
  t.equal(v(x, 'tls.version'), 12, 'TLS 1.2');
  t.equal(v(x, 'tls.sni_missing'), 0, 'SNI localhost present');
  t.equal(v(x, 'tls.sni_mismatch'), 1, 'no SAN/CN names localhost');
  t.equal(v(x, 'tls.fp_unseen'), 1, 'first time this JA4 is seen');
  t.equal(fx.extract(r)[featureIndex('tls.fp_unseen')], 0, 'seen the second time');
  t.ok(Number.isNaN(v(x, 'dns.name_entropy')) && Number.isNaN(v(x, 'quic.version_standard')) && Number.isNaN(v(x, 'http.ua_script')), 'other L7 families NaN');
  t.equal(v(x, 'proto_tcp'), 1);
  t.equal(v(x, 'zone.internal_lateral'), 1, '127.0.0.1 → 127.0.0.1 is trust → trust');
  t.equal(v(x, 'rmm.tool'), 0, 'packets, no RMM tool');
  t.ok(Number.isNaN(v(x, 'rmm.duration_risk')));
});

t.test('DNS tunnel (iodine): entropy, labels, length, packets (vs tshark)', { skip: !hasTshark && 'tshark missing' }, async (t) => {
  const file = `${C}/attacks/dns-tunnel-dmachard/iodine.pcap`;
  const run = await runCapture(file);
  const r = run.records.find((x) => x.appProtocol === 'dns')!;
  const x = new FeatureExtractor().extract(r);
  const names = tshark(['-r', file, '-Y', 'dns.flags.response == 0', '-T', 'fields', '-e', 'dns.qry.name']);
  t.ok(names.length >= 5, `${names.length} queries`);
  const maxEntropy = Math.max(...names.map(entropy));
  t.ok(Math.abs(v(x, 'dns.name_entropy') - maxEntropy) < 0.001, `entropy ${v(x, 'dns.name_entropy')} vs tshark names ${maxEntropy.toFixed(3)}`);
  t.equal(v(x, 'dns.label_count'), Math.max(...names.map((n) => n.split('.').length)));
  // tshark prints raw bytes of non-ASCII labels, the dissector their \DDD escapes: compare on the ASCII names.
  const ascii = names.filter((n) => /^[\x21-\x7e]+$/.test(n));
  t.ok(ascii.length >= 4);
  t.ok(v(x, 'dns.name_length') >= Math.max(...ascii.map((n) => n.length)), 'longest name at least the longest ASCII one');
  const dns = r.app['dns'] as { queries: { name: string }[] };
  t.equal(v(x, 'dns.name_length'), Math.max(...dns.queries.map((q) => q.name.length)), 'the dissector’s longest name');
  t.equal(v(x, 'dns.qtype_tunnel'), 1, 'tshark: type 10 (NULL) queries');
  t.equal(v(x, 'dns.qtype_address'), 0);
  const conv = tshark(['-r', file, '-q', '-z', 'conv,udp']).find((l) => l.includes('<->'))!;
  const [inFrames, , outFrames] = conv.split(/\s+/).slice(3).filter((s) => /^\d+$/.test(s)).map(Number);
  t.equal(v(x, 'packets_out_log'), Math.log1p(outFrames!), 'client → server packets');
  t.equal(v(x, 'packets_in_log'), Math.log1p(inFrames!), 'server → client packets');
  t.equal(v(x, 'proto_udp'), 1);
  t.ok(Number.isNaN(v(x, 'tcp_handshake')), 'TCP features NaN for UDP');
  t.ok(Number.isNaN(v(x, 'tls.version')), 'no TLS');
});

t.test('host context: an nmap scanner reaches many ports (vs tshark)', { skip: !hasTshark && 'tshark missing' }, async (t) => {
  const file = `${C}/attacks/esnet-curated/attacks/scanners/masscan/tcp_0_1000_20190821.pcap`;
  const run = await runCapture(file);
  const fx = new FeatureExtractor({ host: { windowSec: 3600 } });
  const scanner = run.records[0]!.client.ip;
  let last: Float64Array | undefined;
  for (const r of run.records) {
    const x = fx.extract(r);
    if (r.client.ip === scanner) last = Float64Array.from(x);
  }
  const ports = new Set(tshark(['-r', file, '-Y', `ip.src == ${scanner} && tcp.flags.syn == 1`, '-T', 'fields', '-e', 'tcp.dstport']));
  const est = Math.expm1(v(last!, 'host.src_distinct_ports_log'));
  t.ok(ports.size > 500, `${ports.size} ports probed`);
  t.ok(Math.abs(est - ports.size) / ports.size < 0.3, `distinct ports ≈ ${est.toFixed(0)} vs tshark ${ports.size}`);
  t.ok(Math.expm1(v(last!, 'host.src_distinct_dsts_log')) < 3, 'one target');
});

function netflowRecord(i: number): FlowRecord {
  const base = 1.7e15 + i * 1e6;
  const dir = (packets: number, bytes: number) => ({ packets, bytes, payloadBytes: 0, firstUs: base, lastUs: base + 5e6 });
  return {
    uid: `N${i}`, origin: 'netflow', startUs: base, endUs: base + 5e6, ipVersion: 4, protocol: 6, transport: 'tcp',
    client: { ip: `10.1.${(i >> 8) & 255}.${i & 255}`, port: 40000 + (i % 1000) }, server: { ip: '198.51.100.7', port: 443 },
    c2s: dir(10, 1200), s2c: dir(12, 9000), communityId: '', state: 'established', endReason: 'netflow', partial: false, app: {},
  };
}

t.test('NetFlow records: L4 and zones set, L7 / RMM / sizes NaN', async (t) => {
  const x = new FeatureExtractor().extract(netflowRecord(1));
  t.equal(v(x, 'bytes_out_log'), Math.log1p(1200));
  t.equal(v(x, 'sent_byte_share'), 1200 / 10200);
  t.equal(v(x, 'duration_log'), Math.log1p(5000));
  t.equal(v(x, 'zone.outbound'), 1);
  t.equal(v(x, 'dst_port_well_known'), 1);
  for (const n of ['rmm.tool', 'iat_mean_out_log', 'pkt_size_std_out', 'tls.version', 'dns.name_entropy', 'tcp_retransmit_share']) t.ok(Number.isNaN(v(x, n)), `${n} NaN`);
});

t.test('host context stays bounded under a million sources', async (t) => {
  const hc = new HostContext({ maxHosts: 2048, windowSec: 60 });
  const out = { srcDistinctDsts: 0, srcDistinctPorts: 0, srcRmmTargets: 0, srcFlows: 0, dstDistinctSrcs: 0 };
  const before = hc.size().bytes;
  for (let i = 0; i < 1_000_000; i++) hc.observe(`s${i}`, `d${i & 1023}`, 80, 6, 1e15 + i * 10, false, out);
  const s = hc.size();
  t.ok(s.entries <= s.capacity, `${s.entries} hosts ≤ ${s.capacity}`);
  t.equal(s.evictions, 1_000_000 - 2048, 'every source beyond the limit evicted one');
  t.ok(s.bytes < before * 2, `memory ${s.bytes} B stays at its preallocated size`);
  t.ok(out.dstDistinctSrcs > 100, 'the server side still counts clients');
});

t.test('classifiers', async (t) => {
  t.equal(uaClass(undefined), UaClass.Missing);
  t.equal(uaClass('curl/8.1.2'), UaClass.Script);
  t.equal(uaClass('python-requests/2.31'), UaClass.Script);
  t.equal(uaClass('Mozilla/5.0 (compatible; Googlebot/2.1)'), UaClass.Script, 'bots are not browsers');
  t.equal(uaClass('Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0'), UaClass.Browser);
  t.equal(uaClass('SomeApp/1.0'), UaClass.Other);
  t.ok(riskyContentType('application/x-msdownload; charset=binary'));
  t.notOk(riskyContentType('text/html'));
  t.ok(nameMatches('*.example.com', 'www.example.com'));
  t.notOk(nameMatches('*.example.com', 'a.b.example.com'), 'wildcard is one label');
  t.notOk(nameMatches('*.com', 'example.com'), 'no wildcard on a bare TLD');
  t.ok(certMatchesSni('Example.COM.', ['example.com'], undefined));
  t.ok(certMatchesSni('host', [], 'host'), 'CN when there are no SANs');
  const seen = new SeenSet(2);
  t.notOk(seen.touch('a'));
  t.ok(seen.touch('a'));
  seen.touch('b');
  seen.touch('c');
  t.notOk(seen.touch('a'), 'forgotten beyond capacity');
  t.ok(seen.evictions >= 1);
});
