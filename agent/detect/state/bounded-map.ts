/**
 * A Map with a declared maximum size and least-recently-used eviction (JavaScript Maps iterate in
 * insertion order, so re-inserting on access keeps the oldest entry first). Evictions are
 * counted: a detector that keeps evicting is undersized, and the operator should see it.
 */
import type { DetectorState } from '../detector.js';

export class BoundedMap<K, V> {
  private readonly map = new Map<K, V>();
  /** Entries dropped to stay within `capacity`. */
  evictions = 0;

  constructor(
    readonly capacity: number,
    /** Called with each evicted entry (e.g. to flush its pending alert). */
    private readonly onEvict?: (key: K, value: V) => void,
  ) {
    if (!(capacity >= 1)) throw new RangeError(`BoundedMap capacity must be ≥ 1, got ${capacity}`);
  }

  get size(): number {
    return this.map.size;
  }

  /** Value for `key`, marking it most recently used. */
  get(key: K): V | undefined {
    const v = this.map.get(key);
    if (v !== undefined) {
      this.map.delete(key);
      this.map.set(key, v);
    }
    return v;
  }

  /** Value for `key` without touching its recency. */
  peek(key: K): V | undefined {
    return this.map.get(key);
  }

  set(key: K, value: V): void {
    if (this.map.has(key)) this.map.delete(key);
    else if (this.map.size >= this.capacity) {
      const oldest = this.map.keys().next();
      if (!oldest.done) {
        const k = oldest.value;
        const v = this.map.get(k)!;
        this.map.delete(k);
        this.evictions++;
        this.onEvict?.(k, v);
      }
    }
    this.map.set(key, value);
  }

  delete(key: K): boolean {
    return this.map.delete(key);
  }

  /** Oldest (least recently used) first. */
  entries(): IterableIterator<[K, V]> {
    return this.map.entries();
  }

  values(): IterableIterator<V> {
    return this.map.values();
  }

  /** Drops entries for which `expired` is true, scanning from the oldest and stopping at the first live one. */
  expireOldest(expired: (value: V) => boolean, max = Infinity): number {
    let n = 0;
    for (const [k, v] of this.map) {
      if (n >= max || !expired(v)) break;
      this.map.delete(k);
      n++;
    }
    return n;
  }

  /**
   * The map as a detector reports its state: entries, capacity, evictions, and approximate bytes,
   * either a fixed size per entry or each value's estimate summed.
   */
  state(bytes: number | ((value: V) => number)): DetectorState {
    let total = 0;
    if (typeof bytes === 'number') total = this.map.size * bytes;
    else for (const v of this.map.values()) total += bytes(v);
    return { entries: this.map.size, capacity: this.capacity, evictions: this.evictions, bytes: total };
  }
}
