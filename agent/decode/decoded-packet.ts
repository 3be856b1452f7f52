/** IANA protocol numbers used across stages. */
export const IPPROTO_ICMP = 1;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const IPPROTO_ICMPV6 = 58;

/** Tunnels the decoder opens to reach the inner packet. */
export const TUNNEL_NONE = 0;
export const TUNNEL_IPIP = 1;
export const TUNNEL_GRE = 2;
export const TUNNEL_VXLAN = 3;
export const TUNNEL_GTP = 4;
export const TUNNEL_GENEVE = 5;
export const TUNNEL_NAMES: readonly string[] = ['', 'ip-in-ip', 'gre', 'vxlan', 'gtp-u', 'geneve'];

/** TCP flag bits as in the header's flags byte. */
export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_PSH = 0x08;
export const TCP_ACK = 0x10;
export const TCP_URG = 0x20;
export const TCP_ECE = 0x40;
export const TCP_CWR = 0x80;

/**
 * The decoder's output for one packet. A single instance is reused for every packet; fields
 * that do not apply keep stale values, so always check `ipVersion`/`protocol` first.
 */
export class DecodedPacket {
  tsUs = 0;
  wireLen = 0;
  /** Outer and inner 802.1Q/802.1ad VLAN ids (-1 when absent). */
  vlanOuter = -1;
  vlanInner = -1;
  /** 4 or 6 when an IP header was decoded. */
  ipVersion = 0;
  /** Addresses as big-endian 32-bit words; IPv4 uses word 0 only (others are 0). */
  readonly src = new Uint32Array(4);
  readonly dst = new Uint32Array(4);
  /** IP total length (IPv4 total length, IPv6 40 + payload length), i.e. IP-layer bytes. */
  ipLen = 0;
  ttl = 0;
  /** IPv4 identification / IPv6 fragment identification. */
  ipId = 0;
  ipv4Options = false;
  /** True when this packet came out of fragment reassembly. */
  reassembled = false;
  /** Fragments this packet was reassembled from (1 when it was never fragmented). */
  fragments = 1;
  /** Innermost tunnel the packet was carried in (TUNNEL_* below; 0 = none). */
  tunnel = 0;
  /** Transport protocol number (after IPv6 extension headers). */
  protocol = 0;
  /** Ports, or ICMP type/code. */
  sport = 0;
  dport = 0;
  tcpFlags = 0;
  seq = 0;
  ack = 0;
  window = 0;
  /** TCP options location (parse with parseTcpOptions when needed). */
  tcpOptOff = 0;
  tcpOptLen = 0;
  /** Bytes that hold the L4 header and payload (the captured frame, or a reassembled datagram). */
  buf: Uint8Array = new Uint8Array(0);
  /** Transport payload within `buf`. */
  payloadOff = 0;
  payloadLen = 0;
  /** The payload as the sender sent it was longer than what was captured (snap length). */
  payloadTruncated = false;
}

/** TCP options from a SYN or SYN-ACK, parsed on demand (not per packet). */
export interface TcpOptions {
  mss: number;
  windowScale: number;
  sackPermitted: boolean;
  timestamps: boolean;
  /** Option kinds in order (for fingerprints). */
  kinds: number[];
}

/** Parses TCP options; bounded by the option length (≤ 40 bytes). */
export function parseTcpOptions(pkt: DecodedPacket): TcpOptions {
  const out: TcpOptions = { mss: -1, windowScale: -1, sackPermitted: false, timestamps: false, kinds: [] };
  const b = pkt.buf;
  let i = pkt.tcpOptOff;
  const end = Math.min(b.length, pkt.tcpOptOff + pkt.tcpOptLen);
  while (i < end) {
    const kind = b[i]!;
    out.kinds.push(kind);
    if (kind === 0) break;
    if (kind === 1) {
      i++;
      continue;
    }
    if (i + 1 >= end) break;
    const len = b[i + 1]!;
    if (len < 2 || i + len > end) break;
    if (kind === 2 && len === 4) out.mss = (b[i + 2]! << 8) | b[i + 3]!;
    else if (kind === 3 && len === 3) out.windowScale = b[i + 2]!;
    else if (kind === 4) out.sackPermitted = true;
    else if (kind === 8) out.timestamps = true;
    i += len;
  }
  return out;
}
