/**
 * Space-Saving heavy hitters (Metwally, Agrawal & El Abbadi, ICDT 2005): the `k` keys with the
 * largest weights of a stream in O(k) memory. A key not held replaces the lightest one and
 * inherits its weight as over-estimation error, so `weight − error` is a guaranteed lower bound.
 * Used for a host's typical peers (by bytes) and typical server ports (by flows).
 */
export class SpaceSaving<K extends string | number> {
  readonly keys: (K | undefined)[];
  readonly weights: Float64Array;
  readonly errors: Float64Array;
  private n = 0;
  /** Sum of every weight ever added (the stream total). */
  total = 0;

  constructor(readonly k: number) {
    if (!Number.isInteger(k) || k < 1 || k > 4096) throw new RangeError(`SpaceSaving k must be in 1..4096, got ${k}`);
    this.keys = new Array<K | undefined>(k);
    this.weights = new Float64Array(k);
    this.errors = new Float64Array(k);
  }

  get size(): number {
    return this.n;
  }

  /** Adds `w` (> 0) to `key`. O(k): k is small (16–64), a linear scan beats a heap here. */
  add(key: K, w: number): void {
    if (!(w > 0)) return;
    this.total += w;
    let min = 0;
    for (let i = 0; i < this.n; i++) {
      if (this.keys[i] === key) {
        this.weights[i]! += w;
        return;
      }
      if (this.weights[i]! < this.weights[min]!) min = i;
    }
    if (this.n < this.k) {
      const i = this.n++;
      this.keys[i] = key;
      this.weights[i] = w;
      this.errors[i] = 0;
      return;
    }
    this.keys[min] = key;
    this.errors[min] = this.weights[min]!;
    this.weights[min]! += w;
  }

  /** The smallest set of held keys, heaviest first, whose weights reach `share` of the total. */
  covering(share: number): K[] {
    const order = Array.from({ length: this.n }, (_, i) => i).sort((a, b) => this.weights[b]! - this.weights[a]!);
    const out: K[] = [];
    let acc = 0;
    const goal = share * this.total;
    for (const i of order) {
      if (acc >= goal) break;
      out.push(this.keys[i]!);
      acc += this.weights[i]! - this.errors[i]!;
    }
    return out;
  }

  /** Multiplies every weight by `f` (0..1): old traffic fades so the typical set follows change. */
  decay(f: number): void {
    for (let i = 0; i < this.n; i++) {
      this.weights[i]! *= f;
      this.errors[i]! *= f;
    }
    this.total *= f;
  }

  /** Entries for saving: [key, weight, error]. */
  entries(): Array<[K, number, number]> {
    const out: Array<[K, number, number]> = [];
    for (let i = 0; i < this.n; i++) out.push([this.keys[i]!, this.weights[i]!, this.errors[i]!]);
    return out;
  }

  /** Restores saved entries (at most k are taken). */
  load(entries: ReadonlyArray<readonly [K, number, number]>, total: number): void {
    this.n = 0;
    for (const [key, w, e] of entries) {
      if (this.n >= this.k) break;
      this.keys[this.n] = key;
      this.weights[this.n] = w;
      this.errors[this.n] = e;
      this.n++;
    }
    this.total = total;
  }
}
