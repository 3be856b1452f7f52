/**
 * Many small HyperLogLog distinct counters in one slab (Flajolet et al. 2007), one per table
 * slot: `m` registers of one byte each. With m = 128 the standard error is 1.04/√m ≈ 9 %; below
 * 2.5·m distinct items the linear-counting estimate m·ln(m/V) is used, which is close to exact for
 * the small counts thresholds care about (a 20-port scan). The estimate is kept incrementally
 * (sum of 2^-register and zero registers per counter), so adding and reading are O(1).
 */
export class HllSlab {
  readonly m: number;
  private readonly bits: number;
  private readonly regs: Uint8Array;
  private readonly sumInv: Float64Array;
  private readonly zeros: Uint16Array;
  private readonly alpha: number;

  constructor(
    readonly counters: number,
    m = 128,
  ) {
    if (m < 16 || m > 4096 || (m & (m - 1)) !== 0) throw new RangeError(`HllSlab: m must be a power of two in 16..4096, got ${m}`);
    this.m = m;
    this.bits = Math.log2(m);
    this.regs = new Uint8Array(counters * m);
    this.sumInv = new Float64Array(counters).fill(m);
    this.zeros = new Uint16Array(counters).fill(m);
    this.alpha = m === 16 ? 0.673 : m === 32 ? 0.697 : m === 64 ? 0.709 : 0.7213 / (1 + 1.079 / m);
  }

  get bytes(): number {
    return this.regs.byteLength + this.sumInv.byteLength + this.zeros.byteLength;
  }

  reset(i: number): void {
    this.regs.fill(0, i * this.m, (i + 1) * this.m);
    this.sumInv[i] = this.m;
    this.zeros[i] = this.m;
  }

  /** Adds an item by its 32-bit hash (use a well-mixed hash, e.g. mix32). Returns true when the estimate may have grown. */
  add(i: number, hash: number): boolean {
    const idx = hash & (this.m - 1);
    const rest = hash >>> this.bits;
    // Rank = position of the first 1 bit in the remaining (32 - bits) bits, 1-based.
    const rank = rest === 0 ? 33 - this.bits : Math.clz32(rest) - this.bits + 1;
    const at = i * this.m + idx;
    const old = this.regs[at]!;
    if (rank <= old) return false;
    this.regs[at] = rank;
    this.sumInv[i]! += 2 ** -rank - 2 ** -old;
    if (old === 0) this.zeros[i]!--;
    return true;
  }

  /** Estimated distinct items of counter `i`. */
  estimate(i: number): number {
    const m = this.m;
    const raw = (this.alpha * m * m) / this.sumInv[i]!;
    const z = this.zeros[i]!;
    if (raw <= 2.5 * m && z > 0) return m * Math.log(m / z);
    return raw;
  }
}
