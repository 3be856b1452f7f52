/**
 * A fixed-capacity, allocation-free table from small keys (up to `keyWords` 32-bit words, e.g. an
 * IPv6 address and a port) to slot numbers, for detectors on the per-packet path. The owner keeps
 * its values in typed arrays indexed by slot.
 *
 * Set-associative: a key hashes to a set of WAYS consecutive slots; a hit is found by scanning the
 * set. On a miss the key takes an expired slot of its set, else the least recently touched one
 * (counted as an eviction). So memory is fixed however many keys a spoofed flood invents, and
 * busy keys (touched often) survive while one-off keys churn through.
 */

const WAYS = 8;

export class SlotTable {
  /** Fill with the key words before calling `find` / `acquire`. */
  readonly key: Uint32Array;
  /** Set by `acquire`: true when the slot was (re)assigned to this key and its values must be reset. */
  fresh = false;
  /** Live keys replaced by another key (the table was too small for the traffic). */
  evictions = 0;
  /** Slots reused after their key expired (normal churn). */
  expiries = 0;
  readonly capacity: number;
  private readonly keys: Uint32Array;
  private readonly hashes: Int32Array;
  private readonly lastUs: Float64Array;
  private readonly used: Uint8Array;
  /** Slots the owner asked to keep (an alert in progress): evicted only when a whole set is pinned. */
  private readonly pinned: Uint8Array;
  private readonly setMask: number;
  private inUse = 0;
  /** The slot of the previous acquire: floods and bulk transfers hit the same key packet after packet. */
  private lastSlot = -1;

  constructor(
    capacity: number,
    private readonly keyWords: number,
    /** A slot idle longer than this (µs) counts as free. */
    private readonly ttlUs: number,
  ) {
    // Round up to a power of two number of sets.
    const sets = 1 << Math.max(0, Math.ceil(Math.log2(Math.max(1, capacity / WAYS))));
    this.capacity = sets * WAYS;
    this.setMask = sets - 1;
    this.key = new Uint32Array(keyWords);
    this.keys = new Uint32Array(this.capacity * keyWords);
    this.hashes = new Int32Array(this.capacity);
    this.lastUs = new Float64Array(this.capacity);
    this.used = new Uint8Array(this.capacity);
    this.pinned = new Uint8Array(this.capacity);
  }

  /** Keeps (or releases) a slot against eviction by churn; expiry still frees it. */
  pin(slot: number, on: boolean): void {
    this.pinned[slot] = on ? 1 : 0;
  }

  /** Slots holding a key (expired ones included until reused). */
  get size(): number {
    return this.inUse;
  }

  /** Bytes of the table itself (the owner's value arrays come on top). */
  get bytes(): number {
    return this.keys.byteLength + this.hashes.byteLength + this.lastUs.byteLength + this.used.byteLength + this.pinned.byteLength;
  }

  private hash(): number {
    let h = 0x811c9dc5 ^ this.keyWords;
    const k = this.key;
    for (let i = 0; i < this.keyWords; i++) {
      h = Math.imul(h ^ k[i]!, 0x01000193);
      h ^= h >>> 15;
    }
    h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
    return (h ^ (h >>> 16)) | 0;
  }

  private matches(slot: number, h: number): boolean {
    if (this.used[slot] === 0 || this.hashes[slot] !== h) return false;
    const base = slot * this.keyWords;
    const k = this.key;
    for (let i = 0; i < this.keyWords; i++) if (this.keys[base + i] !== k[i]) return false;
    return true;
  }

  /** Slot of `key`, or -1. Does not touch recency. */
  find(): number {
    const h = this.hash();
    const start = (h & this.setMask) * WAYS;
    for (let s = start; s < start + WAYS; s++) if (this.matches(s, h)) return s;
    return -1;
  }

  /** Slot for `key` at time `nowUs`, taking a free/expired/oldest slot on a miss (`fresh` tells). */
  acquire(nowUs: number): number {
    const last = this.lastSlot;
    if (last >= 0 && this.sameKey(last)) {
      this.fresh = false;
      if (nowUs > this.lastUs[last]!) this.lastUs[last] = nowUs;
      return last;
    }
    const s = this.acquireSlow(nowUs);
    this.lastSlot = s;
    return s;
  }

  /** True when `slot` holds exactly the words in `key`. */
  private sameKey(slot: number): boolean {
    const base = slot * this.keyWords;
    const k = this.key;
    for (let i = 0; i < this.keyWords; i++) if (this.keys[base + i] !== k[i]) return false;
    return this.used[slot] === 1;
  }

  private acquireSlow(nowUs: number): number {
    const h = this.hash();
    const start = (h & this.setMask) * WAYS;
    let victim = start;
    let victimUs = Infinity;
    for (let s = start; s < start + WAYS; s++) {
      if (this.matches(s, h)) {
        this.fresh = false;
        if (nowUs > this.lastUs[s]!) this.lastUs[s] = nowUs;
        return s;
      }
      // Pinned slots look newer than anything unless they expired.
      const t = this.used[s] === 0 ? -Infinity : this.pinned[s] === 1 && nowUs - this.lastUs[s]! <= this.ttlUs ? Number.MAX_VALUE : this.lastUs[s]!;
      if (t < victimUs) {
        victimUs = t;
        victim = s;
      }
    }
    if (this.used[victim] === 0) this.inUse++;
    else if (nowUs - victimUs > this.ttlUs) this.expiries++;
    else this.evictions++;
    this.used[victim] = 1;
    this.pinned[victim] = 0;
    this.hashes[victim] = h;
    this.lastUs[victim] = nowUs;
    const base = victim * this.keyWords;
    for (let i = 0; i < this.keyWords; i++) this.keys[base + i] = this.key[i]!;
    this.fresh = true;
    return victim;
  }

  /** Last time the slot was acquired, µs. */
  touchedUs(slot: number): number {
    return this.lastUs[slot]!;
  }

  /** Copies the key words of `slot` into `out`. */
  keyOf(slot: number, out: Uint32Array): void {
    const base = slot * this.keyWords;
    for (let i = 0; i < this.keyWords; i++) out[i] = this.keys[base + i]!;
  }
}

/** 32-bit mix of a few words (for sketches keyed by items that are not table keys). */
export function mix32(a: number, b = 0, c = 0, d = 0): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13) ^ b, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 16) ^ c, 0x27d4eb2d);
  h = Math.imul(h ^ (h >>> 15) ^ d, 0x165667b1);
  return (h ^ (h >>> 16)) >>> 0;
}
