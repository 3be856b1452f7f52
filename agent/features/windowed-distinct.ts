/**
 * Distinct counts over a sliding time window for many keys at once, in fixed memory.
 *
 * Each slot holds, per counter, two HyperLogLog sketches (Flajolet et al. 2007) of `m` one-byte
 * registers: the current epoch and the previous one. Epochs are `windowUs` long and aligned to
 * multiples of it; reading merges the two (register-wise max), so the count covers between one
 * and two windows — the usual two-bucket approximation of a sliding window, with no per-item
 * timestamps. With m = 64 the standard error is 1.04/√64 ≈ 13 %; below 2.5·m distinct items the
 * linear-counting estimate m·ln(m/V) is used, which is near exact for the small counts that
 * matter (a host talking to 3 vs 30 peers). Flow counts per epoch are kept exactly.
 *
 * No allocation after construction: registers live in one Uint8Array slab.
 */

/** 32-bit FNV-1a over a string's UTF-16 code units, finished with murmur3's fmix32 for avalanche. */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return fmix32(h);
}

/** murmur3 fmix32: a bijective 32-bit mixer (also used to hash small integers such as ports). */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

export class WindowedDistinct {
  /** Registers per sketch. */
  readonly m: number;
  private readonly bits: number;
  private readonly alpha: number;
  /** slots × counters × 2 epochs × m registers. */
  private readonly regs: Uint8Array;
  /** Start of each slot's current epoch, µs (NaN = never used). */
  private readonly epoch: Float64Array;
  /** Flows per slot in the current and previous epoch. */
  private readonly flows: Float64Array;
  private readonly stride: number;

  constructor(
    readonly slots: number,
    readonly counters: number,
    readonly windowUs: number,
    m = 64,
  ) {
    if (!Number.isInteger(slots) || slots < 1) throw new RangeError(`WindowedDistinct: slots must be ≥ 1, got ${slots}`);
    if (m < 16 || m > 1024 || (m & (m - 1)) !== 0) throw new RangeError(`WindowedDistinct: m must be a power of two in 16..1024, got ${m}`);
    if (!(windowUs > 0)) throw new RangeError(`WindowedDistinct: window must be > 0, got ${windowUs}`);
    this.m = m;
    this.bits = Math.log2(m);
    this.alpha = m === 16 ? 0.673 : m === 32 ? 0.697 : m === 64 ? 0.709 : 0.7213 / (1 + 1.079 / m);
    this.stride = counters * 2 * m;
    this.regs = new Uint8Array(slots * this.stride);
    this.epoch = new Float64Array(slots).fill(NaN);
    this.flows = new Float64Array(slots * 2);
  }

  /** Bytes held (for memory reports). */
  get bytes(): number {
    return this.regs.byteLength + this.epoch.byteLength + this.flows.byteLength;
  }

  /** Empties a slot (it was reassigned to another key). */
  reset(slot: number): void {
    this.regs.fill(0, slot * this.stride, (slot + 1) * this.stride);
    this.epoch[slot] = NaN;
    this.flows[slot * 2] = 0;
    this.flows[slot * 2 + 1] = 0;
  }

  /**
   * Moves a slot's epochs forward to time `tsUs`: one window later the current epoch becomes the
   * previous one; two or more windows later both are empty. Times going backwards (records end
   * out of order by up to a timeout) stay in the current epoch.
   */
  advance(slot: number, tsUs: number): void {
    const start = Math.floor(tsUs / this.windowUs) * this.windowUs;
    const cur = this.epoch[slot]!;
    if (cur === start) return;
    if (Number.isNaN(cur)) {
      this.epoch[slot] = start;
      return;
    }
    if (start < cur) return;
    const base = slot * this.stride;
    const m = this.m;
    if (start - cur === this.windowUs) {
      for (let c = 0; c < this.counters; c++) {
        const cb = base + c * 2 * m;
        this.regs.copyWithin(cb + m, cb, cb + m); // current → previous
        this.regs.fill(0, cb, cb + m);
      }
      this.flows[slot * 2 + 1] = this.flows[slot * 2]!;
    } else {
      this.regs.fill(0, base, base + this.stride);
      this.flows[slot * 2 + 1] = 0;
    }
    this.flows[slot * 2] = 0;
    this.epoch[slot] = start;
  }

  /** Adds a 32-bit hash to counter `c` of `slot` (call `advance` first). */
  add(slot: number, c: number, hash: number): void {
    const idx = hash >>> (32 - this.bits);
    // Rank of the first 1 bit in the remaining bits; the sentinel bit caps it at 33 - bits.
    const rest = ((hash << this.bits) | (1 << (this.bits - 1))) >>> 0;
    const rank = Math.clz32(rest) + 1;
    const at = slot * this.stride + c * 2 * this.m + idx;
    if (rank > this.regs[at]!) this.regs[at] = rank;
  }

  /** Counts one flow for `slot` in the current epoch. */
  addFlow(slot: number): void {
    this.flows[slot * 2]!++;
  }

  /** Flows over the current and previous epoch. */
  flowCount(slot: number): number {
    return this.flows[slot * 2]! + this.flows[slot * 2 + 1]!;
  }

  /** Estimated distinct items of counter `c` over the current and previous epoch. */
  estimate(slot: number, c: number): number {
    const m = this.m;
    const cb = slot * this.stride + c * 2 * m;
    let sum = 0;
    let zeros = 0;
    for (let i = 0; i < m; i++) {
      const a = this.regs[cb + i]!;
      const b = this.regs[cb + m + i]!;
      const r = a > b ? a : b;
      if (r === 0) zeros++;
      sum += 2 ** -r;
    }
    const raw = (this.alpha * m * m) / sum;
    if (raw <= 2.5 * m && zeros > 0) return m * Math.log(m / zeros);
    return raw;
  }
}
