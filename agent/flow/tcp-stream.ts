/** Where a TcpStream delivers ordered bytes. */
export interface StreamSink {
  deliver(stream: TcpStream, buf: Uint8Array, off: number, len: number): void;
  gap(stream: TcpStream, lostBytes: number): void;
}

/** Out-of-order segments held per direction at most (in addition to the byte cap). */
const MAX_PENDING_SEGMENTS = 64;

interface Pending {
  seq: number;
  data: Uint8Array;
}

/**
 * One direction of a TCP connection turned into ordered bytes: retransmissions and overlaps are
 * trimmed (first copy wins, as most stacks do), out-of-order segments wait (copied, bounded) until
 * the gap fills. Delivery stops for good once `budget` bytes were delivered, so memory per flow is
 * bounded by `pendingCap`. A gap that never fills (capture loss) is skipped when the pending cap
 * or segment count is reached, and reported as a gap.
 */
export class TcpStream {
  /** Next expected sequence number; -1 until the first segment or SYN. */
  private nextSeq = -1;
  /** Created on the first out-of-order segment (most streams never need it). */
  private pending: Pending[] | null = null;
  private pendingBytes = 0;
  delivered = 0;
  done = false;
  retransmits = 0;
  outOfOrder = 0;
  gaps = 0;

  constructor(
    readonly flowId: number,
    readonly dir: 0 | 1,
    private readonly budget: number,
    private readonly pendingCap: number,
    private readonly sink: StreamSink,
  ) {}

  /** Frees buffered segments and stops delivery. */
  release(): void {
    this.done = true;
    this.pending = null;
    this.pendingBytes = 0;
  }

  /** Starts the stream after a SYN whose sequence number was `isn` (the SYN itself was not passed in). */
  startAfterSyn(isn: number): void {
    if (this.nextSeq < 0) this.nextSeq = (isn + 1) >>> 0;
  }

  segment(seq: number, syn: boolean, buf: Uint8Array, off: number, len: number): void {
    if (this.done) return;
    if (syn) {
      if (this.nextSeq < 0) this.nextSeq = (seq + 1) >>> 0;
      seq = (seq + 1) >>> 0; // SYN data (TCP Fast Open) starts after the SYN's sequence number
    }
    if (len <= 0) return;
    if (this.nextSeq < 0) this.nextSeq = seq;
    let diff = (seq - this.nextSeq) | 0;
    if (diff < 0) {
      if (-diff >= len) {
        this.retransmits++;
        return;
      }
      // Partial overlap: keep only the new bytes.
      this.retransmits++;
      off += -diff;
      len -= -diff;
      seq = this.nextSeq;
      diff = 0;
    }
    if (diff > 0) {
      this.hold(seq, buf, off, len);
      return;
    }
    this.emit(buf, off, len);
    this.drain();
  }

  private emit(buf: Uint8Array, off: number, len: number): void {
    this.nextSeq = (this.nextSeq + len) >>> 0;
    const room = this.budget - this.delivered;
    const n = len < room ? len : room;
    if (n > 0) {
      this.delivered += n;
      this.sink.deliver(this, buf, off, n);
    }
    if (this.delivered >= this.budget) this.release();
  }

  private hold(seq: number, buf: Uint8Array, off: number, len: number): void {
    this.outOfOrder++;
    if (this.pendingBytes + len > this.pendingCap || (this.pending?.length ?? 0) >= MAX_PENDING_SEGMENTS) {
      // The gap is not going to fill within our budget: give up on it.
      this.skipGap();
      if (this.done) return;
      const diff = (seq - this.nextSeq) | 0;
      if (diff <= 0) {
        this.segment(seq, false, buf, off, len);
        return;
      }
      if (this.pendingBytes + len > this.pendingCap) return;
    }
    const data = buf.slice(off, off + len);
    const p = (this.pending ??= []);
    // Keep sorted by sequence (relative to nextSeq, wrap-safe); the list is short.
    let i = p.length;
    while (i > 0 && ((p[i - 1]!.seq - seq) | 0) > 0) i--;
    p.splice(i, 0, { seq, data });
    this.pendingBytes += len;
  }

  /** Jumps over the hole before the earliest held segment and delivers what follows. */
  private skipGap(): void {
    const first = this.pending?.[0];
    if (!first) return;
    const lost = (first.seq - this.nextSeq) | 0;
    if (lost > 0) {
      this.gaps++;
      this.nextSeq = first.seq;
      this.sink.gap(this, lost);
    }
    this.drain();
  }

  private drain(): void {
    const p = this.pending;
    if (!p) return;
    while (p.length > 0 && !this.done) {
      const seg = p[0]!;
      const diff = (seg.seq - this.nextSeq) | 0;
      if (diff > 0) break;
      p.shift();
      this.pendingBytes -= seg.data.length;
      const skip = -diff;
      if (skip >= seg.data.length) {
        this.retransmits++;
        continue;
      }
      this.emit(seg.data, skip, seg.data.length - skip);
    }
  }
}
