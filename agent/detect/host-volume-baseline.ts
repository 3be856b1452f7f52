/**
 * How much a host normally sends out: the exfiltration detector compares a burst with this. The
 * interface is small on purpose so the host-baseline work (hour-of-week means, peers, ports) can
 * replace the default EWMA below through `DetectStageOptions.volume`.
 */
import { BoundedMap } from './state/bounded-map.js';

export interface VolumeExpectation {
  /** Expected outbound bytes per interval, its standard deviation, and how many intervals were seen. */
  mean: number;
  std: number;
  samples: number;
  /** Interval length the numbers are for, µs. */
  intervalUs: number;
}

export interface HostVolumeBaseline {
  /** Outbound (to another zone) bytes of a finished flow, at the flow's end time. */
  observeOutbound(host: string, bytes: number, tsUs: number): void;
  /** What `host` normally sends per interval, or undefined while it is still being learnt. */
  expectedOutbound(host: string, tsUs: number): VolumeExpectation | undefined;
  /** Hosts tracked, limit and evictions. */
  size(): { entries: number; capacity: number; evictions: number };
}

export interface EwmaBaselineConfig {
  /** Interval whose outbound bytes form one sample, seconds. */
  intervalSec: number;
  /** EWMA weight of a new interval (0..1). */
  alpha: number;
  /** Intervals before the expectation is reported. */
  minSamples: number;
  /** Hosts tracked (least recently active dropped beyond it). */
  maxHosts: number;
}

export const DEFAULT_EWMA_BASELINE: EwmaBaselineConfig = { intervalSec: 600, alpha: 0.2, minSamples: 3, maxHosts: 16_384 };

interface HostVolume {
  /** Start of the current interval, µs. */
  intervalStart: number;
  current: number;
  mean: number;
  variance: number;
  samples: number;
}

/**
 * Exponentially weighted mean and variance of per-interval outbound bytes per host. Idle
 * intervals count as zero (up to 16 of them, so a host back after a week is not compared with
 * a stale mean forever).
 */
export class EwmaVolumeBaseline implements HostVolumeBaseline {
  private readonly hosts: BoundedMap<string, HostVolume>;
  private readonly intervalUs: number;

  constructor(private readonly cfg: EwmaBaselineConfig = DEFAULT_EWMA_BASELINE) {
    this.hosts = new BoundedMap(cfg.maxHosts);
    this.intervalUs = cfg.intervalSec * 1e6;
  }

  private roll(h: HostVolume, tsUs: number): void {
    let steps = Math.floor((tsUs - h.intervalStart) / this.intervalUs);
    if (steps <= 0) return;
    steps = Math.min(steps, 16);
    const a = this.cfg.alpha;
    for (let i = 0; i < steps; i++) {
      const x = i === 0 ? h.current : 0;
      if (h.samples === 0) h.mean = x;
      else {
        const d = x - h.mean;
        h.mean += a * d;
        h.variance = (1 - a) * (h.variance + a * d * d);
      }
      h.samples++;
    }
    h.current = 0;
    h.intervalStart = Math.floor(tsUs / this.intervalUs) * this.intervalUs;
  }

  observeOutbound(host: string, bytes: number, tsUs: number): void {
    let h = this.hosts.get(host);
    if (!h) {
      h = { intervalStart: Math.floor(tsUs / this.intervalUs) * this.intervalUs, current: 0, mean: 0, variance: 0, samples: 0 };
      this.hosts.set(host, h);
    }
    this.roll(h, tsUs);
    h.current += bytes;
  }

  expectedOutbound(host: string, tsUs: number): VolumeExpectation | undefined {
    const h = this.hosts.peek(host);
    if (!h) return undefined;
    this.roll(h, tsUs);
    if (h.samples < this.cfg.minSamples) return undefined;
    return { mean: h.mean, std: Math.sqrt(h.variance), samples: h.samples, intervalUs: this.intervalUs };
  }

  size(): { entries: number; capacity: number; evictions: number } {
    return { entries: this.hosts.size, capacity: this.cfg.maxHosts, evictions: this.hosts.evictions };
  }
}
