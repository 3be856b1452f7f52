/**
 * Per-internal-host baselines: what each host normally does, learnt while it runs, bounded and
 * saved across restarts.
 *
 * Per host:
 * - outbound bytes (to other zones) per hour of the week: streaming mean/variance (Welford) in
 *   168 buckets, shrunk towards the host's overall hourly mean while a bucket has few samples
 *   (empirical-Bayes style: weight n_b / (n_b + κ)); idle hours count as 0 bytes;
 * - typical peers: Space-Saving top-k by bytes (both ways); the set carrying ~80 % is "typical";
 * - typical server ports (as a client): Space-Saving top-k by flows, same 80 % rule;
 * - upload share (sent / (sent + received) per active hour): EWMA mean and variance;
 * - new peers and new ports per active hour: EWMA mean and variance.
 *
 * Anomalies (checked as records arrive, at most once per kind and host per hour): volume z-score,
 * many new peers, many new ports, upload-share jump — each a candidate with a human reason, e.g.
 * `10.0.0.5 sent 1.2 GB out in hour Tue 03:00, 18σ above its usual 40 MB`. Nothing is raised for
 * a host before `learningPeriodSec` since it was first seen and `minSamples` hourly samples.
 * An hour that alerted is folded in clipped to the alert level, so one incident does not teach
 * the baseline that the incident is normal.
 *
 * Bounded: an LRU of at most `maxHosts` hosts (≈ 3 kB each); the per-hour new-peer/new-port sets
 * are capped. Implements HostVolumeBaseline, so the exfiltration detector compares bursts with
 * the hour-of-week expectation (DetectStageOptions.volume).
 */
import type { HostVolumeBaseline, VolumeExpectation } from '../host-volume-baseline.js';
import { BoundedMap } from '../state/bounded-map.js';
import { SpaceSaving } from './space-saving.js';
import { loadBaselines, saveBaselines, type BaselineLoadResult } from './baseline-file.js';

export interface HostBaselineConfig {
  /** Time a host is observed before its anomalies are reported, seconds (default 7 days). */
  learningPeriodSec: number;
  /** Hourly samples (hours since first seen, idle ones included) before reporting. */
  minSamples: number;
  /** Internal hosts tracked (LRU beyond). */
  maxHosts: number;
  /** Shrinkage prior weight κ, in samples, of the host's overall mean for a young bucket. */
  shrinkage: number;
  /** z-score that makes an anomaly. */
  zThreshold: number;
  /** Outbound bytes in the hour needed before a volume alert (keeps small hosts quiet). */
  minVolumeBytes: number;
  /** New peers / new ports in an hour needed before those alerts. */
  minNewPeers: number;
  minNewPorts: number;
  /** Upload-share alert: rise above the usual share, and bytes sent in the hour. */
  ratioJump: number;
  minRatioBytes: number;
  /** Share of bytes (peers) / flows (ports) that defines the typical set. */
  typicalShare: number;
  /** Heavy-hitter sizes. */
  peersK: number;
  portsK: number;
  /** Hourly fade of the peer/port weights (0.995 ≈ 6-day half-life). */
  decayPerHour: number;
  /** EWMA weight of one hour for the ratio and new-peer/port series. */
  alpha: number;
  /** Local time offset from UTC for the hour of the week, minutes. */
  utcOffsetMinutes: number;
}

export const DEFAULT_HOST_BASELINE: HostBaselineConfig = {
  learningPeriodSec: 7 * 86_400,
  minSamples: 48,
  maxHosts: 4096,
  shrinkage: 2,
  zThreshold: 6,
  minVolumeBytes: 50e6,
  minNewPeers: 30,
  minNewPorts: 20,
  ratioJump: 0.4,
  minRatioBytes: 20e6,
  typicalShare: 0.8,
  peersK: 32,
  portsK: 16,
  decayPerHour: 0.995,
  alpha: 0.05,
  utcOffsetMinutes: 0,
};

const HOUR_US = 3600e6;
const WEEK_HOURS = 168;
/** Cap on the distinct new peers/ports remembered within one hour per host. */
export const MAX_NEW_PER_HOUR = 512;
/** Volume z-score the hour must also reach for an upload-share alert. */
const RATIO_MIN_Z = 3;
/** Idle hours folded in one go (a host back after a month is not replayed hour by hour). */
const MAX_ROLL_HOURS = 2 * WEEK_HOURS;

export type BaselineAnomalyKind = 'volume' | 'new_peers' | 'new_ports' | 'upload_ratio';

/** An anomaly found for a host; the detector turns it into an alert candidate. */
export interface BaselineAnomaly {
  kind: BaselineAnomalyKind;
  host: string;
  /** Start of the hour, µs. */
  hourUs: number;
  value: number;
  expected: number;
  std: number;
  z: number;
  reason: string;
  /** A peer/port that made it (the latest new one), for the alert's destination. */
  peer?: string;
  port?: number;
}

/** Welford/EWMA pair, mutable. */
interface Ewma {
  mean: number;
  variance: number;
  n: number;
}

/** Everything kept about one host (exported for the file codec). */
export interface HostState {
  firstUs: number;
  /** Hour index (floor(ts / 1 h)) of the current hour. */
  hour: number;
  /** Current hour's totals. */
  out: number;
  sent: number;
  received: number;
  newPeers: Set<string> | undefined;
  newPorts: Set<number> | undefined;
  /** Kinds already alerted this hour (bit per kind). */
  alerted: number;
  /** Hour-of-week Welford: count, mean, M2 of outbound bytes. */
  bn: Uint16Array;
  bmean: Float32Array;
  bm2: Float32Array;
  /** All hours. */
  all: Ewma;
  ratio: Ewma;
  peersNew: Ewma;
  portsNew: Ewma;
  peers: SpaceSaving<string>;
  ports: SpaceSaving<number>;
  /** Typical sets, recomputed at each hour roll. */
  typicalPeers: Set<string>;
  typicalPorts: Set<number>;
}

const KIND_BIT: Record<BaselineAnomalyKind, number> = { volume: 1, new_peers: 2, new_ports: 4, upload_ratio: 8 };
const DAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];

/** Hour-of-week bucket (0 = Monday 00:00 local) of an hour index since the epoch (a Thursday). */
export function weekBucket(hour: number, utcOffsetMinutes = 0): number {
  const h = hour + Math.round(utcOffsetMinutes / 60) + 72; // epoch hour 0 = Thu 00:00 = bucket 72
  return ((h % WEEK_HOURS) + WEEK_HOURS) % WEEK_HOURS;
}

/** `Tue 03:00` for a bucket. */
export function bucketLabel(b: number): string {
  return `${DAYS[Math.floor(b / 24)]} ${String(b % 24).padStart(2, '0')}:00`;
}

/** `1.2 GB`, `40 MB`, `512 B`. */
export function fmtSize(bytes: number): string {
  const a = Math.abs(bytes);
  if (a >= 1e9) return `${(bytes / 1e9).toFixed(1)} GB`;
  if (a >= 1e6) return `${(bytes / 1e6).toFixed(a >= 1e7 ? 0 : 1)} MB`;
  if (a >= 1e3) return `${(bytes / 1e3).toFixed(a >= 1e4 ? 0 : 1)} kB`;
  return `${Math.round(bytes)} B`;
}

export function newHostState(cfg: HostBaselineConfig, tsUs: number): HostState {
  return {
    firstUs: tsUs,
    hour: Math.floor(tsUs / HOUR_US),
    out: 0,
    sent: 0,
    received: 0,
    newPeers: undefined,
    newPorts: undefined,
    alerted: 0,
    bn: new Uint16Array(WEEK_HOURS),
    bmean: new Float32Array(WEEK_HOURS),
    bm2: new Float32Array(WEEK_HOURS),
    all: { mean: 0, variance: 0, n: 0 },
    ratio: { mean: 0, variance: 0, n: 0 },
    peersNew: { mean: 0, variance: 0, n: 0 },
    portsNew: { mean: 0, variance: 0, n: 0 },
    peers: new SpaceSaving<string>(cfg.peersK),
    ports: new SpaceSaving<number>(cfg.portsK),
    typicalPeers: new Set(),
    typicalPorts: new Set(),
  };
}

function ewma(e: Ewma, x: number, alpha: number): void {
  if (e.n === 0) {
    e.mean = x;
    e.variance = 0;
  } else {
    const a = Math.max(alpha, 1 / (e.n + 1)); // plain mean while young, EWMA after
    const d = x - e.mean;
    e.mean += a * d;
    e.variance = (1 - a) * (e.variance + a * d * d);
  }
  e.n++;
}

/** Welford update of the overall series (true mean/variance over all hours). */
function welford(e: Ewma, x: number): void {
  e.n++;
  const d = x - e.mean;
  e.mean += d / e.n;
  e.variance += (d * (x - e.mean) - e.variance) / e.n; // population variance, streaming
}

export class HostBaselines implements HostVolumeBaseline {
  readonly config: HostBaselineConfig;
  private readonly hosts: BoundedMap<string, HostState>;
  /** True once a detector feeds whole records: `observeOutbound` from others is then ignored (no double count). */
  private recordFed = false;
  /** Candidates found while observing, collected by the detector. */
  private readonly found: BaselineAnomaly[] = [];

  constructor(cfg: Partial<HostBaselineConfig> = {}) {
    this.config = { ...DEFAULT_HOST_BASELINE, ...cfg };
    const c = this.config;
    if (!Number.isInteger(c.maxHosts) || c.maxHosts < 1 || c.maxHosts > 1_048_576) throw new RangeError(`host baselines: maxHosts must be in 1..1048576, got ${c.maxHosts}`);
    this.hosts = new BoundedMap(c.maxHosts);
  }

  /**
   * Overlays thresholds (a detector's configuration, also on reload). Structural sizes
   * (maxHosts, peersK, portsK) keep their construction values: state already uses them.
   */
  configure(cfg: Partial<HostBaselineConfig>): void {
    const { maxHosts: _m, peersK: _p, portsK: _q, ...rest } = cfg;
    Object.assign(this.config, rest);
  }

  /** Writes every host to `path` atomically (versioned, checksummed; see baseline-file.ts). */
  save(path: string): Promise<void> {
    return saveBaselines(path, this);
  }

  /**
   * Replaces the state with `path`'s. Missing file: ok with 0 hosts (first start). Corrupt or
   * foreign file: refused, `{ok: false, message}` (one line), state left empty: learning restarts.
   */
  load(path: string): Promise<BaselineLoadResult> {
    this.clear();
    return loadBaselines(path, this);
  }

  /** Called by the host-baseline detector: from now on volume comes from `observeFlow`. */
  takeRecordFeed(): void {
    this.recordFed = true;
  }

  /** Hosts held (for tests and the codec). */
  host(ip: string): HostState | undefined {
    return this.hosts.peek(ip);
  }

  /** Every host, least recently active first (for saving). */
  entries(): IterableIterator<[string, HostState]> {
    return this.hosts.entries();
  }

  /** Puts a restored host (codec). */
  restore(ip: string, s: HostState): void {
    this.hosts.set(ip, s);
  }

  /** Forgets every host (a corrupt state file: learning starts again). */
  clear(): void {
    for (const ip of [...this.hosts.entries()].map((e) => e[0])) this.hosts.delete(ip);
  }

  // ---- HostVolumeBaseline ----

  observeOutbound(host: string, bytes: number, tsUs: number): void {
    if (this.recordFed) return;
    const s = this.stateOf(host, tsUs);
    s.out += bytes;
    s.sent += bytes;
  }

  expectedOutbound(host: string, tsUs: number): VolumeExpectation | undefined {
    const s = this.hosts.peek(host);
    if (!s) return undefined;
    this.roll(host, s, Math.floor(tsUs / HOUR_US));
    if (!this.learnt(s, tsUs)) return undefined;
    const e = this.expectation(s, weekBucket(Math.floor(tsUs / HOUR_US), this.config.utcOffsetMinutes));
    return { mean: e.mean, std: e.std, samples: e.samples, intervalUs: HOUR_US };
  }

  size(): { entries: number; capacity: number; evictions: number } {
    return { entries: this.hosts.size, capacity: this.config.maxHosts, evictions: this.hosts.evictions };
  }

  // ---- record feed ----

  /**
   * One finished flow of internal host `host`: `sent`/`received` bytes with `peer`, `out` of them
   * to another zone, and the server port when the host was the client (else -1). Anomalies found
   * are queued for {@link takeAnomalies}.
   */
  observeFlow(host: string, peer: string, sent: number, received: number, out: number, clientPort: number, tsUs: number): void {
    const s = this.stateOf(host, tsUs);
    const c = this.config;
    s.out += out;
    s.sent += sent;
    s.received += received;
    const learnt = this.learnt(s, tsUs);
    if (!s.typicalPeers.has(peer) && s.peers.size > 0) {
      s.newPeers ??= new Set();
      if (s.newPeers.size < MAX_NEW_PER_HOUR) s.newPeers.add(peer);
    }
    s.peers.add(peer, sent + received);
    if (clientPort >= 0) {
      if (!s.typicalPorts.has(clientPort) && s.ports.size > 0) {
        s.newPorts ??= new Set();
        if (s.newPorts.size < MAX_NEW_PER_HOUR) s.newPorts.add(clientPort);
      }
      s.ports.add(clientPort, 1);
    }
    if (!learnt) return;
    const b = weekBucket(s.hour, c.utcOffsetMinutes);
    const hourUs = s.hour * HOUR_US;
    if (!(s.alerted & KIND_BIT.volume) && s.out >= c.minVolumeBytes) {
      const e = this.expectation(s, b);
      const z = (s.out - e.mean) / e.std;
      if (z >= c.zThreshold) {
        s.alerted |= KIND_BIT.volume;
        this.found.push({
          kind: 'volume', host, hourUs, value: s.out, expected: e.mean, std: e.std, z, peer,
          reason: `${host} sent ${fmtSize(s.out)} out in hour ${bucketLabel(b)}, ${Math.round(z)}σ above its usual ${fmtSize(e.mean)}`,
        });
      }
    }
    const np = s.newPeers?.size ?? 0;
    if (!(s.alerted & KIND_BIT.new_peers) && np >= c.minNewPeers) {
      const z = zOf(np, s.peersNew);
      if (z >= c.zThreshold) {
        s.alerted |= KIND_BIT.new_peers;
        this.found.push({
          kind: 'new_peers', host, hourUs, value: np, expected: s.peersNew.mean, std: stdOf(s.peersNew), z, peer,
          reason: `${host} talked to ${np}${np >= MAX_NEW_PER_HOUR ? '+' : ''} new peers in hour ${bucketLabel(b)}, usually ${s.peersNew.mean.toFixed(1)} (${Math.round(z)}σ)`,
        });
      }
    }
    const nq = s.newPorts?.size ?? 0;
    if (clientPort >= 0 && !(s.alerted & KIND_BIT.new_ports) && nq >= c.minNewPorts) {
      const z = zOf(nq, s.portsNew);
      if (z >= c.zThreshold) {
        s.alerted |= KIND_BIT.new_ports;
        this.found.push({
          kind: 'new_ports', host, hourUs, value: nq, expected: s.portsNew.mean, std: stdOf(s.portsNew), z, peer, port: clientPort,
          reason: `${host} used ${nq}${nq >= MAX_NEW_PER_HOUR ? '+' : ''} new server ports in hour ${bucketLabel(b)}, usually ${s.portsNew.mean.toFixed(1)} (${Math.round(z)}σ)`,
        });
      }
    }
    if (!(s.alerted & KIND_BIT.upload_ratio) && s.sent >= c.minRatioBytes && s.ratio.n >= 3) {
      const share = s.sent / Math.max(1, s.sent + s.received);
      const jump = share - s.ratio.mean;
      // A usual heavy-upload hour (the weekly backup) is not a jump: its volume must be unusual too.
      const e = this.expectation(s, b);
      if (jump >= c.ratioJump && (s.out - e.mean) / e.std >= RATIO_MIN_Z) {
        s.alerted |= KIND_BIT.upload_ratio;
        this.found.push({
          kind: 'upload_ratio', host, hourUs, value: share, expected: s.ratio.mean, std: stdOf(s.ratio), z: jump / Math.max(0.05, stdOf(s.ratio)), peer,
          reason: `${host} uploaded ${Math.round(share * 100)} % of its traffic (${fmtSize(s.sent)} sent) in hour ${bucketLabel(b)}, usually ${Math.round(s.ratio.mean * 100)} %`,
        });
      }
    }
  }

  /** Anomalies found since the last call. */
  takeAnomalies(): BaselineAnomaly[] {
    return this.found.splice(0);
  }

  /** Moves every host's hour forward to `tsUs` (idle hosts fold their idle hours; call hourly). */
  advanceAll(tsUs: number): void {
    const hour = Math.floor(tsUs / HOUR_US);
    for (const [ip, s] of this.hosts.entries()) this.roll(ip, s, hour);
  }

  /** Expected outbound bytes of bucket `b`, shrunk towards the overall hourly mean. */
  expectation(s: HostState, b: number): { mean: number; std: number; samples: number } {
    const n = s.bn[b]!;
    const k = this.config.shrinkage;
    const w = n / (n + k);
    const bucketVar = n > 1 ? s.bm2[b]! / (n - 1) : 0;
    const mb = s.bmean[b]!;
    const mean = w * mb + (1 - w) * s.all.mean;
    // Variance of the two-part mixture: a young bucket far from the overall mean is uncertain,
    // so one past backup at Tue 03:00 widens that hour instead of making the next one an outlier.
    const gap = mb - s.all.mean;
    const variance = w * bucketVar + (1 - w) * s.all.variance + w * (1 - w) * gap * gap;
    // Floors: a host that always sends the same tiny amount must not make every burst infinite σ.
    const std = Math.max(Math.sqrt(Math.max(0, variance)), 0.1 * mean, 1e5);
    return { mean, std, samples: n };
  }

  private learnt(s: HostState, tsUs: number): boolean {
    return tsUs - s.firstUs >= this.config.learningPeriodSec * 1e6 && s.all.n >= this.config.minSamples;
  }

  private stateOf(host: string, tsUs: number): HostState {
    let s = this.hosts.get(host);
    if (!s) {
      s = newHostState(this.config, tsUs);
      this.hosts.set(host, s);
      return s;
    }
    this.roll(host, s, Math.floor(tsUs / HOUR_US));
    return s;
  }

  /** Folds the finished hour (and idle hours after it) into the statistics. */
  private roll(_host: string, s: HostState, hour: number): void {
    if (hour <= s.hour) return;
    const c = this.config;
    const steps = Math.min(hour - s.hour, MAX_ROLL_HOURS);
    for (let i = 0; i < steps; i++) {
      const h = s.hour + i;
      const b = weekBucket(h, c.utcOffsetMinutes);
      let x = i === 0 ? s.out : 0;
      if (i === 0 && s.alerted & KIND_BIT.volume) {
        const e = this.expectation(s, b);
        x = Math.min(x, e.mean + c.zThreshold * e.std); // do not learn the incident
      }
      const n = Math.min(s.bn[b]! + 1, 65535);
      const d = x - s.bmean[b]!;
      s.bmean[b] = s.bmean[b]! + d / n;
      s.bm2[b] = s.bm2[b]! + d * (x - s.bmean[b]!);
      s.bn[b] = n;
      welford(s.all, x);
    }
    if (s.sent + s.received > 0) {
      ewma(s.ratio, s.alerted & KIND_BIT.upload_ratio ? s.ratio.mean : s.sent / (s.sent + s.received), c.alpha);
      ewma(s.peersNew, s.alerted & KIND_BIT.new_peers ? s.peersNew.mean : s.newPeers?.size ?? 0, c.alpha);
      ewma(s.portsNew, s.alerted & KIND_BIT.new_ports ? s.portsNew.mean : s.newPorts?.size ?? 0, c.alpha);
    }
    const fade = c.decayPerHour ** Math.min(hour - s.hour, MAX_ROLL_HOURS);
    s.peers.decay(fade);
    s.ports.decay(fade);
    s.typicalPeers = new Set(s.peers.covering(c.typicalShare));
    s.typicalPorts = new Set(s.ports.covering(c.typicalShare));
    s.hour = hour;
    s.out = 0;
    s.sent = 0;
    s.received = 0;
    s.newPeers = undefined;
    s.newPorts = undefined;
    s.alerted = 0;
  }
}

function stdOf(e: Ewma): number {
  return Math.sqrt(Math.max(0, e.variance));
}

/** z of a count against its EWMA, with a Poisson-like floor (σ ≥ √mean, ≥ 1). */
function zOf(x: number, e: Ewma): number {
  const std = Math.max(stdOf(e), Math.sqrt(Math.max(e.mean, 0)), 1);
  return (x - e.mean) / std;
}
