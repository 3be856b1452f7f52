import { createHash } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';

/**
 * Community ID v1 flow hash (Corelight's community-id-spec), so Picket records join with Zeek,
 * Suricata and Elastic by one string. Computed once per exported flow record, never per packet.
 *
 * For ICMP/ICMPv6, pass the message type as `sport` and the code as `dport`; the spec's mapping
 * of request/reply pairs to "port equivalents" is applied here.
 */

const PROTO_ICMP = 1;
const PROTO_TCP = 6;
const PROTO_UDP = 17;
const PROTO_ICMP6 = 58;
const PROTO_SCTP = 132;

/** Request/reply counterparts (spec: ICMP4_counterpart); a type missing here is one-way. */
const ICMP4_COUNTERPART: ReadonlyMap<number, number> = new Map([
  [8, 0], [0, 8], // echo
  [13, 14], [14, 13], // timestamp
  [15, 16], [16, 15], // information
  [10, 9], // router solicitation → advertisement (the advertisement alone is one-way, as in the spec)
  [17, 18], [18, 17], // address mask
]);

const ICMP6_COUNTERPART: ReadonlyMap<number, number> = new Map([
  [128, 129], [129, 128], // echo
  [133, 134], [134, 133], // router solicitation / advertisement
  [135, 136], [136, 135], // neighbor solicitation / advertisement
  [130, 131], [131, 130], // MLD query / report
  [139, 140], [140, 139], // node information (WRU)
  [144, 145], [145, 144], // home agent address discovery
]);

function lessThan(a: Uint8Array, b: Uint8Array, pa: number, pb: number): boolean {
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x !== y) return x < y;
  }
  return pa < pb;
}

/**
 * The Community ID string for a flow. `src`/`dst` are 4 or 16 address bytes in network order.
 * Ports are ignored for protocols without them (anything but TCP, UDP, SCTP, ICMP, ICMPv6).
 */
export function communityId(
  src: Uint8Array,
  dst: Uint8Array,
  proto: number,
  sport: number,
  dport: number,
  seed = 0,
): string {
  const hasPorts =
    proto === PROTO_TCP || proto === PROTO_UDP || proto === PROTO_SCTP || proto === PROTO_ICMP || proto === PROTO_ICMP6;
  let oneWay = false;
  if (proto === PROTO_ICMP || proto === PROTO_ICMP6) {
    const table = proto === PROTO_ICMP ? ICMP4_COUNTERPART : ICMP6_COUNTERPART;
    const counterpart = table.get(sport);
    if (counterpart === undefined) oneWay = true;
    else dport = counterpart;
  }
  let a = src;
  let b = dst;
  let pa = hasPorts ? sport : 0;
  let pb = hasPorts ? dport : 0;
  if (!oneWay && !lessThan(a, b, pa, pb)) {
    [a, b] = [b, a];
    [pa, pb] = [pb, pa];
  }
  const buf = Buffer.alloc(2 + a.length * 2 + 2 + (hasPorts ? 4 : 0));
  let o = buf.writeUInt16BE(seed & 0xffff, 0);
  buf.set(a, o);
  o += a.length;
  buf.set(b, o);
  o += b.length;
  buf[o++] = proto & 0xff;
  buf[o++] = 0;
  if (hasPorts) {
    o = buf.writeUInt16BE(pa & 0xffff, o);
    buf.writeUInt16BE(pb & 0xffff, o);
  }
  return '1:' + createHash('sha1').update(buf).digest('base64');
}

/** Parses a textual IPv4/IPv6 address into network-order bytes; undefined when it is neither. */
export function ipToBytes(ip: string): Uint8Array | undefined {
  if (isIPv4(ip)) return Uint8Array.from(ip.split('.').map(Number));
  if (!isIPv6(ip)) return undefined;
  let text = ip;
  const out = new Uint8Array(16);
  // An embedded dotted quad (::ffff:1.2.3.4) becomes two hex groups.
  const lastColon = text.lastIndexOf(':');
  const tail = text.slice(lastColon + 1);
  if (tail.includes('.')) {
    const q = tail.split('.').map(Number);
    text = `${text.slice(0, lastColon + 1)}${((q[0]! << 8) | q[1]!).toString(16)}:${((q[2]! << 8) | q[3]!).toString(16)}`;
  }
  const [head = '', rest] = text.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = rest === undefined || rest === '' ? [] : rest.split(':');
  const groups = rest === undefined ? left : [...left, ...new Array<string>(8 - left.length - right.length).fill('0'), ...right];
  groups.forEach((g, i) => {
    const v = parseInt(g, 16);
    out[i * 2] = v >> 8;
    out[i * 2 + 1] = v & 0xff;
  });
  return out;
}

/** Community ID from textual addresses (NetFlow records, tests). */
export function communityIdFromText(srcIp: string, dstIp: string, proto: number, sport: number, dport: number, seed = 0): string {
  const s = ipToBytes(srcIp);
  const d = ipToBytes(dstIp);
  if (!s || !d || s.length !== d.length) return '';
  return communityId(s, d, proto, sport, dport, seed);
}
