import { IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_TCP, IPPROTO_UDP, TUNNEL_NAMES } from '../decode/decoded-packet.js';
import { ipv4ToString, ipv6ToString, wordsToBytes } from '../util/ip-format.js';
import { communityId } from './community-id.js';
import {
  FLAG_STRIDE,
  INT_STRIDE,
  I_CLIENT_MSS,
  I_CLIENT_WINDOW,
  I_CLIENT_WSCALE,
  I_FRAGMENTS,
  I_OUT_OF_ORDER,
  I_RETRANSMITS,
  I_SERVER_MSS,
  I_SERVER_WINDOW,
  I_SERVER_WSCALE,
  I_TUNNEL,
  I_VLAN,
  I_VLAN_INNER,
  KEY_STRIDE,
  MOM_STRIDE,
  M_IAT_M2,
  M_IAT_MAX,
  M_IAT_MEAN,
  M_IAT_MIN,
  M_SIZE_M2,
  M_SIZE_MAX,
  M_SIZE_MEAN,
  M_SIZE_MIN,
  NUM_STRIDE,
  N_DIR,
  N_DIR_STRIDE,
  N_FIRST_US,
  N_LAST_US,
  D_BYTES,
  D_FIRST_US,
  D_LAST_US,
  D_PAYLOAD,
  D_PKTS,
  T_FIN_C,
  T_FIN_S,
  T_HANDSHAKE,
  T_MIDSTREAM,
  T_RST_C,
  T_RST_S,
  T_SACK_OK,
  T_SYN,
  T_SYNACK,
  T_TIMESTAMPS,
  type Flow,
} from './flow.js';
import type { TcpReassembly } from './tcp-stream.js';
import type { DirectionSummary, EndReason, FlowRecord, FlowState, TcpSummary } from './flow-record.js';

/** The arrays a record is built from (FlowTable exposes them). */
export interface FlowArrays {
  num: Float64Array;
  mom: Float32Array;
  flags: Uint16Array;
  keys: Uint32Array;
  ints: Int32Array;
  streams: TcpReassembly;
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

/** Float32 statistics rounded to 3 decimals (their precision; avoids 12.300000190734863 in JSON). */
function f3(v: number): number {
  return Math.round(v * 1000) / 1000;
}

function direction(a: FlowArrays, id: number, dir: number, tcp: boolean): DirectionSummary {
  const d = id * NUM_STRIDE + N_DIR + dir * N_DIR_STRIDE;
  const m = id * MOM_STRIDE + dir * 8;
  const n = a.num;
  const mom = a.mom;
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
      min: mom[m + M_SIZE_MIN]!,
      mean: f3(mom[m + M_SIZE_MEAN]!),
      max: mom[m + M_SIZE_MAX]!,
      stddev: packets > 1 ? f3(Math.sqrt(Math.max(0, mom[m + M_SIZE_M2]!) / (packets - 1))) : 0,
    };
  }
  if (packets > 1) {
    const k = packets - 1;
    out.iat = {
      min: f3(mom[m + M_IAT_MIN]!),
      mean: f3(mom[m + M_IAT_MEAN]!),
      max: f3(mom[m + M_IAT_MAX]!),
      stddev: k > 1 ? f3(Math.sqrt(Math.max(0, mom[m + M_IAT_M2]!) / (k - 1))) : 0,
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
  const ib = id * INT_STRIDE;
  const ints = a.ints;
  if (isTcp) {
    const tcp: TcpSummary = {
      syn: (bits & T_SYN) !== 0,
      synAck: (bits & T_SYNACK) !== 0,
      handshake: (bits & T_HANDSHAKE) !== 0,
      midstream: (bits & T_MIDSTREAM) !== 0,
      finClient: (bits & T_FIN_C) !== 0,
      finServer: (bits & T_FIN_S) !== 0,
      rstClient: (bits & T_RST_C) !== 0,
      rstServer: (bits & T_RST_S) !== 0,
      retransmits: ints[ib + I_RETRANSMITS]!,
      outOfOrder: ints[ib + I_OUT_OF_ORDER]!,
    };
    const opt = (i: number): number | undefined => (ints[ib + i]! >= 0 ? ints[ib + i]! : undefined);
    const set = <K extends keyof TcpSummary>(k: K, v: TcpSummary[K] | undefined): void => {
      if (v !== undefined) tcp[k] = v;
    };
    set('clientMss', opt(I_CLIENT_MSS));
    set('serverMss', opt(I_SERVER_MSS));
    set('clientWindowScale', opt(I_CLIENT_WSCALE));
    set('serverWindowScale', opt(I_SERVER_WSCALE));
    set('clientWindow', opt(I_CLIENT_WINDOW));
    set('serverWindow', opt(I_SERVER_WINDOW));
    if (bits & T_SYN) {
      tcp.sackPermitted = (bits & T_SACK_OK) !== 0;
      tcp.timestamps = (bits & T_TIMESTAMPS) !== 0;
    }
    record.tcp = tcp;
  }
  const vlan = ints[ib + I_VLAN]!;
  const vlanInner = ints[ib + I_VLAN_INNER]!;
  if (vlan >= 0) record.vlan = vlanInner >= 0 ? [vlan, vlanInner] : [vlan];
  if (ints[ib + I_FRAGMENTS]! > 0) record.fragments = ints[ib + I_FRAGMENTS]!;
  const tunnel = ints[ib + I_TUNNEL]!;
  if (tunnel > 0) record.tunnel = TUNNEL_NAMES[tunnel] ?? String(tunnel);
  return record;
}
