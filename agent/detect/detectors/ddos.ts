/**
 * Denial of service floods against one destination (T1498 Network DoS, T1499 Endpoint DoS).
 *
 * Per destination, on the packet path (O(1), no allocation; fixed set-associative table): packets,
 * bytes, new flows and SYNs without ACK in one-second buckets of packet time, distinct sources and
 * destination ports per second (HyperLogLog), and an EWMA of the destination's own per-second rates
 * that attack seconds never feed. A bucket is judged when it completes, and early — as soon as the
 * counts of the running second already pass the absolute minimums — so a flood is flagged within
 * ≤ 2 s of packet time after it starts.
 *
 *   SYN flood   SYNs/s ≥ minSynPps, SYN share ≥ synRatio, few target ports (a scan hits many) or
 *               many sources, and ≥ rateFactor × the destination's usual SYN rate     → T1499.001
 *   volumetric  packets/s ≥ minPps (or bytes/s ≥ minBytesPerSec) from ≥ minSources sources or
 *               with ≥ minNewFlows new flows/s, and ≥ rateFactor × the usual packet (byte)
 *               rate                                                                 → T1498.001,
 *               T1498.002 when most packets come from a service port (reflection)
 */
import type { DecodedPacket } from '../../decode/decoded-packet.js';
import { IPPROTO_TCP, IPPROTO_UDP, TCP_ACK, TCP_SYN } from '../../decode/decoded-packet.js';
import type { Flow } from '../../flow/flow.js';
import type { Direction } from '../../flow/flow-observer.js';
import { wordsToString } from '../../util/ip-format.js';
import type { DetectContext, Detector, DetectorFactory } from '../detector.js';
import { HllSlab } from '../state/hll.js';
import { SlotTable, mix32 } from '../state/slot-table.js';
import { fmtBytes, fmtCount, fmtDuration, fmtRate, r3, unit } from '../reason.js';

export interface DdosConfig {
  minSynPps: number;
  synRatio: number;
  /** A SYN burst over more distinct ports than this (and few sources) is a scan, not a flood. */
  maxFloodPorts: number;
  minPps: number;
  /** Bytes per second that make a bandwidth flood (with the source/new-flow condition and the rate factor). */
  minBytesPerSec: number;
  /** Usual byte rate assumed for a destination never seen before. */
  floorBytesPerSec: number;
  minSources: number;
  minNewFlows: number;
  /** Sources that make a SYN burst a flood whatever the ports. */
  spoofedSources: number;
  /** How far above its own usual rate a destination must be. */
  rateFactor: number;
  /** Usual rates assumed for a destination never seen before (per second). */
  floorPps: number;
  floorSynPps: number;
  /** EWMA weight of one second. */
  alpha: number;
  /** Seconds between two candidates of one ongoing flood. */
  emitIntervalSec: number;
  /** Destinations tracked (fixed memory). */
  maxDestinations: number;
}

const DEFAULTS: DdosConfig = {
  minSynPps: 500,
  synRatio: 0.7,
  maxFloodPorts: 32,
  minPps: 5000,
  minBytesPerSec: 12.5e6,
  floorBytesPerSec: 125_000,
  minSources: 20,
  minNewFlows: 500,
  spoofedSources: 50,
  rateFactor: 5,
  floorPps: 200,
  floorSynPps: 20,
  alpha: 0.05,
  emitIntervalSec: 5,
  maxDestinations: 4096,
};

/** Source ports of services abused for reflection/amplification (DNS, NTP, SNMP, SSDP, CLDAP, memcached...). */
const REFLECTOR_PORTS = new Set([19, 53, 69, 111, 123, 137, 161, 389, 500, 520, 4500, 1434, 1900, 3283, 3702, 5353, 5683, 10001, 11211, 37810, 47808]);

const KEY_WORDS = 5;

class Ddos implements Detector {
  readonly name = 'ddos';
  private readonly t: SlotTable;
  private readonly sec: Float64Array;
  private readonly pkts: Float64Array;
  private readonly bytes: Float64Array;
  private readonly flows: Float64Array;
  private readonly syns: Float64Array;
  private readonly reflected: Float64Array;
  private readonly basePps: Float64Array;
  private readonly baseBps: Float64Array;
  private readonly baseSyn: Float64Array;
  private readonly inAttack: Uint8Array;
  private readonly attackStart: Float64Array;
  private readonly attackPkts: Float64Array;
  private readonly attackBytes: Float64Array;
  private readonly peakPps: Float64Array;
  private readonly emittedUs: Float64Array;
  private readonly emittedPkts: Float64Array;
  /** Sources and ports of the running second; sources of the whole attack. */
  private readonly srcHll: HllSlab;
  private readonly portHll: HllSlab;
  private readonly episodeHll: HllSlab;
  /** Majority destination port of the running second's SYNs and of all its packets (Boyer–Moore vote). */
  private readonly synPort: Uint16Array;
  private readonly synVote: Int32Array;
  private readonly pktPort: Uint16Array;
  private readonly pktVote: Int32Array;
  /** A source of the running second (shown as the alert's source). */
  private readonly sample: Uint32Array;
  private readonly samplePort: Uint16Array;
  private readonly sampleProto: Uint8Array;
  private readonly key = new Uint32Array(KEY_WORDS);
  /** The flood kind of the last candidate (1 = SYN flood), for updates sent from tick/finish. */
  private readonly lastKindSyn: Uint8Array;
  private readonly lastReflect: Uint8Array;

  constructor(
    private readonly cfg: DdosConfig,
    private readonly ctx: DetectContext,
  ) {
    this.t = new SlotTable(cfg.maxDestinations, KEY_WORDS, 600e6);
    const n = this.t.capacity;
    this.sec = new Float64Array(n);
    this.pkts = new Float64Array(n);
    this.bytes = new Float64Array(n);
    this.flows = new Float64Array(n);
    this.syns = new Float64Array(n);
    this.reflected = new Float64Array(n);
    this.basePps = new Float64Array(n);
    this.baseBps = new Float64Array(n);
    this.baseSyn = new Float64Array(n);
    this.inAttack = new Uint8Array(n);
    this.attackStart = new Float64Array(n);
    this.attackPkts = new Float64Array(n);
    this.attackBytes = new Float64Array(n);
    this.peakPps = new Float64Array(n);
    this.emittedUs = new Float64Array(n);
    this.emittedPkts = new Float64Array(n);
    this.srcHll = new HllSlab(n, 64);
    this.portHll = new HllSlab(n, 16);
    this.episodeHll = new HllSlab(n, 64);
    this.sample = new Uint32Array(n * 4);
    this.samplePort = new Uint16Array(n);
    this.synPort = new Uint16Array(n);
    this.synVote = new Int32Array(n);
    this.pktPort = new Uint16Array(n);
    this.pktVote = new Int32Array(n);
    this.lastKindSyn = new Uint8Array(n);
    this.lastReflect = new Uint8Array(n);
    this.sampleProto = new Uint8Array(n);
  }

  packet(pkt: DecodedPacket, _flow: Flow, _dir: Direction, isNew: boolean): void {
    const t = this.t;
    const k = t.key;
    const dst = pkt.dst;
    k[0] = dst[0]!;
    k[1] = dst[1]!;
    k[2] = dst[2]!;
    k[3] = dst[3]!;
    k[4] = pkt.ipVersion;
    const ts = pkt.tsUs;
    const i = t.acquire(ts);
    const second = Math.floor(ts / 1e6);
    if (t.fresh) this.init(i, second);
    else if (second > this.sec[i]!) this.roll(i, second, ts);
    const n = ++this.pkts[i]!;
    this.bytes[i]! += pkt.ipLen;
    const src = pkt.src;
    if (n === 1) {
      this.sample[i * 4] = src[0]!;
      this.sample[i * 4 + 1] = src[1]!;
      this.sample[i * 4 + 2] = src[2]!;
      this.sample[i * 4 + 3] = src[3]!;
      // An ongoing attack keeps the port it was judged to target.
      if (this.inAttack[i] === 0) {
        this.samplePort[i] = pkt.dport;
        this.sampleProto[i] = pkt.protocol;
      }
    }
    if (isNew) this.flows[i]!++;
    const dport = pkt.dport;
    if (this.pktVote[i] === 0) {
      this.pktPort[i] = dport;
      this.pktVote[i] = 1;
    } else this.pktVote[i]! += this.pktPort[i] === dport ? 1 : -1;
    const h = mix32(src[0]!, src[1]!, src[2]!, src[3]!);
    this.srcHll.add(i, h);
    if (this.inAttack[i] === 1) {
      this.episodeHll.add(i, h);
      this.attackPkts[i]!++;
      this.attackBytes[i]! += pkt.ipLen;
    }
    const proto = pkt.protocol;
    // Judge the running second early every 512 packets (and when SYNs reach their minimum).
    let early = (n & 511) === 0;
    if (proto === IPPROTO_TCP) {
      const f = pkt.tcpFlags & (TCP_SYN | TCP_ACK);
      if (f === TCP_SYN) {
        const s = ++this.syns[i]!;
        // The target of a SYN flood is the port most of its SYNs go to.
        if (this.synVote[i] === 0) {
          this.synPort[i] = dport;
          this.synVote[i] = 1;
        } else this.synVote[i]! += this.synPort[i] === dport ? 1 : -1;
        this.portHll.add(i, mix32(pkt.dport));
        if (s === this.cfg.minSynPps) early = true;
      } else if (f === (TCP_SYN | TCP_ACK)) this.reflected[i]!++; // SYN-ACKs to a host that sent no SYN: TCP reflection
    } else if (proto === IPPROTO_UDP && REFLECTOR_PORTS.has(pkt.sport)) this.reflected[i]!++;
    if (early && this.inAttack[i] === 0) {
      // The running second already passed an absolute minimum: judge it now, not at its end.
      this.judge(i, ts, Math.max(0.1, (ts - second * 1e6) / 1e6), true);
    }
  }

  private init(i: number, second: number): void {
    this.startSecond(i, second);
    this.basePps[i] = 0;
    this.baseBps[i] = 0;
    this.baseSyn[i] = 0;
    this.inAttack[i] = 0;
    this.peakPps[i] = 0;
  }

  /** Empties the running bucket of target i for `second`; baselines and attack state stay. */
  private startSecond(i: number, second: number): void {
    this.sec[i] = second;
    this.pkts[i] = 0;
    this.bytes[i] = 0;
    this.flows[i] = 0;
    this.syns[i] = 0;
    this.reflected[i] = 0;
    this.synVote[i] = 0;
    this.pktVote[i] = 0;
    this.srcHll.reset(i);
    this.portHll.reset(i);
  }

  /** The bucket of second `sec[i]` is complete: judge it, learn from it if normal, start `second`. */
  private roll(i: number, second: number, ts: number): void {
    const attacking = this.judge(i, ts, 1, false);
    const a = this.cfg.alpha;
    if (!attacking) {
      this.basePps[i] = this.basePps[i]! + a * (this.pkts[i]! - this.basePps[i]!);
      this.baseBps[i] = this.baseBps[i]! + a * (this.bytes[i]! - this.baseBps[i]!);
      this.baseSyn[i] = this.baseSyn[i]! + a * (this.syns[i]! - this.baseSyn[i]!);
    }
    const idle = second - this.sec[i]! - 1;
    if (idle > 0) {
      const decay = Math.pow(1 - a, Math.min(idle, 10_000));
      this.basePps[i]! *= decay;
      this.baseBps[i]! *= decay;
      this.baseSyn[i]! *= decay;
      if (this.inAttack[i] === 1 && idle >= 5) this.inAttack[i] = 0;
    }
    this.startSecond(i, second);
  }

  /** Judges the running bucket scaled to `seconds` of traffic; returns true when it is an attack second. */
  private judge(i: number, ts: number, seconds: number, early: boolean): boolean {
    const c = this.cfg;
    const pps = this.pkts[i]! / seconds;
    const synps = this.syns[i]! / seconds;
    const sources = this.srcHll.estimate(i);
    const fps = this.flows[i]! / seconds;
    const ports = this.portHll.estimate(i);
    const pk = this.pkts[i]!;
    const synFlood =
      synps >= c.minSynPps &&
      this.syns[i]! >= c.synRatio * pk &&
      (ports <= c.maxFloodPorts || sources >= c.spoofedSources) &&
      synps >= c.rateFactor * Math.max(this.baseSyn[i]!, c.floorSynPps);
    const volume =
      pps >= c.minPps && (sources >= c.minSources || fps >= c.minNewFlows) && pps >= c.rateFactor * Math.max(this.basePps[i]!, c.floorPps);
    const bps = this.bytes[i]! / seconds;
    const bandwidth =
      bps >= c.minBytesPerSec && (sources >= c.minSources || fps >= c.minNewFlows) && bps >= c.rateFactor * Math.max(this.baseBps[i]!, c.floorBytesPerSec);
    if (!synFlood && !volume && !bandwidth) {
      // Below half the minimums the flood is over.
      if (!early && this.inAttack[i] === 1 && pps < c.minPps / 2 && synps < c.minSynPps / 2 && bps < c.minBytesPerSec / 2) this.end(i, ts);
      return false;
    }
    const rate = synFlood ? synps : pps;
    this.samplePort[i] = synFlood ? this.synPort[i]! : this.pktPort[i]!;
    if (synFlood) this.sampleProto[i] = IPPROTO_TCP;
    if (!early && rate > this.peakPps[i]!) this.peakPps[i] = rate;
    if (this.inAttack[i] === 0) {
      this.inAttack[i] = 1;
      this.attackStart[i] = this.sec[i]! * 1e6;
      this.attackPkts[i] = pk;
      this.attackBytes[i] = this.bytes[i]!;
      this.emittedUs[i] = 0;
      this.emittedPkts[i] = 0;
      this.peakPps[i] = rate;
      this.episodeHll.reset(i);
      this.lastReflect[i] = 0;
      this.lastKindSyn[i] = 0;
      // The sources of this second so far seed the attack's source count.
      this.episodeHll.add(i, mix32(this.sample[i * 4]!, this.sample[i * 4 + 1]!, this.sample[i * 4 + 2]!, this.sample[i * 4 + 3]!));
    }
    if (this.emittedUs[i] === 0 || ts - this.emittedUs[i]! >= c.emitIntervalSec * 1e6) {
      this.emit(i, ts, synFlood, pps, synps, sources, fps);
    }
    return true;
  }

  private emit(i: number, ts: number, synFlood: boolean, pps: number, synps: number, sources: number, fps: number): void {
    this.t.keyOf(i, this.key);
    const ver = this.key[4]!;
    const victim = wordsToString(ver, this.key, 0);
    const sample = wordsToString(ver, this.sample, i * 4);
    this.lastKindSyn[i] = synFlood ? 1 : 0;
    const reflection = !synFlood && (this.reflected[i]! >= 0.5 * this.pkts[i]! || this.lastReflect[i] === 1);
    this.lastReflect[i] = reflection ? 1 : 0;
    const technique = synFlood ? 'T1499.001' : reflection ? 'T1498.002' : 'T1498.001';
    const kind = synFlood ? 'SYN flood' : reflection ? 'reflection flood' : 'packet flood';
    const peak = Math.max(this.peakPps[i]!, synFlood ? synps : pps);
    const totalSources = Math.max(sources, this.episodeHll.estimate(i));
    const pkts = this.attackPkts[i]!;
    const delta = pkts - this.emittedPkts[i]!;
    this.emittedUs[i] = ts;
    this.emittedPkts[i] = pkts;
    const port = this.samplePort[i]!;
    const proto = this.sampleProto[i]!;
    const target = proto === IPPROTO_TCP || proto === IPPROTO_UDP ? `${victim}:${port}` : victim;
    const usual = synFlood ? this.baseSyn[i]! : this.basePps[i]!;
    const factor = (synFlood ? synps : pps) / Math.max(usual, synFlood ? this.cfg.floorSynPps : this.cfg.floorPps);
    const reason =
      `${kind} on ${target}: peak ${fmtRate(peak)} ${synFlood ? 'SYNs' : 'packets'} (usual ${fmtRate(usual)}) ` +
      `from ≈${fmtCount(totalSources)} sources, ` +
      `${fmtCount(pkts)} packets / ${fmtBytes(this.attackBytes[i]!)} in ${fmtDuration(ts - this.attackStart[i]!)}`;
    const zones = this.ctx.zones;
    this.ctx.emit({
      detector: this.name,
      category: 'dos',
      technique,
      tactic: 'impact',
      severity: peak >= 10 * this.cfg.minPps || totalSources >= 1000 ? 'critical' : 'high',
      score: unit(0.8 + 0.2 * Math.min(1, Math.log10(Math.max(1, factor)) / 3)),
      source: { ip: sample, zone: zones.zoneOfWords(ver, this.sample, i * 4) },
      destination: proto === IPPROTO_TCP || proto === IPPROTO_UDP ? { ip: victim, port, zone: zones.zoneOfWords(ver, this.key, 0) } : { ip: victim, zone: zones.zoneOfWords(ver, this.key, 0) },
      aggregateSource: '*',
      aggregateTarget: victim,
      evidence: {
        values: {
          kind: synFlood ? 'syn' : reflection ? 'reflection' : 'volumetric',
          pps: Math.round(pps),
          syn_pps: Math.round(synps),
          peak_pps: Math.round(peak),
          usual_pps: r3(usual),
          sources_per_s: Math.round(sources),
          sources: Math.round(totalSources),
          new_flows_per_s: Math.round(fps),
          packets: pkts,
          bytes: this.attackBytes[i]!,
        },
      },
      reason,
      firstUs: this.attackStart[i]!,
      lastUs: ts,
      count: Math.max(1, delta),
    });
  }

  private lastSweepUs = 0;

  /** Sends the latest numbers of floods that went quiet, and ends them. */
  tick(nowUs: number): void {
    if (nowUs - this.lastSweepUs < this.cfg.emitIntervalSec * 1e6) return;
    this.lastSweepUs = nowUs;
    this.flush(nowUs, false);
  }

  finish(nowUs: number): void {
    this.flush(nowUs, true);
  }

  /** The flood is over: its last numbers go out once. */
  private end(i: number, ts: number): void {
    if (this.attackPkts[i]! > this.emittedPkts[i]!) this.update(i, Math.min(ts, this.t.touchedUs(i)));
    this.inAttack[i] = 0;
  }

  /** A candidate with the attack's numbers so far (from tick, finish or the end of a flood). */
  private update(i: number, ts: number): void {
    const syn = this.lastKindSyn[i] === 1;
    this.emit(i, ts, syn, syn ? 0 : this.peakPps[i]!, syn ? this.peakPps[i]! : 0, this.srcHll.estimate(i), 0);
  }

  private flush(nowUs: number, all: boolean): void {
    const intervalUs = this.cfg.emitIntervalSec * 1e6;
    for (let i = 0; i < this.inAttack.length; i++) {
      if (this.inAttack[i] !== 1) continue;
      const quiet = nowUs - this.t.touchedUs(i) > intervalUs;
      if (this.attackPkts[i]! > this.emittedPkts[i]! && (all || quiet || nowUs - this.emittedUs[i]! >= intervalUs)) {
        this.update(i, Math.min(nowUs, this.t.touchedUs(i)));
      }
      if (quiet) {
        // Over: its last bucket was counted into the attack already, so it must not start another.
        this.inAttack[i] = 0;
        this.pkts[i] = 0;
        this.bytes[i] = 0;
        this.flows[i] = 0;
        this.syns[i] = 0;
        this.reflected[i] = 0;
      }
    }
  }

  state() {
    const t = this.t;
    return {
      entries: t.size,
      capacity: t.capacity,
      evictions: t.evictions,
      bytes: t.bytes + t.capacity * (8 * 14 + 16 + 4) + this.srcHll.bytes + this.portHll.bytes + this.episodeHll.bytes,
    };
  }
}

export const ddos: DetectorFactory<DdosConfig> = {
  name: 'ddos',
  description: 'SYN, packet and reflection floods per destination against its own usual rate',
  mitre: [
    { technique: 'T1499.001', tactic: 'impact' },
    { technique: 'T1498.001', tactic: 'impact' },
    { technique: 'T1498.002', tactic: 'impact' },
  ],
  defaults: DEFAULTS,
  create: (cfg, ctx) => new Ddos(cfg, ctx),
};
