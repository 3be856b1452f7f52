import t from 'tap';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { runCapture } from './helpers/run-capture.js';
import { readNdpiOut, flowKey } from './helpers/ndpi-out.js';
import { driveDissector } from './helpers/dissect-driver.js';
import { DISSECTORS } from '../agent/dissect/registry.js';
import { rmmDissector, RMM_TOOLS, type RmmMeta } from '../agent/dissect/rmm/index.js';
import type { FlowRecord } from '../agent/flow/flow-record.js';

const CORPORA = fileURLToPath(new URL('../../shared/corpora/', import.meta.url));
const NDPI = `${CORPORA}ndpi/`;

/** nDPI protocol/app name → Picket tool id. */
const NDPI_TO_TOOL: Record<string, string> = { AnyDesk: 'anydesk', TeamViewer: 'teamviewer', RDP: 'rdp', VNC: 'vnc', NoMachine: 'nomachine', Radmin: 'radmin' };

function toolOfNdpi(protoName: string): string | undefined {
  for (const part of protoName.split('.').reverse()) if (NDPI_TO_TOOL[part]) return NDPI_TO_TOOL[part];
  return undefined;
}

function key(r: FlowRecord): string {
  return flowKey(r.transport, r.client, r.server);
}

t.test('RMM captures of the nDPI corpus are recognised with the right tool', async (t) => {
  t.equal(DISSECTORS.at(-1), rmmDissector, 'the RMM classifier is last in the registry');
  const files = readFileSync(`${NDPI}MANIFEST.tsv`, 'utf8').split('\n').filter((l) => /\trmm/.test(l)).map((l) => l.split('\t')[0]!);
  t.ok(files.length >= 7);
  const rows: string[] = [];
  let want = 0;
  let got = 0;
  const seen = new Set<string>();
  for (const f of files) {
    const run = await runCapture(`${NDPI}pcap/${f}`);
    const ours = new Map(run.records.map((r) => [key(r), r]));
    for (const x of readNdpiOut(`${NDPI}result/${f}.out`)) {
      const tool = toolOfNdpi(x.protoName);
      if (!tool || x.raw.includes('Confidence: Match by port')) continue;
      want++;
      const rec = ours.get(flowKey(x.transport, x.a, x.b));
      const m = rec?.app.rmm as RmmMeta | undefined;
      if (m?.tool === tool) {
        got++;
        seen.add(tool);
      }
      rows.push(`${f.padEnd(20)} ${x.transport} ${String(x.b.port).padEnd(6)} nDPI ${x.protoName.padEnd(14)} Picket ${(m?.tool ?? '-').padEnd(11)} ${m?.signal ?? ''}`);
    }
    t.equal(run.dissect.counters.get('rmm.internal_error'), undefined);
  }
  t.comment(`RMM agreement with nDPI (DPI results):\n${rows.join('\n')}\n${got}/${want}`);
  t.ok(want >= 15, `${want} nDPI RMM flows`);
  t.equal(got, want, 'every nDPI RMM flow gets the same tool');
  t.same([...seen].sort(), ['anydesk', 'nomachine', 'radmin', 'rdp', 'teamviewer', 'vnc'], 'six tools seen in real captures');
  // rdp_over_tls.pcap's nDPI line carries a VLAN tag the .out reader skips: checked directly.
  const tls = await runCapture(`${NDPI}pcap/rdp_over_tls.pcap`);
  t.match(tls.records[0]!.app.rmm, { tool: 'rdp', signal: 'payload:rdp-x224' }, 'RDP over TLS (nDPI: TLS.RDP)');
});

t.test('network.protocol and rmm.session events from real captures', async (t) => {
  const run = await runCapture(`${NDPI}pcap/rdp.pcap`);
  const e = run.ecs[0] as Record<string, any>;
  // TLS follows the X.224 negotiation: when the TLS dissector recognises it, the flow is tls
  // with the tool rdp (nDPI: TLS.RDP); otherwise the RMM classifier names the protocol rdp.
  t.equal(e.network.protocol, run.records[0]!.app.tls ? 'tls' : 'rdp');
  t.match(e.picket.rmm, { tool: 'rdp', signal: 'payload:rdp-x224', confidence: 'high' });
  const ev = run.events.filter((x) => x.type === 'rmm.session');
  t.equal(ev.length, 1);
  t.match(ev[0]!.data, { tool: 'rdp', serverPort: 3389 });
  const ad = await runCapture(`${NDPI}pcap/anydesk.pcapng`);
  const dnsRmm = ad.ecs.filter((x: any) => x.network.protocol === 'dns' && x.picket.rmm);
  t.equal(dnsRmm.length, 2, 'AnyDesk relay lookups stay dns flows, tagged with the tool');
  t.match((dnsRmm[0] as any).picket.rmm, { tool: 'anydesk', signal: 'dns:*.anydesk.com' });
});

t.test('no RMM tool on the non-RMM captures of the JA4 corpus', async (t) => {
  const files = readFileSync(`${CORPORA}ja4/expected/JA4_GROUND_TRUTH_rust.tsv`, 'utf8').split('\n').slice(1).map((l) => l.split('\t')[0]!).filter(Boolean);
  const unique = [...new Set(files)];
  let flows = 0;
  const hits: string[] = [];
  for (const f of unique) {
    const run = await runCapture(`${CORPORA}ja4/pcap/${f}`);
    for (const r of run.records) {
      flows++;
      const m = r.app.rmm as RmmMeta | undefined;
      if (m) hits.push(`${f} ${r.server.port} ${m.tool} ${m.signal}`);
    }
  }
  t.comment(`${flows} flows, RMM hits: ${hits.join('; ') || 'none'}`);
  t.ok(flows > 100);
  t.same(hits, [], 'none of these flows is a remote-access tool');
});

// ---------- tools without public captures: metadata and payloads built from the documented facts ----------

function example(pattern: string): string {
  return pattern.startsWith('*.') ? `relay-7.${pattern.slice(2)}` : pattern;
}

const ONE_BYTE = [{ dir: 0 as const, bytes: Uint8Array.of(0) }];

t.test('every tool with domains is recognised from TLS SNI, QUIC SNI, DNS names and HTTP hosts', async (t) => {
  t.ok(RMM_TOOLS.length >= 12, `${RMM_TOOLS.length} tools`);
  for (const tool of RMM_TOOLS) {
    t.ok(tool.sources.length > 0 && tool.sources.every((s) => s.startsWith('https://')), `${tool.tool}: sources given`);
    for (const pattern of tool.domains ?? []) {
      const name = example(pattern);
      const cases: Array<[Record<string, unknown>, string]> = [
        [{ tls: { sni: name, alpn: [], serverCertificates: [] } }, `sni:${pattern}`],
        [{ quic: { sni: name, alpn: ['h3'] } }, `quic.sni:${pattern}`],
        [{ dns: { queries: [{ name: name.toUpperCase(), type: 'A' }] } }, `dns:${pattern}`],
        [{ http: { transactions: [{ host: `${name}:443` }] } }, `http.host:${pattern}`],
      ];
      for (const [app, signal] of cases) {
        const r = driveDissector<RmmMeta>(rmmDissector, { protocol: 6, serverPort: 443 }, ONE_BYTE, app);
        if (r.meta?.tool !== tool.tool || r.meta.signal !== signal) t.fail(`${name} via ${signal}: got ${JSON.stringify(r.meta)}`);
      }
    }
  }
  t.pass('all domain rules checked');
  const sc = driveDissector<RmmMeta>(rmmDissector, { protocol: 6, serverPort: 443 }, ONE_BYTE, { tls: { sni: 'instance-x.screenconnect.com', alpn: [], serverCertificates: [] } });
  t.match(sc.meta, { tool: 'screenconnect', signal: 'sni:*.screenconnect.com', confidence: 'high' });
  const lookalike = driveDissector<RmmMeta>(rmmDissector, { protocol: 6, serverPort: 443 }, ONE_BYTE, { tls: { sni: 'notscreenconnect.com.evil.example', alpn: [] } });
  t.equal(lookalike.meta, undefined, 'suffix matching is by label, not substring');
  const zoho = driveDissector<RmmMeta>(rmmDissector, { protocol: 6, serverPort: 443 }, ONE_BYTE, { tls: { sni: 'mail.zoho.com', alpn: [] } });
  t.equal(zoho.meta, undefined, 'only Zoho Assist names, not all of zoho.com');
});

t.test('certificates, ALPN, user agents and ports', async (t) => {
  const cert = driveDissector<RmmMeta>(rmmDissector, { protocol: 6, serverPort: 443 }, ONE_BYTE, {
    tls: { alpn: [], serverCertificates: [{ subjectCN: 'AnyDesk Client', issuerCN: 'AnyDesk Client', san: [], subjectO: [], issuerO: [] }] },
  });
  t.match(cert.meta, { tool: 'anydesk', signal: 'cert:CN=AnyDesk Client' });
  const san = driveDissector<RmmMeta>(rmmDissector, { protocol: 6, serverPort: 443 }, ONE_BYTE, { tls: { alpn: [], serverCertificates: [{ san: ['*.splashtop.com'] }] } });
  t.match(san.meta, { tool: 'splashtop', signal: 'cert:SAN=*.splashtop.com' });
  const alpn = driveDissector<RmmMeta>(rmmDissector, { protocol: 6, serverPort: 443 }, ONE_BYTE, { tls: { alpn: ['anydesk/8.0.0/windows'] } });
  t.match(alpn.meta, { tool: 'anydesk', signal: 'alpn:anydesk/8.0.0/windows' });
  const ua = driveDissector<RmmMeta>(rmmDissector, { protocol: 6, serverPort: 80 }, ONE_BYTE, { http: { transactions: [{ host: 'example.org', userAgent: 'AnyDesk/7.1.0' }] } });
  t.match(ua.meta, { tool: 'anydesk', signal: 'http.user_agent:anydesk/', confidence: 'medium' });
  const port = driveDissector<RmmMeta>(rmmDissector, { protocol: 6, serverPort: 21117 }, ONE_BYTE);
  t.match(port.meta, { tool: 'rustdesk', signal: 'port:21117', confidence: 'low' });
  const weak = driveDissector<RmmMeta>(rmmDissector, { protocol: 6, serverPort: 21117 }, ONE_BYTE, {}) ;
  weak.record.s2c.payloadBytes = 0;
  t.equal(rmmDissector.finish(rmmDissector.create({ flow: { uid: 'x', protocol: 6, ipVersion: 4, clientPort: 1, serverPort: 21117 }, count() {}, emit() {} }), weak.record, { flow: { uid: 'x', protocol: 6, ipVersion: 4, clientPort: 1, serverPort: 21117 }, count() {}, emit() {} }), undefined, 'a port alone without a two-way exchange (a scan) is no RMM session');
});

function rdpConnectionRequest(cookie: string): number[] {
  const body = [...Buffer.from(`Cookie: mstshash=${cookie}\r\n`), 0x01, 0x00, 0x08, 0x00, 0x03, 0x00, 0x00, 0x00];
  const li = 6 + body.length;
  const total = 5 + li;
  return [3, 0, total >> 8, total & 0xff, li, 0xe0, 0, 0, 0, 0, 0, ...body];
}

t.test('payload signatures, any chunking of the stream', async (t) => {
  const cases: Array<[string, number, number[], number[], string]> = [
    ['rdp', 3390, rdpConnectionRequest('admin'), [3, 0, 0, 19, 14, 0xd0, 0, 0, 0x12, 0x34, 0, 2, 0x1f, 8, 0, 2, 0, 0, 0], 'rdp-x224'],
    ['vnc', 5999, [...Buffer.from('RFB 003.008\n')], [...Buffer.from('RFB 003.008\n')], 'vnc-rfb'],
    ['nomachine', 4001, [...Buffer.from('NXSH-8.10.1\n')], [...Buffer.from('NXD-8.10.1\n')], 'nomachine-nx'],
    ['radmin', 4900, [1, 0, 0, 0, 1, 0, 0, 0, 8, 8], [1, 0, 0, 0, 0x25, 0, 0, 2, 0x12, 8, 2, 0, 0, 0x0a, ...new Array(32).fill(0)], 'radmin-handshake'],
    ['teamviewer', 443, [0x17, 0x24, 0x0a, 0x20, ...new Array(40).fill(1)], [0x17, 0x24, 0x0c, 0x20, ...new Array(40).fill(2)], 'teamviewer-header'],
  ];
  for (const [tool, port, c2s, s2c, sig] of cases) {
    const whole = driveDissector<RmmMeta>(rmmDissector, { protocol: 6, serverPort: port }, [
      { dir: 0, bytes: Uint8Array.from(c2s) },
      { dir: 1, bytes: Uint8Array.from(s2c) },
    ]);
    t.match(whole.meta, { tool, signal: `payload:${sig}`, confidence: 'high' }, tool);
    for (let size = 1; size <= 7; size += 3) {
      const chunks: Array<{ dir: 0 | 1; bytes: Uint8Array }> = [];
      for (const [dir, s] of [[0, c2s], [1, s2c]] as const) for (let p = 0; p < s.length; p += size) chunks.push({ dir, bytes: Uint8Array.from(s.slice(p, p + size)) });
      t.same(driveDissector<RmmMeta>(rmmDissector, { protocol: 6, serverPort: port }, chunks).meta, whole.meta, `${tool} in ${size}-byte chunks`);
    }
  }
  // A certificate string split across two chunks is still found.
  const tls = [0x16, 3, 3, 0, 200, ...new Array(40).fill(0), ...Buffer.from('AnyDesk Client'), ...new Array(40).fill(0)];
  const split = driveDissector<RmmMeta>(rmmDissector, { protocol: 6, serverPort: 443 }, [
    { dir: 1, bytes: Uint8Array.from(tls.slice(0, 50)) },
    { dir: 1, bytes: Uint8Array.from(tls.slice(50)) },
  ]);
  t.match(split.meta, { tool: 'anydesk', signal: 'payload:anydesk-certificate' });
  const teamviewerOneSide = driveDissector<RmmMeta>(rmmDissector, { protocol: 6, serverPort: 443 }, [{ dir: 0, bytes: Uint8Array.from([0x17, 0x24, ...new Array(40).fill(0)]) }]);
  t.equal(teamviewerOneSide.meta, undefined, 'two bytes on one side off port 5938 are not enough');
  const http = driveDissector<RmmMeta>(rmmDissector, { protocol: 6, serverPort: 80 }, [{ dir: 0, bytes: Buffer.from('GET / HTTP/1.1\r\nHost: example.org\r\n\r\n') }]);
  t.equal(http.meta, undefined);
});
