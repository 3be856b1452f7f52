import type { DirectionSummary, FlowRecord, FlowState, TcpFlagCounts, TcpSummary } from '../../flow/flow-record.js';
import { communityId } from '../../flow/community-id.js';
import { ipv4ToString, ipv6ToString } from '../../util/ip-format.js';
import { recordIpVersion, type FlowScratch } from './flow-scratch.js';
import type { ExportContext } from './pending-sets.js';

/** NetFlow/IPFIX fields kept on FlowRecord.app.netflow (only those the exporter sent). */
export interface NetflowAppInfo {
  /** 5, 9 or 10. */
  version: number;
  inIf?: number;
  outIf?: number;
  tos?: number;
  srcAs?: number;
  dstAs?: number;
  /** IPFIX flowEndReason (1 idle, 2 active timeout, 3 end detected, 4 forced, 5 lack of resources). */
  flowEndReason?: number;
  /** 0 ingress, 1 egress. */
  direction?: number;
  /** Sampler / selector id the record named. */
  samplerId?: number;
}

/** Resolved start/end of the two directions, ms since the epoch (NaN when unknown). */
export interface FlowTimes {
  startMs: number;
  endMs: number;
  revStartMs: number;
  revEndMs: number;
  /** sysUptime fields seen with no base to anchor them (IPFIX without systemInitTimeMilliseconds). */
  unanchored: boolean;
}

/** Absolute ms of a sysUptime value: via systemInitTime when known, else via the v5/v9 header uptime. */
function uptimeToMs(v: number, ctx: ExportContext, initMs: number): number {
  if (initMs >= 0) return initMs + v;
  if (ctx.sysUptimeMs < 0) return NaN;
  let ago = ctx.sysUptimeMs - v;
  // The 32-bit millisecond uptime wraps every 49.7 days: a flow that started just before the
  // wrap has a huge uptime value while the header's is small.
  if (ago < -0x8000_0000) ago += 0x1_0000_0000;
  return ctx.exportMs - ago;
}

function pick(abs: number, deltaUs: number, uptime: number, ctx: ExportContext, initMs: number, t: FlowTimes): number {
  if (!Number.isNaN(abs)) return abs;
  if (deltaUs >= 0) return ctx.exportMs - deltaUs / 1000;
  if (uptime >= 0) {
    const v = uptimeToMs(uptime, ctx, initMs);
    if (Number.isNaN(v)) t.unanchored = true;
    return v;
  }
  return NaN;
}

/** Start/end times of a record: absolute fields, then deltas to export time, then sysUptime. */
export function resolveTimes(s: FlowScratch, ctx: ExportContext, sessionInitMs: number, t: FlowTimes): FlowTimes {
  const initMs = s.systemInitMs >= 0 ? s.systemInitMs : sessionInitMs;
  t.unanchored = false;
  let start = pick(s.startAbsMs, s.startDeltaUs, s.startUptimeMs, ctx, initMs, t);
  let end = pick(s.endAbsMs, s.endDeltaUs, s.endUptimeMs, ctx, initMs, t);
  if (t.unanchored && Number.isNaN(end) && s.endUptimeMs >= 0) {
    // Uptime values without a base: anchor the end at export time and keep the duration.
    end = ctx.exportMs;
    if (Number.isNaN(start) && s.startUptimeMs >= 0) start = end - Math.max(0, s.endUptimeMs - s.startUptimeMs);
  }
  if (s.durationMs >= 0) {
    if (Number.isNaN(start) && !Number.isNaN(end)) start = end - s.durationMs;
    else if (Number.isNaN(end) && !Number.isNaN(start)) end = start + s.durationMs;
  }
  // Nothing usable: the export time is the best bound we have.
  if (Number.isNaN(end)) end = Number.isNaN(start) ? ctx.exportMs : start;
  if (Number.isNaN(start)) start = end;
  // An end before the start is inconsistent input; keep the start and make the duration 0 so
  // later stages never see negative durations.
  if (end < start) end = start;
  t.startMs = start;
  t.endMs = end;
  t.revStartMs = pick(s.revStartAbsMs, s.revStartDeltaUs, s.revStartUptimeMs, ctx, initMs, t);
  t.revEndMs = pick(s.revEndAbsMs, s.revEndDeltaUs, s.revEndUptimeMs, ctx, initMs, t);
  return t;
}

const TCP_FIN = 0x01;
const TCP_SYN = 0x02;
const TCP_RST = 0x04;
const TCP_ACK = 0x10;

function flagCounts(f: number): TcpFlagCounts {
  // NetFlow exports the OR of the flags seen, not per-flag counts: 1 means "seen at least once".
  return {
    fin: f & 0x01 ? 1 : 0,
    syn: f & 0x02 ? 1 : 0,
    rst: f & 0x04 ? 1 : 0,
    psh: f & 0x08 ? 1 : 0,
    ack: f & 0x10 ? 1 : 0,
    urg: f & 0x20 ? 1 : 0,
    ece: f & 0x40 ? 1 : 0,
    cwr: f & 0x80 ? 1 : 0,
  };
}

function transportName(p: number): string {
  switch (p) {
    case 6: return 'tcp';
    case 17: return 'udp';
    case 1: return 'icmp';
    case 58: return 'ipv6-icmp';
    default: return String(p);
  }
}

function word(b: Uint8Array, i: number): number {
  return ((b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!) >>> 0;
}

function addrText(b: Uint8Array): string {
  return b.length === 4 ? ipv4ToString(word(b, 0)) : ipv6ToString(word(b, 0), word(b, 4), word(b, 8), word(b, 12));
}

let uidCounter = 0;
const uidPrefix = `N${Math.floor(Math.random() * 36 ** 4).toString(36).padStart(4, '0')}`;

/** Unique per record within the process: `N` + 4 random base-36 chars + a counter. */
function nextUid(): string {
  uidCounter++;
  return uidPrefix + uidCounter.toString(36);
}

function tcpState(c2sFlags: number, s2cFlags: number, s2cPackets: number): { state: FlowState; tcp: TcpSummary } {
  const c = c2sFlags < 0 ? 0 : c2sFlags;
  const s = s2cFlags < 0 ? 0 : s2cFlags;
  const syn = (c & TCP_SYN) !== 0;
  const synAck = (s & (TCP_SYN | TCP_ACK)) === (TCP_SYN | TCP_ACK);
  const all = c | s;
  let state: FlowState;
  if (all & TCP_RST) state = 'reset';
  else if (all & TCP_FIN) state = 'closed';
  else if (syn && !(c & TCP_ACK) && !synAck) state = 'half_open';
  else if (c2sFlags < 0 && s2cPackets <= 0) state = 'new';
  else state = 'established';
  return {
    state,
    tcp: {
      syn,
      synAck,
      // A client that sent SYN and later ACK completed its side of the handshake.
      handshake: syn && (c & TCP_ACK) !== 0 && (s2cPackets <= 0 || synAck),
      midstream: c2sFlags >= 0 && !syn,
      finClient: (c & TCP_FIN) !== 0,
      finServer: (s & TCP_FIN) !== 0,
      rstClient: (c & TCP_RST) !== 0,
      rstServer: (s & TCP_RST) !== 0,
      retransmits: 0,
      outOfOrder: 0,
    },
  };
}

function direction(packets: number, bytes: number, firstMs: number, lastMs: number, flags: number, tcp: boolean): DirectionSummary {
  const d: DirectionSummary = {
    packets,
    bytes,
    // NetFlow does not export transport payload bytes; 0 means "unknown" for origin 'netflow'.
    payloadBytes: 0,
    firstUs: packets > 0 ? firstMs * 1000 : 0,
    lastUs: packets > 0 ? lastMs * 1000 : 0,
  };
  if (tcp && flags >= 0) d.tcpFlags = flagCounts(flags);
  return d;
}

function firstOf(a: number, b: number, c: number): number {
  return a >= 0 ? a : b >= 0 ? b : c >= 0 ? c : 0;
}

/**
 * Builds the FlowRecord of one decoded data record, or undefined when the record names no IP
 * addresses (L2-only or metadata templates). `sampling` multiplies packets and bytes.
 */
export function toFlowRecord(
  s: FlowScratch,
  ctx: ExportContext,
  exporterIp: string,
  domain: number,
  sampling: number,
  times: FlowTimes,
): FlowRecord | undefined {
  const ipVersion = recordIpVersion(s);
  if (ipVersion === 0) return undefined;
  const protocol = s.protocol >= 0 ? s.protocol : 0;
  const isTcp = protocol === 6;
  const isIcmp = protocol === 1 || protocol === 58;

  // Forward counters: delta counts, else totals, else post-processing counts, else initiator counts.
  const m = sampling > 0 ? sampling : 1;
  const fwdPackets = firstOf(s.packets, s.totalPackets, s.postPackets >= 0 ? s.postPackets : s.initiatorPackets) * m;
  const fwdBytes = firstOf(s.octets, s.totalOctets, s.postOctets >= 0 ? s.postOctets : s.initiatorOctets) * m;
  // Reverse counters: RFC 5103 reverse IEs, else responder counts (NSEL / RFC 5102 biflow).
  const revPackets = firstOf(s.revPackets, s.revTotalPackets, s.responderPackets) * m;
  const revBytes = firstOf(s.revOctets, s.revTotalOctets, s.responderOctets) * m;
  // A biflow whose forward direction saw nothing (softflowd orders endpoints by address, not by
  // who spoke first): the side that sent is the client.
  const swap = fwdPackets === 0 && revPackets > 0;

  const src = ipVersion === 4 ? s.src4 : s.src6;
  const dst = ipVersion === 4 ? s.dst4 : s.dst6;
  const cliBytes = swap ? dst : src;
  const srvBytes = swap ? src : dst;
  const rawSport = swap ? s.dstPort : s.srcPort;
  const rawDport = swap ? s.srcPort : s.dstPort;
  let sport = rawSport >= 0 ? rawSport : 0;
  let dport = rawDport >= 0 ? rawDport : 0;
  if (isIcmp) {
    // ICMP type/code as the client/server "ports" (as Zeek and the packet path do). Exporters
    // without ICMP fields put type·256+code in the destination port (Cisco convention).
    // After a swap the messages are the reverse direction's: its reverse type/code field.
    let type = swap ? -1 : s.icmpType;
    let code = swap ? -1 : s.icmpCode;
    const typeCodeField = swap ? s.revIcmpTypeCode : s.icmpTypeCode;
    const tc = typeCodeField >= 0 ? typeCodeField : rawDport;
    if (type < 0 && tc >= 0) {
      type = tc >> 8;
      code = tc & 0xff;
      // Type 0 with a non-zero code does not exist (ICMPv6 type 0 is reserved, ICMPv4 echo
      // reply has code 0 only): the exporter put code·256+type (Cisco IOS XR does for IPv6).
      if (type === 0 && code !== 0) {
        type = code;
        code = tc >> 8;
      }
    }
    sport = type < 0 ? 0 : type;
    dport = code < 0 ? 0 : code;
  }

  const fwdStart = times.startMs;
  const fwdEnd = times.endMs;
  const revStart = Number.isNaN(times.revStartMs) ? fwdStart : times.revStartMs;
  const revEnd = Number.isNaN(times.revEndMs) ? fwdEnd : times.revEndMs;
  const fwd = direction(fwdPackets, fwdBytes, fwdStart, fwdEnd, s.tcpFlags, isTcp);
  const rev = direction(revPackets, revBytes, revStart, revEnd, s.revTcpFlags, isTcp);
  const c2s = swap ? rev : fwd;
  const s2c = swap ? fwd : rev;
  const flowStartMs = revPackets > 0 ? (fwdPackets > 0 ? Math.min(fwdStart, revStart) : revStart) : fwdStart;
  const flowEndMs = revPackets > 0 ? (fwdPackets > 0 ? Math.max(fwdEnd, revEnd) : revEnd) : fwdEnd;

  const info: NetflowAppInfo = { version: ctx.version };
  if (s.inIf >= 0) info.inIf = s.inIf;
  if (s.outIf >= 0) info.outIf = s.outIf;
  if (s.tos >= 0) info.tos = s.tos;
  if (s.srcAs >= 0) info.srcAs = s.srcAs;
  if (s.dstAs >= 0) info.dstAs = s.dstAs;
  if (s.flowEndReason >= 0) info.flowEndReason = s.flowEndReason;
  if (s.direction >= 0) info.direction = s.direction;
  if (s.samplerId >= 0) info.samplerId = s.samplerId;

  const rec: FlowRecord = {
    uid: nextUid(),
    origin: 'netflow',
    startUs: flowStartMs * 1000,
    endUs: flowEndMs * 1000,
    ipVersion,
    protocol,
    transport: transportName(protocol),
    client: { ip: addrText(cliBytes), port: sport },
    server: { ip: addrText(srvBytes), port: dport },
    c2s,
    s2c,
    communityId: communityId(cliBytes, srvBytes, protocol, sport, dport),
    state: c2s.packets > 0 && s2c.packets > 0 ? 'bidirectional' : 'new',
    endReason: 'netflow',
    // flowEndReason 2 = active timeout: the exporter will report more of this flow.
    partial: s.flowEndReason === 2,
    app: { netflow: info },
    exporter: { ip: exporterIp, samplingInterval: m, observationDomain: domain },
  };
  if (isTcp) {
    const { state, tcp } = swap ? tcpState(s.revTcpFlags, s.tcpFlags, fwdPackets) : tcpState(s.tcpFlags, s.revTcpFlags, revPackets);
    rec.state = state;
    rec.tcp = tcp;
  }
  if (s.vlan > 0) rec.vlan = [s.vlan];
  return rec;
}
