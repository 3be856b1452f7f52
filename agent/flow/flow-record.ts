/**
 * The exported summary of one flow: what every later stage (features, detectors, output) reads.
 * Produced by the packet flow table and, with the L7 parts absent, by the NetFlow/IPFIX collector,
 * so that both sources go through the same features, baselines and detectors.
 *
 * Times are microseconds since the Unix epoch. Byte counts are IP-layer bytes (IP header +
 * payload), the same unit as NetFlow/IPFIX octet counters.
 */

export interface Moments {
  min: number;
  mean: number;
  max: number;
  stddev: number;
}

export interface TcpFlagCounts {
  syn: number;
  ack: number;
  fin: number;
  rst: number;
  psh: number;
  urg: number;
  ece: number;
  cwr: number;
}

export interface DirectionSummary {
  packets: number;
  bytes: number;
  /** Transport payload bytes (after TCP/UDP/ICMP headers). */
  payloadBytes: number;
  /** 0 when this direction saw no packet. */
  firstUs: number;
  lastUs: number;
  /** IP packet sizes; absent for NetFlow records. */
  size?: Moments;
  /** Inter-arrival times in microseconds; absent for NetFlow records or < 2 packets. */
  iat?: Moments;
  tcpFlags?: TcpFlagCounts;
}

export type FlowState =
  | 'new' // only one direction seen, no TCP semantics (UDP/ICMP one-way)
  | 'half_open' // TCP SYN (or SYN-ACK) seen, handshake never completed
  | 'established' // handshake completed, or data seen both ways mid-stream
  | 'closed' // FIN exchange
  | 'reset' // RST seen
  | 'bidirectional'; // UDP/ICMP with traffic both ways

export type EndReason =
  | 'fin'
  | 'rst'
  | 'idle_timeout'
  | 'active_timeout'
  | 'evicted'
  | 'end_of_input'
  | 'netflow';

export interface TcpSummary {
  /** SYN from client seen. */
  syn: boolean;
  /** SYN-ACK from server seen. */
  synAck: boolean;
  /** Three-way handshake completed (SYN, SYN-ACK, ACK). */
  handshake: boolean;
  /** The flow started mid-stream (first packet was not a SYN). */
  midstream: boolean;
  finClient: boolean;
  finServer: boolean;
  rstClient: boolean;
  rstServer: boolean;
  /** From the SYN / SYN-ACK options. */
  clientMss?: number;
  serverMss?: number;
  clientWindowScale?: number;
  serverWindowScale?: number;
  clientWindow?: number;
  serverWindow?: number;
  sackPermitted?: boolean;
  timestamps?: boolean;
  /**
   * Payload segments entirely below the highest sequence number already seen in their direction
   * (retransmissions, and late arrivals that fill a hole), and segments that started past it
   * (out of order: a hole opened). Counted over the whole flow.
   */
  retransmits: number;
  outOfOrder: number;
}

export interface FlowEndpoint {
  ip: string;
  port: number;
}

export interface FlowRecord {
  /** Unique per exported record within this process (Zeek-like uid). */
  uid: string;
  origin: 'packets' | 'netflow';
  startUs: number;
  endUs: number;
  ipVersion: 4 | 6;
  /** IANA protocol number. */
  protocol: number;
  /** `tcp`, `udp`, `icmp`, `ipv6-icmp`, or the protocol number as a string. */
  transport: string;
  client: FlowEndpoint;
  server: FlowEndpoint;
  /** Client → server. */
  c2s: DirectionSummary;
  /** Server → client. */
  s2c: DirectionSummary;
  /** Community ID v1 (Corelight spec), e.g. `1:LQU9qZlK+B5F3KDmev6m5PMibrg=`. */
  communityId: string;
  state: FlowState;
  endReason: EndReason;
  /** Interim record of a long flow (active timeout); the flow continues. */
  partial: boolean;
  tcp?: TcpSummary;
  vlan?: number[];
  /** Tunnel the flow was carried in (`gre`, `vxlan`, `gtp-u`, `ip-in-ip`, `geneve`). */
  tunnel?: string;
  /** IPv4/IPv6 fragments that belonged to this flow. */
  fragments?: number;
  /** Detected application protocol (lower case), when a dissector recognised one. */
  appProtocol?: string;
  /** Per-dissector metadata keyed by dissector name (typed in dissect/app-metadata.ts). */
  app: Record<string, unknown>;
  /** NetFlow: exporter address and sampling interval applied to the counters. */
  exporter?: { ip: string; samplingInterval: number; observationDomain: number };
}
