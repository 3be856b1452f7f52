/**
 * Reassembles the client's Initial-level CRYPTO stream (RFC 9000 §19.6): frames carry
 * (offset, bytes) and may arrive out of order, repeated, overlapping, across packets and within
 * one packet. Bytes are kept in one buffer that grows by doubling up to `maxBytes`; the covered
 * ranges are kept sorted and merged, at most `maxRanges` of them. Overlaps keep the first copy
 * (a retransmission carries the same bytes; a peer that sends different ones gains nothing).
 */
export const AddResult = { Ok: 0, BeyondLimit: 1, TooManyRanges: 2 } as const;
export type AddResult = (typeof AddResult)[keyof typeof AddResult];

export class CryptoStream {
  private buf: Uint8Array | null = null;
  /** Sorted, disjoint, non-adjacent [start, end) pairs. */
  private readonly ranges: number[] = [];

  constructor(
    readonly maxBytes: number,
    readonly maxRanges: number,
  ) {}

  /** Contiguous bytes available from offset 0. */
  get contiguous(): number {
    return this.ranges.length > 0 && this.ranges[0] === 0 ? this.ranges[1]! : 0;
  }

  /** Bytes allocated for the buffer (never above maxBytes; checked by the fuzzer). */
  get capacity(): number {
    return this.buf ? this.buf.length : 0;
  }

  /** Number of disjoint ranges held (for tests and limits). */
  get rangeCount(): number {
    return this.ranges.length / 2;
  }

  /** A view of bytes [0, n) once `contiguous >= n`. */
  view(n: number): Uint8Array {
    return this.buf ? this.buf.subarray(0, Math.min(n, this.contiguous)) : new Uint8Array(0);
  }

  /**
   * Adds `len` bytes of `data` at `offset` of the stream. Bytes past `maxBytes` are dropped and
   * reported; so is a segment that would need more than `maxRanges` ranges.
   */
  add(offset: number, data: Uint8Array, dataOff: number, len: number): AddResult {
    if (len <= 0) return AddResult.Ok;
    let result: AddResult = AddResult.Ok;
    if (offset >= this.maxBytes) return AddResult.BeyondLimit;
    if (offset + len > this.maxBytes) {
      len = this.maxBytes - offset;
      result = AddResult.BeyondLimit;
    }
    const start = offset;
    const end = offset + len;
    // Where does [start, end) go? i = first range whose end >= start (touching merges).
    const r = this.ranges;
    let i = 0;
    while (i < r.length && r[i + 1]! < start) i += 2;
    let j = i;
    while (j < r.length && r[j]! <= end) j += 2;
    // Ranges i..j-2 overlap or touch the new one and merge into one; none → an insertion.
    const merged = j - i;
    if (merged === 0 && r.length / 2 >= this.maxRanges) return AddResult.TooManyRanges;
    this.ensure(end);
    const b = this.buf!;
    // Copy only the gaps not covered yet (first copy wins).
    let pos = start;
    for (let k = i; k < j; k += 2) {
      const rs = r[k]!;
      const re = r[k + 1]!;
      if (rs > pos) b.set(data.subarray(dataOff + (pos - offset), dataOff + (Math.min(rs, end) - offset)), pos);
      pos = Math.max(pos, re);
    }
    if (pos < end) b.set(data.subarray(dataOff + (pos - offset), dataOff + len), pos);
    const ns = merged > 0 ? Math.min(start, r[i]!) : start;
    const ne = merged > 0 ? Math.max(end, r[j - 1]!) : end;
    r.splice(i, merged, ns, ne);
    return result;
  }

  /** Frees the buffer (after the ClientHello was parsed). */
  release(): void {
    this.buf = null;
    this.ranges.length = 0;
  }

  private ensure(n: number): void {
    const cur = this.buf;
    if (cur && cur.length >= n) return;
    let size = cur ? cur.length : 2048;
    while (size < n) size *= 2;
    if (size > this.maxBytes) size = this.maxBytes;
    const next = new Uint8Array(size);
    if (cur) next.set(cur);
    this.buf = next;
  }
}
