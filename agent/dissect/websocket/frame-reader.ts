/**
 * RFC 6455 §5.2 framing, read as a stream that arrives in pieces: the 2–14 byte header is
 * gathered in a fixed buffer, payloads are skipped without buffering; only a bounded sample of
 * (unmasked) data payload feeds a byte histogram, and the first two bytes of a Close payload
 * give the close code.
 */

export const Opcode = { Continuation: 0, Text: 1, Binary: 2, Close: 8, Ping: 9, Pong: 10 } as const;

/** Per-direction frame counts. */
export interface FrameCounts {
  frames: number;
  /** Data frames whose message is text / binary (continuations counted with their message). */
  text: number;
  binary: number;
  continuation: number;
  ping: number;
  pong: number;
  close: number;
  /** Frames with the MASK bit (clients must mask, servers must not). */
  masked: number;
  /** Frames with RSV1 (permessage-deflate compressed messages). */
  compressed: number;
  /** Complete messages (data frames with FIN). */
  messages: number;
  /** Sum of payload lengths announced in headers. */
  payloadBytes: number;
}

export function emptyCounts(): FrameCounts {
  return { frames: 0, text: 0, binary: 0, continuation: 0, ping: 0, pong: 0, close: 0, masked: 0, compressed: 0, messages: 0, payloadBytes: 0 };
}

/** Receives each frame header as it completes. */
export interface FrameSink {
  frame(reader: FrameReader, opcode: number, fin: boolean, length: number, tsUs: number): void;
  malformed(reader: FrameReader, reason: string): void;
}

/** Largest payload length accepted: exact in a float64; RFC 6455 also forbids the 64-bit MSB. */
const MAX_LENGTH = Number.MAX_SAFE_INTEGER;

/** One direction's frame stream. */
export class FrameReader {
  readonly counts = emptyCounts();
  /** Histogram of sampled data payload bytes (lazily allocated). */
  histogram: Uint32Array | null = null;
  sampled = 0;
  stopped = false;
  /** Status code of the first Close frame that carried one, -1 before. */
  closeCode = -1;
  private readonly hdr = new Uint8Array(14);
  private hdrLen = 0;
  private hdrNeed = 2;
  private remaining = 0;
  /** Offset inside the current payload (for the mask position). */
  private pos = 0;
  private opcode = 0;
  private masked = false;
  /** Message type being continued (Text or Binary), 0 when none is open. */
  private messageType = 0;
  private closeBytes = 0;
  private closeHi = 0;
  private inPayload = false;

  constructor(
    readonly dir: 0 | 1,
    /** Data payload bytes sampled into the histogram at most. */
    private readonly sampleBytes: number,
  ) {}

  feed(buf: Uint8Array, off: number, end: number, tsUs: number, sink: FrameSink): void {
    // Each pass consumes at least one byte, or completes a header of a zero-length frame, which
    // needs at least two bytes; so passes ≤ bytes + 1.
    for (let guard = end - off + 1; off < end && !this.stopped && guard > 0; guard--) {
      if (!this.inPayload) {
        off = this.header(buf, off, end, tsUs, sink);
        continue;
      }
      const n = Math.min(this.remaining, end - off);
      this.payload(buf, off, n);
      off += n;
      this.remaining -= n;
      this.pos += n;
      if (this.remaining === 0) {
        this.inPayload = false;
        if (this.opcode === Opcode.Close) this.stopped = true;
      }
    }
  }

  private header(buf: Uint8Array, off: number, end: number, tsUs: number, sink: FrameSink): number {
    const h = this.hdr;
    while (this.hdrLen < this.hdrNeed && off < end) {
      h[this.hdrLen++] = buf[off++]!;
      if (this.hdrLen === 2) {
        const len7 = h[1]! & 0x7f;
        this.hdrNeed = 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + (h[1]! & 0x80 ? 4 : 0);
      }
    }
    if (this.hdrLen < this.hdrNeed) return off;
    const b0 = h[0]!;
    const b1 = h[1]!;
    const fin = (b0 & 0x80) !== 0;
    const opcode = b0 & 0x0f;
    const masked = (b1 & 0x80) !== 0;
    const len7 = b1 & 0x7f;
    let length = len7;
    let p = 2;
    if (len7 === 126) {
      length = (h[2]! << 8) | h[3]!;
      p = 4;
    } else if (len7 === 127) {
      if (h[2]! & 0x80) return this.fail(sink, 'length_msb', end);
      length = 0;
      for (let i = 2; i < 10; i++) length = length * 256 + h[i]!;
      if (length > MAX_LENGTH) return this.fail(sink, 'length', end);
      p = 10;
    }
    const isControl = opcode >= 8;
    if ((opcode > 2 && opcode < 8) || opcode > 10) return this.fail(sink, 'opcode', end);
    if (isControl && (!fin || length > 125)) return this.fail(sink, 'control_frame', end);
    if (opcode === Opcode.Continuation && this.messageType === 0) sink.malformed(this, 'orphan_continuation');
    const c = this.counts;
    c.frames++;
    c.payloadBytes += length;
    if (masked) c.masked++;
    if (b0 & 0x40) c.compressed++;
    switch (opcode) {
      case Opcode.Continuation:
        c.continuation++;
        if (this.messageType === Opcode.Text) c.text++;
        else if (this.messageType === Opcode.Binary) c.binary++;
        break;
      case Opcode.Text:
        c.text++;
        break;
      case Opcode.Binary:
        c.binary++;
        break;
      case Opcode.Close:
        c.close++;
        break;
      case Opcode.Ping:
        c.ping++;
        break;
      default:
        c.pong++;
    }
    if (!isControl) {
      if (opcode !== Opcode.Continuation) this.messageType = opcode;
      if (fin) {
        c.messages++;
        this.messageType = 0;
      }
    }
    this.opcode = opcode;
    this.masked = masked;
    if (masked) {
      // Keep the key in place at hdr[0..3] for unmasking.
      h[0] = h[p]!;
      h[1] = h[p + 1]!;
      h[2] = h[p + 2]!;
      h[3] = h[p + 3]!;
    }
    this.hdrLen = 0;
    this.hdrNeed = 2;
    this.remaining = length;
    this.pos = 0;
    this.closeBytes = 0;
    this.inPayload = length > 0;
    // Nothing may follow a Close from the same side (RFC 6455 §5.5.1): stop at its end, a byte
    // position, so the result does not depend on how the stream was cut into pieces.
    if (opcode === Opcode.Close && length === 0) this.stopped = true;
    sink.frame(this, opcode, fin, length, tsUs);
    return off;
  }

  private payload(buf: Uint8Array, off: number, n: number): void {
    const op = this.opcode;
    if (op === Opcode.Close) {
      // The close code is the first two payload bytes (RFC 6455 §5.5.1).
      for (let i = 0; i < n && this.closeBytes < 2; i++, this.closeBytes++) {
        const b = this.unmask(buf[off + i]!, this.pos + i);
        if (this.closeBytes === 0) this.closeHi = b;
        else if (this.closeCode < 0) this.closeCode = (this.closeHi << 8) | b;
      }
      return;
    }
    if (op > 2) return;
    const take = Math.min(n, this.sampleBytes - this.sampled);
    if (take <= 0) return;
    const hist = (this.histogram ??= new Uint32Array(256));
    for (let i = 0; i < take; i++) hist[this.unmask(buf[off + i]!, this.pos + i)]!++;
    this.sampled += take;
  }

  private unmask(b: number, pos: number): number {
    return this.masked ? b ^ this.hdr[pos & 3]! : b;
  }

  private fail(sink: FrameSink, reason: string, end: number): number {
    this.stopped = true;
    sink.malformed(this, reason);
    return end;
  }
}

/** Shannon entropy of a byte histogram in bits per byte (0–8), or undefined when empty. */
export function entropy(hist: Uint32Array | null, total: number): number | undefined {
  if (!hist || total <= 0) return undefined;
  let h = 0;
  for (let i = 0; i < 256; i++) {
    const n = hist[i]!;
    if (n === 0) continue;
    const p = n / total;
    h -= p * Math.log2(p);
  }
  return h;
}

/**
 * True when `buf[off, off+len)` is exactly a sequence of 1–16 well-formed WebSocket frames (what
 * a segment of a WebSocket connection looks like when the capture missed the handshake). Exact
 * tiling, minimal length encoding, consistent masking and a valid message sequence (continuations
 * only inside an open message) keep other binary protocols from matching: a NetBIOS session
 * request (`81 00 00 44 …`) tiles as a text frame plus a 68-byte continuation, but that
 * continuation follows a complete message.
 */
export function looksLikeFrames(buf: Uint8Array, off: number, len: number): boolean {
  const end = off + len;
  let p = off;
  let open = false;
  let masking = -1;
  for (let n = 0; n < 16 && p < end; n++) {
    if (end - p < 2) return false;
    const b0 = buf[p]!;
    const b1 = buf[p + 1]!;
    const opcode = b0 & 0x0f;
    const fin = (b0 & 0x80) !== 0;
    if (b0 & 0x30) return false; // RSV2/RSV3 are never negotiated in practice
    const masked = b1 >> 7;
    if (masking >= 0 && masked !== masking) return false;
    masking = masked;
    if (opcode >= 8) {
      if (opcode > 10 || !fin) return false;
    } else if (opcode === 0) {
      if (!open) return false;
      open = !fin;
    } else if (opcode <= 2) {
      if (open) return false;
      open = !fin;
    } else return false;
    let length = b1 & 0x7f;
    let hdr = 2;
    if (length === 126) {
      if (end - p < 4) return false;
      length = (buf[p + 2]! << 8) | buf[p + 3]!;
      hdr = 4;
      if (length < 126) return false; // not minimal: not a real encoder
    } else if (length === 127) return false; // 64-bit lengths never fit one segment exactly
    if (opcode >= 8 && length > 125) return false;
    if (masked) hdr += 4;
    p += hdr + length;
  }
  return p === end;
}
