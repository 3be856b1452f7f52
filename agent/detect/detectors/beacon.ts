/**
 * C2 beaconing (T1071, T1071.001 for HTTP/TLS/QUIC): a host connecting to the same destination at
 * regular intervals with regular sizes. Scored RITA-style per (source, destination name or
 * address, port) pair over the last `maxSamples` connection starts:
 *
 *   time   skew  = 1 − |Bowley skew of the gaps|      (symmetric gaps → 1)
 *          mad   = 1 − MADM/median of gaps ÷ jitter   (±0 % → 1, ±jitter·100 % → 0)
 *          count = connections ÷ fullScoreConnections (capped at 1)
 *   size   skew, mad (÷ sizeTolerance) of bytes sent, smallness = 1 − median/64 KiB
 *   score  = 0.65 · mean(time) + 0.35 · mean(size)
 *
 * Time weighs more than size because benign request loops repeat sizes too; Poisson-like benign
 * traffic scores about 0.73, a 2 s beacon with ±25 % jitter about 0.9.
 */
import type { FlowRecord } from '../../flow/flow-record.js';
import type { ZoneName } from '../../util/zones.js';
import { isGroupIp } from '../../util/zones.js';
import type { DetectContext, Detector, DetectorFactory } from '../detector.js';
import { BoundedMap } from '../state/bounded-map.js';
import { serverName, ja4Of } from '../app-meta.js';
import { bowleySkew, madm, quantile, sorted } from '../stats.js';
import { fmtBytes, fmtDuration, hostPort, r3, severityOf, unit } from '../reason.js';

export interface BeaconConfig {
  minConnections: number;
  /** Connections spread over at least this long, seconds. */
  minSpanSec: number;
  threshold: number;
  fullScoreConnections: number;
  /** MADM/median of the gaps at which the time dispersion score reaches 0. */
  jitterTolerance: number;
  sizeTolerance: number;
  /** Connection starts kept per pair. */
  maxSamples: number;
  maxPairs: number;
  /** Destination ports never scored (DNS, NTP, NetBIOS, mDNS, SSDP, DHCP, LLMNR). */
  excludePorts: number[];
  /** Also score destinations inside the perimeter (internal C2 relays; noisier). */
  internalDestinations: boolean;
  /** New connections between two candidates of one beacon. */
  emitEvery: number;
}

const DEFAULTS: BeaconConfig = {
  minConnections: 10,
  minSpanSec: 60,
  threshold: 0.8,
  fullScoreConnections: 30,
  jitterTolerance: 0.5,
  sizeTolerance: 0.5,
  maxSamples: 64,
  maxPairs: 16_384,
  excludePorts: [53, 67, 68, 123, 137, 138, 1900, 5353, 5355],
  internalDestinations: false,
  emitEvery: 10,
};

interface Pair {
  src: string;
  srcZone: ZoneName;
  dst: string;
  dstZone: ZoneName;
  port: number;
  name: string | undefined;
  transport: string;
  times: Float64Array;
  sizes: Float64Array;
  /** Connections seen (the ring keeps the last maxSamples). */
  n: number;
  firstUs: number;
  lastUs: number;
  emittedN: number;
  ja4: string | undefined;
  appProtocol: string | undefined;
}

/** The score and its parts, exported for tests and the benchmark. */
export interface BeaconScore {
  score: number;
  tsScore: number;
  dsScore: number;
  medianGapUs: number;
  jitter: number;
  medianBytes: number;
}

/** Scores connection start times (µs) and sizes (bytes); undefined with fewer than 3 connections. */
export function beaconScore(times: ArrayLike<number>, sizes: ArrayLike<number>, n: number, cfg: BeaconConfig = DEFAULTS): BeaconScore | undefined {
  if (n < 3) return undefined;
  const t = sorted(times, n);
  const gaps = new Float64Array(n - 1);
  for (let i = 1; i < n; i++) gaps[i - 1] = t[i]! - t[i - 1]!;
  gaps.sort();
  const medGap = quantile(gaps, 0.5);
  if (!(medGap > 0)) return undefined;
  const jitter = madm(gaps) / medGap;
  const tsSkew = 1 - Math.abs(bowleySkew(gaps));
  const tsMad = 1 - Math.min(1, jitter / cfg.jitterTolerance);
  const tsCount = Math.min(1, n / cfg.fullScoreConnections);
  const tsScore = (tsSkew + tsMad + tsCount) / 3;
  const s = sorted(sizes, n);
  const medSize = quantile(s, 0.5);
  const sizeJitter = medSize > 0 ? madm(s) / medSize : 0;
  const dsSkew = 1 - Math.abs(bowleySkew(s));
  const dsMad = 1 - Math.min(1, sizeJitter / cfg.sizeTolerance);
  const dsSmall = 1 - Math.min(1, medSize / 65536);
  const dsScore = (dsSkew + dsMad + dsSmall) / 3;
  return { score: 0.65 * tsScore + 0.35 * dsScore, tsScore, dsScore, medianGapUs: medGap, jitter, medianBytes: medSize };
}

const WEB_PORTS = new Set([80, 443, 8080, 8443, 8000, 8888]);

class Beacon implements Detector {
  readonly name = 'beacon';
  private readonly pairs: BoundedMap<string, Pair>;
  private readonly exclude: Set<number>;

  constructor(
    private readonly cfg: BeaconConfig,
    private readonly ctx: DetectContext,
  ) {
    this.pairs = new BoundedMap(cfg.maxPairs);
    this.exclude = new Set(cfg.excludePorts);
  }

  record(r: FlowRecord, zones: { client: ZoneName; server: ZoneName }): void {
    if (r.partial || (r.protocol !== 6 && r.protocol !== 17)) return;
    if (this.exclude.has(r.server.port)) return;
    if (!this.cfg.internalDestinations && zones.server !== 'untrust') return;
    if (r.protocol === 6 && r.tcp && !r.tcp.handshake && !r.tcp.midstream) return; // failed connections are scans' business
    if (isGroupIp(r.server.ip)) return;
    const name = serverName(r);
    const key = `${r.client.ip}|${name ?? r.server.ip}|${r.server.port}|${r.transport}`;
    let p = this.pairs.get(key);
    if (!p) {
      p = {
        src: r.client.ip,
        srcZone: zones.client,
        dst: r.server.ip,
        dstZone: zones.server,
        port: r.server.port,
        name,
        transport: r.transport,
        times: new Float64Array(this.cfg.maxSamples),
        sizes: new Float64Array(this.cfg.maxSamples),
        n: 0,
        firstUs: r.startUs,
        lastUs: r.startUs,
        emittedN: 0,
        ja4: ja4Of(r),
        appProtocol: r.appProtocol,
      };
      this.pairs.set(key, p);
    }
    const slot = p.n % this.cfg.maxSamples;
    p.times[slot] = r.startUs;
    p.sizes[slot] = r.c2s.bytes;
    p.n++;
    if (r.startUs < p.firstUs) p.firstUs = r.startUs;
    if (r.startUs > p.lastUs) p.lastUs = r.startUs;
    p.dst = r.server.ip;
    this.evaluate(p, r.uid);
  }

  /** End of input: beacons already reported get their latest numbers out. */
  finish(): void {
    for (const p of this.pairs.values()) if (p.emittedN > 0 && p.n > p.emittedN) this.evaluate(p, '', true);
  }

  private evaluate(p: Pair, uid: string, force = false): void {
    const c = this.cfg;
    if (p.n < c.minConnections || p.lastUs - p.firstUs < c.minSpanSec * 1e6) return;
    if (!force && p.emittedN > 0 && p.n - p.emittedN < c.emitEvery) return;
    const k = Math.min(p.n, c.maxSamples);
    const s = beaconScore(p.times, p.sizes, k, c);
    if (!s || (!force && s.score < c.threshold)) return;
    const delta = p.n - p.emittedN;
    p.emittedN = p.n;
    const web = p.name !== undefined || WEB_PORTS.has(p.port) || p.appProtocol === 'http' || p.appProtocol === 'tls' || p.appProtocol === 'quic';
    const target = hostPort(p.dst, p.port) + (p.name ? ` (${p.name})` : '');
    const reason =
      `${p.src} → ${target} every ${fmtDuration(s.medianGapUs)} ±${Math.round(s.jitter * 100)} % ` +
      `for ${fmtDuration(p.lastUs - p.firstUs)}, ${fmtBytes(s.medianBytes)} each (${p.n} connections, score ${s.score.toFixed(2)})`;
    const ev: import('../../alert/alert.js').AlertEvidence = {
      values: {
        connections: p.n,
        interval_s: r3(s.medianGapUs / 1e6),
        jitter: r3(s.jitter),
        median_bytes: Math.round(s.medianBytes),
        time_score: r3(s.tsScore),
        size_score: r3(s.dsScore),
        span_s: Math.round((p.lastUs - p.firstUs) / 1e6),
      },
    };
    if (p.name) ev.sni = p.name;
    if (p.ja4) ev.ja4 = p.ja4;
    this.ctx.emit({
      detector: this.name,
      category: 'c2',
      technique: web ? 'T1071.001' : 'T1071',
      tactic: 'command-and-control',
      severity: severityOf(s.score, 'medium'),
      score: unit(s.score),
      source: { ip: p.src, zone: p.srcZone },
      destination: { ip: p.dst, port: p.port, zone: p.dstZone },
      aggregateTarget: `${p.name ?? p.dst}:${p.port}/${p.transport}`,
      ...(p.appProtocol ? { appProtocol: p.appProtocol } : {}),
      evidence: ev,
      reason,
      firstUs: p.firstUs,
      lastUs: p.lastUs,
      count: delta,
      ...(uid ? { flowUid: uid } : {}),
    });
  }

  state() {
    return this.pairs.state(16 * this.cfg.maxSamples + 300);
  }
}

export const beacon: DetectorFactory<BeaconConfig> = {
  name: 'beacon',
  description: 'periodic connections (time gaps and sizes, RITA-style skew/MADM scoring) per source and destination name',
  mitre: [
    { technique: 'T1071.001', tactic: 'command-and-control' },
    { technique: 'T1071', tactic: 'command-and-control' },
  ],
  defaults: DEFAULTS,
  create: (cfg, ctx) => new Beacon(cfg, ctx),
};
