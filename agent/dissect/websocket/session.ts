import { createHash } from 'node:crypto';
import type { DissectContext } from '../dissector.js';
import { hasToken } from '../http/ascii.js';
import { HeadParser, HeadState, type HeadLimits, type HttpHead } from '../http/head-parser.js';
import { isHttp1Start } from '../http/index.js';
import { FrameReader, looksLikeFrames, type FrameSink } from './frame-reader.js';

/** Budgets of the WebSocket dissector, per flow. */
export interface WebSocketLimits extends HeadLimits {
  /** Frames looked at (both directions); then the dissector is done. */
  readonly frames: number;
  /** Data payload bytes sampled for entropy, per direction. */
  readonly sampleBytes: number;
}

export const WEBSOCKET_LIMITS: WebSocketLimits = {
  lineBytes: 8192,
  headersPerMessage: 128,
  valueBytes: 512,
  uriBytes: 2048,
  frames: 20_000,
  sampleBytes: 4096,
};

/** RFC 6455 §1.3: appended to Sec-WebSocket-Key before hashing. */
const ACCEPT_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** Sec-WebSocket-Accept for a Sec-WebSocket-Key: base64(SHA-1(key + GUID)). */
export function acceptFor(key: string): string {
  return createHash('sha1').update(key + ACCEPT_GUID, 'latin1').digest('base64');
}

const Phase = { Head: 0, Frames: 1, Stopped: 2 } as const;
type Phase = (typeof Phase)[keyof typeof Phase];

/** Per-flow WebSocket state: the Upgrade handshake, then both directions' frames. */
export class WebSocketSession implements FrameSink {
  readonly readers: [FrameReader, FrameReader];
  readonly phase: [Phase, Phase] = [Phase.Head, Phase.Head];
  private heads: [HeadParser | null, HeadParser | null] = [null, null];
  request: HttpHead | undefined;
  response: HttpHead | undefined;
  /** Decided by the first payload: a handshake, or frames without one (capture began mid-connection). */
  midstream = false;
  private decided = false;
  /** Flow direction of the request (the WebSocket client), -1 when unknown. */
  requestDir = -1;
  /** Not a WebSocket connection after all. */
  rejected = false;
  /** The server answered the upgrade with something other than 101. */
  refused = false;
  framesTotal = 0;
  firstUs = 0;
  lastUs = 0;
  iatMin = Infinity;
  iatMax = 0;
  iatSum = 0;
  iatCount = 0;
  /** Direction of the first Close frame, -1 when none. */
  closedBy = -1;
  limitHit = false;
  ctx: DissectContext | undefined;
  private tsUs = 0;

  constructor(readonly limits: WebSocketLimits) {
    this.readers = [new FrameReader(0, limits.sampleBytes), new FrameReader(1, limits.sampleBytes)];
  }

  /** The first payload tells whether a handshake starts the connection or frames are already flowing. */
  private decide(buf: Uint8Array, off: number, end: number): void {
    this.decided = true;
    if (isHttp1Start(buf, off, end - off)) return;
    if (looksLikeFrames(buf, off, end - off)) {
      this.midstream = true;
      this.phase[0] = Phase.Frames;
      this.phase[1] = Phase.Frames;
    } else this.rejected = true;
  }

  get finished(): boolean {
    if (this.rejected || this.refused || this.limitHit) return true;
    return this.phase[0] === Phase.Stopped && this.phase[1] === Phase.Stopped;
  }

  /** The connection was (or, mid-stream, evidently is) a WebSocket. */
  get recognised(): boolean {
    return this.midstream ? this.framesTotal > 0 : this.response?.status === 101;
  }

  feed(dir: 0 | 1, buf: Uint8Array, off: number, end: number, tsUs: number, ctx: DissectContext): void {
    this.ctx = ctx;
    this.tsUs = tsUs;
    if (!this.decided) this.decide(buf, off, end);
    if (this.rejected) return;
    // Heads follow each other only after an interim (1xx) response; each pass consumes bytes.
    for (let guard = end - off + 2; this.phase[dir] === Phase.Head && off < end && !this.rejected && guard > 0; guard--) {
      off = this.head(dir, buf, off, end);
    }
    if (this.phase[dir] === Phase.Frames && off < end) {
      this.readers[dir].feed(buf, off, end, tsUs, this);
      if (this.readers[dir].stopped) this.phase[dir] = Phase.Stopped;
    }
  }

  gap(dir: 0 | 1): void {
    // Frame boundaries are lost with the bytes: stop this direction rather than misread.
    if (this.phase[dir] === Phase.Frames) this.ctx?.count('gap');
    this.phase[dir] = Phase.Stopped;
  }

  private head(dir: 0 | 1, buf: Uint8Array, off: number, end: number): number {
    const p = (this.heads[dir] ??= new HeadParser(this.limits));
    off = p.feed(buf, off, end);
    if (p.state === HeadState.Error) {
      this.ctx?.count(`malformed.${p.error}`);
      this.phase[dir] = Phase.Stopped;
      if (!this.request) this.rejected = true;
      return end;
    }
    if (p.state !== HeadState.Done) return off;
    const h = p.head!;
    this.heads[dir] = null;
    if (h.kind === 'request') {
      if (!hasToken(h.upgrade, 'websocket') || h.method !== 'GET') {
        this.rejected = true;
        return end;
      }
      this.request = h;
      this.requestDir = dir;
      if (h.wsKey === undefined) this.ctx?.count('malformed.missing_key');
      this.phase[dir] = Phase.Frames;
      return off;
    }
    this.response = h;
    if (h.status !== 101 || !hasToken(h.upgrade, 'websocket')) {
      // An interim response (1xx other than 101) is followed by the real one.
      if (h.status >= 100 && h.status < 200 && h.status !== 101 && this.request) {
        this.phase[dir] = Phase.Head;
        return off;
      }
      this.refused = true;
      if (!this.request) this.rejected = true;
      this.phase[dir] = Phase.Stopped;
      return end;
    }
    if (this.requestDir < 0) this.requestDir = dir === 0 ? 1 : 0;
    this.phase[dir] = Phase.Frames;
    const rq = this.request;
    this.ctx?.emit('websocket.open', this.tsUs, {
      uri: rq?.target,
      host: rq?.host,
      origin: rq?.origin,
      protocol: h.wsProtocol,
      extensions: h.wsExtensions,
    });
    return off;
  }

  frame(reader: FrameReader, opcode: number, _fin: boolean, _length: number, tsUs: number): void {
    if (this.framesTotal === 0) this.firstUs = tsUs;
    else {
      const d = tsUs - this.lastUs;
      const iat = d > 0 ? d : 0;
      if (iat < this.iatMin) this.iatMin = iat;
      if (iat > this.iatMax) this.iatMax = iat;
      this.iatSum += iat;
      this.iatCount++;
    }
    this.lastUs = tsUs;
    this.framesTotal++;
    if (opcode === 8 && this.closedBy < 0) this.closedBy = reader.dir;
    if (this.framesTotal >= this.limits.frames) {
      this.limitHit = true;
      this.ctx?.count('limit.frames');
      this.readers[0].stopped = true;
      this.readers[1].stopped = true;
    }
  }

  malformed(_reader: FrameReader, reason: string): void {
    this.ctx?.count(`malformed.frame_${reason}`);
  }
}
