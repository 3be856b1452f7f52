/**
 * Which addresses have no place on a world map: private, loopback, link-local, shared (CGNAT),
 * unique-local and similar ranges are "internal" (RFC 1918, RFC 6598, RFC 3927, RFC 4193,
 * RFC 4291); documentation, benchmarking, multicast and other reserved ranges are "reserved"
 * (RFC 5737, RFC 3849, RFC 2544, RFC 6890) and have no country either.
 */
import { BlockList, isIP } from 'node:net';

const internal = new BlockList();
for (const [net, bits] of [
  ['10.0.0.0', 8],
  ['172.16.0.0', 12],
  ['192.168.0.0', 16],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['100.64.0.0', 10],
  ['0.0.0.0', 8],
] as const) internal.addSubnet(net, bits, 'ipv4');
for (const [net, bits] of [
  ['::1', 128],
  ['::', 128],
  ['fc00::', 7],
  ['fe80::', 10],
] as const) internal.addSubnet(net, bits, 'ipv6');

const reserved = new BlockList();
for (const [net, bits] of [
  ['192.0.2.0', 24],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['198.18.0.0', 15],
  ['192.0.0.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) reserved.addSubnet(net, bits, 'ipv4');
for (const [net, bits] of [
  ['2001:db8::', 32],
  ['ff00::', 8],
] as const) reserved.addSubnet(net, bits, 'ipv6');

export type AddressClass = 'internal' | 'reserved' | 'public' | 'invalid';

/** Classifies a textual address; IPv4-mapped IPv6 (::ffff:a.b.c.d) is judged by its IPv4 part. */
export function classifyAddress(ip: string): AddressClass {
  let family = isIP(ip);
  let addr = ip;
  if (family === 6) {
    const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
    if (m) {
      addr = m[1]!;
      family = 4;
    }
  }
  if (family === 0) return 'invalid';
  const type = family === 4 ? 'ipv4' : 'ipv6';
  if (internal.check(addr, type)) return 'internal';
  if (reserved.check(addr, type)) return 'reserved';
  return 'public';
}
