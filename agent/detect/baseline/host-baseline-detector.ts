/**
 * `host_baseline`: feeds every flow of an internal host into HostBaselines and raises the
 * anomalies it finds (volume by hour of week, many new peers, many new ports, upload-share
 * jump) as alert candidates, one alert per host and kind per window.
 *
 * MITRE: a deviation from a host's own history says "different", not which technique; like
 * `anomaly`, no technique id is claimed. Tactic: volume and upload share → exfiltration, new
 * peers / ports → discovery.
 *
 * The HostBaselines instance is the stage's `volume` when the daemon passes one (then the
 * exfiltration detector reads the same hour-of-week expectations and the daemon saves/loads
 * it); otherwise the detector keeps its own.
 */
import type { FlowRecord } from '../../flow/flow-record.js';
import { isGroupIp, type ZoneName } from '../../util/zones.js';
import type { AlertCandidate, DetectContext, Detector, DetectorFactory, DetectorState } from '../detector.js';
import { DEFAULT_HOST_BASELINE, HostBaselines, type BaselineAnomaly, type HostBaselineConfig } from './host-baselines.js';

const HOUR_US = 3600e6;

const TACTIC: Record<BaselineAnomaly['kind'], string> = {
  volume: 'exfiltration',
  upload_ratio: 'exfiltration',
  new_peers: 'discovery',
  new_ports: 'discovery',
};

class HostBaselineDetector implements Detector {
  readonly name = 'host_baseline';
  readonly baselines: HostBaselines;
  private hour = -1;

  constructor(
    cfg: HostBaselineConfig,
    private readonly ctx: DetectContext,
  ) {
    if (ctx.volume instanceof HostBaselines) {
      this.baselines = ctx.volume;
      this.baselines.configure(cfg);
    } else this.baselines = new HostBaselines(cfg);
    this.baselines.takeRecordFeed();
  }

  record(r: FlowRecord, zones: { client: ZoneName; server: ZoneName }): void {
    const hb = this.baselines;
    const c = r.client.ip;
    const s = r.server.ip;
    const cross = zones.client !== zones.server;
    if (zones.client !== 'untrust' && !isGroupIp(s)) {
      hb.observeFlow(c, s, r.c2s.bytes, r.s2c.bytes, cross ? r.c2s.bytes : 0, r.server.port, r.endUs);
    }
    if (zones.server !== 'untrust' && !isGroupIp(s) && !isGroupIp(c)) {
      hb.observeFlow(s, c, r.s2c.bytes, r.c2s.bytes, cross ? r.s2c.bytes : 0, -1, r.endUs);
    }
    const found = hb.takeAnomalies();
    for (const a of found) this.emit(a, r, zones);
  }

  private emit(a: BaselineAnomaly, r: FlowRecord, zones: { client: ZoneName; server: ZoneName }): void {
    const asClient = a.host === r.client.ip;
    const peerIp = a.peer ?? (asClient ? r.server.ip : r.client.ip);
    const z = Math.max(0, a.z);
    const severity = a.kind === 'volume' && a.value >= 1e9 ? 'high' : z >= 2 * this.baselines.config.zThreshold ? 'medium' : 'low';
    const c: AlertCandidate = {
      detector: 'host_baseline',
      category: 'baseline',
      technique: '',
      tactic: TACTIC[a.kind],
      severity,
      score: Math.min(0.95, 0.5 + 0.02 * z),
      source: { ip: a.host, zone: asClient ? zones.client : zones.server },
      destination: { ip: peerIp, ...(a.port !== undefined ? { port: a.port } : {}), zone: asClient ? zones.server : zones.client },
      aggregateTarget: a.kind,
      evidence: { values: { kind: a.kind, value: round(a.value), expected: round(a.expected), std: round(a.std), z: round(a.z) } },
      reason: a.reason,
      firstUs: a.hourUs,
      lastUs: Math.max(r.endUs, a.hourUs),
      count: 1,
      flowUid: r.uid,
    };
    this.ctx.emit(c);
  }

  tick(nowUs: number): void {
    const hour = Math.floor(nowUs / HOUR_US);
    if (hour === this.hour) return;
    this.hour = hour;
    this.baselines.advanceAll(nowUs);
  }

  state(): DetectorState {
    const s = this.baselines.size();
    return { entries: s.entries, capacity: s.capacity, evictions: s.evictions, bytes: s.entries * 3300 };
  }
}

function round(v: number): number {
  return Math.abs(v) >= 100 ? Math.round(v) : Math.round(v * 1000) / 1000;
}

export const hostBaseline: DetectorFactory<HostBaselineConfig> = {
  name: 'host_baseline',
  description: 'per internal host: outbound bytes by hour of week, typical peers and ports, upload share; alerts on large deviations after a learning period',
  mitre: [],
  defaults: DEFAULT_HOST_BASELINE,
  create: (cfg, ctx) => new HostBaselineDetector(cfg, ctx),
};
