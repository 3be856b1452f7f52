/**
 * Port scans (T1046 Network Service Discovery).
 *
 * Vertical: one source tries many ports of one host. Horizontal: one source tries one port (or
 * ICMP echo) on many hosts. Attempts are counted as flows start (packet path, O(1), no
 * allocation: fixed set-associative tables plus HyperLogLog distinct counters); failures — no
 * SYN-ACK, RST from the target, no UDP/ICMP reply — when the flow records come. A window fires
 * when the distinct count passes the plain threshold, or the lower "failed" threshold with a
 * failure ratio above `failedRatio` (benign clients rarely fail; scanners mostly do).
 */
import type { DecodedPacket } from '../../decode/decoded-packet.js';
import { IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_TCP, IPPROTO_UDP, TCP_ACK, TCP_RST, TCP_SYN } from '../../decode/decoded-packet.js';
import type { Flow } from '../../flow/flow.js';
import { T_HANDSHAKE } from '../../flow/flow.js';
import type { Direction } from '../../flow/flow-observer.js';
import type { FlowRecord } from '../../flow/flow-record.js';
import { wordsToString } from '../../util/ip-format.js';
import { isGroupAddress, parseIp } from '../../util/zones.js';
import type { DetectContext, Detector, DetectorFactory } from '../detector.js';
import { HllSlab } from '../state/hll.js';
import { SlotTable, mix32 } from '../state/slot-table.js';
import { fmtCount, fmtDuration, r3, unit } from '../reason.js';

export interface PortScanConfig {
  /** Window over which distinct ports/hosts are counted, seconds. */
  windowSec: number;
  /** Distinct ports on one host that make a vertical scan whatever the outcome. */
  verticalPorts: number;
  /** Distinct ports that make a vertical scan when at least `failedRatio` of attempts failed. */
  verticalPortsFailed: number;
  /** Distinct hosts on one port that make a horizontal scan whatever the outcome. */
  horizontalHosts: number;
  /** Distinct hosts that make a horizontal scan when at least `failedRatio` of attempts failed. */
  horizontalHostsFailed: number;
  failedRatio: number;
  /** Minimum seconds between two candidates of one ongoing scan (the alert aggregates them). */
  emitIntervalSec: number;
  /** (source, host) pairs and (source, port) pairs tracked; fixed memory. */
  maxPairs: number;
}

const DEFAULTS: PortScanConfig = {
  windowSec: 60,
  verticalPorts: 100,
  verticalPortsFailed: 15,
  horizontalHosts: 256,
  horizontalHostsFailed: 16,
  failedRatio: 0.8,
  emitIntervalSec: 5,
  maxPairs: 8192,
};

/** A spare Flow.tcpBits bit: this flow's RST was already counted as a failure. */
const RST_COUNTED = 1 << 20;

const V_WORDS = 9; // src(4) dst(4) version|proto
const H_WORDS = 6; // src(4) version|proto port

/** Counters of one window, for either table. */
class Windows {
  readonly start: Float64Array;
  readonly first: Float64Array;
  readonly last: Float64Array;
  readonly attempts: Uint32Array;
  readonly failed: Uint32Array;
  readonly ended: Uint32Array;
  readonly emittedUs: Float64Array;
  readonly emittedAttempts: Uint32Array;
  /** First destination of the window (horizontal: shown as the alert's destination). */
  readonly dst: Uint32Array;
  readonly dstPort: Uint16Array;
  readonly hll: HllSlab;

  constructor(readonly n: number) {
    this.start = new Float64Array(n);
    this.first = new Float64Array(n);
    this.last = new Float64Array(n);
    this.attempts = new Uint32Array(n);
    this.failed = new Uint32Array(n);
    this.ended = new Uint32Array(n);
    this.emittedUs = new Float64Array(n);
    this.emittedAttempts = new Uint32Array(n);
    this.dst = new Uint32Array(n * 4);
    this.dstPort = new Uint16Array(n);
    this.hll = new HllSlab(n, 128);
  }

  reset(i: number, ts: number): void {
    this.start[i] = ts;
    this.first[i] = ts;
    this.last[i] = ts;
    this.attempts[i] = 0;
    this.failed[i] = 0;
    this.ended[i] = 0;
    this.emittedUs[i] = 0;
    this.emittedAttempts[i] = 0;
    this.hll.reset(i);
  }

  get bytes(): number {
    return this.n * (8 * 5 + 4 * 4 + 16 + 2) + this.hll.bytes;
  }
}

function protoName(p: number): string {
  return p === IPPROTO_TCP ? 'tcp' : p === IPPROTO_UDP ? 'udp' : p === IPPROTO_ICMP || p === IPPROTO_ICMPV6 ? 'icmp' : String(p);
}

class PortScan implements Detector {
  readonly name = 'port_scan';
  private readonly v: SlotTable;
  private readonly h: SlotTable;
  private readonly vw: Windows;
  private readonly hw: Windows;
  private readonly windowUs: number;
  private readonly scratch = new Uint32Array(9);

  constructor(
    private readonly cfg: PortScanConfig,
    private readonly ctx: DetectContext,
  ) {
    this.windowUs = cfg.windowSec * 1e6;
    this.v = new SlotTable(cfg.maxPairs, V_WORDS, this.windowUs);
    this.h = new SlotTable(cfg.maxPairs, H_WORDS, this.windowUs);
    this.vw = new Windows(this.v.capacity);
    this.hw = new Windows(this.h.capacity);
  }

  packet(pkt: DecodedPacket, flow: Flow, dir: Direction, isNew: boolean): void {
    if (!isNew) {
      // A target's RST to a connection that never completed: a failed attempt, known at once
      // (records come seconds later, and a flood may have churned the tables by then).
      if (dir === 1 && pkt.protocol === IPPROTO_TCP && (pkt.tcpFlags & TCP_RST) !== 0 && (flow.tcpBits & T_HANDSHAKE) === 0 && (flow.tcpBits & RST_COUNTED) === 0) {
        flow.tcpBits |= RST_COUNTED;
        this.failure(pkt);
      }
      return;
    }
    if (dir !== 0) return;
    const proto = pkt.protocol;
    let port: number;
    if (proto === IPPROTO_TCP) {
      if ((pkt.tcpFlags & (TCP_SYN | TCP_ACK)) !== TCP_SYN) return;
      port = pkt.dport;
    } else if (proto === IPPROTO_UDP) port = pkt.dport;
    else if (proto === IPPROTO_ICMP || proto === IPPROTO_ICMPV6) {
      // Echo requests only (ping sweeps); the flow table keys ICMP by type in sport.
      if (pkt.sport !== 8 && pkt.sport !== 128) return;
      port = pkt.sport;
    } else return;
    const ver = pkt.ipVersion;
    const src = pkt.src;
    const dst = pkt.dst;
    if (isGroupAddress(ver, dst)) return;
    const ts = pkt.tsUs;
    const meta = (ver << 8) | proto;

    // Horizontal: (src, proto, port) → distinct destinations.
    const hk = this.h.key;
    hk[0] = src[0]!;
    hk[1] = src[1]!;
    hk[2] = src[2]!;
    hk[3] = src[3]!;
    hk[4] = meta;
    hk[5] = port;
    const hs = this.h.acquire(ts);
    const hw = this.hw;
    if (this.h.fresh || ts - hw.start[hs]! > this.windowUs) {
      hw.reset(hs, ts);
      for (let i = 0; i < 4; i++) hw.dst[hs * 4 + i] = dst[i]!;
      hw.dstPort[hs] = port;
    }
    hw.attempts[hs]!++;
    if (ts > hw.last[hs]!) hw.last[hs] = ts;
    hw.hll.add(hs, mix32(dst[0]!, dst[1]!, dst[2]!, dst[3]!));

    if (proto !== IPPROTO_TCP && proto !== IPPROTO_UDP) {
      this.evaluateH(hs, ts);
      return;
    }
    // Vertical: (src, dst, proto) → distinct ports.
    const vk = this.v.key;
    for (let i = 0; i < 4; i++) {
      vk[i] = src[i]!;
      vk[4 + i] = dst[i]!;
    }
    vk[8] = meta;
    const vs = this.v.acquire(ts);
    const vw = this.vw;
    if (this.v.fresh || ts - vw.start[vs]! > this.windowUs) {
      vw.reset(vs, ts);
      for (let i = 0; i < 4; i++) vw.dst[vs * 4 + i] = dst[i]!;
      vw.dstPort[vs] = port;
    }
    vw.attempts[vs]!++;
    if (ts > vw.last[vs]!) vw.last[vs] = ts;
    vw.hll.add(vs, mix32(port, proto));
    this.evaluateV(vs, ts);
    this.evaluateH(hs, ts);
  }

  /** Counts a failure from the target's RST (pkt goes target → scanner). */
  private failure(pkt: DecodedPacket): void {
    const src = pkt.dst;
    const dst = pkt.src;
    const meta = (pkt.ipVersion << 8) | IPPROTO_TCP;
    const ts = pkt.tsUs;
    const hk = this.h.key;
    for (let i = 0; i < 4; i++) hk[i] = src[i]!;
    hk[4] = meta;
    hk[5] = pkt.sport;
    const hs = this.h.find();
    if (hs >= 0) {
      this.hw.ended[hs]!++;
      this.hw.failed[hs]!++;
      this.evaluateH(hs, ts);
    }
    const vk = this.v.key;
    for (let i = 0; i < 4; i++) {
      vk[i] = src[i]!;
      vk[4 + i] = dst[i]!;
    }
    vk[8] = meta;
    const vs = this.v.find();
    if (vs >= 0) {
      this.vw.ended[vs]!++;
      this.vw.failed[vs]!++;
      this.evaluateV(vs, ts);
    }
  }

  record(r: FlowRecord): void {
    if (r.origin !== 'packets' || r.partial) return;
    const proto = r.protocol;
    let failed: boolean;
    if (proto === IPPROTO_TCP) {
      const t = r.tcp;
      if (!t || !t.syn || t.midstream) return;
      // Refused connections were counted from the RST itself on the packet path.
      if (!t.handshake && t.rstServer) return;
      failed = !t.handshake && !t.synAck;
    } else if (proto === IPPROTO_UDP) failed = r.s2c.packets === 0;
    else if (proto === IPPROTO_ICMP || proto === IPPROTO_ICMPV6) {
      if (r.client.port !== 8 && r.client.port !== 128) return;
      failed = r.s2c.packets === 0;
    } else return;
    const src = parseIp(r.client.ip);
    const dst = parseIp(r.server.ip);
    if (!src || !dst) return;
    const meta = (src.version << 8) | proto;
    const port = proto === IPPROTO_TCP || proto === IPPROTO_UDP ? r.server.port : r.client.port;
    const hk = this.h.key;
    for (let i = 0; i < 4; i++) hk[i] = src.words[i]!;
    hk[4] = meta;
    hk[5] = port;
    const hs = this.h.find();
    if (hs >= 0 && r.startUs >= this.hw.start[hs]!) {
      this.hw.ended[hs]!++;
      if (failed) this.hw.failed[hs]!++;
      this.evaluateH(hs, this.ctx.now());
    }
    if (proto !== IPPROTO_TCP && proto !== IPPROTO_UDP) return;
    const vk = this.v.key;
    for (let i = 0; i < 4; i++) {
      vk[i] = src.words[i]!;
      vk[4 + i] = dst.words[i]!;
    }
    vk[8] = meta;
    const vs = this.v.find();
    if (vs >= 0 && r.startUs >= this.vw.start[vs]!) {
      this.vw.ended[vs]!++;
      if (failed) this.vw.failed[vs]!++;
      this.evaluateV(vs, this.ctx.now());
    }
  }

  private fires(w: Windows, i: number, distinct: number, plain: number, withFailures: number): boolean {
    if (distinct >= plain) return true;
    if (distinct < withFailures) return false;
    const ended = w.ended[i]!;
    return ended >= withFailures && w.failed[i]! / ended >= this.cfg.failedRatio;
  }

  private due(w: Windows, i: number, ts: number): boolean {
    if (w.emittedAttempts[i] === w.attempts[i]) return false;
    return w.emittedUs[i] === 0 || ts - w.emittedUs[i]! >= this.cfg.emitIntervalSec * 1e6;
  }

  private evaluateV(i: number, ts: number): void {
    const w = this.vw;
    const ports = w.hll.estimate(i);
    if (ports < this.cfg.verticalPortsFailed || !this.due(w, i, ts)) return;
    if (!this.fires(w, i, ports, this.cfg.verticalPorts, this.cfg.verticalPortsFailed)) return;
    this.v.keyOf(i, this.scratch);
    const ver = this.scratch[8]! >>> 8;
    const proto = this.scratch[8]! & 0xff;
    this.emit(w, i, ts, ver, proto, 'vertical', ports, this.cfg.verticalPorts);
  }

  private evaluateH(i: number, ts: number): void {
    const w = this.hw;
    const hosts = w.hll.estimate(i);
    if (hosts < this.cfg.horizontalHostsFailed || !this.due(w, i, ts)) return;
    if (!this.fires(w, i, hosts, this.cfg.horizontalHosts, this.cfg.horizontalHostsFailed)) return;
    this.h.keyOf(i, this.scratch);
    const ver = this.scratch[4]! >>> 8;
    const proto = this.scratch[4]! & 0xff;
    this.emit(w, i, ts, ver, proto, 'horizontal', hosts, this.cfg.horizontalHosts);
  }

  private emit(w: Windows, i: number, ts: number, ver: number, proto: number, kind: 'vertical' | 'horizontal', distinct: number, plain: number): void {
    const attempts = w.attempts[i]!;
    const delta = attempts - w.emittedAttempts[i]!;
    (kind === 'vertical' ? this.v : this.h).pin(i, true);
    w.emittedUs[i] = ts;
    w.emittedAttempts[i] = attempts;
    const src = wordsToString(ver, this.scratch, 0);
    const dst = wordsToString(ver, w.dst, i * 4);
    const zones = this.ctx.zones;
    const ended = w.ended[i]!;
    const failed = w.failed[i]!;
    const ratio = ended > 0 ? failed / ended : 0;
    const n = Math.round(distinct);
    const pname = protoName(proto);
    const port = w.dstPort[i]!;
    const span = fmtDuration(w.last[i]! - w.first[i]!);
    const outcome = ended > 0 ? ` (${fmtCount(failed)} of ${fmtCount(ended)} finished attempts failed)` : '';
    const reason =
      kind === 'vertical'
        ? `${src} scanned ≈${fmtCount(n)} ${pname} ports on ${dst} in ${span}${outcome}`
        : `${src} probed ≈${fmtCount(n)} hosts on ${pname === 'icmp' ? 'icmp echo' : `${pname}/${port}`} in ${span}${outcome}`;
    const score = unit(0.55 + 0.25 * Math.min(1, Math.log10(Math.max(1, distinct / this.cfg.verticalPortsFailed)) / 2) + 0.2 * ratio);
    const big = kind === 'vertical' ? distinct >= 1000 : distinct >= plain;
    this.ctx.emit({
      detector: this.name,
      category: 'scan',
      technique: 'T1046',
      tactic: 'discovery',
      severity: big ? 'high' : 'medium',
      score,
      source: { ip: src, zone: zones.zoneOfWords(ver, this.scratch, 0) },
      destination:
        kind === 'vertical' || pname === 'icmp'
          ? { ip: dst, zone: zones.zoneOfWords(ver, w.dst, i * 4) }
          : { ip: dst, port, zone: zones.zoneOfWords(ver, w.dst, i * 4) },
      aggregateTarget: kind === 'vertical' ? `${dst}/${pname}` : `${pname}/${port}`,
      evidence: {
        values: {
          kind,
          [kind === 'vertical' ? 'ports' : 'hosts']: n,
          attempts,
          failed,
          finished: ended,
          failed_ratio: r3(ratio),
          window_s: this.cfg.windowSec,
        },
      },
      reason,
      firstUs: w.first[i]!,
      lastUs: w.last[i]!,
      count: Math.max(1, delta),
    });
  }

  private lastSweepUs = 0;

  /** Ongoing scans whose last candidate is older than the emit interval get their latest numbers out. */
  tick(nowUs: number): void {
    if (nowUs - this.lastSweepUs < 1e6) return;
    this.lastSweepUs = nowUs;
    this.flush(nowUs, false);
  }

  finish(nowUs: number): void {
    this.flush(nowUs, true);
  }

  private flush(nowUs: number, all: boolean): void {
    const intervalUs = this.cfg.emitIntervalSec * 1e6;
    for (const [w, table, isV] of [
      [this.vw, this.v, true],
      [this.hw, this.h, false],
    ] as const) {
      for (let i = 0; i < w.n; i++) {
        if (w.emittedUs[i] === 0) continue;
        const quiet = nowUs - w.last[i]! >= 2e6;
        if (w.attempts[i] === w.emittedAttempts[i]) {
          // Reported and over: let churn take the slot again.
          if (quiet) table.pin(i, false);
          continue;
        }
        if (!all && !quiet && nowUs - w.emittedUs[i]! < intervalUs) continue;
        w.emittedUs[i] = 1; // due now
        table.keyOf(i, this.scratch);
        if (isV) {
          const ver = this.scratch[8]! >>> 8;
          this.emit(w, i, nowUs, ver, this.scratch[8]! & 0xff, 'vertical', w.hll.estimate(i), this.cfg.verticalPorts);
        } else {
          const ver = this.scratch[4]! >>> 8;
          this.emit(w, i, nowUs, ver, this.scratch[4]! & 0xff, 'horizontal', w.hll.estimate(i), this.cfg.horizontalHosts);
        }
      }
    }
  }

  state() {
    return {
      entries: this.v.size + this.h.size,
      capacity: this.v.capacity + this.h.capacity,
      evictions: this.v.evictions + this.h.evictions,
      bytes: this.v.bytes + this.h.bytes + this.vw.bytes + this.hw.bytes,
    };
  }
}

export const portScan: DetectorFactory<PortScanConfig> = {
  name: 'port_scan',
  description: 'vertical and horizontal port scans and ping sweeps, counting failed connections',
  mitre: [{ technique: 'T1046', tactic: 'discovery' }],
  defaults: DEFAULTS,
  create: (cfg, ctx) => new PortScan(cfg, ctx),
};
