import {
  DecodedPacket,
  IPPROTO_ICMP,
  IPPROTO_ICMPV6,
  IPPROTO_TCP,
  IPPROTO_UDP,
  TCP_ACK,
  TCP_FIN,
  TCP_RST,
  TCP_SYN,
  parseTcpOptions,
} from '../decode/decoded-packet.js';
import {
  Flow,
  FLAG_STRIDE,
  INT_STRIDE,
  I_CLIENT_MSS,
  I_CLIENT_WINDOW,
  I_CLIENT_WSCALE,
  I_FRAGMENTS,
  I_OUT_OF_ORDER,
  I_RETRANSMITS,
  I_SEQ_END,
  I_SERVER_MSS,
  I_SERVER_WINDOW,
  I_SERVER_WSCALE,
  I_TUNNEL,
  I_VLAN,
  I_VLAN_INNER,
  KEY_STRIDE,
  MOM_STRIDE,
  M_IAT_M2,
  M_IAT_MAX,
  M_IAT_MEAN,
  M_IAT_MIN,
  M_SIZE_M2,
  M_SIZE_MAX,
  M_SIZE_MEAN,
  M_SIZE_MIN,
  NUM_STRIDE,
  N_ACTIVE_START_US,
  N_DIR,
  N_DIR_STRIDE,
  N_FIRST_US,
  N_LAST_US,
  D_BYTES,
  D_FIRST_US,
  D_LAST_US,
  D_PAYLOAD,
  D_PKTS,
  T_DATA_C,
  T_DATA_S,
  T_FIN_C,
  T_FIN_S,
  T_HANDSHAKE,
  T_MIDSTREAM,
  T_RST_C,
  T_RST_S,
  T_SACK_OK,
  T_SEQ_C,
  T_SEQ_S,
  T_SYN,
  T_SYNACK,
  T_TIMESTAMPS,
} from './flow.js';
import type { FlowConfig } from './flow-config.js';
import { DEFAULT_FLOW_CONFIG } from './flow-config.js';
import type { Direction, FlowObserver } from './flow-observer.js';
import type { EndReason } from './flow-record.js';
import { TcpReassembly, type StreamSink } from './tcp-stream.js';
import { isServicePort } from './service-ports.js';

/** LRU lists, one per idle-timeout class; each is ordered by last packet time. */
const L_TCP = 0;
const L_TCP_HALF = 1;
const L_TCP_CLOSED = 2;
const L_UDP = 3;
const L_ICMP = 4;
const L_OTHER = 5;
const LISTS = 6;

/** ICMP request types and their replies, so a ping and its answer are one flow. */
const ICMP_PAIR: ReadonlyMap<number, number> = new Map([[8, 0], [0, 8], [13, 14], [14, 13], [15, 16], [16, 15], [17, 18], [18, 17], [10, 9]]);
const ICMP6_PAIR: ReadonlyMap<number, number> = new Map([[128, 129], [129, 128], [133, 134], [134, 133], [135, 136], [136, 135], [130, 131], [131, 130], [139, 140], [140, 139], [144, 145], [145, 144]]);
/** Reply types: seeing one first means the other side started. */
const ICMP_REPLIES = new Set([0, 14, 16, 18]);
const ICMP6_REPLIES = new Set([129, 134, 136, 131, 140, 145]);

export interface FlowTableStats {
  active: number;
  created: number;
  exported: number;
  /** Flows pushed out by the hard maximum. */
  evicted: number;
  /** Interim records of long flows. */
  activeTimeouts: number;
  /** Packets that were not IP (or not decodable) never reach the table; this counts those that did. */
  packets: number;
  tcpGaps: number;
}

/** Called for every flow that ends (or reaches an active timeout): the pipeline builds the record. */
export type FlowEndHandler = (flow: Flow, reason: EndReason, partial: boolean) => void;

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h;
}

function endpointHash(w: Uint32Array, port: number): number {
  let h = Math.imul(w[0]! ^ 0x9e3779b9, 0xcc9e2d51);
  h = Math.imul(h ^ w[1]!, 0x1b873593) ^ (h >>> 15);
  h = Math.imul(h ^ w[2]!, 0xcc9e2d51) ^ (h >>> 13);
  h = Math.imul(h ^ w[3]!, 0x1b873593) ^ (h >>> 15);
  return fmix(h ^ Math.imul(port + 1, 0x27d4eb2d));
}

/**
 * The bidirectional flow table: 5-tuple → Flow, with per-direction counters, TCP state, ordered
 * payload, timeouts and a hard maximum. All per-flow numbers live in typed arrays indexed by flow
 * id; the hash index is open addressing with linear probing and backward-shift deletion, so a
 * packet lookup allocates nothing.
 */
export class FlowTable implements StreamSink {
  readonly stats: FlowTableStats = { active: 0, created: 0, exported: 0, evicted: 0, activeTimeouts: 0, packets: 0, tcpGaps: 0 };
  private capacity: number;
  num: Float64Array;
  mom: Float32Array;
  flags: Uint16Array;
  keys: Uint32Array;
  ints: Int32Array;
  /** Ordered TCP payload of every flow (slot = id * 2 + dir). */
  readonly streams: TcpReassembly;
  private hashes: Int32Array;
  private prev: Int32Array;
  private next: Int32Array;
  private listOf: Uint8Array;
  private readonly heads = new Int32Array(LISTS).fill(-1);
  private readonly tails = new Int32Array(LISTS).fill(-1);
  private readonly timeoutUs: Float64Array;
  private slots: Int32Array;
  private mask: number;
  private flows: Array<Flow | undefined>;
  private freeIds: number[] = [];
  private nextId = 0;
  private lastSweepUs = 0;
  /** Latest packet time seen (timestamps can step back slightly between interfaces or files). */
  nowUs = 0;
  private readonly activeUs: number;
  private serial = 0;

  constructor(
    private readonly cfg: FlowConfig = DEFAULT_FLOW_CONFIG,
    private readonly onEnd: FlowEndHandler = () => {},
    private readonly observer: FlowObserver = {},
  ) {
    this.capacity = Math.min(4096, cfg.maxFlows);
    this.num = new Float64Array(this.capacity * NUM_STRIDE);
    this.mom = new Float32Array(this.capacity * MOM_STRIDE);
    this.flags = new Uint16Array(this.capacity * FLAG_STRIDE);
    this.keys = new Uint32Array(this.capacity * KEY_STRIDE);
    this.ints = new Int32Array(this.capacity * INT_STRIDE);
    this.streams = new TcpReassembly(this.capacity * 2, cfg.reassemblyBytes, cfg.reassemblyPendingBytes, this);
    // Without a payload consumer there is nothing to reassemble for.
    this.reassemble = cfg.reassemblyBytes > 0 && observer.payload !== undefined;
    this.hashes = new Int32Array(this.capacity);
    this.prev = new Int32Array(this.capacity);
    this.next = new Int32Array(this.capacity);
    this.listOf = new Uint8Array(this.capacity);
    this.flows = new Array<Flow | undefined>(this.capacity);
    const slotCount = 1 << Math.ceil(Math.log2(this.capacity * 2));
    this.slots = new Int32Array(slotCount);
    this.mask = slotCount - 1;
    const t = cfg.idleTimeout;
    this.timeoutUs = Float64Array.from([t.tcp, t.tcpHalfOpen, t.tcpClosed, t.udp, t.icmp, t.other], (s) => s * 1e6);
    this.activeUs = cfg.activeTimeout * 1e6;
  }

  private readonly reassemble: boolean;

  /** Flow by id, while it is tracked. */
  flow(id: number): Flow | undefined {
    return this.flows[id];
  }

  /** Accounts one decoded IP packet to its flow, creating the flow when needed. */
  packet(pkt: DecodedPacket): void {
    this.stats.packets++;
    const ts = pkt.tsUs;
    if (ts > this.nowUs) this.nowUs = ts;
    if (this.nowUs - this.lastSweepUs >= 1e6) this.sweep(this.nowUs);

    const proto = pkt.protocol;
    const isIcmp = proto === IPPROTO_ICMP || proto === IPPROTO_ICMPV6;
    let sport = pkt.sport;
    let dport = pkt.dport;
    if (isIcmp) {
      // Key ICMP by (type, counterpart-or-code) so requests and replies meet, as Zeek does.
      const pair = (proto === IPPROTO_ICMP ? ICMP_PAIR : ICMP6_PAIR).get(sport);
      if (pair !== undefined) dport = pair;
    } else if (proto !== IPPROTO_TCP && proto !== IPPROTO_UDP) {
      sport = dport = 0;
    }
    const h = fmix(endpointHash(pkt.src, sport) ^ endpointHash(pkt.dst, dport) ^ Math.imul(proto + 1, 0x01000193));

    // Lookup: compare the stored client/server orientation both ways.
    const keys = this.keys;
    const src = pkt.src;
    const dst = pkt.dst;
    const meta = proto | (pkt.ipVersion << 8);
    let idx = h & this.mask;
    let id = -1;
    let dir: Direction = 0;
    for (;;) {
      const slot = this.slots[idx]!;
      if (slot === 0) break;
      const cand = slot - 1;
      if (this.hashes[cand] === h) {
        const k = cand * KEY_STRIDE;
        if (keys[k + 9] === meta) {
          if (
            keys[k] === src[0] && keys[k + 1] === src[1] && keys[k + 2] === src[2] && keys[k + 3] === src[3] &&
            keys[k + 4] === dst[0] && keys[k + 5] === dst[1] && keys[k + 6] === dst[2] && keys[k + 7] === dst[3] &&
            keys[k + 8] === (((sport << 16) | dport) >>> 0)
          ) {
            id = cand;
            dir = 0;
            break;
          }
          if (
            keys[k] === dst[0] && keys[k + 1] === dst[1] && keys[k + 2] === dst[2] && keys[k + 3] === dst[3] &&
            keys[k + 4] === src[0] && keys[k + 5] === src[1] && keys[k + 6] === src[2] && keys[k + 7] === src[3] &&
            keys[k + 8] === (((dport << 16) | sport) >>> 0)
          ) {
            id = cand;
            dir = 1;
            break;
          }
        }
      }
      idx = (idx + 1) & this.mask;
    }

    let flow: Flow;
    if (id >= 0) {
      flow = this.flows[id]!;
      // A new SYN on a closed connection's 4-tuple is a new connection (port reuse).
      if (proto === IPPROTO_TCP && this.listOf[id] === L_TCP_CLOSED && (pkt.tcpFlags & (TCP_SYN | TCP_ACK)) === TCP_SYN) {
        this.finish(flow, flow.tcpBits & (T_RST_C | T_RST_S) ? 'rst' : 'fin');
        id = -1;
      }
    }
    if (id < 0) {
      // Decide who initiated: the SYN sender; else the side not using a service port.
      let swap = false;
      if (proto === IPPROTO_TCP) {
        const f = pkt.tcpFlags;
        if ((f & (TCP_SYN | TCP_ACK)) === (TCP_SYN | TCP_ACK)) swap = true;
        else if (!(f & TCP_SYN)) swap = isServicePort(sport) && !isServicePort(dport);
      } else if (proto === IPPROTO_UDP) {
        swap = isServicePort(sport) && !isServicePort(dport);
      } else if (isIcmp) {
        swap = (proto === IPPROTO_ICMP ? ICMP_REPLIES : ICMP6_REPLIES).has(pkt.sport);
      }
      flow = this.create(pkt, h, sport, dport, swap, isIcmp);
      id = flow.id;
      dir = swap ? 1 : 0;
    } else {
      flow = this.flows[id]!;
    }

    // Counters.
    const num = this.num;
    const mom = this.mom;
    const nb = id * NUM_STRIDE;
    const d = nb + N_DIR + dir * N_DIR_STRIDE;
    const m = id * MOM_STRIDE + dir * 8;
    const size = pkt.ipLen;
    const n = ++num[d + D_PKTS]!;
    num[d + D_BYTES]! += size;
    num[d + D_PAYLOAD]! += pkt.payloadLen;
    if (n === 1) {
      num[d + D_FIRST_US] = ts;
      mom[m + M_SIZE_MIN] = size;
      mom[m + M_SIZE_MAX] = size;
      mom[m + M_SIZE_MEAN] = size;
      mom[m + M_SIZE_M2] = 0;
    } else {
      if (size < mom[m + M_SIZE_MIN]!) mom[m + M_SIZE_MIN] = size;
      if (size > mom[m + M_SIZE_MAX]!) mom[m + M_SIZE_MAX] = size;
      const mean = mom[m + M_SIZE_MEAN]!;
      const delta = size - mean;
      const mean2 = mean + delta / n;
      mom[m + M_SIZE_MEAN] = mean2;
      mom[m + M_SIZE_M2]! += delta * (size - mean2);
      // Inter-arrival time (n - 1 samples); negative steps between files count as 0.
      let iat = ts - num[d + D_LAST_US]!;
      if (iat < 0) iat = 0;
      const k = n - 1;
      if (k === 1) {
        mom[m + M_IAT_MIN] = iat;
        mom[m + M_IAT_MAX] = iat;
        mom[m + M_IAT_MEAN] = iat;
        mom[m + M_IAT_M2] = 0;
      } else {
        if (iat < mom[m + M_IAT_MIN]!) mom[m + M_IAT_MIN] = iat;
        if (iat > mom[m + M_IAT_MAX]!) mom[m + M_IAT_MAX] = iat;
        const im = mom[m + M_IAT_MEAN]!;
        const idelta = iat - im;
        const im2 = im + idelta / k;
        mom[m + M_IAT_MEAN] = im2;
        mom[m + M_IAT_M2]! += idelta * (iat - im2);
      }
    }
    num[d + D_LAST_US] = ts;
    if (ts > num[nb + N_LAST_US]!) num[nb + N_LAST_US] = ts;
    if (pkt.fragments > 1) this.ints[id * INT_STRIDE + I_FRAGMENTS]! += pkt.fragments;

    if (proto === IPPROTO_TCP) this.tcp(flow, dir, pkt);
    else if (pkt.payloadLen > 0 && flow.wantsPayload(dir)) this.observer.payload?.(flow, dir, pkt.buf, pkt.payloadOff, pkt.payloadLen, ts);
    this.observer.packet?.(flow, dir, pkt);

    this.touch(id);
    if (this.activeUs > 0 && ts - num[nb + N_ACTIVE_START_US]! >= this.activeUs) {
      this.stats.activeTimeouts++;
      this.onEnd(flow, 'active_timeout', true);
      this.resetCounters(id, ts);
    }
  }

  private tcp(flow: Flow, dir: Direction, pkt: DecodedPacket): void {
    const f = pkt.tcpFlags;
    const fb = flow.id * FLAG_STRIDE + dir * 8;
    const flags = this.flags;
    // Saturating 16-bit flag counters in bit order FIN SYN RST PSH ACK URG ECE CWR.
    if (f & 0x01 && flags[fb] !== 0xffff) flags[fb]!++;
    if (f & 0x02 && flags[fb + 1] !== 0xffff) flags[fb + 1]!++;
    if (f & 0x04 && flags[fb + 2] !== 0xffff) flags[fb + 2]!++;
    if (f & 0x08 && flags[fb + 3] !== 0xffff) flags[fb + 3]!++;
    if (f & 0x10 && flags[fb + 4] !== 0xffff) flags[fb + 4]!++;
    if (f & 0x20 && flags[fb + 5] !== 0xffff) flags[fb + 5]!++;
    if (f & 0x40 && flags[fb + 6] !== 0xffff) flags[fb + 6]!++;
    if (f & 0x80 && flags[fb + 7] !== 0xffff) flags[fb + 7]!++;
    let bits = flow.tcpBits;
    const id = flow.id;
    const ib = id * INT_STRIDE;
    if (f & TCP_SYN) {
      if (dir === 0 && !(f & TCP_ACK)) {
        if (!(bits & T_SYN)) {
          const o = parseTcpOptions(pkt);
          this.ints[ib + I_CLIENT_MSS] = o.mss;
          this.ints[ib + I_CLIENT_WSCALE] = o.windowScale;
          this.ints[ib + I_CLIENT_WINDOW] = pkt.window;
          if (o.sackPermitted) bits |= T_SACK_OK;
          if (o.timestamps) bits |= T_TIMESTAMPS;
        }
        bits |= T_SYN;
      } else if (dir === 1 && f & TCP_ACK) {
        if (!(bits & T_SYNACK)) {
          const o = parseTcpOptions(pkt);
          this.ints[ib + I_SERVER_MSS] = o.mss;
          this.ints[ib + I_SERVER_WSCALE] = o.windowScale;
          this.ints[ib + I_SERVER_WINDOW] = pkt.window;
        }
        bits |= T_SYNACK;
      }
    } else if (dir === 0 && f & TCP_ACK && (bits & (T_SYN | T_SYNACK)) === (T_SYN | T_SYNACK)) {
      bits |= T_HANDSHAKE;
    }
    if (f & TCP_FIN) bits |= dir === 0 ? T_FIN_C : T_FIN_S;
    if (f & TCP_RST) bits |= dir === 0 ? T_RST_C : T_RST_S;
    if (pkt.payloadLen > 0) {
      bits |= dir === 0 ? T_DATA_C : T_DATA_S;
      // Whole-flow sequence accounting, independent of how much payload reassembly delivers.
      const seqBit = dir === 0 ? T_SEQ_C : T_SEQ_S;
      const start = f & TCP_SYN ? (pkt.seq + 1) | 0 : pkt.seq | 0;
      const end = (start + pkt.payloadLen) | 0;
      const ints = this.ints;
      if (!(bits & seqBit)) {
        ints[ib + I_SEQ_END + dir] = end;
        bits |= seqBit;
      } else {
        const high = ints[ib + I_SEQ_END + dir]!;
        if (((end - high) | 0) <= 0) ints[ib + I_RETRANSMITS]!++;
        else {
          if (((start - high) | 0) > 0) ints[ib + I_OUT_OF_ORDER]!++;
          ints[ib + I_SEQ_END + dir] = end;
        }
      }
    }
    flow.tcpBits = bits;

    // Timeout class follows the state.
    const want =
      bits & (T_RST_C | T_RST_S) || (bits & (T_FIN_C | T_FIN_S)) === (T_FIN_C | T_FIN_S)
        ? L_TCP_CLOSED
        : bits & T_HANDSHAKE || bits & T_MIDSTREAM || (bits & T_DATA_C && bits & T_DATA_S)
          ? L_TCP
          : L_TCP_HALF;
    if (this.listOf[id] !== want) {
      this.unlink(id);
      this.listOf[id] = want;
      this.pushHead(id);
    }

    if (!this.reassemble) return;
    const slot = id * 2 + dir;
    if (f & TCP_SYN) this.streams.syn(slot, pkt.seq);
    if (pkt.payloadLen > 0) {
      if (!flow.wantsPayload(dir)) {
        this.streams.release(slot);
        return;
      }
      this.curTs = pkt.tsUs;
      // SYN data (TCP Fast Open) starts after the SYN's own sequence number.
      this.streams.segment(slot, f & TCP_SYN ? (pkt.seq + 1) >>> 0 : pkt.seq, pkt.buf, pkt.payloadOff, pkt.payloadLen);
    }
  }

  private curTs = 0;

  /** StreamSink: ordered bytes go to the observer. */
  deliver(slot: number, buf: Uint8Array, off: number, len: number): void {
    const flow = this.flows[slot >> 1];
    const dir = (slot & 1) as Direction;
    if (!flow || !flow.wantsPayload(dir)) {
      this.streams.release(slot);
      return;
    }
    this.observer.payload?.(flow, dir, buf, off, len, this.curTs);
    if (!flow.wantsPayload(dir)) this.streams.release(slot);
  }

  gap(slot: number, lostBytes: number): void {
    this.stats.tcpGaps++;
    const flow = this.flows[slot >> 1];
    if (flow) this.observer.gap?.(flow, (slot & 1) as Direction, lostBytes);
  }

  private allocId(): number {
    const free = this.freeIds.pop();
    if (free !== undefined) return free;
    if (this.nextId >= this.capacity) this.grow();
    return this.nextId++;
  }

  private grow(): void {
    // ×1.5 keeps the slack (unused slots) at most a third, for memory; copies are amortised.
    const cap = Math.min(this.cfg.maxFlows, Math.ceil(this.capacity * 1.5));
    const copy = <T extends Float64Array | Float32Array | Uint32Array | Uint16Array | Int32Array | Uint8Array>(a: T, make: (n: number) => T, stride: number): T => {
      const b = make(cap * stride);
      b.set(a);
      return b;
    };
    this.num = copy(this.num, (n) => new Float64Array(n), NUM_STRIDE);
    this.mom = copy(this.mom, (n) => new Float32Array(n), MOM_STRIDE);
    this.flags = copy(this.flags, (n) => new Uint16Array(n), FLAG_STRIDE);
    this.keys = copy(this.keys, (n) => new Uint32Array(n), KEY_STRIDE);
    this.ints = copy(this.ints, (n) => new Int32Array(n), INT_STRIDE);
    this.hashes = copy(this.hashes, (n) => new Int32Array(n), 1);
    this.prev = copy(this.prev, (n) => new Int32Array(n), 1);
    this.next = copy(this.next, (n) => new Int32Array(n), 1);
    this.listOf = copy(this.listOf, (n) => new Uint8Array(n), 1);
    this.streams.grow(cap * 2);
    this.flows.length = cap;
    this.capacity = cap;
    // Rebuild the index at the new size.
    const slotCount = 1 << Math.ceil(Math.log2(cap * 2));
    if (slotCount !== this.slots.length) {
      this.slots = new Int32Array(slotCount);
      this.mask = slotCount - 1;
      for (let i = 0; i < this.nextId; i++) if (this.flows[i]) this.insertSlot(i);
    }
  }

  private insertSlot(id: number): void {
    let idx = this.hashes[id]! & this.mask;
    while (this.slots[idx] !== 0) idx = (idx + 1) & this.mask;
    this.slots[idx] = id + 1;
  }

  private removeSlot(id: number): void {
    const mask = this.mask;
    const slots = this.slots;
    let idx = this.hashes[id]! & mask;
    while (slots[idx] !== id + 1) {
      if (slots[idx] === 0) return; // not indexed (cannot happen)
      idx = (idx + 1) & mask;
    }
    // Backward-shift deletion keeps probe chains intact without tombstones.
    let hole = idx;
    let j = (idx + 1) & mask;
    while (slots[j] !== 0) {
      const home = this.hashes[slots[j]! - 1]! & mask;
      // Move j into the hole if its home is not cyclically within (hole, j].
      if ((j > hole && (home <= hole || home > j)) || (j < hole && home <= hole && home > j)) {
        slots[hole] = slots[j]!;
        hole = j;
      }
      j = (j + 1) & mask;
    }
    slots[hole] = 0;
  }

  private create(pkt: DecodedPacket, h: number, sport: number, dport: number, swap: boolean, isIcmp: boolean): Flow {
    if (this.stats.active >= this.cfg.maxFlows) this.evictOne();
    const id = this.allocId();
    const k = id * KEY_STRIDE;
    const keys = this.keys;
    const a = swap ? pkt.dst : pkt.src;
    const b = swap ? pkt.src : pkt.dst;
    const ap = swap ? dport : sport;
    const bp = swap ? sport : dport;
    keys[k] = a[0]!;
    keys[k + 1] = a[1]!;
    keys[k + 2] = a[2]!;
    keys[k + 3] = a[3]!;
    keys[k + 4] = b[0]!;
    keys[k + 5] = b[1]!;
    keys[k + 6] = b[2]!;
    keys[k + 7] = b[3]!;
    keys[k + 8] = ((ap << 16) | bp) >>> 0;
    keys[k + 9] = pkt.protocol | (pkt.ipVersion << 8);
    this.hashes[id] = h;
    this.insertSlot(id);
    // ICMP records carry the type and code of the first message, like Zeek's orig_p/resp_p.
    // For a reply seen first, the request type is the counterpart (the mapped `dport`).
    const clientPort = isIcmp ? (swap ? dport : pkt.sport) : ap;
    const serverPort = isIcmp ? pkt.dport : bp;
    const flow = new Flow(id, ++this.serial, pkt.protocol, pkt.ipVersion, clientPort, serverPort);
    if (pkt.protocol === IPPROTO_TCP && !(pkt.tcpFlags & TCP_SYN)) flow.tcpBits = T_MIDSTREAM;
    this.flows[id] = flow;
    this.num.fill(0, id * NUM_STRIDE, (id + 1) * NUM_STRIDE);
    this.mom.fill(0, id * MOM_STRIDE, (id + 1) * MOM_STRIDE);
    this.flags.fill(0, id * FLAG_STRIDE, (id + 1) * FLAG_STRIDE);
    this.num[id * NUM_STRIDE + N_FIRST_US] = pkt.tsUs;
    this.num[id * NUM_STRIDE + N_LAST_US] = pkt.tsUs;
    this.num[id * NUM_STRIDE + N_ACTIVE_START_US] = pkt.tsUs;
    const ib = id * INT_STRIDE;
    this.ints.fill(-1, ib, ib + INT_STRIDE);
    this.ints[ib + I_VLAN] = pkt.vlanOuter;
    this.ints[ib + I_VLAN_INNER] = pkt.vlanInner;
    this.ints[ib + I_TUNNEL] = pkt.tunnel;
    this.ints[ib + I_FRAGMENTS] = 0;
    this.ints[ib + I_RETRANSMITS] = 0;
    this.ints[ib + I_OUT_OF_ORDER] = 0;
    this.streams.reset(id * 2);
    this.streams.reset(id * 2 + 1);
    const p = pkt.protocol;
    this.listOf[id] =
      p === IPPROTO_TCP ? (flow.tcpBits & T_MIDSTREAM ? L_TCP : L_TCP_HALF) : p === IPPROTO_UDP ? L_UDP : isIcmp ? L_ICMP : L_OTHER;
    this.pushHead(id);
    this.stats.active++;
    this.stats.created++;
    this.observer.flowStart?.(flow);
    return flow;
  }

  private resetCounters(id: number, ts: number): void {
    const nb = id * NUM_STRIDE;
    this.num.fill(0, nb + N_DIR, nb + NUM_STRIDE);
    this.mom.fill(0, id * MOM_STRIDE, (id + 1) * MOM_STRIDE);
    this.flags.fill(0, id * FLAG_STRIDE, (id + 1) * FLAG_STRIDE);
    this.ints[id * INT_STRIDE + I_RETRANSMITS] = 0;
    this.ints[id * INT_STRIDE + I_OUT_OF_ORDER] = 0;
    this.num[nb + N_FIRST_US] = ts;
    this.num[nb + N_ACTIVE_START_US] = ts;
  }

  private pushHead(id: number): void {
    const l = this.listOf[id]!;
    const head = this.heads[l]!;
    this.prev[id] = -1;
    this.next[id] = head;
    if (head >= 0) this.prev[head] = id;
    this.heads[l] = id;
    if (this.tails[l]! < 0) this.tails[l] = id;
  }

  private unlink(id: number): void {
    const l = this.listOf[id]!;
    const p = this.prev[id]!;
    const n = this.next[id]!;
    if (p >= 0) this.next[p] = n;
    else this.heads[l] = n;
    if (n >= 0) this.prev[n] = p;
    else this.tails[l] = p;
  }

  /** Moves a flow to the front of its list (most recently seen). */
  private touch(id: number): void {
    if (this.heads[this.listOf[id]!] === id) return;
    this.unlink(id);
    this.pushHead(id);
  }

  private evictOne(): void {
    // The least recently seen flow overall is the oldest of the list tails.
    let best = -1;
    let bestTs = Infinity;
    for (let l = 0; l < LISTS; l++) {
      const t = this.tails[l]!;
      if (t < 0) continue;
      const ts = this.num[t * NUM_STRIDE + N_LAST_US]!;
      if (ts < bestTs) {
        bestTs = ts;
        best = t;
      }
    }
    if (best < 0) return;
    this.stats.evicted++;
    this.finish(this.flows[best]!, 'evicted');
  }

  /** Exports flows idle longer than their class's timeout (call with the current time when no packets arrive). */
  sweep(nowUs: number): void {
    this.lastSweepUs = nowUs;
    for (let l = 0; l < LISTS; l++) {
      const limit = this.timeoutUs[l]!;
      for (;;) {
        const t = this.tails[l]!;
        if (t < 0) break;
        if (nowUs - this.num[t * NUM_STRIDE + N_LAST_US]! <= limit) break;
        const flow = this.flows[t]!;
        this.finish(flow, l === L_TCP_CLOSED ? (flow.tcpBits & (T_RST_C | T_RST_S) ? 'rst' : 'fin') : 'idle_timeout');
      }
    }
  }

  /** Exports every flow (end of input or shutdown). */
  flushAll(reason: EndReason = 'end_of_input'): void {
    for (let l = 0; l < LISTS; l++) {
      while (this.tails[l]! >= 0) {
        const flow = this.flows[this.tails[l]!]!;
        // Closed connections keep saying how they closed.
        const why = l === L_TCP_CLOSED ? (flow.tcpBits & (T_RST_C | T_RST_S) ? 'rst' : 'fin') : reason;
        this.finish(flow, why);
      }
    }
  }

  private finish(flow: Flow, reason: EndReason): void {
    const id = flow.id;
    this.onEnd(flow, reason, false);
    this.unlink(id);
    this.removeSlot(id);
    flow.markEnded();
    this.streams.release(id * 2);
    this.streams.release(id * 2 + 1);
    this.flows[id] = undefined;
    this.freeIds.push(id);
    this.stats.active--;
    this.stats.exported++;
  }
}
