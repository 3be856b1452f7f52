import t from 'tap';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { runCapture } from './helpers/run-capture.js';
import { readNdpiOut, flowKey } from './helpers/ndpi-out.js';
import { driveDissector } from './helpers/dissect-driver.js';
import { dnsDissector, DNS_LIMITS, type DnsMeta } from '../agent/dissect/dns/index.js';
import { NameReader, NAME_FORWARD_POINTER, NAME_POINTER_LOOP, NAME_TOO_LONG, NAME_BAD_LABEL, NAME_TRUNCATED } from '../agent/dissect/dns/name.js';
import { nameMetrics, splitDomain } from '../agent/dissect/dns/domain-metrics.js';
import type { FlowRecord } from '../agent/flow/flow-record.js';

const CORPORA = fileURLToPath(new URL('../../shared/corpora/', import.meta.url));
const NDPI = `${CORPORA}ndpi/`;
const TCPDUMP = `${CORPORA}tcpdump/tests/`;

// ---------- message builder (tests only) ----------

function encName(name: string): number[] {
  const out: number[] = [];
  if (name !== '.') for (const l of name.split('.')) out.push(l.length, ...Buffer.from(l, 'latin1'));
  out.push(0);
  return out;
}

interface Rr { name: string; type: number; ttl?: number; data: number[] }

function msg(o: { id: number; qr?: boolean; rcode?: number; flags?: number; qname?: string; qtype?: number; answers?: Rr[]; opt?: { udp: number; do?: boolean } }): Uint8Array {
  const b: number[] = [];
  const flags = (o.qr ? 0x8000 : 0) | 0x0100 | (o.qr ? 0x0080 : 0) | (o.flags ?? 0) | (o.rcode ?? 0);
  const an = o.answers ?? [];
  b.push(o.id >> 8, o.id & 0xff, flags >> 8, flags & 0xff, 0, o.qname === undefined ? 0 : 1, 0, an.length, 0, 0, 0, o.opt ? 1 : 0);
  if (o.qname !== undefined) b.push(...encName(o.qname), 0, o.qtype ?? 1, 0, 1);
  for (const r of an) {
    const ttl = r.ttl ?? 300;
    b.push(...encName(r.name), r.type >> 8, r.type & 0xff, 0, 1, ttl >>> 24, (ttl >> 16) & 0xff, (ttl >> 8) & 0xff, ttl & 0xff, r.data.length >> 8, r.data.length & 0xff, ...r.data);
  }
  if (o.opt) b.push(0, 0, 41, o.opt.udp >> 8, o.opt.udp & 0xff, 0, 0, o.opt.do ? 0x80 : 0, 0, 0, 4, 0, 10, 0, 0);
  return Uint8Array.from(b);
}

const UDP = { protocol: 17, clientPort: 40000, serverPort: 53 };
const TCP = { protocol: 6, clientPort: 40001, serverPort: 53 };

function tcpFrame(m: Uint8Array): Uint8Array {
  const out = new Uint8Array(m.length + 2);
  out[0] = m.length >> 8;
  out[1] = m.length & 0xff;
  out.set(m, 2);
  return out;
}

// ---------- names ----------

t.test('name reader: compression, loops, forward pointers, long names and labels', async (t) => {
  const r = new NameReader(64);
  // "example.com" at 12, then "www" + pointer to 12 at 25.
  const buf = Uint8Array.from([...new Array(12).fill(0), ...encName('example.com'), 3, 119, 119, 119, 0xc0, 12]);
  t.ok(r.read(buf, 0, buf.length, 25));
  t.equal(r.name, 'www.example.com');
  t.equal(r.end, 31, 'end is right after the pointer');
  t.equal(r.hops, 1);

  const self = Uint8Array.from([...new Array(12).fill(0), 0xc0, 12]);
  t.notOk(r.read(self, 0, self.length, 12));
  t.equal(r.flags, NAME_POINTER_LOOP, 'self pointer is a loop');

  // A label then a pointer back to that same label: a.a.a.a... if followed.
  const intoSelf = Uint8Array.from([...new Array(12).fill(0), 1, 97, 0xc0, 12]);
  t.notOk(r.read(intoSelf, 0, intoSelf.length, 12));
  t.equal(r.flags, NAME_POINTER_LOOP);
  t.equal(r.name, 'a', 'keeps what decoded before the loop');

  // Two names pointing at each other: the first hop is a forward pointer and is not followed.
  const pair = Uint8Array.from([...new Array(12).fill(0), 0xc0, 14, 0xc0, 12]);
  t.notOk(r.read(pair, 0, pair.length, 12));
  t.equal(r.flags, NAME_FORWARD_POINTER);
  t.notOk(r.read(pair, 0, pair.length, 14));
  t.equal(r.flags, NAME_FORWARD_POINTER, 'from the other end: one hop back, then the forward pointer stops it');

  const long: number[] = new Array(12).fill(0);
  for (let i = 0; i < 5; i++) long.push(63, ...new Array(63).fill(0x61));
  long.push(0);
  t.notOk(r.read(Uint8Array.from(long), 0, long.length, 12));
  t.equal(r.flags, NAME_TOO_LONG, 'a 320-octet name is flagged');

  const label64 = Uint8Array.from([...new Array(12).fill(0), 64, ...new Array(64).fill(0x61), 0]);
  t.notOk(r.read(label64, 0, label64.length, 12));
  t.equal(r.flags, NAME_BAD_LABEL, 'length byte 64 (0x40 prefix) is not a label');

  const cut = Uint8Array.from([...new Array(12).fill(0), 5, 97, 98]);
  t.notOk(r.read(cut, 0, cut.length, 12));
  t.equal(r.flags, NAME_TRUNCATED);

  const esc = Uint8Array.from([...new Array(12).fill(0), 3, 0x61, 0x2e, 0x00, 0]);
  t.ok(r.read(esc, 0, esc.length, 12));
  t.equal(r.name, 'a\\046\\000', 'dots and binary bytes inside labels are escaped');
  t.ok(r.read(Uint8Array.from([...new Array(12).fill(0), 0]), 0, 13, 12));
  t.equal(r.name, '.', 'root');
});

t.test('a compression chain of 200 hops stops at the hop limit and never loops', async (t) => {
  // Each name at offset k is a 1-letter label + pointer to the previous name: a long legal chain.
  const b: number[] = new Array(12).fill(0);
  b.push(0);
  let prev = 12;
  for (let i = 0; i < 200; i++) {
    const at = b.length;
    b.push(1, 0x61, 0xc0 | (prev >> 8), prev & 0xff);
    prev = at;
  }
  const r = new NameReader(64);
  t.notOk(r.read(Uint8Array.from(b), 0, b.length, prev));
  t.ok(r.flags & (NAME_TOO_LONG | 32), `flagged (flags=${r.flags}) instead of followed to the end`);
  t.ok(r.hops <= 64);
});

// ---------- messages through the dissector ----------

t.test('UDP query and response: fields, answers, EDNS, events matched by id', async (t) => {
  const q = msg({ id: 0x1234, qname: 'www.Example.co.uk', qtype: 1, opt: { udp: 1232, do: true } });
  const a = msg({
    id: 0x1234,
    qr: true,
    qname: 'www.Example.co.uk',
    answers: [
      { name: 'www.example.co.uk', type: 5, data: encName('edge.example.net') },
      { name: 'edge.example.net', type: 1, ttl: 60, data: [192, 0, 2, 7] },
      { name: 'edge.example.net', type: 28, data: [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1] },
      { name: 'edge.example.net', type: 16, data: [5, ...Buffer.from('hello'), 3, ...Buffer.from('abc')] },
      { name: 'example.net', type: 15, data: [0, 10, ...encName('mx.example.net')] },
      { name: 'example.net', type: 33, data: [0, 1, 0, 2, 0x13, 0xc4, ...encName('sip.example.net')] },
      { name: 'example.net', type: 6, data: [...encName('ns1.example.net'), ...encName('host.example.net'), 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 5] },
      { name: 'example.net', type: 65280, data: [1, 2, 3] },
    ],
  });
  const res = driveDissector<DnsMeta>(dnsDissector, UDP, [
    { dir: 0, bytes: q, tsUs: 1_000_000 },
    { dir: 1, bytes: a, tsUs: 1_002_500 },
  ]);
  const m = res.meta!;
  t.ok(m);
  t.equal(m.question!.name, 'www.Example.co.uk');
  t.equal(m.question!.registeredDomain, 'example.co.uk');
  t.equal(m.question!.subdomain, 'www');
  t.equal(m.question!.topLevelDomain, 'co.uk');
  t.equal(m.responseCode, 'NOERROR');
  t.same(m.headerFlags, ['RD', 'RA']);
  t.same(m.edns, { udpSize: 1232, do: true, version: 0, options: 1 });
  t.same(
    m.answers.map((x) => [x.type, x.data ?? `size ${x.size}`]),
    [
      ['CNAME', 'edge.example.net'],
      ['A', '192.0.2.7'],
      ['AAAA', '2001:db8::1'],
      ['TXT', 'helloabc'],
      ['MX', '10 mx.example.net'],
      ['SRV', '1 2 5060 sip.example.net'],
      ['SOA', 'ns1.example.net host.example.net 1 2 3 4 5'],
      ['TYPE65280', 'size 3'],
    ],
  );
  t.equal(m.answers[1]!.ttl, 60);
  t.same(m.resolvedIps, ['192.0.2.7', '2001:db8::1']);
  t.equal(m.txtBytes, 10);
  t.equal(res.events.length, 1);
  const ev = res.events[0]!;
  t.equal(ev.type, 'dns.query');
  t.equal(ev.tsUs, 1_000_000);
  t.match(ev.data, { name: 'www.Example.co.uk', qtype: 'A', responseCode: 'NOERROR', rttUs: 2500, answerCount: 8 });
  const ecs = dnsDissector.ecs(m) as { dns: Record<string, unknown>; picket: { dns: Record<string, unknown> } };
  t.equal(ecs.dns.type, 'answer');
  t.equal(ecs.dns.id, '4660');
  t.same(ecs.dns.resolved_ip, ['192.0.2.7', '2001:db8::1']);
  t.match(ecs.picket.dns, { queries: 1, responses: 1, nxdomain: 0, txt_bytes: 10, edns: { udp_size: 1232, do: true } });
});

t.test('NXDOMAIN, unanswered queries and id reuse', async (t) => {
  const res = driveDissector<DnsMeta>(dnsDissector, UDP, [
    { dir: 0, bytes: msg({ id: 1, qname: 'a.example' }) },
    { dir: 0, bytes: msg({ id: 2, qname: 'b.example' }) },
    { dir: 1, bytes: msg({ id: 2, qr: true, rcode: 3, qname: 'b.example' }) },
    { dir: 0, bytes: msg({ id: 3, qname: 'c.example' }) },
  ]);
  const m = res.meta!;
  t.equal(m.nxdomain, 1);
  t.equal(m.queryCount, 3);
  t.equal(m.responseCount, 1);
  t.equal(m.unanswered, 2);
  const byName = new Map(res.events.map((e) => [e.data.name, e.data]));
  t.equal(byName.get('b.example')!.responseCode, 'NXDOMAIN');
  t.equal(byName.get('a.example')!.unanswered, true, 'unanswered queries are emitted at flow end');
  t.equal(res.events.length, 3);
  t.same(m.queries.map((q) => [q.name, q.responseCode]), [['a.example', undefined], ['b.example', 'NXDOMAIN'], ['c.example', undefined]]);
});

t.test('interim records keep the state: pending queries are not flushed', async (t) => {
  const ctxEvents: unknown[] = [];
  const ctx = { flow: { uid: 'C1', protocol: 17, ipVersion: 4, clientPort: 5000, serverPort: 53 }, count() {}, emit: (...a: unknown[]) => ctxEvents.push(a) };
  const s = dnsDissector.create(ctx);
  const q = msg({ id: 9, qname: 'x.example' });
  dnsDissector.payload(s, 0, q, 0, q.length, 1, ctx);
  const rec = { partial: true } as FlowRecord;
  t.equal(dnsDissector.finish(s, rec, ctx)!.unanswered, 1);
  t.equal(ctxEvents.length, 0);
  const a = msg({ id: 9, qr: true, qname: 'x.example' });
  dnsDissector.payload(s, 1, a, 0, a.length, 2, ctx);
  t.equal(ctxEvents.length, 1, 'answered after the interim record');
  t.equal(dnsDissector.finish(s, { partial: false } as FlowRecord, ctx)!.responseCount, 1);
});

t.test('TCP: several messages per stream, any chunking gives the same result', async (t) => {
  const stream0: number[] = [];
  const stream1: number[] = [];
  for (let i = 0; i < 5; i++) {
    stream0.push(...tcpFrame(msg({ id: 100 + i, qname: `n${i}.example.org`, qtype: 16 })));
    stream1.push(...tcpFrame(msg({ id: 100 + i, qr: true, qname: `n${i}.example.org`, qtype: 16, answers: [{ name: `n${i}.example.org`, type: 16, data: [3, 120, 121, 122] }] })));
  }
  const whole = driveDissector<DnsMeta>(dnsDissector, TCP, [
    { dir: 0, bytes: Uint8Array.from(stream0) },
    { dir: 1, bytes: Uint8Array.from(stream1) },
  ]);
  t.equal(whole.meta!.queryCount, 5);
  t.equal(whole.meta!.responseCount, 5);
  t.equal(whole.meta!.txtBytes, 20);
  t.equal(whole.events.length, 5);
  let seed = 7;
  const rnd = (n: number): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  for (let trial = 0; trial < 50; trial++) {
    const chunks: { dir: 0 | 1; bytes: Uint8Array }[] = [];
    const split = (s: number[], dir: 0 | 1): void => {
      let p = 0;
      while (p < s.length) {
        const n = 1 + rnd(40);
        chunks.push({ dir, bytes: Uint8Array.from(s.slice(p, p + n)) });
        p += n;
      }
    };
    split(stream0, 0);
    split(stream1, 1);
    const r = driveDissector<DnsMeta>(dnsDissector, TCP, chunks);
    t.same(r.meta, whole.meta, `trial ${trial}`);
  }
});

t.test('TCP: a message larger than the cap is counted from its header and skipped', async (t) => {
  const big = msg({ id: 5, qr: true, qname: 'big.example', answers: [{ name: 'big.example', type: 16, data: new Array(DNS_LIMITS.maxTcpMessageBytes).fill(0) }] });
  const after = msg({ id: 6, qr: true, qname: 'after.example' });
  const r = driveDissector<DnsMeta>(dnsDissector, TCP, [{ dir: 1, bytes: Uint8Array.from([...tcpFrame(big), ...tcpFrame(after)]) }]);
  t.equal(r.meta!.responseCount, 2);
  t.equal(r.counters.get('limit.tcp_message_bytes'), 1);
  t.ok(r.meta!.queries.some((q) => q.name === 'after.example'), 'framing resumes after the skipped tail');
});

t.test('hostile messages are flagged, bounded, and never followed', async (t) => {
  // Answer whose owner is a pointer loop, then a record count far beyond the limit.
  const loop = Uint8Array.from([0, 1, 0x81, 0x80, 0, 1, 0xff, 0xff, 0, 0, 0, 0, ...encName('loop.example'), 0, 1, 0, 1, 0xc0, 30, 0xc0, 30]);
  const r1 = driveDissector<DnsMeta>(dnsDissector, UDP, [{ dir: 1, bytes: loop }]);
  t.ok(r1.meta!.malformed.includes('name.pointer_loop'), `got ${r1.meta!.malformed}`);
  t.equal(r1.counters.get('malformed.name.pointer_loop'), 1);
  // qdcount 65535 of valid root questions: bounded by maxQuestions.
  const many = Uint8Array.from([0, 2, 0, 0, 0xff, 0xff, 0, 0, 0, 0, 0, 0, ...new Array(4000).fill([0, 0, 1, 0, 1]).flat()]);
  const r2 = driveDissector<DnsMeta>(dnsDissector, UDP, [{ dir: 0, bytes: many }]);
  t.equal(r2.counters.get('limit.questions'), 1);
  // 200 answers: bounded per section.
  const answers: Rr[] = Array.from({ length: 200 }, (_, i) => ({ name: 'x.example', type: 1, data: [10, 0, 0, i & 0xff] }));
  const r3 = driveDissector<DnsMeta>(dnsDissector, UDP, [{ dir: 1, bytes: msg({ id: 3, qr: true, qname: 'x.example', answers }) }]);
  t.equal(r3.counters.get('limit.records'), 1);
  t.equal(r3.meta!.answers.length, DNS_LIMITS.maxAnswers);
  t.equal(r3.meta!.resolvedIps.length, DNS_LIMITS.maxResolvedIps);
  // Unassigned opcode and an A record of the wrong length.
  const bad = msg({ id: 4, qr: true, flags: 15 << 11, qname: 'y.example', answers: [{ name: 'y.example', type: 1, data: [1, 2, 3] }] });
  const r4 = driveDissector<DnsMeta>(dnsDissector, UDP, [{ dir: 1, bytes: bad }]);
  t.same(r4.meta!.malformed.sort(), ['header.opcode', 'rdata.a_length']);
});

t.test('domain metrics and the registered-domain heuristic', async (t) => {
  t.same(nameMetrics('aaaa.bb'), { entropy: 0.918, labelCount: 2, longestLabel: 4, digitRatio: 0 });
  t.same(nameMetrics('AbAb'), nameMetrics('abab'), 'case does not change entropy');
  t.equal(nameMetrics('a1b2.c3').digitRatio, 0.5);
  t.equal(nameMetrics('.').labelCount, 0);
  t.ok(nameMetrics('dGhpcyBpcyBleGZpbHRyYXRlZCBkYXRh.t.example.com').entropy > nameMetrics('www.google.com').entropy + 1);
  t.same(splitDomain('a.b.example.com'), { registeredDomain: 'example.com', subdomain: 'a.b', topLevelDomain: 'com' });
  t.same(splitDomain('www.bbc.co.uk.'), { registeredDomain: 'bbc.co.uk', subdomain: 'www', topLevelDomain: 'co.uk' });
  t.same(splitDomain('example.de'), { registeredDomain: 'example.de', subdomain: '', topLevelDomain: 'de' });
  t.equal(splitDomain('co.uk'), undefined);
  t.equal(splitDomain('localhost'), undefined);
  t.equal(splitDomain('4.3.2.1.in-addr.arpa'), undefined);
});

// ---------- real captures vs tshark and nDPI ----------

interface TsharkFlow {
  queries: number;
  responses: number;
  nxdomain: number;
  firstName: string | undefined;
  ips: Set<string>;
}

/** Per-flow DNS facts from tshark (port 53 only, as Picket). */
function tsharkDns(path: string): Map<string, TsharkFlow> {
  const out = execFileSync(
    'tshark',
    ['-r', path, '-Y', 'udp.port==53 || tcp.port==53', '-T', 'fields', '-E', 'separator=/t', '-E', 'occurrence=a', '-E', 'aggregator=|',
      '-e', 'ip.src', '-e', 'ipv6.src', '-e', 'ip.dst', '-e', 'ipv6.dst', '-e', 'udp.srcport', '-e', 'udp.dstport', '-e', 'tcp.srcport', '-e', 'tcp.dstport',
      '-e', 'dns.flags.response', '-e', 'dns.qry.name', '-e', 'dns.flags.rcode', '-e', 'dns.a', '-e', 'dns.aaaa',
      '-e', 'dns.count.answers', '-e', 'dns.count.auth_rr', '-e', 'dns.count.add_rr', '-e', 'dns.resp.type'],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 64 << 20 },
  );
  const flows = new Map<string, TsharkFlow>();
  const last = (s: string | undefined): string => (s ?? '').split('|').filter(Boolean).pop() ?? '';
  for (const line of out.split('\n')) {
    if (!line) continue;
    const f = line.split('\t');
    const src = last(f[0]) || last(f[1]);
    const dst = last(f[2]) || last(f[3]);
    const tcp = !!f[6];
    const sp = Number(last(tcp ? f[6] : f[4]));
    const dp = Number(last(tcp ? f[7] : f[5]));
    const resp = (f[8] ?? '').split('|').filter(Boolean);
    if (resp.length === 0) continue;
    const key = flowKey(tcp ? 'tcp' : 'udp', { ip: canonIp(src), port: sp }, { ip: canonIp(dst), port: dp });
    let fl = flows.get(key);
    if (!fl) flows.set(key, (fl = { queries: 0, responses: 0, nxdomain: 0, firstName: undefined, ips: new Set() }));
    const names = (f[9] ?? '').split('|');
    fl.firstName ??= names[0] === '<Root>' ? '.' : names[0] || undefined;
    for (const r of resp) {
      if (r === '1' || r === 'True') fl.responses++;
      else fl.queries++;
    }
    for (const rc of (f[10] ?? '').split('|')) if (rc === '3') fl.nxdomain++;
    // A/AAAA of the answer sections only: walk each message's record types in order (answers
    // first, then authority and additional) to know which A/AAAA values are answers.
    const types = (f[16] ?? '').split('|').filter(Boolean);
    const a = (f[11] ?? '').split('|').filter(Boolean);
    const aaaa = (f[12] ?? '').split('|').filter(Boolean);
    const an = (f[13] ?? '').split('|');
    const ns = (f[14] ?? '').split('|');
    const ar = (f[15] ?? '').split('|');
    let ti = 0;
    let ai = 0;
    let bi = 0;
    for (let mi = 0; mi < an.length; mi++) {
      const total = Number(an[mi] || 0) + Number(ns[mi] || 0) + Number(ar[mi] || 0);
      for (let k = 0; k < total && ti < types.length; k++, ti++) {
        const ty = types[ti];
        if (ty === '1') {
          if (k < Number(an[mi] || 0) && a[ai]) fl.ips.add(a[ai]!);
          ai++;
        } else if (ty === '28') {
          if (k < Number(an[mi] || 0) && aaaa[bi]) fl.ips.add(aaaa[bi]!);
          bi++;
        }
      }
    }
  }
  return flows;
}

/** RFC 5952 text for IPv6 (nDPI prints a single zero group as '::', which RFC 5952 §4.2.2 forbids). */
function canonIp(ip: string): string {
  return ip.includes(':') ? new URL(`http://[${ip}]/`).hostname.slice(1, -1) : ip;
}

function recordKey(r: FlowRecord): string {
  return flowKey(r.transport, { ip: canonIp(r.client.ip), port: r.client.port }, { ip: canonIp(r.server.ip), port: r.server.port });
}

const TSHARK_FILES = [
  ...['dns.pcap', 'dns-google-nsid.pcapng', 'dns-tunnel-iodine.pcap', 'dns2tcp_tunnel.pcap', 'dns_ambiguous_names.pcap', 'dns_exfiltration.pcap',
    'dns_fragmented.pcap', 'dns_invert_query.pcapng', 'googledns_android10.pcap', 'mullvad_dns.pcap', 'netbios_wildcard_dns_query.pcap', 'avast_securedns.pcapng',
    'dnscrypt-v1-and-resolver-pings.pcap', 'anydesk.pcapng', 'tk.pcap', 'iphone.pcap', 'android.pcap'].map((f) => `${NDPI}pcap/${f}`),
  ...['dns_udp.pcap', 'dns_tcp.pcap', 'dns_udp_2.pcap', 'dns-uri.pcap', 'dns-badcookie.pcap', 'dns-badvers.pcap'].map((f) => `${TCPDUMP}${f}`),
  ...['iodine.pcap', 'dnscat2.pcap', 'dns2tcp.pcap', 'sods.pcap'].map((f) => `${CORPORA}attacks/dns-tunnel-dmachard/${f}`),
];

t.test('per-flow DNS facts agree with tshark', async (t) => {
  const rows: string[] = [];
  let total = 0;
  let agree = 0;
  for (const path of TSHARK_FILES) {
    const ts = tsharkDns(path);
    const run = await runCapture(path, { dissectors: [dnsDissector] });
    const ours = new Map<string, DnsMeta[]>();
    for (const r of run.records) {
      const m = r.app.dns as DnsMeta | undefined;
      if (!m) continue;
      const k = recordKey(r);
      ours.set(k, [...(ours.get(k) ?? []), m]);
    }
    let fileAgree = 0;
    const bad: string[] = [];
    for (const [k, f] of ts) {
      const ms = ours.get(k) ?? [];
      const q = ms.reduce((a, m) => a + m.queryCount, 0);
      const rs = ms.reduce((a, m) => a + m.responseCount, 0);
      const nx = ms.reduce((a, m) => a + m.nxdomain, 0);
      const ips = new Set(ms.flatMap((m) => m.resolvedIps));
      const firstName = ms[0]?.question?.name;
      const ipsOk = f.ips.size <= DNS_LIMITS.maxResolvedIps ? ips.size === f.ips.size && [...ips].every((x) => f.ips.has(x)) : [...ips].every((x) => f.ips.has(x));
      const ok = ms.length > 0 && q === f.queries && rs === f.responses && nx === f.nxdomain && firstName === f.firstName && ipsOk;
      if (ok) fileAgree++;
      else if (bad.length < 3) bad.push(`${k}: tshark q=${f.queries} r=${f.responses} nx=${f.nxdomain} name=${f.firstName} ips=${f.ips.size} / picket q=${q} r=${rs} nx=${nx} name=${firstName} ips=${ips.size}`);
    }
    total += ts.size;
    agree += fileAgree;
    rows.push(`${path.replace(CORPORA, '').padEnd(60)} ${String(fileAgree).padStart(4)}/${ts.size}${bad.length ? `  e.g. ${bad.join('; ')}` : ''}`);
  }
  t.comment(`DNS per-flow agreement with tshark (queries, responses, NXDOMAIN, first name, A/AAAA set):\n${rows.join('\n')}\nTOTAL ${agree}/${total}`);
  t.ok(total > 500, `compared ${total} flows`);
  t.equal(agree, total, 'every flow agrees with tshark');
});

t.test('classification agrees with nDPI on every DNS flow of the nDPI results', async (t) => {
  const files = readFileSync(`${NDPI}MANIFEST.tsv`, 'utf8').split('\n').slice(1).map((l) => l.split('\t')[0]!).filter(Boolean);
  let ndpiDns = 0;
  let bothDns = 0;
  let oursOnly = 0;
  let byPort = 0;
  const misses: string[] = [];
  for (const f of files) {
    let flows;
    try {
      flows = readNdpiOut(`${NDPI}result/${f}.out`);
    } catch {
      continue;
    }
    const dnsFlows = flows.filter((x) => x.master === 'DNS');
    const anyPort53 = flows.some((x) => x.a.port === 53 || x.b.port === 53);
    if (dnsFlows.length === 0 && !anyPort53) continue;
    const run = await runCapture(`${NDPI}pcap/${f}`, { dissectors: [dnsDissector] });
    const oursByKey = new Map<string, boolean>();
    for (const r of run.records) oursByKey.set(recordKey(r), (oursByKey.get(recordKey(r)) ?? false) || r.appProtocol === 'dns');
    for (const x of flows) {
      const k = flowKey(x.transport, { ip: canonIp(x.a.ip), port: x.a.port }, { ip: canonIp(x.b.ip), port: x.b.port });
      const we = oursByKey.get(k) ?? false;
      // nDPI's port guesses (no payload, or payload that is not DNS) are not DPI results.
      if (x.raw.includes('Confidence: Match by port')) {
        if (x.master === 'DNS') byPort++;
        continue;
      }
      if (x.master === 'DNS') {
        ndpiDns++;
        if (we) bothDns++;
        else if (misses.length < 5) misses.push(`${f}: ${k}`);
      } else if (we) oursOnly++;
    }
  }
  t.comment(`nDPI port guesses left out: ${byPort}; nDPI says DNS (DPI): ${ndpiDns}; Picket says dns on ${bothDns} of them; Picket dns where nDPI says otherwise: ${oursOnly}${misses.length ? `; missed e.g. ${misses.join(', ')}` : ''}`);
  t.ok(ndpiDns >= 300, `nDPI DNS flows found: ${ndpiDns}`);
  t.equal(bothDns, ndpiDns, 'agreement N/N');
  t.equal(oursOnly, 0, 'no flow called dns that nDPI calls something else');
});

t.test('malformed DNS in the corpora is flagged, not followed', async (t) => {
  const fwd = await runCapture(`${TCPDUMP}dns_fwdptr.pcap`, { dissectors: [dnsDissector] });
  t.equal(fwd.dissect.counters.get('dns.malformed.name.forward_pointer'), 1, 'tcpdump dns_fwdptr: forward pointer flagged');
  const badlabel = await runCapture(`${TCPDUMP}dns-badlabel.pcap`, { dissectors: [dnsDissector] });
  t.ok((badlabel.dissect.counters.get('dns.malformed.name.too_long') ?? 0) + (badlabel.dissect.counters.get('dns.malformed.name.label_too_long') ?? 0) >= 1, 'tcpdump dns-badlabel flagged');
  const mal = await runCapture(`${NDPI}pcap/malformed_dns.pcap`, { dissectors: [dnsDissector] });
  const flagged = mal.records.filter((r) => ((r.app.dns as DnsMeta | undefined)?.malformed.length ?? 0) > 0);
  t.ok(flagged.length >= 1, 'nDPI malformed_dns.pcap: the malformed flow is flagged');
  t.equal(mal.dissect.counters.get('dns.internal_error'), undefined);
  const fuzz = await runCapture(`${NDPI}pcap/fuzz-2006-06-26-2594.pcap`, { dissectors: [dnsDissector] });
  t.equal(fuzz.dissect.counters.get('dns.internal_error'), undefined, 'fuzzed capture: no dissector error');
  t.ok((fuzz.dissect.counters.get('dns.malformed.name.label_too_long') ?? 0) > 0);
});

t.test('ECS output through the real pipeline', async (t) => {
  const run = await runCapture(`${TCPDUMP}dns_tcp.pcap`, { dissectors: [dnsDissector] });
  const rec = run.ecs.find((e) => (e as { dns?: unknown }).dns) as Record<string, any>;
  t.equal(rec.network.protocol, 'dns');
  t.equal(rec.dns.question.name, 'www.tcpdump.org');
  t.equal(rec.picket.dns.transport, 'tcp');
  t.ok(rec.dns.resolved_ip.length >= 1);
  t.equal(run.events.filter((e) => e.type === 'dns.query').length, 1);
});
