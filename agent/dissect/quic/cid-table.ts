import { MAX_CID_LEN } from './header.js';

/**
 * Links flows of one QUIC connection across 5-tuples (connection migration, NAT rebinding,
 * RFC 9000 §9) through the connection IDs learned from long headers.
 *
 * Short headers do not carry the DCID length. Heuristic: a CID found in a long header is filed
 * under its exact bytes and length, and `lengths` counts how many live entries have each length;
 * a short header is tried against every length present (longest first), which finds the CID
 * whatever length the server chose without knowing the server address. CIDs shorter than
 * `minLinkLength` are never used to link (a 0–3 byte CID matches random traffic too easily).
 *
 * Bounded LRU (Map insertion order; a hit re-inserts). Entries idle longer than `idleUs` are
 * treated as absent (a CID can be reused by an unrelated later connection).
 */
export interface FlowRef {
  uid: string;
  clientPort: number;
  serverPort: number;
  /** Filled when that flow's record is built (addresses are not known to dissectors earlier). */
  clientIp?: string;
  serverIp?: string;
}

/** One QUIC connection as seen across flows. */
export class QuicConnection {
  readonly flows: FlowRef[] = [];
  version = 0;
  lastUs = 0;
  /** What the first flow's ClientHello said (copied onto migrated flows, which carry none). */
  hello: { sni?: string; alpn: string[]; ja4?: string } | undefined;
  constructor(readonly maxFlows: number) {}

  /** Adds a flow (bounded); returns false when the list is full. */
  addFlow(ref: FlowRef): boolean {
    if (this.flows.some((f) => f.uid === ref.uid)) return true;
    if (this.flows.length >= this.maxFlows) return false;
    this.flows.push(ref);
    return true;
  }
}

interface Entry {
  conn: QuicConnection;
  len: number;
  lastUs: number;
}

export interface CidTableOptions {
  maxEntries: number;
  minLinkLength: number;
  idleUs: number;
}

function hexOf(b: Uint8Array, off: number, len: number): string {
  let s = '';
  for (let i = 0; i < len; i++) s += (b[off + i]! < 16 ? '0' : '') + b[off + i]!.toString(16);
  return s;
}

export class CidTable {
  private readonly map = new Map<string, Entry>();
  /** Live entries per CID length 0..20. */
  private readonly lengths = new Int32Array(MAX_CID_LEN + 1);
  evictions = 0;

  constructor(readonly opts: CidTableOptions) {}

  get size(): number {
    return this.map.size;
  }

  /** Files `cid` (bytes at off/len) as belonging to `conn`. Returns true when an entry was evicted. */
  register(b: Uint8Array, off: number, len: number, conn: QuicConnection, tsUs: number): boolean {
    if (len < this.opts.minLinkLength || len > MAX_CID_LEN) return false;
    const key = hexOf(b, off, len);
    const cur = this.map.get(key);
    if (cur) {
      this.map.delete(key);
      cur.conn = conn;
      cur.lastUs = tsUs;
      this.map.set(key, cur);
      return false;
    }
    this.map.set(key, { conn, len, lastUs: tsUs });
    this.lengths[len]!++;
    if (this.map.size > this.opts.maxEntries) {
      const oldest = this.map.keys().next().value as string;
      const e = this.map.get(oldest)!;
      this.map.delete(oldest);
      this.lengths[e.len]!--;
      this.evictions++;
      return true;
    }
    return false;
  }

  /**
   * Looks up the DCID of a short header whose DCID starts at `off` (bytes up to `end`), trying
   * each CID length present in the table, longest first. Returns the connection and CID length.
   */
  lookupShort(b: Uint8Array, off: number, end: number, tsUs: number): { conn: QuicConnection; len: number; cid: string } | undefined {
    if (this.map.size === 0) return undefined;
    for (let len = MAX_CID_LEN; len >= this.opts.minLinkLength; len--) {
      if (this.lengths[len] === 0 || off + len > end) continue;
      const key = hexOf(b, off, len);
      const e = this.map.get(key);
      if (!e) continue;
      if (tsUs - e.lastUs > this.opts.idleUs) continue;
      this.map.delete(key);
      e.lastUs = tsUs;
      this.map.set(key, e);
      return { conn: e.conn, len, cid: key };
    }
    return undefined;
  }

  /** Whether a short header's DCID is a known CID (no side effects; for cheap probing). */
  knowsShort(b: Uint8Array, off: number, end: number): boolean {
    if (this.map.size === 0) return false;
    for (let len = MAX_CID_LEN; len >= this.opts.minLinkLength; len--) {
      if (this.lengths[len] === 0 || off + len > end) continue;
      if (this.map.has(hexOf(b, off, len))) return true;
    }
    return false;
  }

  clear(): void {
    this.map.clear();
    this.lengths.fill(0);
    this.evictions = 0;
  }
}

export { hexOf };
