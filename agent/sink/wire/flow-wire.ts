/**
 * FlowRecord ⇄ protobuf bytes (proto/picket/v1/flow_record.proto), for optional flow export.
 * Times lose their sub-microsecond fraction (int64 µs on the wire). Decoding never throws.
 */
import type {
  DirectionSummary,
  EndReason,
  FlowRecord,
  FlowState,
  Moments,
  TcpFlagCounts,
  TcpSummary,
} from '../../flow/flow-record.js';
import { limitHit, malformed, ok, type ParseResult } from '../../util/result.js';
import { picket } from '../generated/picket.js';
import { int64ToNumber, numberToInt64, numberToUint } from './int64.js';

const pb = picket.v1;

/** Largest flow message accepted by decodeFlowRecord (dissector metadata can be a few KiB). */
export const MAX_FLOW_BYTES = 1024 * 1024;

const STATES: readonly FlowState[] = ['new', 'half_open', 'established', 'closed', 'reset', 'bidirectional'];
const END_REASONS: readonly EndReason[] = ['fin', 'rst', 'idle_timeout', 'active_timeout', 'evicted', 'end_of_input', 'netflow'];
const ORIGINS: readonly FlowRecord['origin'][] = ['packets', 'netflow'];

/** Enum value = index in the list + 1 (0 is *_UNSPECIFIED), as laid out in flow_record.proto. */
function toEnum<T>(list: readonly T[], v: T): number {
  return list.indexOf(v) + 1;
}

function fromEnum<T>(list: readonly T[], n: number): T | undefined {
  return n >= 1 ? list[n - 1] : undefined;
}

function momentsToPb(m: Moments): picket.v1.Moments.$Properties {
  return { min: m.min, mean: m.mean, max: m.max, stddev: m.stddev };
}

function flagsToPb(f: TcpFlagCounts): picket.v1.TcpFlagCounts.$Properties {
  return {
    syn: numberToUint(f.syn),
    ack: numberToUint(f.ack),
    fin: numberToUint(f.fin),
    rst: numberToUint(f.rst),
    psh: numberToUint(f.psh),
    urg: numberToUint(f.urg),
    ece: numberToUint(f.ece),
    cwr: numberToUint(f.cwr),
  };
}

function directionToPb(d: DirectionSummary): picket.v1.DirectionSummary.$Properties {
  const out: picket.v1.DirectionSummary.$Properties = {
    packets: numberToUint(d.packets),
    bytes: numberToUint(d.bytes),
    payloadBytes: numberToUint(d.payloadBytes),
    firstUs: numberToInt64(d.firstUs),
    lastUs: numberToInt64(d.lastUs),
  };
  if (d.size) out.size = momentsToPb(d.size);
  if (d.iat) out.iat = momentsToPb(d.iat);
  if (d.tcpFlags) out.tcpFlags = flagsToPb(d.tcpFlags);
  return out;
}

function tcpToPb(t: TcpSummary): picket.v1.TcpSummary.$Properties {
  const out: picket.v1.TcpSummary.$Properties = {
    syn: t.syn,
    synAck: t.synAck,
    handshake: t.handshake,
    midstream: t.midstream,
    finClient: t.finClient,
    finServer: t.finServer,
    rstClient: t.rstClient,
    rstServer: t.rstServer,
    retransmits: numberToUint(t.retransmits),
    outOfOrder: numberToUint(t.outOfOrder),
  };
  if (t.clientMss !== undefined) out.clientMss = numberToUint(t.clientMss, 0xffffffff);
  if (t.serverMss !== undefined) out.serverMss = numberToUint(t.serverMss, 0xffffffff);
  if (t.clientWindowScale !== undefined) out.clientWindowScale = numberToUint(t.clientWindowScale, 0xffffffff);
  if (t.serverWindowScale !== undefined) out.serverWindowScale = numberToUint(t.serverWindowScale, 0xffffffff);
  if (t.clientWindow !== undefined) out.clientWindow = numberToUint(t.clientWindow, 0xffffffff);
  if (t.serverWindow !== undefined) out.serverWindow = numberToUint(t.serverWindow, 0xffffffff);
  if (t.sackPermitted !== undefined) out.sackPermitted = t.sackPermitted;
  if (t.timestamps !== undefined) out.timestamps = t.timestamps;
  return out;
}

/** JSON of the dissector metadata; `{}` when it cannot be serialised (cycles, BigInt). */
function appJson(app: Record<string, unknown>): string {
  try {
    return JSON.stringify(app) ?? '{}';
  } catch {
    return '{}';
  }
}

export function encodeFlowRecord(r: FlowRecord): Uint8Array {
  const msg: picket.v1.FlowRecord.$Properties = {
    uid: r.uid,
    origin: toEnum(ORIGINS, r.origin),
    startUs: numberToInt64(r.startUs),
    endUs: numberToInt64(r.endUs),
    ipVersion: r.ipVersion,
    protocol: numberToUint(r.protocol, 255),
    transport: r.transport,
    client: { ip: r.client.ip, port: numberToUint(r.client.port, 0xffff) },
    server: { ip: r.server.ip, port: numberToUint(r.server.port, 0xffff) },
    c2s: directionToPb(r.c2s),
    s2c: directionToPb(r.s2c),
    communityId: r.communityId,
    state: toEnum(STATES, r.state),
    endReason: toEnum(END_REASONS, r.endReason),
    partial: r.partial,
    appProtocol: r.appProtocol ?? '',
    appJson: appJson(r.app),
  };
  if (r.tcp) msg.tcp = tcpToPb(r.tcp);
  if (r.vlan) msg.vlan = r.vlan.map((v) => numberToUint(v, 0xffffffff));
  if (r.fragments !== undefined) msg.fragments = numberToUint(r.fragments, 0xffffffff);
  if (r.exporter) msg.exporter = { ...r.exporter };
  return pb.FlowRecord.encode(msg).finish();
}

function momentsFromPb(m: picket.v1.Moments.$Properties): Moments {
  return { min: m.min ?? 0, mean: m.mean ?? 0, max: m.max ?? 0, stddev: m.stddev ?? 0 };
}

function flagsFromPb(f: picket.v1.TcpFlagCounts.$Properties): TcpFlagCounts {
  return {
    syn: int64ToNumber(f.syn),
    ack: int64ToNumber(f.ack),
    fin: int64ToNumber(f.fin),
    rst: int64ToNumber(f.rst),
    psh: int64ToNumber(f.psh),
    urg: int64ToNumber(f.urg),
    ece: int64ToNumber(f.ece),
    cwr: int64ToNumber(f.cwr),
  };
}

function directionFromPb(d: picket.v1.DirectionSummary.$Properties | null | undefined): DirectionSummary {
  const out: DirectionSummary = {
    packets: int64ToNumber(d?.packets),
    bytes: int64ToNumber(d?.bytes),
    payloadBytes: int64ToNumber(d?.payloadBytes),
    firstUs: int64ToNumber(d?.firstUs),
    lastUs: int64ToNumber(d?.lastUs),
  };
  if (d?.size) out.size = momentsFromPb(d.size);
  if (d?.iat) out.iat = momentsFromPb(d.iat);
  if (d?.tcpFlags) out.tcpFlags = flagsFromPb(d.tcpFlags);
  return out;
}

function has(o: object, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(o, key);
}

function tcpFromPb(t: picket.v1.TcpSummary.$Properties): TcpSummary {
  const out: TcpSummary = {
    syn: !!t.syn,
    synAck: !!t.synAck,
    handshake: !!t.handshake,
    midstream: !!t.midstream,
    finClient: !!t.finClient,
    finServer: !!t.finServer,
    rstClient: !!t.rstClient,
    rstServer: !!t.rstServer,
    retransmits: int64ToNumber(t.retransmits),
    outOfOrder: int64ToNumber(t.outOfOrder),
  };
  // proto3 `optional` fields: presence is an own property of the decoded message.
  if (has(t, 'clientMss') && t.clientMss != null) out.clientMss = t.clientMss;
  if (has(t, 'serverMss') && t.serverMss != null) out.serverMss = t.serverMss;
  if (has(t, 'clientWindowScale') && t.clientWindowScale != null) out.clientWindowScale = t.clientWindowScale;
  if (has(t, 'serverWindowScale') && t.serverWindowScale != null) out.serverWindowScale = t.serverWindowScale;
  if (has(t, 'clientWindow') && t.clientWindow != null) out.clientWindow = t.clientWindow;
  if (has(t, 'serverWindow') && t.serverWindow != null) out.serverWindow = t.serverWindow;
  if (has(t, 'sackPermitted') && t.sackPermitted != null) out.sackPermitted = t.sackPermitted;
  if (has(t, 'timestamps') && t.timestamps != null) out.timestamps = t.timestamps;
  return out;
}

function parseApp(json: string): Record<string, unknown> {
  if (!json) return {};
  try {
    const v: unknown = JSON.parse(json);
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

export function decodeFlowRecord(bytes: Uint8Array, maxBytes = MAX_FLOW_BYTES): ParseResult<FlowRecord> {
  if (bytes.length > maxBytes) return limitHit('flow.too_large');
  let m: picket.v1.FlowRecord;
  try {
    m = pb.FlowRecord.decode(bytes);
  } catch {
    return malformed('flow.protobuf');
  }
  const origin = fromEnum(ORIGINS, m.origin);
  const state = fromEnum(STATES, m.state);
  const endReason = fromEnum(END_REASONS, m.endReason);
  if (!origin || !state || !endReason) return malformed('flow.enum');
  if (m.ipVersion !== 4 && m.ipVersion !== 6) return malformed('flow.ip_version');
  const r: FlowRecord = {
    uid: m.uid,
    origin,
    startUs: int64ToNumber(m.startUs),
    endUs: int64ToNumber(m.endUs),
    ipVersion: m.ipVersion,
    protocol: m.protocol,
    transport: m.transport,
    client: { ip: m.client?.ip ?? '', port: m.client?.port ?? 0 },
    server: { ip: m.server?.ip ?? '', port: m.server?.port ?? 0 },
    c2s: directionFromPb(m.c2s),
    s2c: directionFromPb(m.s2c),
    communityId: m.communityId,
    state,
    endReason,
    partial: m.partial,
    app: parseApp(m.appJson),
  };
  if (m.tcp) r.tcp = tcpFromPb(m.tcp);
  if (m.vlan.length > 0) r.vlan = [...m.vlan];
  if (has(m, 'fragments') && m.fragments != null) r.fragments = m.fragments;
  if (m.appProtocol) r.appProtocol = m.appProtocol;
  if (m.exporter) {
    r.exporter = {
      ip: m.exporter.ip ?? '',
      samplingInterval: m.exporter.samplingInterval ?? 0,
      observationDomain: m.exporter.observationDomain ?? 0,
    };
  }
  return ok(r);
}
