/**
 * HTTP/2 framing (RFC 9113 §4.1, §6) read as a stream that arrives in pieces. The 9-byte frame
 * header is gathered in a fixed buffer; DATA payload is passed through without copying (padding
 * removed); header block fragments (HEADERS, PUSH_PROMISE, CONTINUATION) are gathered into one
 * block buffer bounded by `blockBytes`; SETTINGS are read entry by entry; RST_STREAM and GOAWAY
 * keep their first 8 bytes. Nothing else is buffered.
 */

export const FrameType = {
  Data: 0,
  Headers: 1,
  Priority: 2,
  RstStream: 3,
  Settings: 4,
  PushPromise: 5,
  Ping: 6,
  Goaway: 7,
  WindowUpdate: 8,
  Continuation: 9,
} as const;

/** Frame type names by number (index 10: anything else). */
export const FRAME_NAMES = [
  'data', 'headers', 'priority', 'rst_stream', 'settings', 'push_promise', 'ping', 'goaway', 'window_update', 'continuation', 'unknown',
] as const;

export const Flag = { EndStream: 0x1, Ack: 0x1, EndHeaders: 0x4, Padded: 0x8, Priority: 0x20 } as const;

/** What the frame reader reports. */
export interface FrameSink {
  /** A frame header arrived (before its payload). */
  frame(r: H2FrameReader, type: number, flags: number, streamId: number, length: number): void;
  /** DATA payload bytes (padding removed), in pieces. */
  data(r: H2FrameReader, streamId: number, buf: Uint8Array, start: number, end: number): void;
  /** A DATA frame ended. */
  dataEnd(r: H2FrameReader, streamId: number, flags: number): void;
  /**
   * A complete header block. `flags` are those of the HEADERS/PUSH_PROMISE frame that opened it
   * (END_STREAM); `promisedId` is set for PUSH_PROMISE. `overflow`: the block exceeded the
   * budget and its bytes are not available (the HPACK state is lost).
   */
  headerBlock(r: H2FrameReader, type: number, streamId: number, flags: number, promisedId: number, block: Uint8Array, start: number, end: number, overflow: boolean): void;
  setting(r: H2FrameReader, id: number, value: number): void;
  rstStream(r: H2FrameReader, streamId: number, code: number): void;
  goaway(r: H2FrameReader, lastStreamId: number, code: number): void;
  malformed(r: H2FrameReader, reason: string): void;
}

const EMPTY = new Uint8Array(0);

/** One direction's HTTP/2 frame stream. */
export class H2FrameReader {
  stopped = false;
  frames = 0;
  private readonly hdr = new Uint8Array(9);
  private hdrLen = 0;
  private inPayload = false;
  private type = 0;
  private flags = 0;
  private streamId = 0;
  private length = 0;
  /** Position inside the current payload. */
  private pos = 0;
  /** DATA: padding length (-1 until read) and end of the data part. */
  private padLen = -1;
  private dataEnd = 0;
  /** Small fixed payloads (SETTINGS entry, RST_STREAM, GOAWAY head). */
  private readonly small = new Uint8Array(8);
  /** Header block being gathered. */
  private block: Uint8Array = EMPTY;
  private blockLen = 0;
  /** A CONTINUATION without an open block: its bytes are dropped. */
  private orphan = false;
  private blockOverflow = false;
  /** Stream whose header block expects CONTINUATION, 0 when none. */
  private contStream = 0;
  private blockType = 0;
  private blockFlags = 0;
  private promisedId = 0;

  constructor(
    readonly dir: 0 | 1,
    /** Largest header block gathered. */
    private readonly blockBytes: number,
  ) {}

  /** Bytes held for a header block (for limit checks in tests and fuzzing). */
  get heldBytes(): number {
    return this.block.length;
  }

  feed(buf: Uint8Array, off: number, end: number, sink: FrameSink): void {
    // Each pass consumes ≥ 1 byte, or completes a header (9 bytes) of an empty frame.
    for (let guard = end - off + 1; off < end && !this.stopped && guard > 0; guard--) {
      if (!this.inPayload) {
        while (this.hdrLen < 9 && off < end) this.hdr[this.hdrLen++] = buf[off++]!;
        if (this.hdrLen < 9) return;
        this.startFrame(sink);
        continue;
      }
      const n = Math.min(this.length - this.pos, end - off);
      this.payload(buf, off, n, sink);
      off += n;
      this.pos += n;
      if (this.pos === this.length) this.endFrame(sink);
    }
  }

  private startFrame(sink: FrameSink): void {
    const h = this.hdr;
    this.hdrLen = 0;
    this.length = (h[0]! << 16) | (h[1]! << 8) | h[2]!;
    this.type = h[3]!;
    this.flags = h[4]!;
    this.streamId = ((h[5]! & 0x7f) << 24) | (h[6]! << 16) | (h[7]! << 8) | h[8]!;
    this.pos = 0;
    this.padLen = -1;
    this.frames++;
    if (this.contStream !== 0 && (this.type !== FrameType.Continuation || this.streamId !== this.contStream)) {
      // RFC 9113 §6.10: nothing may interleave with a header block.
      sink.malformed(this, 'continuation_expected');
      this.contStream = 0;
    }
    sink.frame(this, this.type, this.flags, this.streamId, this.length);
    if (this.stopped) return;
    switch (this.type) {
      case FrameType.Headers:
      case FrameType.PushPromise:
        this.blockLen = 0;
        this.blockOverflow = false;
        this.blockType = this.type;
        this.blockFlags = this.flags;
        this.promisedId = 0;
        this.orphan = false;
        break;
      case FrameType.Continuation:
        this.orphan = this.contStream === 0;
        if (this.orphan) sink.malformed(this, 'orphan_continuation');
        break;
      case FrameType.Settings:
        if (this.length % 6 !== 0) sink.malformed(this, 'settings_length');
        break;
      default:
        break;
    }
    this.inPayload = this.length > 0;
    if (this.length === 0) this.endFrame(sink);
  }

  private payload(buf: Uint8Array, off: number, n: number, sink: FrameSink): void {
    switch (this.type) {
      case FrameType.Data: {
        let s = off;
        const e = off + n;
        let p = this.pos;
        if (this.padLen < 0) {
          if (this.flags & Flag.Padded) {
            this.padLen = buf[s++]!;
            p++;
            if (this.padLen >= this.length) sink.malformed(this, 'padding');
          } else this.padLen = 0;
          this.dataEnd = this.length - this.padLen;
        }
        // Data part is [padded ? 1 : 0, dataEnd) of the payload.
        const stop = Math.min(e, s + Math.max(0, this.dataEnd - p));
        if (stop > s) sink.data(this, this.streamId, buf, s, stop);
        return;
      }
      case FrameType.Headers:
      case FrameType.PushPromise:
      case FrameType.Continuation:
        this.gather(buf, off, n);
        return;
      case FrameType.Settings:
        for (let i = 0; i < n; i++) {
          const k = (this.pos + i) % 6;
          this.small[k] = buf[off + i]!;
          if (k === 5) {
            const s = this.small;
            sink.setting(this, (s[0]! << 8) | s[1]!, ((s[2]! << 24) >>> 0) + ((s[3]! << 16) | (s[4]! << 8) | s[5]!));
          }
        }
        return;
      case FrameType.RstStream:
      case FrameType.Goaway:
        for (let i = 0; i < n && this.pos + i < 8; i++) this.small[this.pos + i] = buf[off + i]!;
        return;
      default:
        return;
    }
  }

  private gather(buf: Uint8Array, off: number, n: number): void {
    if (this.blockOverflow || this.orphan) return;
    const need = this.blockLen + n;
    if (need > this.blockBytes) {
      this.blockOverflow = true;
      return;
    }
    if (need > this.block.length) {
      let size = this.block.length === 0 ? 1024 : this.block.length * 2;
      while (size < need) size *= 2;
      const grown = new Uint8Array(Math.min(size, this.blockBytes));
      grown.set(this.block.subarray(0, this.blockLen));
      this.block = grown;
    }
    this.block.set(buf.subarray(off, off + n), this.blockLen);
    this.blockLen += n;
  }

  private endFrame(sink: FrameSink): void {
    this.inPayload = false;
    const s = this.small;
    switch (this.type) {
      case FrameType.Data:
        sink.dataEnd(this, this.streamId, this.flags);
        return;
      case FrameType.Headers:
      case FrameType.PushPromise:
      case FrameType.Continuation:
        this.endFragment(sink);
        return;
      case FrameType.RstStream:
        if (this.length !== 4) sink.malformed(this, 'rst_stream_length');
        else sink.rstStream(this, this.streamId, ((s[0]! << 24) >>> 0) + ((s[1]! << 16) | (s[2]! << 8) | s[3]!));
        return;
      case FrameType.Goaway:
        if (this.length < 8) sink.malformed(this, 'goaway_length');
        else sink.goaway(this, ((s[0]! & 0x7f) << 24) | (s[1]! << 16) | (s[2]! << 8) | s[3]!, ((s[4]! << 24) >>> 0) + ((s[5]! << 16) | (s[6]! << 8) | s[7]!));
        return;
      default:
        return;
    }
  }

  /** Strips padding / priority / promised id from the fragment just gathered; delivers a complete block. */
  private endFragment(sink: FrameSink): void {
    if (this.orphan) return;
    if (!this.blockOverflow && this.type !== FrameType.Continuation) {
      const b = this.block;
      let head = 0;
      let pad = 0;
      if (this.flags & Flag.Padded) {
        pad = this.length > 0 ? b[0]! : 0;
        head = 1;
      }
      if (this.type === FrameType.Headers && this.flags & Flag.Priority) head += 5;
      if (this.type === FrameType.PushPromise) {
        if (this.length >= head + 4) {
          this.promisedId = ((b[head]! & 0x7f) << 24) | (b[head + 1]! << 16) | (b[head + 2]! << 8) | b[head + 3]!;
        }
        head += 4;
      }
      if (head + pad > this.length) {
        sink.malformed(this, 'padding');
        this.blockOverflow = true;
      } else {
        b.copyWithin(0, head, this.length - pad);
        this.blockLen = this.length - head - pad;
      }
    }
    if (this.flags & Flag.EndHeaders) {
      const stream = this.type === FrameType.Continuation ? this.contStream : this.streamId;
      this.contStream = 0;
      sink.headerBlock(this, this.blockType, stream, this.blockFlags, this.promisedId, this.block, 0, this.blockLen, this.blockOverflow);
      this.blockLen = 0;
    } else this.contStream = this.type === FrameType.Continuation ? this.contStream : this.streamId;
  }
}
