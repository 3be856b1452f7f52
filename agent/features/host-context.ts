/**
 * Host context for flow features: per client, how many distinct servers, server ports and RMM
 * servers it reached, and how many flows it made; per server, how many distinct clients reached
 * it — all over a sliding window (see windowed-distinct.ts). Hosts live in an LRU of declared
 * size: the least recently active host is forgotten first, and forgetting is counted, so a
 * million spoofed sources cost the same memory as `maxHosts` of them.
 */
import { fmix32, hashString, WindowedDistinct } from './windowed-distinct.js';

/** Counters of a client slot. */
const SRC_DSTS = 0;
const SRC_PORTS = 1;
const SRC_RMM = 2;
/** Counter of a server slot. */
const DST_SRCS = 0;

export interface HostContextConfig {
  /** Window length, seconds (counts cover one to two windows). */
  windowSec: number;
  /** Most clients and most servers tracked (each). */
  maxHosts: number;
}

export const DEFAULT_HOST_CONTEXT: HostContextConfig = { windowSec: 300, maxHosts: 16_384 };

/** Values for one flow, read right after it was counted. */
export interface HostCounts {
  srcDistinctDsts: number;
  srcDistinctPorts: number;
  srcRmmTargets: number;
  srcFlows: number;
  dstDistinctSrcs: number;
}

/** Keys → slots with least-recently-used reuse; slot data lives in a WindowedDistinct. */
class SlotLru {
  private readonly slotOf = new Map<string, number>();
  private next = 0;
  evictions = 0;

  constructor(
    readonly capacity: number,
    private readonly onReuse: (slot: number) => void,
  ) {}

  get size(): number {
    return this.slotOf.size;
  }

  /** The slot of `key`, made most recently used; a new key takes a free or the oldest slot. */
  slot(key: string): number {
    const map = this.slotOf;
    let s = map.get(key);
    if (s !== undefined) {
      map.delete(key);
      map.set(key, s);
      return s;
    }
    if (this.next < this.capacity) s = this.next++;
    else {
      const oldest = map.entries().next().value as [string, number];
      map.delete(oldest[0]);
      s = oldest[1];
      this.evictions++;
    }
    this.onReuse(s);
    map.set(key, s);
    return s;
  }
}

export class HostContext {
  private readonly src: WindowedDistinct;
  private readonly dst: WindowedDistinct;
  private readonly srcSlots: SlotLru;
  private readonly dstSlots: SlotLru;
  readonly config: HostContextConfig;

  constructor(cfg: Partial<HostContextConfig> = {}) {
    this.config = { ...DEFAULT_HOST_CONTEXT, ...cfg };
    const { windowSec, maxHosts } = this.config;
    if (!(windowSec > 0)) throw new RangeError(`host context window must be > 0 s, got ${windowSec}`);
    if (!Number.isInteger(maxHosts) || maxHosts < 1 || maxHosts > 4_194_304) throw new RangeError(`host context maxHosts must be in 1..4194304, got ${maxHosts}`);
    this.src = new WindowedDistinct(maxHosts, 3, windowSec * 1e6);
    this.dst = new WindowedDistinct(maxHosts, 1, windowSec * 1e6);
    this.srcSlots = new SlotLru(maxHosts, (s) => this.src.reset(s));
    this.dstSlots = new SlotLru(maxHosts, (s) => this.dst.reset(s));
  }

  /**
   * Counts a flow (client → server:port/protocol at `tsUs`) and writes the window's counts,
   * this flow included, into `out`. `rmm` marks flows of a recognised RMM tool.
   */
  observe(client: string, server: string, serverPort: number, protocol: number, tsUs: number, rmm: boolean, out: HostCounts): void {
    const s = this.srcSlots.slot(client);
    this.src.advance(s, tsUs);
    const serverHash = hashString(server);
    this.src.add(s, SRC_DSTS, serverHash);
    this.src.add(s, SRC_PORTS, fmix32(((protocol & 0xff) << 16) | (serverPort & 0xffff)));
    if (rmm) this.src.add(s, SRC_RMM, serverHash);
    this.src.addFlow(s);
    const d = this.dstSlots.slot(server);
    this.dst.advance(d, tsUs);
    this.dst.add(d, DST_SRCS, hashString(client));
    out.srcDistinctDsts = this.src.estimate(s, SRC_DSTS);
    out.srcDistinctPorts = this.src.estimate(s, SRC_PORTS);
    out.srcRmmTargets = rmm ? this.src.estimate(s, SRC_RMM) : 0;
    out.srcFlows = this.src.flowCount(s);
    out.dstDistinctSrcs = this.dst.estimate(d, DST_SRCS);
  }

  /** Hosts tracked, limit and evictions (clients and servers together), and bytes held. */
  size(): { entries: number; capacity: number; evictions: number; bytes: number } {
    return {
      entries: this.srcSlots.size + this.dstSlots.size,
      capacity: 2 * this.config.maxHosts,
      evictions: this.srcSlots.evictions + this.dstSlots.evictions,
      // Slabs plus ~100 B per Map entry (key string + entry).
      bytes: this.src.bytes + this.dst.bytes + (this.srcSlots.size + this.dstSlots.size) * 100,
    };
  }
}
