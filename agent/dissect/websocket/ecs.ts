import type { FrameCounts } from './frame-reader.js';

/** The WebSocket handshake as seen (RFC 6455 §4). */
export interface WebSocketHandshake {
  uri?: string;
  host?: string;
  origin?: string;
  version?: string;
  keyPresent: boolean;
  status?: number;
  /** Sec-WebSocket-Accept equals base64(SHA-1(key + GUID)); absent when key or accept was not seen. */
  acceptValid?: boolean;
  requestedProtocols?: string;
  protocol?: string;
  requestedExtensions?: string;
  extensions?: string;
  /** permessage-deflate negotiated (payload entropy is then of compressed bytes). */
  compression: boolean;
}

/**
 * What the WebSocket dissector reports for one flow. `client`/`server` are the WebSocket roles:
 * the side that sent the upgrade request, or — without a handshake — the side whose frames are
 * masked (RFC 6455 §5.3: clients mask, servers do not); the flow's client when neither tells.
 */
export interface WebSocketMeta {
  handshake?: WebSocketHandshake;
  /** Frames parsed without a handshake (the capture began mid-connection). */
  midstream: boolean;
  client: FrameCounts;
  server: FrameCounts;
  frames: number;
  text: number;
  binary: number;
  control: number;
  /** Binary data frames / all data frames, when there were data frames. */
  binaryRatio?: number;
  /** Shannon entropy (bits/byte) of sampled, unmasked data payload per direction. */
  entropyClient?: number;
  entropyServer?: number;
  sampledBytes: number;
  /** Frames per second between the first and last frame. */
  frameRate?: number;
  /** Time between consecutive frames (either direction), µs. */
  iatUs?: { min: number; mean: number; max: number };
  closeCode?: number;
  /** The side that sent the first Close. */
  closedBy?: 'client' | 'server';
  /** The frame budget ended the inspection. */
  truncated?: boolean;
}

type Json = Record<string, unknown>;

function round(v: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

function counts(c: FrameCounts): Json {
  return {
    frames: c.frames,
    text: c.text,
    binary: c.binary,
    continuation: c.continuation,
    ping: c.ping,
    pong: c.pong,
    close: c.close,
    masked: c.masked,
    compressed: c.compressed,
    messages: c.messages,
    payload_bytes: c.payloadBytes,
  };
}

/** ECS has no WebSocket fields: everything goes under `picket.websocket`. */
export function websocketEcs(m: WebSocketMeta): Json {
  const ws: Json = {
    midstream: m.midstream,
    frames: m.frames,
    text: m.text,
    binary: m.binary,
    control: m.control,
    client: counts(m.client),
    server: counts(m.server),
    sampled_bytes: m.sampledBytes,
  };
  if (m.handshake) {
    const h = m.handshake;
    const o: Json = { key_present: h.keyPresent, compression: h.compression };
    for (const [k, v] of [
      ['uri', h.uri],
      ['host', h.host],
      ['origin', h.origin],
      ['version', h.version],
      ['status', h.status],
      ['accept_valid', h.acceptValid],
      ['requested_protocols', h.requestedProtocols],
      ['protocol', h.protocol],
      ['requested_extensions', h.requestedExtensions],
      ['extensions', h.extensions],
    ] as const) {
      if (v !== undefined) o[k] = v;
    }
    ws.handshake = o;
  }
  if (m.binaryRatio !== undefined) ws.binary_ratio = round(m.binaryRatio);
  if (m.entropyClient !== undefined || m.entropyServer !== undefined) {
    const e: Json = {};
    if (m.entropyClient !== undefined) e.client = round(m.entropyClient);
    if (m.entropyServer !== undefined) e.server = round(m.entropyServer);
    ws.entropy = e;
  }
  if (m.frameRate !== undefined) ws.frame_rate = round(m.frameRate);
  if (m.iatUs) ws.iat_us = { min: round(m.iatUs.min), mean: round(m.iatUs.mean), max: round(m.iatUs.max) };
  if (m.closeCode !== undefined) ws.close_code = m.closeCode;
  if (m.closedBy) ws.closed_by = m.closedBy;
  if (m.truncated) ws.truncated = true;
  return { picket: { websocket: ws } };
}
