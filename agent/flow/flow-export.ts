import { IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_TCP, IPPROTO_UDP, TUNNEL_NAMES } from '../decode/decoded-packet.js';
import { ipv4ToString, ipv6ToString, wordsToBytes } from '../util/ip-format.js';
import { communityId } from './community-id.js';
import {
  FLAG_STRIDE,
  KEY_STRIDE,
  NUM_STRIDE,
  N_DIR,
  N_DIR_STRIDE,
  N_FIRST_US,
  N_LAST_US,
  D_BYTES,
  D_FIRST_US,
  D_IAT_M2,
  D_IAT_MAX,
  D_IAT_MEAN,
  D_IAT_MIN,
  D_LAST_US,
  D_PAYLOAD,
  D_PKTS,
  D_SIZE_M2,
  D_SIZE_MAX,
  D_SIZE_MEAN,
  D_SIZE_MIN,
  T_FIN_C,
  T_FIN_S,
  T_HANDSHAKE,
  T_MIDSTREAM,
  T_RST_C,
  T_RST_S,
  T_SYN,
  T_SYNACK,
  type Flow,
} from './flow.js';
import type { DirectionSummary, EndReason, FlowRecord, FlowState, TcpSummary } from './flow-record.js';

/** The arrays a record is built from (FlowTable exposes them). */
export interface FlowArrays {
  num: Float64Array;
  flags: Uint32Array;
  keys: Uint32Array;
}

export function transportName(proto: number): string {
  switch (proto) {
    case IPPROTO_TCP:
      return 'tcp';
    case IPPROTO_UDP:
      return 'udp';
    case IPPROTO_ICMP:
      return 'icmp';
    case IPPROTO_ICMPV6:
      return 'ipv6-icmp';
    default:
      return String(proto);
  }
}

function direction(a: FlowArrays, id: number, dir: number, tcp: boolean): DirectionSummary {
  const d = id * NUM_STRIDE + N_DIR + dir * N_DIR_STRIDE;
  const n = a.num;
  const packets = n[d + D_PKTS]!;
  const out: DirectionSummary = {
    packets,
    bytes: n[d + D_BYTES]!,
    payloadBytes: n[d + D_PAYLOAD]!,
    firstUs: packets > 0 ? n[d + D_FIRST_US]! : 0,
    lastUs: packets > 0 ? n[d + D_LAST_US]! : 0,
  };
  if (packets > 0) {
    out.size = {
      min: n[d + D_SIZE_MIN]!,
      mean: n[d + D_SIZE_MEAN]!,
      max: n[d + D_SIZE_MAX]!,
      stddev: packets > 1 ? Math.sqrt(n[d + D_SIZE_M2]! / (packets - 1)) : 0,
    };
  }
  if (packets > 1) {
    const k = packets - 1;
    out.iat = {
      min: n[d + D_IAT_MIN]!,
      mean: n[d + D_IAT_MEAN]!,
      max: n[d + D_IAT_MAX]!,
      stddev: k > 1 ? Math.sqrt(n[d + D_IAT_M2]! / (k - 1)) : 0,
    };
  }
  if (tcp) {
    const f = id * FLAG_STRIDE + dir * 8;
    const fl = a.flags;
    out.tcpFlags = { fin: fl[f]!, syn: fl[f + 1]!, rst: fl[f + 2]!, psh: fl[f + 3]!, ack: fl[f + 4]!, urg: fl[f + 5]!, ece: fl[f + 6]!, cwr: fl[f + 7]! };
  }
  return out;
}

function tcpState(bits: number): FlowState {
  if (bits & (T_RST_C | T_RST_S)) return 'reset';
  if ((bits & (T_FIN_C | T_FIN_S)) === (T_FIN_C | T_FIN_S)) return 'closed';
  if (bits & T_HANDSHAKE) return 'established';
  if (bits & T_MIDSTREAM) return 'established';
  return 'half_open';
}

/** Builds the exported record of a flow from the table's arrays (once per flow end). */
export function buildFlowRecord(a: FlowArrays, flow: Flow, reason: EndReason, partial: boolean): FlowRecord {
  const id = flow.id;
  const k = id * KEY_STRIDE;
  const keys = a.keys;
  const v6 = flow.ipVersion === 6;
  const clientIp = v6 ? ipv6ToString(keys[k]!, keys[k + 1]!, keys[k + 2]!, keys[k + 3]!) : ipv4ToString(keys[k]!);
  const serverIp = v6 ? ipv6ToString(keys[k + 4]!, keys[k + 5]!, keys[k + 6]!, keys[k + 7]!) : ipv4ToString(keys[k + 4]!);
  const isTcp = flow.protocol === IPPROTO_TCP;
  const c2s = direction(a, id, 0, isTcp);
  const s2c = direction(a, id, 1, isTcp);
  const nb = id * NUM_STRIDE;
  const bits = flow.tcpBits;
  const state: FlowState = isTcp ? tcpState(bits) : s2c.packets > 0 && c2s.packets > 0 ? 'bidirectional' : 'new';
  const record: FlowRecord = {
    uid: flow.uid,
    origin: 'packets',
    startUs: a.num[nb + N_FIRST_US]!,
    endUs: a.num[nb + N_LAST_US]!,
    ipVersion: v6 ? 6 : 4,
    protocol: flow.protocol,
    transport: transportName(flow.protocol),
    client: { ip: clientIp, port: flow.clientPort },
    server: { ip: serverIp, port: flow.serverPort },
    c2s,
    s2c,
    communityId: communityId(wordsToBytes(flow.ipVersion, keys, k), wordsToBytes(flow.ipVersion, keys, k + 4), flow.protocol, flow.clientPort, flow.serverPort),
    state,
    endReason: reason,
    partial,
    app: {},
  };
  if (isTcp) {
    const s0 = flow.stream0;
    const s1 = flow.stream1;
    const tcp: TcpSummary = {
      syn: (bits & T_SYN) !== 0,
      synAck: (bits & T_SYNACK) !== 0,
      handshake: (bits & T_HANDSHAKE) !== 0,
      midstream: (bits & T_MIDSTREAM) !== 0,
      finClient: (bits & T_FIN_C) !== 0,
      finServer: (bits & T_FIN_S) !== 0,
      rstClient: (bits & T_RST_C) !== 0,
      rstServer: (bits & T_RST_S) !== 0,
      retransmits: (s0?.retransmits ?? 0) + (s1?.retransmits ?? 0),
      outOfOrder: (s0?.outOfOrder ?? 0) + (s1?.outOfOrder ?? 0),
    };
    if (flow.clientMss >= 0) tcp.clientMss = flow.clientMss;
    if (flow.serverMss >= 0) tcp.serverMss = flow.serverMss;
    if (flow.clientWscale >= 0) tcp.clientWindowScale = flow.clientWscale;
    if (flow.serverWscale >= 0) tcp.serverWindowScale = flow.serverWscale;
    if (flow.clientWindow >= 0) tcp.clientWindow = flow.clientWindow;
    if (flow.serverWindow >= 0) tcp.serverWindow = flow.serverWindow;
    if (bits & T_SYN) {
      tcp.sackPermitted = flow.sackPermitted;
      tcp.timestamps = flow.timestamps;
    }
    record.tcp = tcp;
  }
  if (flow.vlan >= 0) record.vlan = flow.vlanInner >= 0 ? [flow.vlan, flow.vlanInner] : [flow.vlan];
  if (flow.fragments > 0) record.fragments = flow.fragments;
  if (flow.tunnel > 0) record.tunnel = TUNNEL_NAMES[flow.tunnel] ?? String(flow.tunnel);
  return record;
}
