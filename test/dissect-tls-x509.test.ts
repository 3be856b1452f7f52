/**
 * Certificates (TLS ≤ 1.2 Certificate messages, server and client side) against tshark's X.509
 * dissector on the same captures: per chain, the subjectAltName DNS names and IP addresses, serial numbers and
 * UTCTime validity bounds, in order. Needs the Debian package `tshark`.
 */
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { runCapture } from './helpers/run-capture.js';
import { tlsDissector, type TlsMeta, type TlsCertificate } from '../agent/dissect/tls/index.js';

const CAPTURES = [
  '../shared/corpora/ja4/pcap/tls-alpn-h2.pcap',
  '../shared/corpora/ja4/pcap/badcurveball.pcap',
  '../shared/corpora/ja4/pcap/browsers-x509.pcapng',
  '../shared/corpora/ndpi/pcap/443-git.pcap',
  '../shared/corpora/ndpi/pcap/443-firefox.pcap',
  '../shared/corpora/ndpi/pcap/tls-rdn-extract.pcap',
  '../shared/corpora/ndpi/pcap/webex.pcap',
  '../shared/corpora/ndpi/pcap/forticlient.pcap',
  '../shared/corpora/ndpi/pcap/anydesk.pcapng',
  '../shared/corpora/ndpi/pcap/tls_verylong_certificate.pcap',
  '../shared/corpora/ndpi/pcap/tls_certificate_too_long.pcap',
  '../shared/corpora/ndpi/pcap/pop3_stls.pcap',
];

const pad = (n: number): string => String(n).padStart(2, '0');
function utc(us: number): string {
  const d = new Date(us / 1000);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} (UTC)`;
}

function normIp(ip: string): string {
  if (!ip.includes(':')) return ip;
  const [h = '', tail] = ip.split('::');
  const a = h ? h.split(':') : [];
  const b = tail ? tail.split(':') : [];
  const z = tail === undefined ? [] : Array<string>(8 - a.length - b.length).fill('0');
  return [...a, ...z, ...b].map((g) => parseInt(g, 16).toString(16)).join(':');
}

t.test('certificate chains agree with tshark', async (t) => {
  const tally = { chains: 0, san: 0, serial: 0, validity: 0 };
  for (const pcap of CAPTURES) {
    let out = '';
    try {
      out = execFileSync(
        'tshark',
        ['-r', pcap, '-Y', 'tls.handshake.type == 11 && tcp', '-T', 'fields', '-E', 'occurrence=a', '-E', 'aggregator=|',
          '-e', 'ip.src', '-e', 'ipv6.src', '-e', 'tcp.srcport', '-e', 'ip.dst', '-e', 'ipv6.dst', '-e', 'tcp.dstport',
          '-e', 'x509ce.dNSName', '-e', 'x509ce.iPAddress', '-e', 'x509af.serialNumber', '-e', 'x509af.utcTime'],
        { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
      );
    } catch (err) {
      t.fail(`tshark is needed (apt-get install tshark): ${String(err)}`);
      return;
    }
    const run = await runCapture(pcap, { dissectors: [tlsDissector] });
    const byKey = new Map<string, TlsCertificate[]>();
    for (const r of run.records) {
      const m = r.app['tls'] as TlsMeta | undefined;
      const sk = `${normIp(r.server.ip)}|${r.server.port}|${normIp(r.client.ip)}|${r.client.port}`;
      const ck = `${normIp(r.client.ip)}|${r.client.port}|${normIp(r.server.ip)}|${r.server.port}`;
      if (m?.serverCertificates.length) byKey.set(sk, m.serverCertificates);
      if (m?.clientCertificates.length) byKey.set(ck, m.clientCertificates);
    }
    const seen = new Set<string>();
    // trimEnd: a first line may start with a tab (no ip.src for IPv6).
    for (const line of out.trimEnd().split('\n').filter(Boolean)) {
      const [s4, s6, sp, d4, d6, dp, dns = '', ips = '', serials = '', times = ''] = line.split('\t');
      const last = (v: string | undefined): string => (v ?? '').split('|').pop() ?? '';
      const key = `${normIp(last(s6) || last(s4))}|${last(sp)}|${normIp(last(d6) || last(d4))}|${last(dp)}`;
      if (seen.has(key)) continue; // the first Certificate message of a flow
      seen.add(key);
      const certs = byKey.get(key);
      const id = `${pcap.split('/').pop()} ${key}`;
      tally.chains++;
      if (!certs) {
        t.fail(`${id}: no certificates parsed`);
        continue;
      }
      const ourDns = certs.flatMap((c) => c.san.filter((s) => !/^[0-9.]+$/.test(s) && !s.includes(':')));
      const ourIps = certs.flatMap((c) => c.san.filter((s) => /^[0-9.]+$/.test(s) || s.includes(':')));
      const split = (v: string): string[] => (v ? v.split('|') : []);
      if (t.same(ourDns, split(dns), `${id}: SAN DNS names`) && t.same(ourIps, split(ips).map(normIp), `${id}: SAN IPs`)) tally.san++;
      // tshark shows the INTEGER's octets (sign padding included); we drop the padding octet.
      const theirs = split(serials).map((s) => s.toUpperCase().replace(/^00(?=[89A-F])/, ''));
      if (t.same(certs.map((c) => c.serial), theirs.slice(0, certs.length), `${id}: serials`)) tally.serial++;
      // UTCTime covers years before 2050 (RFC 5280 §4.1.2.5); later bounds are GeneralizedTime.
      const ours = certs.flatMap((c) => [c.notBeforeUs, c.notAfterUs]).filter((us): us is number => us !== undefined && new Date(us / 1000).getUTCFullYear() < 2050).map(utc);
      // tshark lists later UTCTimes too (e.g. of an OCSP response in CertificateStatus).
      if (t.same(ours, split(times).slice(0, ours.length), `${id}: validity`)) tally.validity++;
    }
  }
  t.comment(`chains ${tally.chains}: SANs ${tally.san}/${tally.chains}, serials ${tally.serial}/${tally.chains}, validity ${tally.validity}/${tally.chains}`);
  t.ok(tally.chains >= 20, 'enough certificate chains');
});
