/** Dotted-quad text of an IPv4 address held as an unsigned 32-bit number. */
export function ipv4ToString(a: number): string {
  return `${a >>> 24}.${(a >>> 16) & 0xff}.${(a >>> 8) & 0xff}.${a & 0xff}`;
}

/** RFC 5952 text of an IPv6 address held as four big-endian 32-bit words. */
export function ipv6ToString(w0: number, w1: number, w2: number, w3: number): string {
  const g = [w0 >>> 16, w0 & 0xffff, w1 >>> 16, w1 & 0xffff, w2 >>> 16, w2 & 0xffff, w3 >>> 16, w3 & 0xffff];
  // IPv4-mapped addresses keep the dotted tail, as every other tool prints them.
  if (w0 === 0 && w1 === 0 && w2 === 0xffff) return `::ffff:${ipv4ToString(w3 >>> 0)}`;
  // Longest run of zero groups (length ≥ 2) becomes "::"; the first one wins on ties.
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestStart < 0) return g.map((x) => x.toString(16)).join(':');
  const head = g.slice(0, bestStart).map((x) => x.toString(16)).join(':');
  const tail = g.slice(bestStart + bestLen).map((x) => x.toString(16)).join(':');
  return `${head}::${tail}`;
}

/** Text of an address held as words from `at` (one word for IPv4, four for IPv6). */
export function wordsToString(version: number, w: ArrayLike<number>, at = 0): string {
  return version === 4 ? ipv4ToString(w[at]! >>> 0) : ipv6ToString(w[at]!, w[at + 1]!, w[at + 2]!, w[at + 3]!);
}

/** Network-order bytes of an address held as words (4 bytes for IPv4, 16 for IPv6). */
export function wordsToBytes(version: number, w: ArrayLike<number>, at = 0): Uint8Array {
  const n = version === 4 ? 1 : 4;
  const out = new Uint8Array(n * 4);
  for (let i = 0; i < n; i++) {
    const v = w[at + i]! >>> 0;
    out[i * 4] = v >>> 24;
    out[i * 4 + 1] = (v >>> 16) & 0xff;
    out[i * 4 + 2] = (v >>> 8) & 0xff;
    out[i * 4 + 3] = v & 0xff;
  }
  return out;
}
