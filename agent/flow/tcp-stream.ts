/** Where ordered TCP bytes go; `slot` is flowId * 2 + direction. */
export interface StreamSink {
  deliver(slot: number, buf: Uint8Array, off: number, len: number): void;
  gap(slot: number, lostBytes: number): void;
}

/** Out-of-order segments held per direction at most (in addition to the byte cap). */
const MAX_PENDING_SEGMENTS = 64;

/** Per-slot words in `info`. */
const S_NEXT = 0; // next expected sequence number
const S_DELIVERED = 1;
const S_RETRANS = 2;
const S_OOO = 3;
const S_GAPS = 4;
const INFO_STRIDE = 5;
/** Per-slot state bits. */
const K_KNOWN = 1; // S_NEXT is valid
const K_DONE = 2; // budget spent or released: nothing more is delivered

interface Held {
  bytes: number;
  segs: Array<{ seq: number; data: Uint8Array }>;
}

/** Counters of one direction, for the flow record. */
export interface StreamCounters {
  delivered: number;
  retransmits: number;
  outOfOrder: number;
  gaps: number;
}

/**
 * Both directions of every TCP flow turned into ordered bytes, with all state in typed arrays
 * indexed by slot (flowId * 2 + dir): retransmissions and overlaps are trimmed (first copy wins,
 * as most stacks do), out-of-order segments wait (copied, bounded) until the gap fills. Delivery
 * stops for good once `budget` bytes were delivered. A gap that never fills (capture loss) is
 * skipped when the held bytes or segment count reach their cap, and reported as a gap. Held
 * segments live in a side map: most streams never need one.
 */
export class TcpReassembly {
  private info: Uint32Array;
  private state: Uint8Array;
  private readonly held = new Map<number, Held>();

  constructor(
    slots: number,
    private readonly budget: number,
    private readonly pendingCap: number,
    private readonly sink: StreamSink,
  ) {
    this.info = new Uint32Array(slots * INFO_STRIDE);
    this.state = new Uint8Array(slots);
  }

  /** Grows to `slots` slots, keeping existing state. */
  grow(slots: number): void {
    const info = new Uint32Array(slots * INFO_STRIDE);
    info.set(this.info);
    this.info = info;
    const state = new Uint8Array(slots);
    state.set(this.state);
    this.state = state;
  }

  /** Forgets a slot (its flow ended or no longer wants payload). */
  reset(slot: number): void {
    this.info.fill(0, slot * INFO_STRIDE, (slot + 1) * INFO_STRIDE);
    this.state[slot] = 0;
    if (this.held.size > 0) this.held.delete(slot);
  }

  /** Stops delivery on a slot and frees what it held; counters stay for the record. */
  release(slot: number): void {
    this.state[slot]! |= K_DONE;
    if (this.held.size > 0) this.held.delete(slot);
  }

  counters(slot: number): StreamCounters {
    const i = slot * INFO_STRIDE;
    return { delivered: this.info[i + S_DELIVERED]!, retransmits: this.info[i + S_RETRANS]!, outOfOrder: this.info[i + S_OOO]!, gaps: this.info[i + S_GAPS]! };
  }

  /** Held (out-of-order) bytes across all streams, for memory accounting. */
  heldBytes(): number {
    let n = 0;
    for (const h of this.held.values()) n += h.bytes;
    return n;
  }

  /** Starts a stream after a SYN carrying sequence number `isn` (data follows at isn + 1). */
  syn(slot: number, isn: number): void {
    if (this.state[slot]! & K_KNOWN) return;
    this.info[slot * INFO_STRIDE + S_NEXT] = (isn + 1) >>> 0;
    this.state[slot]! |= K_KNOWN;
  }

  segment(slot: number, seq: number, buf: Uint8Array, off: number, len: number): void {
    const st = this.state[slot]!;
    if (st & K_DONE || len <= 0) return;
    const info = this.info;
    const base = slot * INFO_STRIDE;
    if (!(st & K_KNOWN)) {
      info[base + S_NEXT] = seq;
      this.state[slot] = st | K_KNOWN;
    }
    let diff = (seq - info[base + S_NEXT]!) | 0;
    if (diff < 0) {
      info[base + S_RETRANS]!++;
      if (-diff >= len) return;
      // Partial overlap: keep only the new bytes.
      off += -diff;
      len -= -diff;
      seq = info[base + S_NEXT]!;
      diff = 0;
    }
    if (diff > 0) {
      this.hold(slot, seq, buf, off, len);
      return;
    }
    this.emit(slot, buf, off, len);
    if (this.held.size > 0) this.drain(slot);
  }

  private emit(slot: number, buf: Uint8Array, off: number, len: number): void {
    const base = slot * INFO_STRIDE;
    const info = this.info;
    info[base + S_NEXT] = (info[base + S_NEXT]! + len) >>> 0;
    const delivered = info[base + S_DELIVERED]!;
    const room = this.budget - delivered;
    const n = len < room ? len : room;
    if (n > 0) {
      info[base + S_DELIVERED] = delivered + n;
      this.sink.deliver(slot, buf, off, n);
    }
    if (delivered + n >= this.budget) this.release(slot);
  }

  private hold(slot: number, seq: number, buf: Uint8Array, off: number, len: number): void {
    const base = slot * INFO_STRIDE;
    this.info[base + S_OOO]!++;
    let h = this.held.get(slot);
    if (h && (h.bytes + len > this.pendingCap || h.segs.length >= MAX_PENDING_SEGMENTS)) {
      // The gap is not going to fill within our budget: give up on it.
      this.skipGap(slot, h);
      if (this.state[slot]! & K_DONE) return;
      const diff = (seq - this.info[base + S_NEXT]!) | 0;
      if (diff <= 0) {
        this.segment(slot, seq, buf, off, len);
        return;
      }
      h = this.held.get(slot);
    }
    if (len > this.pendingCap) return; // could never be held
    if (!h) {
      h = { bytes: 0, segs: [] };
      this.held.set(slot, h);
    }
    if (h.bytes + len > this.pendingCap) return;
    const segs = h.segs;
    // Keep sorted by sequence (wrap-safe); the list is short.
    let i = segs.length;
    while (i > 0 && ((segs[i - 1]!.seq - seq) | 0) > 0) i--;
    segs.splice(i, 0, { seq, data: buf.slice(off, off + len) });
    h.bytes += len;
  }

  /** Jumps over the hole before the earliest held segment and delivers what follows. */
  private skipGap(slot: number, h: Held): void {
    const first = h.segs[0];
    if (!first) return;
    const base = slot * INFO_STRIDE;
    const lost = (first.seq - this.info[base + S_NEXT]!) | 0;
    if (lost > 0) {
      this.info[base + S_GAPS]!++;
      this.info[base + S_NEXT] = first.seq;
      this.sink.gap(slot, lost);
    }
    this.drain(slot);
  }

  private drain(slot: number): void {
    const h = this.held.get(slot);
    if (!h) return;
    const base = slot * INFO_STRIDE;
    const segs = h.segs;
    while (segs.length > 0 && !(this.state[slot]! & K_DONE)) {
      const seg = segs[0]!;
      const diff = (seg.seq - this.info[base + S_NEXT]!) | 0;
      if (diff > 0) break;
      segs.shift();
      h.bytes -= seg.data.length;
      const skip = -diff;
      if (skip >= seg.data.length) {
        this.info[base + S_RETRANS]!++;
        continue;
      }
      this.emit(slot, seg.data, skip, seg.data.length - skip);
    }
    if (segs.length === 0) this.held.delete(slot);
  }
}
