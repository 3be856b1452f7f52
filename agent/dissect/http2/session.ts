import type { DissectContext } from '../dissector.js';
import { hasToken, lit } from '../http/ascii.js';
import { HeadParser, HeadState, type HeadLimits } from '../http/head-parser.js';
import { Flag, FrameType, H2FrameReader, type FrameSink } from './frame-reader.js';
import { GrpcMessageCounter, isGrpcContentType } from './grpc.js';
import { HpackDecoder, HpackStatus, type HpackLimits } from './hpack.js';

/** Budgets of the HTTP/2 (+ gRPC) dissector, per flow. */
export interface Http2Limits extends HpackLimits, HeadLimits {
  /** Frames looked at, both directions; then the dissector is done. */
  readonly frames: number;
  /** Streams tracked (later streams are counted only). */
  readonly streams: number;
  /** One header block (HEADERS/PUSH_PROMISE + CONTINUATION) gathered at most. */
  readonly headerBlockBytes: number;
  /** Requests / gRPC calls listed in the metadata. */
  readonly streamsReported: number;
  /** gRPC message sizes listed per call and direction. */
  readonly messageSizesKept: number;
  /** SETTINGS entries kept per direction. */
  readonly settingsKept: number;
  /** Characters of header values kept on streams per flow (each value also capped at valueBytes, paths at uriBytes). */
  readonly keptChars: number;
}

export const HTTP2_LIMITS: Http2Limits = {
  frames: 100_000,
  streams: 256,
  headerBlockBytes: 65_536,
  tableBytes: 65_536,
  headerListBytes: 65_536,
  stringBytes: 8192,
  streamsReported: 32,
  messageSizesKept: 16,
  settingsKept: 16,
  keptChars: 32_768,
  lineBytes: 8192,
  headersPerMessage: 128,
  valueBytes: 1024,
  uriBytes: 4096,
};

/** RFC 9113 §3.4 client connection preface. */
export const PREFACE = lit('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');

/** One HTTP/2 stream as far as Picket follows it. Index 0 of pairs = request side (client → server). */
export interface H2Stream {
  id: number;
  method?: string;
  path?: string;
  authority?: string;
  scheme?: string;
  userAgent?: string;
  requestContentType?: string;
  status?: number;
  responseContentType?: string;
  grpcStatus?: number;
  grpcMessage?: string;
  grpcEncoding?: string;
  /** Server push (PUSH_PROMISE). */
  pushed: boolean;
  grpc: boolean;
  /** HEADERS blocks per side (a second response block is the trailers). */
  blocks: [number, number];
  dataBytes: [number, number];
  ended: [boolean, boolean];
  rstCode?: number;
  messages: [GrpcMessageCounter, GrpcMessageCounter] | undefined;
  /** The grpc.call event went out. */
  reported: boolean;
}

/** Bytes looked at before choosing how a direction starts ("PRI " vs a method vs a frame). */
const OPENING = 4;

/** An HTTP/1.x start line begins with upper-case method letters (or `HTTP/`); frames begin with a length. */
function textOpening(buf: Uint8Array, off: number, end: number): boolean {
  const first = buf[off]!;
  if (first < 0x41 || first > 0x5a) return false;
  for (let i = off + 1; i < end; i++) {
    const c = buf[i]!;
    if (!((c >= 0x41 && c <= 0x5a) || c === 0x20 || c === 0x2d || c === 0x5f || c === 0x2f)) return false;
  }
  return true;
}

const M = { Start: 0, Preface: 1, UpgradeHead: 2, SkipBody: 3, Frames: 4, Stopped: 5 } as const;
type Mode = (typeof M)[keyof typeof M];

/** Decoded header fields of one block that Picket keeps. */
interface BlockFields {
  method?: string;
  path?: string;
  authority?: string;
  scheme?: string;
  status?: string;
  contentType?: string;
  userAgent?: string;
  grpcStatus?: string;
  grpcMessage?: string;
  grpcEncoding?: string;
}

/** Per-flow HTTP/2 state: connection start (preface or h2c upgrade), frames, HPACK, streams, gRPC. */
export class Http2Session implements FrameSink {
  readonly readers: [H2FrameReader, H2FrameReader];
  readonly mode: [Mode, Mode] = [M.Start, M.Start];
  private readonly hpack: [HpackDecoder | null, HpackDecoder | null] = [null, null];
  /** HPACK state lost in that direction (budget or bad bytes): header blocks are no longer decoded. */
  readonly hpackLost: [boolean, boolean] = [false, false];
  private prefaceMatched = 0;
  /** First bytes of each direction, gathered until there are enough to tell what starts it. */
  private readonly opening: [Uint8Array, Uint8Array] = [new Uint8Array(OPENING), new Uint8Array(OPENING)];
  private readonly openingLen: [number, number] = [0, 0];
  private readonly upgradeHeads: [HeadParser | null, HeadParser | null] = [null, null];
  private skip = 0;
  /** Direction of the HTTP/2 client, -1 until known. */
  clientDir = -1;
  /** `prior_knowledge` (preface first) or `upgrade` (HTTP/1.1 Upgrade: h2c + 101). */
  start: '' | 'prior_knowledge' | 'upgrade' = '';
  /** Not HTTP/2 after all. */
  rejected = false;
  readonly streams = new Map<number, H2Stream>();
  /** Stream ids seen beyond the tracking budget. */
  untracked = 0;
  /** Frames per direction by type (index 10 = other types). */
  readonly frameCounts: [number[], number[]] = [new Array<number>(11).fill(0), new Array<number>(11).fill(0)];
  readonly settings: [Array<[number, number]>, Array<[number, number]>] = [[], []];
  goawayInfo: { dir: 0 | 1; lastStreamId: number; errorCode: number } | undefined;
  rstStreams = 0;
  framesTotal = 0;
  limitHit = false;
  ctx: DissectContext | undefined;
  private tsUs = 0;
  private fields: BlockFields = {};
  /** Characters of header values kept on streams. */
  private chars = 0;
  private charsHit = false;

  constructor(readonly limits: Http2Limits = HTTP2_LIMITS) {
    this.readers = [new H2FrameReader(0, limits.headerBlockBytes), new H2FrameReader(1, limits.headerBlockBytes)];
  }

  /** A client preface or an accepted h2c upgrade was seen. */
  get recognised(): boolean {
    return this.start !== '';
  }

  get finished(): boolean {
    return this.rejected || this.limitHit || (this.mode[0] === M.Stopped && this.mode[1] === M.Stopped);
  }

  /** HPACK decoder for header blocks sent in direction `dir`. */
  decoder(dir: 0 | 1): HpackDecoder {
    return (this.hpack[dir] ??= new HpackDecoder(this.limits));
  }

  feed(dir: 0 | 1, buf: Uint8Array, off: number, end: number, tsUs: number, ctx: DissectContext): void {
    this.ctx = ctx;
    this.tsUs = tsUs;
    // Each pass consumes bytes or moves the mode forward (at most 5 moves without consuming).
    for (let guard = end - off + 8; guard > 0 && off < end && !this.rejected; guard--) {
      switch (this.mode[dir]) {
        case M.Start: {
          // Decide on the first OPENING bytes of the stream, however they were cut into pieces.
          const o = this.opening[dir];
          while (this.openingLen[dir] < OPENING && off < end) o[this.openingLen[dir]++] = buf[off++]!;
          if (this.openingLen[dir] < OPENING) return;
          this.begin(dir, o, 0, OPENING);
          if (this.mode[dir] !== M.Start && !this.rejected) this.feed(dir, o, 0, OPENING, tsUs, ctx);
          break;
        }
        case M.Preface:
          off = this.preface(dir, buf, off, end);
          break;
        case M.UpgradeHead:
          off = this.upgrade(dir, buf, off, end);
          break;
        case M.SkipBody: {
          const n = Math.min(this.skip, end - off);
          this.skip -= n;
          off += n;
          if (this.skip === 0) this.mode[dir] = M.Preface;
          break;
        }
        case M.Frames:
          this.readers[dir].feed(buf, off, end, this);
          if (this.readers[dir].stopped) this.mode[dir] = M.Stopped;
          return;
        default:
          return;
      }
    }
  }

  gap(dir: 0 | 1): void {
    // Frame boundaries and HPACK state are lost with the bytes.
    if (this.mode[dir] === M.Frames) this.ctx?.count('gap');
    this.mode[dir] = M.Stopped;
    this.hpackLost[dir] = true;
  }

  /** First bytes of a direction: client preface, HTTP/1.1 upgrade request or 101, or server frames. */
  private begin(dir: 0 | 1, buf: Uint8Array, off: number, end: number): void {
    let prefix = true;
    for (let i = 0; i < end - off; i++) if (buf[off + i] !== PREFACE[i]) prefix = false;
    if (prefix) {
      this.mode[dir] = M.Preface;
      return;
    }
    if (textOpening(buf, off, end)) {
      this.mode[dir] = M.UpgradeHead;
      this.upgradeHeads[dir] = new HeadParser(this.limits);
      return;
    }
    // Binary first bytes: only the server side may start with frames (its SETTINGS).
    if (this.clientDir === dir) this.rejected = true;
    else this.mode[dir] = M.Frames;
  }

  private preface(dir: 0 | 1, buf: Uint8Array, off: number, end: number): number {
    while (off < end && this.prefaceMatched < PREFACE.length) {
      if (buf[off] !== PREFACE[this.prefaceMatched]) {
        this.ctx?.count('malformed.preface');
        this.mode[dir] = M.Stopped;
        if (!this.recognised) this.rejected = true;
        return end;
      }
      off++;
      this.prefaceMatched++;
    }
    if (this.prefaceMatched === PREFACE.length) {
      this.clientDir = dir;
      if (this.start === '') this.start = 'prior_knowledge';
      this.mode[dir] = M.Frames;
    }
    return off;
  }

  private upgrade(dir: 0 | 1, buf: Uint8Array, off: number, end: number): number {
    const p = this.upgradeHeads[dir]!;
    off = p.feed(buf, off, end);
    if (p.state === HeadState.Error) {
      this.rejected = true;
      return end;
    }
    if (p.state !== HeadState.Done) return off;
    const h = p.head!;
    p.reset();
    this.upgradeHeads[dir] = h.status >= 100 && h.status < 200 && h.status !== 101 ? p : null;
    if (h.kind === 'request') {
      if (!hasToken(h.upgrade, 'h2c')) {
        this.rejected = true;
        return end;
      }
      this.clientDir = dir;
      // The upgrade request is stream 1, its request side already complete (RFC 7540 §3.2).
      const s = this.stream(1);
      if (s) {
        s.method = h.method;
        s.path = h.target;
        if (h.host !== undefined) s.authority = h.host;
        if (h.userAgent !== undefined) s.userAgent = h.userAgent;
        if (h.contentType !== undefined) s.requestContentType = h.contentType;
        s.blocks[0] = 1;
        s.ended[0] = true;
      }
      if (h.http2Settings) this.applySettingsHeader(dir, h.http2Settings);
      this.skip = h.contentLength > 0 ? h.contentLength : 0;
      this.mode[dir] = this.skip > 0 ? M.SkipBody : M.Preface;
      return off;
    }
    if (h.status === 101 && hasToken(h.upgrade, 'h2c')) {
      this.start = 'upgrade';
      if (this.clientDir < 0) this.clientDir = dir === 0 ? 1 : 0;
      this.mode[dir] = M.Frames;
      return off;
    }
    if (h.status >= 100 && h.status < 200 && h.status !== 101) return off; // interim: the real answer follows
    this.rejected = true; // upgrade refused (or another protocol chosen): not HTTP/2
    return end;
  }

  /** HTTP2-Settings (RFC 7540 §3.2.1): base64url SETTINGS payload of the client. */
  private applySettingsHeader(dir: 0 | 1, value: string): void {
    const bytes = Buffer.from(value.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
    for (let i = 0; i + 6 <= bytes.length && i < 6 * this.limits.settingsKept; i += 6) {
      this.setting(this.readers[dir], bytes.readUInt16BE(i), bytes.readUInt32BE(i + 2));
    }
  }

  /** The tracked stream `id`, created when new and the budget allows. */
  stream(id: number): H2Stream | undefined {
    let s = this.streams.get(id);
    if (s) return s;
    if (this.streams.size >= this.limits.streams) {
      this.untracked++;
      if (this.untracked === 1) this.ctx?.count('limit.streams');
      return undefined;
    }
    s = {
      id,
      pushed: false,
      grpc: false,
      blocks: [0, 0],
      dataBytes: [0, 0],
      ended: [false, false],
      messages: undefined,
      reported: false,
    };
    this.streams.set(id, s);
    return s;
  }

  /** Side of a frame on a stream: 0 request (client → server), 1 response. */
  private side(r: H2FrameReader): 0 | 1 {
    return r.dir === this.clientDir ? 0 : 1;
  }

  frame(r: H2FrameReader, type: number, _flags: number, _streamId: number, _length: number): void {
    this.frameCounts[r.dir]![type < 10 ? type : 10]!++;
    if (r.frames === 1 && r.dir !== this.clientDir && type !== FrameType.Settings) {
      // RFC 9113 §3.4: the server preface is a SETTINGS frame.
      this.ctx?.count('malformed.server_preface');
    }
    if (++this.framesTotal >= this.limits.frames) {
      this.limitHit = true;
      this.ctx?.count('limit.frames');
      this.readers[0].stopped = true;
      this.readers[1].stopped = true;
    }
  }

  data(r: H2FrameReader, streamId: number, buf: Uint8Array, start: number, end: number): void {
    const s = this.streams.get(streamId);
    if (!s) return;
    const side = this.side(r);
    s.dataBytes[side] += end - start;
    if (s.grpc) {
      s.messages ??= [new GrpcMessageCounter(this.limits.messageSizesKept), new GrpcMessageCounter(this.limits.messageSizesKept)];
      const m = s.messages[side];
      const wasBroken = m.broken;
      m.feed(buf, start, end);
      if (m.broken && !wasBroken) this.ctx?.count('malformed.grpc_prefix');
    }
  }

  dataEnd(r: H2FrameReader, streamId: number, flags: number): void {
    if (!(flags & Flag.EndStream)) return;
    const s = this.streams.get(streamId);
    if (!s) return;
    s.ended[this.side(r)] = true;
    this.maybeReport(s);
  }

  headerBlock(r: H2FrameReader, type: number, streamId: number, flags: number, promisedId: number, block: Uint8Array, start: number, end: number, overflow: boolean): void {
    const dir = r.dir;
    if (this.hpackLost[dir]) return;
    if (overflow) {
      this.ctx?.count('limit.header_block_bytes');
      this.hpackLost[dir] = true;
      return;
    }
    const f: BlockFields = (this.fields = {});
    const status = this.decoder(dir).decode(block, start, end, this.onHeader);
    if (status === HpackStatus.Malformed || status === HpackStatus.TableLimit) {
      this.ctx?.count(status === HpackStatus.Malformed ? `malformed.hpack_${this.decoder(dir).error}` : 'limit.hpack_table_bytes');
      this.hpackLost[dir] = true;
      return;
    }
    if (status === HpackStatus.ListLimit) this.ctx?.count('limit.header_list_bytes');
    if (type === FrameType.PushPromise) {
      const p = this.stream(promisedId);
      if (!p) return;
      p.pushed = true;
      this.requestFields(p, f);
      p.blocks[0]++;
      p.ended[0] = true;
      return;
    }
    const s = this.stream(streamId);
    if (!s) return;
    const side = this.side(r);
    s.blocks[side]++;
    if (side === 0) {
      if (s.blocks[0] === 1) {
        this.requestFields(s, f);
        this.ctx?.emit('http2.request', this.tsUs, { stream: s.id, method: s.method, path: s.path, authority: s.authority, content_type: s.requestContentType });
      }
    } else {
      const st = f.status !== undefined ? Number(f.status) : NaN;
      if (Number.isInteger(st) && st >= 200 && s.status === undefined) {
        s.status = st;
        if (f.contentType !== undefined) s.responseContentType = this.keep(f.contentType, this.limits.valueBytes);
        if (isGrpcContentType(f.contentType)) s.grpc = true;
      }
      if (f.grpcStatus !== undefined) {
        const g = Number(f.grpcStatus);
        if (Number.isInteger(g) && g >= 0) s.grpcStatus = g;
      }
      if (f.grpcMessage !== undefined) s.grpcMessage = this.keep(f.grpcMessage, this.limits.valueBytes);
      if (f.grpcEncoding !== undefined) s.grpcEncoding ??= this.keep(f.grpcEncoding, this.limits.valueBytes);
    }
    if (flags & Flag.EndStream) {
      s.ended[side] = true;
      this.maybeReport(s);
    }
  }

  private requestFields(s: H2Stream, f: BlockFields): void {
    if (isGrpcContentType(f.contentType)) s.grpc = true;
    if (f.method !== undefined) s.method = this.keep(f.method, this.limits.valueBytes);
    if (f.path !== undefined) s.path = this.keep(f.path, this.limits.uriBytes);
    if (f.authority !== undefined) s.authority = this.keep(f.authority, this.limits.valueBytes);
    if (f.scheme !== undefined) s.scheme = this.keep(f.scheme, this.limits.valueBytes);
    if (f.userAgent !== undefined) s.userAgent = this.keep(f.userAgent, this.limits.valueBytes);
    if (f.contentType !== undefined) s.requestContentType = this.keep(f.contentType, this.limits.valueBytes);
    if (f.grpcEncoding !== undefined) s.grpcEncoding = this.keep(f.grpcEncoding, this.limits.valueBytes);
  }

  /** A header value to keep on a stream: cut to `max`, or '' once the flow's string budget is spent. */
  private keep(v: string, max: number): string {
    if (this.chars > this.limits.keptChars) {
      if (!this.charsHit) this.ctx?.count('limit.kept_chars');
      this.charsHit = true;
      return '';
    }
    const out = v.length > max ? v.slice(0, max) : v;
    this.chars += out.length;
    return out;
  }

  /** Keeps the header fields Picket reports (names are lower case in HTTP/2). */
  private readonly onHeader = (name: string, value: string): void => {
    const f = this.fields;
    switch (name) {
      case ':method':
        f.method = value;
        return;
      case ':path':
        f.path = value;
        return;
      case ':authority':
        f.authority = value;
        return;
      case ':scheme':
        f.scheme = value;
        return;
      case ':status':
        f.status = value;
        return;
      case 'content-type':
        f.contentType = value;
        return;
      case 'user-agent':
        f.userAgent = value;
        return;
      case 'grpc-status':
        f.grpcStatus = value;
        return;
      case 'grpc-message':
        f.grpcMessage = value;
        return;
      case 'grpc-encoding':
        f.grpcEncoding = value;
        return;
      case 'host':
        f.authority ??= value;
        return;
      default:
        return;
    }
  };

  setting(r: H2FrameReader, id: number, value: number): void {
    const kept = this.settings[r.dir];
    if (kept.length < this.limits.settingsKept) kept.push([id, value]);
    // SETTINGS_HEADER_TABLE_SIZE bounds the table of the headers this endpoint receives.
    if (id === 1) this.decoder(r.dir === 0 ? 1 : 0).setSettingsMax(value);
  }

  rstStream(r: H2FrameReader, streamId: number, code: number): void {
    this.rstStreams++;
    const s = this.streams.get(streamId);
    if (!s) return;
    s.rstCode = code;
    s.ended[this.side(r)] = true;
    this.maybeReport(s);
  }

  goaway(r: H2FrameReader, lastStreamId: number, code: number): void {
    this.goawayInfo ??= { dir: r.dir, lastStreamId, errorCode: code };
  }

  malformed(r: H2FrameReader, reason: string): void {
    this.ctx?.count(`malformed.${reason}`);
    // A broken header block sequence leaves the HPACK table in an unknown state.
    if (reason === 'continuation_expected' || reason === 'padding') this.hpackLost[r.dir] = true;
  }

  /** Emits `grpc.call` once a gRPC stream is over (both sides ended, or reset). */
  private maybeReport(s: H2Stream): void {
    if (!s.grpc || s.reported) return;
    if (!(s.ended[0] && s.ended[1]) && s.rstCode === undefined) return;
    s.reported = true;
    const m = s.messages;
    this.ctx?.emit('grpc.call', this.tsUs, {
      stream: s.id,
      path: s.path,
      status: s.grpcStatus,
      requests: m ? m[0].count : 0,
      responses: m ? m[1].count : 0,
    });
  }
}
