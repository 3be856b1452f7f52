/**
 * A small seedable PRNG (xoshiro128**, Blackman & Vigna) so that the same seed and the same data
 * give a bit-identical forest on every machine and Node version. Math.random cannot be seeded.
 * State is four uint32 words expanded from the seed with splitmix32, which avoids the all-zero state.
 */
export class Prng {
  private a = 0;
  private b = 0;
  private c = 0;
  private d = 0;

  constructor(seed: number) {
    // splitmix32 steps turn any 32-bit seed (even 0) into a well-mixed, non-zero state.
    let s = seed >>> 0;
    const next = (): number => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = next();
  }

  /** Next uniformly distributed unsigned 32-bit integer. */
  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return result;
  }

  /** Uniform double in [0, 1) with 53 random bits. */
  nextFloat(): number {
    const hi = this.nextU32() >>> 5; // 27 bits
    const lo = this.nextU32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Uniform integer in [0, n) for 1 <= n <= 2^32, without modulo bias (Lemire-style rejection). */
  nextInt(n: number): number {
    if (n <= 1) return 0;
    // Rejection on the top of the range keeps every value equally likely. Each draw is rejected
    // with probability < 1/2, so 64 rejections in a row (p < 2^-64) never happen in practice; the
    // bound only keeps the loop finite by construction.
    const limit = 4294967296 - (4294967296 % n);
    let x = this.nextU32();
    for (let i = 0; i < 64 && x >= limit; i++) x = this.nextU32();
    return x % n;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
