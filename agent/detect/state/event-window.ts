/**
 * The times of the last `capacity` occurrences of something, to count how many fall in a sliding
 * window. Fixed memory; older occurrences beyond the capacity are forgotten (the count saturates
 * at the capacity, which is far above any threshold).
 */
export class EventWindow {
  private readonly times: Float64Array;
  private next = 0;
  /** Occurrences ever added. */
  total = 0;
  firstUs = Infinity;
  lastUs = -Infinity;

  constructor(capacity: number) {
    this.times = new Float64Array(capacity);
  }

  get bytes(): number {
    return this.times.byteLength + 48;
  }

  add(tsUs: number): void {
    this.times[this.next] = tsUs;
    this.next = (this.next + 1) % this.times.length;
    this.total++;
    if (tsUs < this.firstUs) this.firstUs = tsUs;
    if (tsUs > this.lastUs) this.lastUs = tsUs;
  }

  /** Occurrences with time in (nowUs − windowUs, nowUs]. */
  countSince(fromUs: number): number {
    const n = Math.min(this.total, this.times.length);
    let c = 0;
    for (let i = 0; i < n; i++) if (this.times[i]! > fromUs) c++;
    return c;
  }

  /** Earliest kept time after `fromUs` (the start of the burst being reported). */
  firstSince(fromUs: number): number {
    const n = Math.min(this.total, this.times.length);
    let best = Infinity;
    for (let i = 0; i < n; i++) {
      const t = this.times[i]!;
      if (t > fromUs && t < best) best = t;
    }
    return best;
  }
}
