import { HeadParser, HeadState, type HeadLimits, type HeadRole, type HttpHead } from './head-parser.js';
import { indexOfByte, isTchar, lit, parseHex, startsWith, trimOwsEnd } from './ascii.js';

/** How the body of a message is delimited (RFC 9112 §6.3), decided by the owner for each head. */
export const Body = {
  /** No body (requests without length, HEAD/204/304/1xx responses). */
  None: 0,
  /** Content-Length bytes, skipped without buffering. */
  Length: 1,
  /** Chunked transfer coding, skipped chunk by chunk. */
  Chunked: 2,
  /** Everything until the connection closes. */
  UntilClose: 3,
  /** The connection stops being HTTP/1.x (101 Switching Protocols, CONNECT tunnel). */
  Stop: 4,
} as const;
export type Body = (typeof Body)[keyof typeof Body];

/** Budgets of one direction's message stream. */
export interface StreamLimits extends HeadLimits {
  /** Chunks per chunked body; more stops the direction. */
  readonly chunksPerMessage: number;
}

/** What the stream reports to its owner. */
export interface StreamSink {
  /** A message head completed; returns how its body is delimited. */
  head(stream: Http1Stream, head: HttpHead, tsUs: number): Body;
  /** The body of the current message ended after `bodyBytes` bytes (chunk data only for chunked). */
  end(stream: Http1Stream, head: HttpHead, bodyBytes: number): void;
  /** The direction stopped on bad input (`reason` is a counter label) or a budget. */
  fail(stream: Http1Stream, kind: 'malformed' | 'limit', reason: string): void;
}

const P = {
  Head: 0,
  Length: 1,
  ChunkSize: 2,
  ChunkData: 3,
  ChunkEnd: 4,
  Trailers: 5,
  UntilClose: 6,
  /** Not HTTP any more, or gave up: bytes are ignored. */
  Stopped: 7,
  /** After a capture gap: waiting for a piece that starts with a start line. */
  Resync: 8,
} as const;
type Phase = (typeof P)[keyof typeof P];

const HTTP1 = lit('HTTP/1.');

/** True when `buf[off, end)` plausibly starts an HTTP/1.x start line (method + SP, or `HTTP/1.`). */
export function looksLikeStartLine(buf: Uint8Array, off: number, end: number): boolean {
  if (startsWith(buf, off, end, HTTP1)) return true;
  let i = off;
  const stop = Math.min(end, off + 25);
  while (i < stop && isTchar(buf[i]!)) {
    const c = buf[i]!;
    // Methods are upper-case letters (and `-`/`_` in extension methods).
    if (!((c >= 0x41 && c <= 0x5a) || c === 0x2d || c === 0x5f)) return false;
    i++;
  }
  return i > off && i < stop && buf[i] === 0x20 && i + 1 < end && buf[i + 1] !== 0x20;
}

/**
 * One direction of an HTTP/1.x connection: message heads through {@link HeadParser}, bodies
 * skipped by Content-Length or chunk sizes without buffering (only the current line is ever
 * held). Pipelined messages follow each other; the owner matches requests and responses.
 */
export class Http1Stream {
  /**
   * The head parser (and its line reader) exists only while a head is being read: a keep-alive
   * flow waits between messages with nothing buffered, and these two objects were a third of an
   * idle HTTP flow's memory. The role it learned is kept across.
   */
  private headParser: HeadParser | null = null;
  private savedRole: HeadRole = 'any';
  private phase: Phase = P.Head;
  /** Body bytes left in a Content-Length body or the current chunk. */
  private remaining = 0;
  private chunks = 0;
  private trailerLines = 0;
  /**
   * Body size of the current message: the Content-Length, the sum of chunk sizes announced so
   * far, or the bytes seen for a body read until close. Declared sizes count even when the
   * capture or the reassembly budget cuts the body short.
   */
  bodyBytes = 0;
  /** Head of the message whose body is being skipped. */
  current: HttpHead | null = null;
  /** Bytes this direction has looked at. */
  bytes = 0;

  constructor(
    private readonly limits: StreamLimits,
    readonly dir: 0 | 1,
  ) {
  }

  get parser(): HeadParser {
    return (this.headParser ??= new HeadParser(this.limits, this.savedRole));
  }

  /** Which start lines this direction carries ('any' until its first message). */
  get role(): HeadRole {
    return this.headParser?.role ?? this.savedRole;
  }

  /** No more HTTP/1.x in this direction (upgrade, tunnel, or given up). */
  get stopped(): boolean {
    return this.phase === P.Stopped;
  }

  /** A body is being read until the connection closes or was cut by the capture. */
  get inBody(): boolean {
    return this.phase !== P.Head && this.phase !== P.Stopped && this.phase !== P.Resync;
  }

  /** The body runs until the connection closes (a gap does not end it). */
  get untilClose(): boolean {
    return this.phase === P.UntilClose;
  }

  stop(): void {
    this.phase = P.Stopped;
  }

  /** Capture gap: the byte count lost is unknown, so wait for the next start line. */
  gap(): void {
    if (this.phase === P.Stopped) return;
    if (this.phase === P.UntilClose) return; // still body, just fewer bytes
    this.phase = P.Resync;
  }

  feed(buf: Uint8Array, off: number, end: number, tsUs: number, sink: StreamSink): void {
    this.consume(buf, off, end, tsUs, sink);
    const p = this.headParser;
    if (p && (this.phase === P.Stopped || (this.phase === P.Head && p.idle))) {
      this.savedRole = p.role;
      this.headParser = null;
    }
  }

  private consume(buf: Uint8Array, off: number, end: number, tsUs: number, sink: StreamSink): void {
    this.bytes += end - off;
    if (this.phase === P.Resync) {
      if (!looksLikeStartLine(buf, off, end)) return;
      this.parser.reset();
      this.parser.lines.reset();
      this.current = null;
      this.phase = P.Head;
    }
    // Every pass consumes at least one byte or ends the loop; the guard documents the bound.
    for (let guard = 2 * (end - off) + 2; off < end && guard > 0; guard--) {
      switch (this.phase) {
        case P.Head:
          off = this.onHead(buf, off, end, tsUs, sink);
          break;
        case P.Length: {
          const n = Math.min(this.remaining, end - off);
          off += n;
          this.remaining -= n;
          if (this.remaining === 0) this.finish(sink);
          break;
        }
        case P.ChunkData: {
          const n = Math.min(this.remaining, end - off);
          off += n;
          this.remaining -= n;
          if (this.remaining === 0) this.phase = P.ChunkEnd;
          break;
        }
        case P.ChunkSize:
        case P.ChunkEnd:
        case P.Trailers:
          off = this.onChunkLine(buf, off, end, sink);
          break;
        case P.UntilClose:
          this.bodyBytes += end - off;
          off = end;
          break;
        default:
          return;
      }
    }
  }

  private onHead(buf: Uint8Array, off: number, end: number, tsUs: number, sink: StreamSink): number {
    const p = this.parser;
    off = p.feed(buf, off, end);
    if (p.state === HeadState.Error) {
      this.phase = P.Stopped;
      sink.fail(this, 'malformed', p.error);
      return end;
    }
    if (p.state !== HeadState.Done) return off;
    const head = p.head!;
    this.current = head;
    this.bodyBytes = 0;
    const body = sink.head(this, head, tsUs);
    switch (body) {
      case Body.Length:
        this.remaining = head.contentLength > 0 ? head.contentLength : 0;
        this.bodyBytes = this.remaining;
        if (this.remaining === 0) this.finish(sink);
        else this.phase = P.Length;
        break;
      case Body.Chunked:
        this.chunks = 0;
        this.phase = P.ChunkSize;
        break;
      case Body.UntilClose:
        this.phase = P.UntilClose;
        break;
      case Body.Stop:
        this.phase = P.Stopped;
        return end;
      default:
        this.finish(sink);
    }
    return off;
  }

  private onChunkLine(buf: Uint8Array, off: number, end: number, sink: StreamSink): number {
    const lr = this.parser.lines;
    off = lr.next(buf, off, end);
    if (!lr.complete) return off;
    const b = lr.lineBuf;
    const s = lr.lineStart;
    const e = lr.lineEnd;
    if (this.phase === P.ChunkEnd) {
      if (e !== s) return this.giveUp(sink, 'malformed', 'chunk_terminator', end);
      this.phase = P.ChunkSize;
      return off;
    }
    if (this.phase === P.Trailers) {
      if (e === s) this.finish(sink);
      else if (++this.trailerLines > this.limits.headersPerMessage) return this.giveUp(sink, 'limit', 'trailer_lines', end);
      return off;
    }
    // chunk-size [ chunk-ext ] (RFC 9112 §7.1)
    const semi = indexOfByte(b, 0x3b, s, e);
    const size = parseHex(b, s, trimOwsEnd(b, s, semi < 0 ? e : semi));
    if (size < 0) return this.giveUp(sink, 'malformed', 'chunk_size', end);
    if (++this.chunks > this.limits.chunksPerMessage) return this.giveUp(sink, 'limit', 'chunks', end);
    if (size === 0) {
      this.trailerLines = 0;
      this.phase = P.Trailers;
    } else {
      this.remaining = size;
      this.bodyBytes += size;
      this.phase = P.ChunkData;
    }
    return off;
  }

  private giveUp(sink: StreamSink, kind: 'malformed' | 'limit', reason: string, end: number): number {
    this.phase = P.Stopped;
    sink.fail(this, kind, reason);
    return end;
  }

  private finish(sink: StreamSink): void {
    const head = this.current!;
    if (this.phase !== P.Stopped) this.phase = P.Head;
    this.parser.reset();
    sink.end(this, head, this.bodyBytes);
    this.current = null;
  }
}
