/**
 * Bookkeeping shared by the memory and disk queues: sequence order, in-flight window, the size
 * bound with its drop policy, and counters. Storage (where payload bytes live) is left to the
 * subclass through three hooks. Entries are kept in arrays with lazy deletion (a dead entry stays
 * until the head passes it), so append, next and in-order ack are O(1) amortised and an ack by
 * sequence number is a binary search.
 */
import {
  emptyCounters,
  MAX_PAYLOAD_BYTES,
  type DropListener,
  type QueueCounters,
  type QueuedRecord,
  type SeverityRank,
} from './alert-queue.js';

export const QUEUED = 0;
export const INFLIGHT = 1;
export const DEAD = 2;

/** One record as the core tracks it; implementations extend it with where the bytes are. */
export interface CoreEntry {
  seq: number;
  id: string;
  severity: SeverityRank;
  /** Bytes counted against the bound. */
  size: number;
  state: typeof QUEUED | typeof INFLIGHT | typeof DEAD;
}

/** Compact an array once this many dead slots sit before its head. */
const COMPACT_AFTER = 4096;

/** A FIFO of entries with lazy deletion. */
class Lane<E extends CoreEntry> {
  items: E[] = [];
  head = 0;

  /**
   * Skips dead entries at the front; compacts the array when the dead prefix grows large.
   * Returns how many slots compaction removed (indexes into `items` shift down by that much).
   */
  trim(): number {
    const items = this.items;
    while (this.head < items.length && items[this.head]!.state === DEAD) this.head++;
    if (this.head >= COMPACT_AFTER && this.head * 2 >= items.length) {
      const removed = this.head;
      this.items = items.slice(removed);
      this.head = 0;
      return removed;
    }
    return 0;
  }
}

export abstract class QueueCore<E extends CoreEntry> {
  protected readonly order = new Lane<E>();
  /** Index into order.items of the first entry that may still be queued (everything before is in flight or dead). */
  private cursor = 0;
  /** One lane per severity (low..critical) for the drop policy. */
  private readonly lanes: Lane<E>[] = [new Lane<E>(), new Lane<E>(), new Lane<E>(), new Lane<E>()];
  private live = 0;
  private liveBytes = 0;
  private inflightCount = 0;
  protected readonly stats: QueueCounters = emptyCounters();
  protected closed = false;

  constructor(
    readonly maxBytes: number,
    private readonly onDrop?: DropListener,
  ) {}

  /** Storage hook: makes the payloads of these entries available, in the same order. */
  protected abstract payloads(entries: readonly E[]): (Uint8Array | null)[];
  /** Storage hook: an entry died (acked or dropped); release what holds it. */
  protected abstract released(entry: E): void;

  get depth(): number {
    return this.live;
  }

  get bytes(): number {
    return this.liveBytes;
  }

  get inflight(): number {
    return this.inflightCount;
  }

  get pending(): number {
    return this.live - this.inflightCount;
  }

  counters(): Readonly<QueueCounters> {
    return { ...this.stats, droppedBySeverity: [...this.stats.droppedBySeverity] };
  }

  /**
   * Makes room for a record of `size` bytes and `severity` by dropping queued records, oldest
   * lowest-severity first. Returns false when the new record itself is the one to drop.
   */
  protected makeRoom(size: number, severity: SeverityRank): boolean {
    if (size > this.maxBytes || size > MAX_PAYLOAD_BYTES + 512) return false;
    while (this.liveBytes + size > this.maxBytes) {
      const victim = this.victim(severity);
      if (!victim) return false;
      this.kill(victim, true);
    }
    return true;
  }

  /** The oldest queued entry of the lowest severity ≤ `severity`, or undefined (then the new record goes). */
  private victim(severity: SeverityRank): E | undefined {
    for (let s = 0; s < severity; s++) {
      const lane = this.lanes[s]!;
      lane.trim();
      // In-flight entries are skipped, not dropped; there are at most a window's worth of them.
      for (let i = lane.head; i < lane.items.length; i++) {
        const e = lane.items[i]!;
        if (e.state === QUEUED) return e;
      }
    }
    return undefined;
  }

  /** Adds a new live entry at the tail (sequence order). */
  protected insert(e: E): void {
    this.order.items.push(e);
    this.lanes[e.severity - 1]!.items.push(e);
    this.live++;
    this.liveBytes += e.size;
    if (e.state === INFLIGHT) this.inflightCount++;
  }

  /** Counts a record refused by the policy without ever inserting it. */
  protected countDrop(seq: number, id: string, severity: SeverityRank): void {
    this.stats.dropped++;
    this.stats.droppedBySeverity[severity - 1]!++;
    this.onDrop?.({ seq, id, severity });
  }

  private kill(e: E, dropped: boolean): void {
    if (e.state === INFLIGHT) this.inflightCount--;
    e.state = DEAD;
    this.live--;
    this.liveBytes -= e.size;
    if (dropped) this.countDrop(e.seq, e.id, e.severity);
    this.released(e);
    // Keep the cursor pointing at the same entry when the array was compacted.
    this.cursor = Math.max(0, this.cursor - this.order.trim());
    if (this.cursor < this.order.head) this.cursor = this.order.head;
  }

  next(max: number): QueuedRecord[] {
    this.assertOpen();
    const picked: E[] = [];
    const items = this.order.items;
    while (this.cursor < items.length && picked.length < max) {
      const e = items[this.cursor++]!;
      if (e.state !== QUEUED) continue;
      e.state = INFLIGHT;
      this.inflightCount++;
      picked.push(e);
    }
    if (picked.length === 0) return [];
    const bytes = this.payloads(picked);
    const out: QueuedRecord[] = [];
    for (let i = 0; i < picked.length; i++) {
      const e = picked[i]!;
      const payload = bytes[i];
      // A record whose bytes could not be read back is gone (counted by the storage as corrupt).
      if (!payload) {
        if (e.state !== DEAD) this.kill(e, false);
        continue;
      }
      out.push({ seq: e.seq, id: e.id, severity: e.severity, payload });
    }
    this.stats.handedOut += out.length;
    return out;
  }

  /** Finds a not-yet-dead entry by sequence number (binary search over the ordered array). */
  protected find(seq: number): E | undefined {
    const items = this.order.items;
    let lo = this.order.head;
    let hi = items.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const e = items[mid]!;
      if (e.seq === seq) return e.state === DEAD ? undefined : e;
      if (e.seq < seq) lo = mid + 1;
      else hi = mid - 1;
    }
    return undefined;
  }

  ack(seq: number): boolean {
    this.assertOpen();
    const e = this.find(seq);
    if (!e) return false;
    this.kill(e, false);
    this.stats.acked++;
    return true;
  }

  requeueInflight(): number {
    this.assertOpen();
    let n = 0;
    const items = this.order.items;
    for (let i = this.order.head; i < this.cursor && i < items.length; i++) {
      const e = items[i]!;
      if (e.state === INFLIGHT) {
        e.state = QUEUED;
        n++;
      }
    }
    this.inflightCount -= n;
    this.cursor = this.order.head;
    this.stats.requeued += n;
    return n;
  }

  /** Live entries in sequence order (for storage maintenance). */
  protected *liveEntries(): Generator<E> {
    const items = this.order.items;
    for (let i = this.order.head; i < items.length; i++) {
      const e = items[i]!;
      if (e.state !== DEAD) yield e;
    }
  }

  /** Sequence number of the oldest live entry, or undefined when empty. */
  protected firstLiveSeq(): number | undefined {
    this.cursor = Math.max(0, this.cursor - this.order.trim());
    return this.order.items[this.order.head]?.seq;
  }

  protected assertOpen(): void {
    // Using a closed queue is a programmer error, not a wire condition.
    if (this.closed) throw new Error('alert queue used after close()');
  }
}
