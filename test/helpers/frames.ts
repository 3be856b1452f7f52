/**
 * Builds real wire-format frames for tests that need packets no capture has (timeouts, evictions,
 * odd link types). Checksums are left zero: nothing in Picket validates them.
 */

export interface TcpSpec {
  src: string;
  dst: string;
  sport: number;
  dport: number;
  flags: string; // letters from "FSRPAUEC", e.g. "S", "SA", "A", "PA", "F", "R"
  seq?: number;
  ack?: number;
  payload?: Uint8Array | string;
  window?: number;
  /** Raw TCP options (padded to 4 bytes here). */
  options?: number[];
}

export interface UdpSpec {
  src: string;
  dst: string;
  sport: number;
  dport: number;
  payload?: Uint8Array | string;
}

const FLAG_BITS: Record<string, number> = { F: 1, S: 2, R: 4, P: 8, A: 16, U: 32, E: 64, C: 128 };

function bytesOf(p: Uint8Array | string | undefined): Uint8Array {
  if (p === undefined) return new Uint8Array(0);
  return typeof p === 'string' ? new TextEncoder().encode(p) : p;
}

function v4(ip: string): number[] {
  return ip.split('.').map(Number);
}

function v6(ip: string): number[] {
  const [head = '', tail] = ip.split('::');
  const l = head ? head.split(':') : [];
  const r = tail ? tail.split(':') : [];
  const groups = tail === undefined ? l : [...l, ...Array<string>(8 - l.length - r.length).fill('0'), ...r];
  return groups.flatMap((g) => {
    const v = parseInt(g, 16);
    return [v >> 8, v & 0xff];
  });
}

function ipHeader(src: string, dst: string, proto: number, payloadLen: number, id = 1): number[] {
  if (src.includes(':')) {
    return [0x60, 0, 0, 0, payloadLen >> 8, payloadLen & 0xff, proto, 64, ...v6(src), ...v6(dst)];
  }
  const total = 20 + payloadLen;
  return [0x45, 0, total >> 8, total & 0xff, id >> 8, id & 0xff, 0x40, 0, 64, proto, 0, 0, ...v4(src), ...v4(dst)];
}

function ethernet(ipVersion: 4 | 6, l3: number[]): Uint8Array {
  const type = ipVersion === 6 ? [0x86, 0xdd] : [0x08, 0x00];
  return Uint8Array.from([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, ...type, ...l3]);
}

export function tcpFrame(s: TcpSpec): Uint8Array {
  const payload = bytesOf(s.payload);
  const opts = [...(s.options ?? [])];
  while (opts.length % 4) opts.push(0);
  const hl = 20 + opts.length;
  let flags = 0;
  for (const ch of s.flags) flags |= FLAG_BITS[ch] ?? 0;
  const seq = s.seq ?? 1000;
  const ack = s.ack ?? 0;
  const win = s.window ?? 65535;
  const tcp = [
    s.sport >> 8, s.sport & 0xff, s.dport >> 8, s.dport & 0xff,
    (seq >>> 24) & 0xff, (seq >>> 16) & 0xff, (seq >>> 8) & 0xff, seq & 0xff,
    (ack >>> 24) & 0xff, (ack >>> 16) & 0xff, (ack >>> 8) & 0xff, ack & 0xff,
    (hl / 4) << 4, flags, win >> 8, win & 0xff, 0, 0, 0, 0, ...opts, ...payload,
  ];
  return ethernet(s.src.includes(':') ? 6 : 4, [...ipHeader(s.src, s.dst, 6, tcp.length), ...tcp]);
}

export function udpFrame(s: UdpSpec): Uint8Array {
  const payload = bytesOf(s.payload);
  const len = 8 + payload.length;
  const udp = [s.sport >> 8, s.sport & 0xff, s.dport >> 8, s.dport & 0xff, len >> 8, len & 0xff, 0, 0, ...payload];
  return ethernet(s.src.includes(':') ? 6 : 4, [...ipHeader(s.src, s.dst, 17, udp.length), ...udp]);
}

export function icmpEchoFrame(src: string, dst: string, reply: boolean, id = 1, seq = 1): Uint8Array {
  const icmp = [reply ? 0 : 8, 0, 0, 0, id >> 8, id & 0xff, seq >> 8, seq & 0xff];
  return ethernet(4, [...ipHeader(src, dst, 1, icmp.length), ...icmp]);
}
