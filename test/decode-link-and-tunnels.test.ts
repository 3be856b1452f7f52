import t, { type Test } from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openCapture } from '../agent/source/capture-file/open-capture.js';
import { RawPacket } from '../agent/source/raw-packet.js';
import { Decoder } from '../agent/decode/decoder.js';
import { ipv4ToString, ipv6ToString } from '../agent/util/ip-format.js';
import { TUNNEL_NAMES } from '../agent/decode/decoded-packet.js';
import { writePcap } from './helpers/pcap-writer.js';
import { tcpFrame, udpFrame } from './helpers/frames.js';

const C = '../shared/corpora';
const tmp = mkdtempSync(join(tmpdir(), 'picket-decode-'));

/** Per frame: "src dst sport dport" of the innermost IP packet as we decode it, or '' when skipped. */
function ours(path: string): { tuples: string[]; held: boolean[]; decoder: Decoder } {
  const r = openCapture(path);
  const p = new RawPacket();
  const d = new Decoder();
  const tuples: string[] = [];
  const held: boolean[] = [];
  while (r.next(p)) {
    const decoded = d.decode(p);
    held.push(!decoded && d.out.protocol === -1);
    if (!decoded) {
      tuples.push('');
      continue;
    }
    const o = d.out;
    const ip = (w: Uint32Array): string => (o.ipVersion === 4 ? ipv4ToString(w[0]!) : ipv6ToString(w[0]!, w[1]!, w[2]!, w[3]!));
    const ports = o.protocol === 6 || o.protocol === 17 ? `${o.sport} ${o.dport}` : '';
    tuples.push(`${ip(o.src)} ${ip(o.dst)} ${ports}`.trim());
  }
  r.close();
  return { tuples, held, decoder: d };
}

/** tshark's innermost addresses and ports per frame (frames with ICMP are left out: tshark shows the quoted packet). */
function theirs(path: string): Array<string | undefined> {
  const out = execFileSync(
    'tshark',
    ['-r', path, '-E', 'occurrence=l', '-T', 'fields', '-e', 'frame.protocols', '-e', 'ip.src', '-e', 'ip.dst', '-e', 'ipv6.src', '-e', 'ipv6.dst', '-e', 'tcp.srcport', '-e', 'tcp.dstport', '-e', 'udp.srcport', '-e', 'udp.dstport'],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
  );
  return out
    .split('\n')
    .slice(0, -1)
    .map((line) => {
      const [protos = '', s4, d4, s6, d6, ts, td, us, ud] = line.split('\t');
      const layers = protos.split(':');
      if (layers.some((l) => l.startsWith('icmp'))) return undefined;
      const last4 = layers.lastIndexOf('ip');
      const last6 = layers.lastIndexOf('ipv6');
      if (last4 < 0 && last6 < 0) return '';
      const v6 = last6 > last4;
      const src = v6 ? s6 : s4;
      const dst = v6 ? d6 : d4;
      const tcp = layers.lastIndexOf('tcp') > Math.max(last4, last6);
      const udp = layers.lastIndexOf('udp') > Math.max(last4, last6);
      const ports = tcp ? `${ts} ${td}` : udp ? `${us} ${ud}` : '';
      return `${src} ${dst} ${ports}`.trim();
    });
}

function agree(t: Test, path: string, note: string): Decoder {
  const a = ours(path);
  const b = theirs(path);
  t.equal(a.tuples.length, b.length, `${note}: frame count`);
  let same = 0;
  let compared = 0;
  const diffs: string[] = [];
  b.forEach((want, i) => {
    // A fragment we hold until its datagram completes shows in tshark without ports.
    if (want === undefined || (a.held[i] && want.split(' ').length === 2)) return;
    compared++;
    if (a.tuples[i] === want) same++;
    else if (diffs.length < 3) diffs.push(`#${i + 1}: ours "${a.tuples[i]}" tshark "${want}"`);
  });
  t.equal(same, compared, `${note}: innermost addresses/ports equal tshark's for ${compared} frames ${diffs.join('; ')}`);
  return a.decoder;
}

t.test('link types decode like tshark', async (t) => {
  agree(t, `${C}/ja4/pcap/tls12.pcap`, 'Ethernet');
  agree(t, `${C}/ndpi/pcap/ajp.pcap`, 'Ethernet + 802.1Q (and FabricPath frames skipped)');
  agree(t, `${C}/tcpdump/tests/bgp-orf.pcapng`, 'Linux cooked (SLL)');
  agree(t, `${C}/tcpdump/tests/quic_handshake.pcap`, 'BSD loopback (NULL)');
  agree(t, `${C}/tcpdump/tests/mptcp-tcprst.pcap`, 'raw IP (101)');
  agree(t, `${C}/tcpdump/tests/LINKTYPE_RAW_ipv6.pcap`, 'raw IPv6');
  agree(t, `${C}/tcpdump/tests/LINKTYPE_IPV4.pcap`, 'LINKTYPE_IPV4 (228)');
  agree(t, `${C}/tcpdump/tests/lspping-fec-ldp.pcap`, 'PPP');
  agree(t, `${C}/ndpi/pcap/http_ipv6.pcap`, 'IPv6');
});

t.test('Linux cooked v2 (SLL2) and OpenBSD loopback (LOOP) frames', async (t) => {
  const eth = tcpFrame({ src: '10.1.0.1', dst: '10.1.0.2', sport: 4000, dport: 443, flags: 'S' });
  const ip = eth.subarray(14);
  // SLL2: protocol(2) reserved(2) ifindex(4) hatype(2) pkttype(1) addrlen(1) addr(8)
  const sll2 = Uint8Array.from([0x08, 0x00, 0, 0, 0, 0, 0, 3, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0, ...ip]);
  const loop = Uint8Array.from([0, 0, 0, 2, ...ip]); // AF_INET in network byte order
  const nullLe = Uint8Array.from([30, 0, 0, 0, ...tcpFrame({ src: '2001:db8::1', dst: '2001:db8::2', sport: 1, dport: 2, flags: 'S' }).subarray(14)]);
  for (const [name, frame, link] of [['sll2', sll2, 276], ['loop', loop, 108], ['null-ipv6', nullLe, 0]] as const) {
    const path = join(tmp, `${name}.pcap`);
    writePcap(path, [{ tsUs: 1.7e15, frame }], link);
    const { tuples } = ours(path);
    t.equal(tuples.length, 1, name);
    t.match(tuples[0], /^(10\.1\.0\.1 10\.1\.0\.2 4000 443|2001:db8::1 2001:db8::2 1 2)$/, `${name} decodes`);
    if (name !== 'null-ipv6') t.equal(theirs(path)[0], tuples[0], `${name}: tshark agrees`);
  }
});

t.test('tunnels are opened to the inner flow', async (t) => {
  const cases: Array<[string, string]> = [
    [`${C}/ndpi/pcap/4in4tunnel.pcap`, 'ip-in-ip'],
    [`${C}/ndpi/pcap/6in4tunnel.pcap`, 'ip-in-ip'],
    [`${C}/ndpi/pcap/4in6tunnel.pcap`, 'ip-in-ip'],
    [`${C}/ndpi/pcap/gre.pcapng`, 'gre'],
    [`${C}/ndpi/pcap/vxlan.pcap`, 'vxlan'],
  ];
  for (const [path, kind] of cases) {
    const d = agree(t, path, kind);
    t.equal(TUNNEL_NAMES[d.out.tunnel], kind, `${path}: last packet came through ${kind}`);
  }
  // GTP-U: tshark shows the same innermost flow for user-plane packets.
  agree(t, `${C}/ndpi/pcap/dtls.pcap`, 'gtp-u');
});

t.test('IPv4 and IPv6 fragments are reassembled', async (t) => {
  const d = agree(t, `${C}/ndpi/pcap/dns_fragmented.pcap`, 'fragmented DNS');
  t.ok(d.stats.fragments > 0, 'fragments counted');
  t.ok(d.stats.reassembled > 0, 'datagrams reassembled');
  // Out-of-order fragments: reverse the fragments of a UDP datagram.
  const payload = new Uint8Array(3000).map((_, i) => i & 0xff);
  const full = udpFrame({ src: '10.2.0.1', dst: '10.2.0.2', sport: 5353, dport: 53, payload });
  const l4 = full.subarray(34); // after Ethernet + IPv4
  const frags: Uint8Array[] = [];
  for (let off = 0; off < l4.length; off += 1480) {
    const part = l4.subarray(off, Math.min(off + 1480, l4.length));
    const more = off + 1480 < l4.length;
    const ip = Uint8Array.from(full.subarray(14, 34));
    const total = 20 + part.length;
    ip[2] = total >> 8;
    ip[3] = total & 0xff;
    ip[4] = 0x12;
    ip[5] = 0x34;
    const fo = off / 8;
    ip[6] = (more ? 0x20 : 0) | (fo >> 8);
    ip[7] = fo & 0xff;
    frags.push(Uint8Array.from([...full.subarray(0, 14), ...ip, ...part]));
  }
  const path = join(tmp, 'frags-reversed.pcap');
  writePcap(path, frags.reverse().map((frame, i) => ({ tsUs: 1.7e15 + i, frame })));
  const r = ours(path);
  t.same(r.tuples, ['', '', '10.2.0.1 10.2.0.2 5353 53'], 'the last fragment to arrive completes the datagram');
  t.equal(r.decoder.out.payloadLen, 3000, 'whole UDP payload');
  t.equal(r.decoder.out.fragments, 3);
  t.equal(r.decoder.out.buf[r.decoder.out.payloadOff + 2999], 2999 & 0xff);
});

t.test('malformed headers are counted by kind and skipped', async (t) => {
  const good = tcpFrame({ src: '10.3.0.1', dst: '10.3.0.2', sport: 1, dport: 2, flags: 'S' });
  const badIhl = Uint8Array.from(good);
  badIhl[14] = 0x43; // IHL 3
  const badOffset = Uint8Array.from(good);
  badOffset[14 + 20 + 12] = 0x20; // TCP data offset 2
  const short = good.subarray(0, 14 + 20 + 10);
  const path = join(tmp, 'bad.pcap');
  writePcap(path, [badIhl, badOffset, short, good].map((frame, i) => ({ tsUs: 1.7e15 + i, frame })));
  const { tuples, decoder } = ours(path);
  t.same(tuples, ['', '', '', '10.3.0.1 10.3.0.2 1 2']);
  t.equal(decoder.stats.errors.get('ipv4.bad_header_length'), 1);
  t.equal(decoder.stats.errors.get('tcp.bad_data_offset'), 1);
  t.equal(decoder.stats.errors.get('tcp.truncated'), 1);
  const unknown = join(tmp, 'unknown-link.pcap');
  writePcap(unknown, [{ tsUs: 1, frame: good }], 147);
  const u = ours(unknown);
  t.equal(u.decoder.stats.unknownLinkTypes.get(147), 1, 'unknown link types are counted');
});
