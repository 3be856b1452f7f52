/**
 * What the decoder saw. Malformed and truncated headers are counted by kind (e.g.
 * `ipv4.bad_header_length`) and the packet is skipped; `nonIp` counts frames that are fine but
 * carry no IP (ARP, LLDP, STP...).
 */
export class DecodeStats {
  packets = 0;
  ipv4 = 0;
  ipv6 = 0;
  nonIp = 0;
  /** IPv4/IPv6 fragments seen (each fragment once). */
  fragments = 0;
  /** Datagrams rebuilt from fragments. */
  reassembled = 0;
  /** Frames whose link type we do not decode, by link type. */
  readonly unknownLinkTypes = new Map<number, number>();
  readonly errors = new Map<string, number>();

  error(kind: string): false {
    this.errors.set(kind, (this.errors.get(kind) ?? 0) + 1);
    return false;
  }

  errorCount(): number {
    let n = 0;
    for (const v of this.errors.values()) n += v;
    return n;
  }
}
