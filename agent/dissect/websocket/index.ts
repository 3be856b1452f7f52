import { Verdict, type Dissector } from '../dissector.js';
import { containsBytes, containsCi, hasToken, lit, startsWith } from '../http/ascii.js';
import { entropy, looksLikeFrames } from './frame-reader.js';
import { websocketEcs, type WebSocketHandshake, type WebSocketMeta } from './ecs.js';
import { acceptFor, WEBSOCKET_LIMITS, WebSocketSession } from './session.js';

export type { WebSocketMeta } from './ecs.js';

const GET = lit('GET ');
const STATUS_101 = [lit('HTTP/1.1 101'), lit('HTTP/1.0 101')];
const HEAD_END = lit('\r\n\r\n');
const WEBSOCKET = lit('websocket');

/**
 * Could this first payload open a WebSocket? A GET whose head, when complete in this segment,
 * mentions `websocket`; a `101` response (the request was not captured); or a segment that is
 * exactly a run of well-formed frames (the handshake was not captured).
 */
export function probeWebSocket(buf: Uint8Array, off: number, len: number): boolean {
  const end = off + len;
  if (startsWith(buf, off, end, GET)) {
    if (!containsBytes(buf, off, end, HEAD_END)) return true; // head continues in later segments
    return containsCi(buf, off, end, WEBSOCKET);
  }
  // A loop, not some() with a closure: this probe runs on the first segment of every TCP flow.
  for (const s of STATUS_101) if (startsWith(buf, off, end, s)) return true;
  return looksLikeFrames(buf, off, len);
}

function handshakeOf(s: WebSocketSession): WebSocketHandshake | undefined {
  const rq = s.request;
  const rs = s.response;
  if (!rq && !rs) return undefined;
  const ext = rs?.wsExtensions;
  const h: WebSocketHandshake = { keyPresent: rq?.wsKey !== undefined, compression: hasToken(ext, 'permessage-deflate') };
  if (rq) {
    h.uri = rq.target;
    if (rq.host !== undefined) h.host = rq.host;
    if (rq.origin !== undefined) h.origin = rq.origin;
    if (rq.wsVersion !== undefined) h.version = rq.wsVersion;
    if (rq.wsProtocol !== undefined) h.requestedProtocols = rq.wsProtocol;
    if (rq.wsExtensions !== undefined) h.requestedExtensions = rq.wsExtensions;
  }
  if (rs) {
    h.status = rs.status;
    if (rs.wsProtocol !== undefined) h.protocol = rs.wsProtocol;
    if (ext !== undefined) h.extensions = ext;
    if (rq?.wsKey !== undefined && rs.wsAccept !== undefined) h.acceptValid = acceptFor(rq.wsKey) === rs.wsAccept;
  }
  return h;
}

/**
 * WebSocket (RFC 6455): the HTTP/1.1 Upgrade handshake (key/accept checked, subprotocol,
 * extensions), then frames in both directions → counts, text/binary/control mix, sampled payload
 * entropy, frame rate and inter-frame times, close code. Also recognises a connection whose
 * handshake the capture missed, from exact frame tiling.
 */
export const websocketDissector: Dissector<WebSocketSession, WebSocketMeta> = {
  name: 'websocket',
  transports: ['tcp'],
  limits: { ...WEBSOCKET_LIMITS },
  probe(buf, off, len) {
    return probeWebSocket(buf, off, len);
  },
  create() {
    return new WebSocketSession(WEBSOCKET_LIMITS);
  },
  payload(state, dir, buf, off, len, tsUs, ctx) {
    state.feed(dir, buf, off, off + len, tsUs, ctx);
    if (state.rejected) return Verdict.Reject;
    return state.finished ? Verdict.Done : Verdict.More;
  },
  gap(state, dir) {
    state.gap(dir);
    return state.finished ? Verdict.Done : Verdict.More;
  },
  finish(s) {
    if (s.rejected) return undefined;
    const handshake = handshakeOf(s);
    if (!handshake && s.framesTotal === 0) return undefined;
    // WebSocket roles: the requester, else the side that masks its frames.
    const cd = s.requestDir >= 0 ? s.requestDir : s.readers[1].counts.masked > 0 && s.readers[0].counts.masked === 0 ? 1 : 0;
    const c = s.readers[cd === 1 ? 1 : 0];
    const r = s.readers[cd === 1 ? 0 : 1];
    const text = c.counts.text + r.counts.text;
    const binary = c.counts.binary + r.counts.binary;
    const control = c.counts.ping + c.counts.pong + c.counts.close + r.counts.ping + r.counts.pong + r.counts.close;
    const meta: WebSocketMeta = {
      midstream: s.midstream,
      client: { ...c.counts },
      server: { ...r.counts },
      frames: s.framesTotal,
      text,
      binary,
      control,
      sampledBytes: c.sampled + r.sampled,
    };
    if (handshake) meta.handshake = handshake;
    if (text + binary > 0) meta.binaryRatio = binary / (text + binary);
    const e0 = entropy(c.histogram, c.sampled);
    const e1 = entropy(r.histogram, r.sampled);
    if (e0 !== undefined) meta.entropyClient = e0;
    if (e1 !== undefined) meta.entropyServer = e1;
    const span = s.lastUs - s.firstUs;
    if (s.framesTotal > 1 && span > 0) meta.frameRate = (s.framesTotal - 1) / (span / 1e6);
    if (s.iatCount > 0) meta.iatUs = { min: s.iatMin, mean: s.iatSum / s.iatCount, max: s.iatMax };
    const code = c.closeCode >= 0 ? c.closeCode : r.closeCode;
    if (code >= 0) meta.closeCode = code;
    if (s.closedBy >= 0) meta.closedBy = s.closedBy === cd ? 'client' : 'server';
    if (s.limitHit) meta.truncated = true;
    return meta;
  },
  appProtocol(meta) {
    if (meta.midstream) return meta.frames > 0 ? 'websocket' : undefined;
    return meta.handshake?.status === 101 ? 'websocket' : undefined;
  },
  ecs: websocketEcs,
};

