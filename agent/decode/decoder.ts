import type { RawPacket } from '../source/raw-packet.js';
import {
  DecodedPacket,
  IPPROTO_ICMP,
  IPPROTO_ICMPV6,
  IPPROTO_TCP,
  IPPROTO_UDP,
  TUNNEL_GENEVE,
  TUNNEL_GRE,
  TUNNEL_GTP,
  TUNNEL_IPIP,
  TUNNEL_VXLAN,
} from './decoded-packet.js';
import { DecodeStats } from './decode-stats.js';
import { FragmentReassembler, type FragmentLimits, DEFAULT_FRAGMENT_LIMITS } from './fragment-reassembler.js';
import * as L from './link-types.js';

/** VLAN tags / MPLS labels / IPv6 extension headers followed at most. */
const MAX_TAGS = 8;
const MAX_IPV6_EXTENSIONS = 16;
/** Tunnels opened inside each other at most (IP-in-IP, GRE, VXLAN, GTP-U, Geneve). */
const MAX_TUNNEL_DEPTH = 3;
const PORT_VXLAN = 4789;
const PORT_GTPU = 2152;
const PORT_GENEVE = 6081;

/**
 * Frame → DecodedPacket. Reads with explicit bounds checks (no per-packet allocation); every
 * header that is truncated or inconsistent is counted by kind in `stats` and the packet skipped.
 * `decode()` returns true when an IP packet was decoded (transport fields set where known).
 */
export class Decoder {
  readonly stats = new DecodeStats();
  readonly out = new DecodedPacket();
  private readonly fragments: FragmentReassembler;
  private depth = 0;

  constructor(fragmentLimits: FragmentLimits = DEFAULT_FRAGMENT_LIMITS) {
    this.fragments = new FragmentReassembler(fragmentLimits, (k) => this.stats.error(k));
  }

  decode(raw: RawPacket): boolean {
    const s = this.stats;
    s.packets++;
    const b = raw.buf;
    const start = raw.off;
    const end = raw.off + raw.capLen;
    const o = this.out;
    o.tsUs = raw.tsUs;
    o.wireLen = raw.wireLen;
    o.vlanOuter = -1;
    o.vlanInner = -1;
    o.ipVersion = 0;
    o.reassembled = false;
    o.fragments = 1;
    o.tunnel = 0;
    this.depth = 0;
    switch (raw.linkType) {
      case L.LINKTYPE_ETHERNET:
        return this.ethernet(b, start, end);
      case L.LINKTYPE_RAW:
      case L.LINKTYPE_RAW_ALT12:
      case L.LINKTYPE_RAW_ALT14:
        return this.rawIp(b, start, end);
      case L.LINKTYPE_IPV4:
        return this.ipv4(b, start, end);
      case L.LINKTYPE_IPV6:
        return this.ipv6(b, start, end);
      case L.LINKTYPE_LINUX_SLL:
        if (end - start < 16) return s.error('sll.truncated');
        return this.etherType(b, (b[start + 14]! << 8) | b[start + 15]!, start + 16, end);
      case L.LINKTYPE_LINUX_SLL2:
        if (end - start < 20) return s.error('sll2.truncated');
        return this.etherType(b, (b[start]! << 8) | b[start + 1]!, start + 20, end);
      case L.LINKTYPE_PPP:
      case L.LINKTYPE_PPP_HDLC: {
        let p = start;
        // Some PPP captures hold Cisco HDLC frames (address 0x0f unicast / 0x8f multicast).
        if (end - p >= 4 && (b[p] === 0x0f || b[p] === 0x8f) && b[p + 1] === 0) return this.etherType(b, (b[p + 2]! << 8) | b[p + 3]!, p + 4, end);
        if (end - p >= 2 && b[p] === 0xff && b[p + 1] === 0x03) p += 2;
        return this.ppp(b, p, end);
      }
      case L.LINKTYPE_C_HDLC:
        if (end - start < 4) return s.error('chdlc.truncated');
        return this.etherType(b, (b[start + 2]! << 8) | b[start + 3]!, start + 4, end);
      case L.LINKTYPE_NULL:
      case L.LINKTYPE_LOOP: {
        if (end - start < 4) return s.error('loopback.truncated');
        // NULL stores the family in the writer's byte order; a value that only makes sense
        // byte-swapped tells us the order. LOOP is always network order.
        const be = ((b[start]! << 24) | (b[start + 1]! << 16) | (b[start + 2]! << 8) | b[start + 3]!) >>> 0;
        const le = ((b[start + 3]! << 24) | (b[start + 2]! << 16) | (b[start + 1]! << 8) | b[start]!) >>> 0;
        const family = raw.linkType === L.LINKTYPE_LOOP ? be : le < 256 ? le : be;
        if (family === 2) return this.ipv4(b, start + 4, end);
        if (family === 10 || family === 24 || family === 28 || family === 30) return this.ipv6(b, start + 4, end);
        s.nonIp++;
        return false;
      }
      default:
        s.unknownLinkTypes.set(raw.linkType, (s.unknownLinkTypes.get(raw.linkType) ?? 0) + 1);
        return false;
    }
  }

  /** PPP protocol field (1 byte when compressed, else 2) then IP. */
  private ppp(b: Uint8Array, p: number, end: number): boolean {
    if (end - p < 1) return this.stats.error('ppp.truncated');
    let proto = b[p]!;
    if (proto & 1) p += 1;
    else {
      if (end - p < 2) return this.stats.error('ppp.truncated');
      proto = (proto << 8) | b[p + 1]!;
      p += 2;
    }
    if (proto === L.PPP_IPV4) return this.ipv4(b, p, end);
    if (proto === L.PPP_IPV6) return this.ipv6(b, p, end);
    if (proto === L.PPP_MPLS_UNICAST || proto === L.PPP_MPLS_MULTICAST) return this.mpls(b, p, end);
    this.stats.nonIp++;
    return false;
  }

  private ethernet(b: Uint8Array, start: number, end: number): boolean {
    if (end - start < 14) return this.stats.error('ethernet.truncated');
    return this.etherType(b, (b[start + 12]! << 8) | b[start + 13]!, start + 14, end);
  }

  /** Follows VLAN tags, PPPoE and MPLS to the IP header. */
  private etherType(b: Uint8Array, type: number, off: number, end: number): boolean {
    const o = this.out;
    for (let tags = 0; tags <= MAX_TAGS; tags++) {
      switch (type) {
        case L.ETHERTYPE_IPV4:
          return this.ipv4(b, off, end);
        case L.ETHERTYPE_IPV6:
          return this.ipv6(b, off, end);
        case L.ETHERTYPE_VLAN:
        case L.ETHERTYPE_QINQ:
        case L.ETHERTYPE_QINQ_OLD: {
          if (end - off < 4) return this.stats.error('vlan.truncated');
          const id = ((b[off]! << 8) | b[off + 1]!) & 0x0fff;
          if (o.vlanOuter < 0) o.vlanOuter = id;
          else if (o.vlanInner < 0) o.vlanInner = id;
          type = (b[off + 2]! << 8) | b[off + 3]!;
          off += 4;
          continue;
        }
        case L.ETHERTYPE_PPPOE_SESSION:
          if (end - off < 6) return this.stats.error('pppoe.truncated');
          return this.ppp(b, off + 6, end);
        case L.ETHERTYPE_TEB:
          return this.ethernet(b, off, end);
        case L.ETHERTYPE_FABRICPATH:
          return this.ethernet(b, off + 2, end);
        case L.ETHERTYPE_MPLS:
        case L.ETHERTYPE_MPLS_MC:
          return this.mpls(b, off, end);
        default:
          this.stats.nonIp++;
          return false;
      }
    }
    return this.stats.error('vlan.too_many_tags');
  }

  /** Label stack: 4 bytes each, bottom-of-stack bit ends it; then IP by its version nibble. */
  private mpls(b: Uint8Array, off: number, end: number): boolean {
    for (let i = 0; i < MAX_TAGS; i++) {
      if (end - off < 4) return this.stats.error('mpls.truncated');
      const bottom = b[off + 2]! & 1;
      off += 4;
      if (bottom) return this.rawIp(b, off, end);
    }
    return this.stats.error('mpls.too_many_labels');
  }

  private rawIp(b: Uint8Array, off: number, end: number): boolean {
    if (end - off < 1) return this.stats.error('ip.truncated');
    const v = b[off]! >> 4;
    if (v === 4) return this.ipv4(b, off, end);
    if (v === 6) return this.ipv6(b, off, end);
    return this.stats.error('ip.bad_version');
  }

  private ipv4(b: Uint8Array, off: number, end: number): boolean {
    const s = this.stats;
    const o = this.out;
    if (end - off < 20) return s.error('ipv4.truncated');
    const vihl = b[off]!;
    if (vihl >> 4 !== 4) return s.error('ipv4.bad_version');
    const hl = (vihl & 0x0f) * 4;
    if (hl < 20) return s.error('ipv4.bad_header_length');
    if (end - off < hl) return s.error('ipv4.truncated_options');
    const total = (b[off + 2]! << 8) | b[off + 3]!;
    if (total < hl) {
      // TSO/offload captures record 0 here; fall back to what was captured.
      if (total !== 0) return s.error('ipv4.bad_total_length');
    }
    const ipLen = total === 0 ? end - off : total;
    s.ipv4++;
    o.ipVersion = 4;
    o.ipLen = ipLen;
    o.ttl = b[off + 8]!;
    o.ipId = (b[off + 4]! << 8) | b[off + 5]!;
    o.ipv4Options = hl > 20;
    o.protocol = b[off + 9]!;
    const src = o.src;
    const dst = o.dst;
    src[0] = ((b[off + 12]! << 24) | (b[off + 13]! << 16) | (b[off + 14]! << 8) | b[off + 15]!) >>> 0;
    dst[0] = ((b[off + 16]! << 24) | (b[off + 17]! << 16) | (b[off + 18]! << 8) | b[off + 19]!) >>> 0;
    src[1] = src[2] = src[3] = 0;
    dst[1] = dst[2] = dst[3] = 0;
    const flagsFrag = (b[off + 6]! << 8) | b[off + 7]!;
    const more = (flagsFrag & 0x2000) !== 0;
    const fragOff = (flagsFrag & 0x1fff) * 8;
    const l4 = off + hl;
    const l4WireEnd = off + ipLen;
    if (more || fragOff !== 0) {
      s.fragments++;
      const key = `4|${src[0]}|${dst[0]}|${o.ipId}|${o.protocol}`;
      return this.fragment(key, fragOff, more, b, l4, Math.min(end, l4WireEnd), l4WireEnd > end, hl);
    }
    return this.transport(b, l4, Math.min(end, l4WireEnd), l4WireEnd > end);
  }

  private ipv6(b: Uint8Array, off: number, end: number): boolean {
    const s = this.stats;
    const o = this.out;
    if (end - off < 40) return s.error('ipv6.truncated');
    if (b[off]! >> 4 !== 6) return s.error('ipv6.bad_version');
    const payloadLen = (b[off + 4]! << 8) | b[off + 5]!;
    // Payload length 0 means a jumbogram (or offload); use what was captured.
    const wireEnd = payloadLen === 0 ? end : off + 40 + payloadLen;
    s.ipv6++;
    o.ipVersion = 6;
    o.ipLen = wireEnd - off;
    o.ttl = b[off + 7]!;
    o.ipv4Options = false;
    const src = o.src;
    const dst = o.dst;
    for (let i = 0; i < 4; i++) {
      const a = off + 8 + i * 4;
      src[i] = ((b[a]! << 24) | (b[a + 1]! << 16) | (b[a + 2]! << 8) | b[a + 3]!) >>> 0;
      const d = a + 16;
      dst[i] = ((b[d]! << 24) | (b[d + 1]! << 16) | (b[d + 2]! << 8) | b[d + 3]!) >>> 0;
    }
    let next = b[off + 6]!;
    let p = off + 40;
    const capEnd = Math.min(end, wireEnd);
    for (let i = 0; i < MAX_IPV6_EXTENSIONS; i++) {
      switch (next) {
        case 0: // hop-by-hop
        case 43: // routing
        case 60: // destination options
        case 135: // mobility
        case 139: // HIP
        case 140: // shim6
          if (capEnd - p < 8) return s.error('ipv6.truncated_extension');
          next = b[p]!;
          p += (b[p + 1]! + 1) * 8;
          continue;
        case 51: // AH: length in 4-byte units, minus 2
          if (capEnd - p < 8) return s.error('ipv6.truncated_extension');
          next = b[p]!;
          p += (b[p + 1]! + 2) * 4;
          continue;
        case 44: {
          // Fragment header.
          if (capEnd - p < 8) return s.error('ipv6.truncated_extension');
          const fragNext = b[p]!;
          const offFlags = (b[p + 2]! << 8) | b[p + 3]!;
          const id = ((b[p + 4]! << 24) | (b[p + 5]! << 16) | (b[p + 6]! << 8) | b[p + 7]!) >>> 0;
          const fragOff = offFlags & 0xfff8;
          const more = (offFlags & 1) !== 0;
          p += 8;
          o.protocol = fragNext;
          o.ipId = id;
          if (fragOff === 0 && !more) {
            // An "atomic" fragment: nothing to reassemble.
            next = fragNext;
            continue;
          }
          s.fragments++;
          const key = `6|${src[0]}|${src[1]}|${src[2]}|${src[3]}|${dst[0]}|${dst[1]}|${dst[2]}|${dst[3]}|${id}`;
          return this.fragment(key, fragOff, more, b, p, capEnd, wireEnd > end, p - off);
        }
        default:
          if (p > capEnd) return s.error('ipv6.truncated_extension');
          o.protocol = next;
          return this.transport(b, p, capEnd, wireEnd > end);
      }
    }
    return s.error('ipv6.too_many_extensions');
  }

  /** Hands a fragment to the reassembler; decodes the transport layer once the datagram is whole. */
  private fragment(key: string, fragOff: number, more: boolean, b: Uint8Array, l4: number, l4End: number, truncated: boolean, ipHeaderLen: number): boolean {
    const o = this.out;
    if (truncated) return this.stats.error('fragment.truncated_capture');
    const done = this.fragments.add(key, fragOff, more, b.subarray(l4, l4End), o.tsUs);
    if (!done) {
      // Held until the datagram completes; the flow sees the whole datagram then.
      o.protocol = -1;
      return false;
    }
    this.stats.reassembled++;
    o.reassembled = true;
    o.fragments = done.fragments;
    o.ipLen = ipHeaderLen + done.datagram.length;
    return this.transport(done.datagram, 0, done.datagram.length, false);
  }

  /** Opens a tunnel: the inner packet replaces the outer one (the tunnel kind is remembered). */
  private tunnel(kind: number, b: Uint8Array, off: number, end: number, inner: (b: Uint8Array, off: number, end: number) => boolean): boolean {
    if (this.depth >= MAX_TUNNEL_DEPTH) return this.stats.error('tunnel.too_deep');
    this.depth++;
    this.out.tunnel = kind;
    this.out.vlanOuter = -1;
    this.out.vlanInner = -1;
    return inner.call(this, b, off, end);
  }

  private gre(b: Uint8Array, off: number, end: number): boolean {
    if (end - off < 4) return this.stats.error('gre.truncated');
    const flags = (b[off]! << 8) | b[off + 1]!;
    const proto = (b[off + 2]! << 8) | b[off + 3]!;
    const version = flags & 7;
    if (version === 1) {
      // PPTP's enhanced GRE: key (length + call id) always, sequence and ack optional, PPP inside.
      let p = off + 8;
      if (flags & 0x1000) p += 4;
      if (flags & 0x0080) p += 4;
      if (p >= end || proto !== 0x880b) return this.keepAsFlow(b, off, end);
      if (end - p >= 2 && b[p] === 0xff && b[p + 1] === 0x03) p += 2;
      return this.tunnel(TUNNEL_GRE, b, p, end, this.ppp);
    }
    if (version !== 0) return this.keepAsFlow(b, off, end);
    let p = off + 4;
    if (flags & 0x8000) p += 4; // checksum + reserved
    if (flags & 0x2000) p += 4; // key
    if (flags & 0x1000) p += 4; // sequence
    if (p > end) return this.stats.error('gre.truncated');
    if (proto === L.ETHERTYPE_ERSPAN2) p += 8;
    const type = proto === L.ETHERTYPE_ERSPAN2 ? L.ETHERTYPE_TEB : proto;
    return this.tunnel(TUNNEL_GRE, b, p, end, (bb, pp, ee) => this.etherType(bb, type, pp, ee));
  }

  private gtp(b: Uint8Array, off: number, end: number): boolean {
    if (end - off < 8) return this.stats.error('gtp.truncated');
    const flags = b[off]!;
    let p = off + 8;
    if (flags & 0x07) {
      if (end - p < 4) return this.stats.error('gtp.truncated');
      let next = b[p + 3]!;
      p += 4;
      // Extension headers: length in 4-byte units, last byte names the next one.
      for (let i = 0; next !== 0 && i < 8; i++) {
        if (end - p < 4 || b[p] === 0) return this.stats.error('gtp.bad_extension');
        const len = b[p]! * 4;
        if (end - p < len) return this.stats.error('gtp.truncated');
        next = b[p + len - 1]!;
        p += len;
      }
    }
    return this.tunnel(TUNNEL_GTP, b, p, end, this.rawIp);
  }

  /** A non-TCP/UDP/ICMP protocol: a flow without ports. */
  private keepAsFlow(b: Uint8Array, off: number, end: number): boolean {
    const o = this.out;
    o.buf = b;
    o.payloadOff = off;
    o.payloadLen = end > off ? end - off : 0;
    return true;
  }

  private transport(b: Uint8Array, off: number, end: number, truncated: boolean): boolean {
    const o = this.out;
    const s = this.stats;
    switch (o.protocol) {
      case 4:
        if (!truncated) return this.tunnel(TUNNEL_IPIP, b, off, end, this.ipv4);
        break;
      case 41:
        if (!truncated) return this.tunnel(TUNNEL_IPIP, b, off, end, this.ipv6);
        break;
      case 47:
        if (!truncated) return this.gre(b, off, end);
        break;
      case IPPROTO_UDP:
        if (!truncated && end - off >= 16) {
          const dport = (b[off + 2]! << 8) | b[off + 3]!;
          const sport = (b[off]! << 8) | b[off + 1]!;
          if (dport === PORT_VXLAN && (b[off + 8]! & 0x08) !== 0) return this.tunnel(TUNNEL_VXLAN, b, off + 16, end, this.ethernet);
          if ((dport === PORT_GTPU || sport === PORT_GTPU) && isGtpUserData(b, off + 8, end)) return this.gtp(b, off + 8, end);
          if (dport === PORT_GENEVE && b[off + 8]! >> 6 === 0) {
            const optLen = (b[off + 8]! & 0x3f) * 4;
            const proto = (b[off + 10]! << 8) | b[off + 11]!;
            return this.tunnel(TUNNEL_GENEVE, b, off + 16 + optLen, end, (bb, pp, ee) => this.etherType(bb, proto, pp, ee));
          }
        }
        break;
    }
    o.buf = b;
    o.payloadTruncated = truncated;
    o.sport = 0;
    o.dport = 0;
    o.tcpFlags = 0;
    const len = end - off;
    switch (o.protocol) {
      case IPPROTO_TCP: {
        if (len < 20) return s.error('tcp.truncated');
        const doff = (b[off + 12]! >> 4) * 4;
        if (doff < 20) return s.error('tcp.bad_data_offset');
        if (len < doff) return s.error('tcp.truncated_options');
        o.sport = (b[off]! << 8) | b[off + 1]!;
        o.dport = (b[off + 2]! << 8) | b[off + 3]!;
        o.seq = ((b[off + 4]! << 24) | (b[off + 5]! << 16) | (b[off + 6]! << 8) | b[off + 7]!) >>> 0;
        o.ack = ((b[off + 8]! << 24) | (b[off + 9]! << 16) | (b[off + 10]! << 8) | b[off + 11]!) >>> 0;
        o.tcpFlags = b[off + 13]!;
        o.window = (b[off + 14]! << 8) | b[off + 15]!;
        o.tcpOptOff = off + 20;
        o.tcpOptLen = doff - 20;
        o.payloadOff = off + doff;
        o.payloadLen = len - doff;
        return true;
      }
      case IPPROTO_UDP: {
        if (len < 8) return s.error('udp.truncated');
        o.sport = (b[off]! << 8) | b[off + 1]!;
        o.dport = (b[off + 2]! << 8) | b[off + 3]!;
        const udpLen = (b[off + 4]! << 8) | b[off + 5]!;
        o.payloadOff = off + 8;
        // Trust the smaller of UDP length and what IP says (UDP length 0 = jumbogram).
        o.payloadLen = udpLen >= 8 && udpLen - 8 < len - 8 ? udpLen - 8 : len - 8;
        if (udpLen !== 0 && udpLen < 8) s.error('udp.bad_length');
        return true;
      }
      case IPPROTO_ICMP:
      case IPPROTO_ICMPV6: {
        if (len < 4) return s.error(o.protocol === IPPROTO_ICMP ? 'icmp.truncated' : 'icmpv6.truncated');
        o.sport = b[off]!; // type
        o.dport = b[off + 1]!; // code
        o.payloadOff = off + 4;
        o.payloadLen = len - 4;
        return true;
      }
      default:
        // Other IP protocols (ESP, SCTP, OSPF...) become flows keyed without ports.
        return this.keepAsFlow(b, off, end);
    }
  }
}

/** GTPv1-U T-PDU (user data); echo and signalling messages stay plain UDP. */
function isGtpUserData(b: Uint8Array, off: number, end: number): boolean {
  if (end - off < 8) return false;
  const flags = b[off]!;
  return flags >> 5 === 1 && (flags & 0x10) !== 0 && b[off + 1] === 0xff;
}
