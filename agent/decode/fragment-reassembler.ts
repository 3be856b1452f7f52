/** Limits that keep fragment reassembly bounded whatever the traffic does. */
export interface FragmentLimits {
  /** Datagrams being reassembled at once; the oldest is dropped beyond this. */
  maxDatagrams: number;
  /** Fragments per datagram. */
  maxFragments: number;
  /** Bytes buffered across all datagrams. */
  maxBufferedBytes: number;
  /** A datagram not completed within this time (µs of packet time) is dropped. */
  timeoutUs: number;
}

export const DEFAULT_FRAGMENT_LIMITS: FragmentLimits = {
  maxDatagrams: 1024,
  maxFragments: 64,
  maxBufferedBytes: 4 * 1024 * 1024,
  timeoutUs: 30e6,
};

/** Largest datagram IP can carry. */
const MAX_DATAGRAM = 65535;

interface Pending {
  pieces: Array<{ off: number; data: Uint8Array }>;
  /** Known once the last fragment (more-fragments clear) arrived; -1 before. */
  total: number;
  bytes: number;
  firstUs: number;
}

/**
 * Rebuilds IPv4/IPv6 datagrams from fragments (the transport header and payload, not the IP
 * header). Fragments are rare, so this path may allocate; every structure has a limit and every
 * limit that hits is counted under `fragment.*`.
 */
export class FragmentReassembler {
  private readonly pending = new Map<string, Pending>();
  private buffered = 0;

  constructor(
    private readonly limits: FragmentLimits = DEFAULT_FRAGMENT_LIMITS,
    private readonly count: (kind: string) => void = () => {},
  ) {}

  get size(): number {
    return this.pending.size;
  }

  /**
   * Adds one fragment: `off` is its byte offset in the datagram, `data` its bytes (copied here).
   * Returns the whole datagram when this fragment completed it, with the number of fragments.
   */
  add(key: string, off: number, more: boolean, data: Uint8Array, nowUs: number): { datagram: Uint8Array; fragments: number } | undefined {
    this.expire(nowUs);
    if (off + data.length > MAX_DATAGRAM) {
      this.count('fragment.too_large');
      this.drop(key);
      return undefined;
    }
    let p = this.pending.get(key);
    if (!p) {
      if (this.pending.size >= this.limits.maxDatagrams) {
        this.count('fragment.limit_datagrams');
        this.dropOldest();
      }
      p = { pieces: [], total: -1, bytes: 0, firstUs: nowUs };
      this.pending.set(key, p);
    }
    if (p.pieces.length >= this.limits.maxFragments) {
      this.count('fragment.limit_fragments');
      this.drop(key);
      return undefined;
    }
    while (this.buffered + data.length > this.limits.maxBufferedBytes && this.pending.size > 1) {
      this.count('fragment.limit_bytes');
      this.dropOldest(key);
    }
    if (!more) {
      const total = off + data.length;
      if (p.total >= 0 && p.total !== total) this.count('fragment.inconsistent_length');
      p.total = total;
    }
    p.pieces.push({ off, data: data.slice() });
    p.bytes += data.length;
    this.buffered += data.length;
    if (p.total < 0) return undefined;
    return this.tryAssemble(key, p);
  }

  private tryAssemble(key: string, p: Pending): { datagram: Uint8Array; fragments: number } | undefined {
    const pieces = p.pieces.slice().sort((a, b) => a.off - b.off);
    let covered = 0;
    for (const piece of pieces) {
      if (piece.off > covered) return undefined; // a hole: wait for more fragments
      if (piece.off < covered) this.count('fragment.overlap');
      covered = Math.max(covered, piece.off + piece.data.length);
    }
    if (covered < p.total) return undefined;
    const out = new Uint8Array(p.total);
    // Later pieces are written first so the first-arrived bytes win on overlap (BSD-style).
    for (let i = p.pieces.length - 1; i >= 0; i--) {
      const piece = p.pieces[i]!;
      out.set(piece.data.subarray(0, Math.max(0, Math.min(piece.data.length, p.total - piece.off))), piece.off);
    }
    const fragments = p.pieces.length;
    this.drop(key);
    return { datagram: out, fragments };
  }

  private drop(key: string): void {
    const p = this.pending.get(key);
    if (!p) return;
    this.buffered -= p.bytes;
    this.pending.delete(key);
  }

  /** Maps iterate in insertion order, so the first key is the oldest datagram. */
  private dropOldest(except?: string): void {
    for (const key of this.pending.keys()) {
      if (key === except) continue;
      this.drop(key);
      return;
    }
  }

  private expire(nowUs: number): void {
    for (const [key, p] of this.pending) {
      if (nowUs - p.firstUs <= this.limits.timeoutUs) break;
      this.count('fragment.timeout');
      this.drop(key);
    }
  }
}
