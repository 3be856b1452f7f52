import type { DirectionSummary, FlowRecord } from '../../flow/flow-record.js';
import { isoMicros } from '../../util/time-format.js';

type Json = Record<string, unknown>;

function round(v: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

function directionExtras(d: DirectionSummary): Json {
  const out: Json = { payload_bytes: d.payloadBytes };
  if (d.size) out.size = { min: d.size.min, mean: round(d.size.mean), max: d.size.max, stddev: round(d.size.stddev) };
  // Inter-arrival times in microseconds.
  if (d.iat) out.iat_us = { min: round(d.iat.min), mean: round(d.iat.mean), max: round(d.iat.max), stddev: round(d.iat.stddev) };
  if (d.tcpFlags) out.tcp_flags = d.tcpFlags;
  return out;
}

/**
 * A flow record in Elastic Common Schema names (nested objects, not dotted keys); what ECS does
 * not define goes under `picket.*`. `app` adds dissector output (already ECS-shaped, e.g.
 * `{tls: {...}, http: {...}}`) at the top level.
 */
export function flowToEcs(r: FlowRecord, app: Json = {}): Json {
  const bytes = r.c2s.bytes + r.s2c.bytes;
  const packets = r.c2s.packets + r.s2c.packets;
  const network: Json = {
    transport: r.transport,
    type: r.ipVersion === 6 ? 'ipv6' : 'ipv4',
    iana_number: String(r.protocol),
    community_id: r.communityId,
    bytes,
    packets,
  };
  if (r.appProtocol) network.protocol = r.appProtocol;
  if (r.vlan) {
    network.vlan = { id: String(r.vlan[0]) };
    if (r.vlan[1] !== undefined) network.inner = { vlan: { id: String(r.vlan[1]) } };
  }
  const flow: Json = {
    uid: r.uid,
    origin: r.origin,
    state: r.state,
    end_reason: r.endReason,
    client: directionExtras(r.c2s),
    server: directionExtras(r.s2c),
  };
  if (r.partial) flow.partial = true;
  if (r.fragments) flow.fragments = r.fragments;
  if (r.tunnel) flow.tunnel = r.tunnel;
  if (r.tcp) {
    const t = r.tcp;
    const tcp: Json = {
      syn: t.syn,
      syn_ack: t.synAck,
      handshake: t.handshake,
      midstream: t.midstream,
      fin_client: t.finClient,
      fin_server: t.finServer,
      rst_client: t.rstClient,
      rst_server: t.rstServer,
      retransmits: t.retransmits,
      out_of_order: t.outOfOrder,
    };
    if (t.clientMss !== undefined) tcp.client_mss = t.clientMss;
    if (t.serverMss !== undefined) tcp.server_mss = t.serverMss;
    if (t.clientWindowScale !== undefined) tcp.client_window_scale = t.clientWindowScale;
    if (t.serverWindowScale !== undefined) tcp.server_window_scale = t.serverWindowScale;
    if (t.clientWindow !== undefined) tcp.client_window = t.clientWindow;
    if (t.serverWindow !== undefined) tcp.server_window = t.serverWindow;
    if (t.sackPermitted !== undefined) tcp.sack_permitted = t.sackPermitted;
    if (t.timestamps !== undefined) tcp.timestamps = t.timestamps;
    flow.tcp = tcp;
  }
  if (r.exporter) flow.exporter = { ip: r.exporter.ip, sampling_interval: r.exporter.samplingInterval, observation_domain: r.exporter.observationDomain };
  const { picket: appPicket, ...appTop } = app as { picket?: Json };
  const start = isoMicros(r.startUs);
  return {
    '@timestamp': start,
    event: {
      kind: 'event',
      category: ['network'],
      type: ['connection'],
      dataset: 'picket.flow',
      start,
      end: isoMicros(r.endUs),
      duration: Math.round((r.endUs - r.startUs) * 1000),
    },
    source: { ip: r.client.ip, port: r.client.port, bytes: r.c2s.bytes, packets: r.c2s.packets },
    destination: { ip: r.server.ip, port: r.server.port, bytes: r.s2c.bytes, packets: r.s2c.packets },
    network,
    ...appTop,
    picket: { flow, ...appPicket },
  };
}
