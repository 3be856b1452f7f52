/**
 * Exfiltration (T1048): an internal host sending far more than it normally does to one outside
 * destination. Per (internal source, external destination) over `windowSec`: bytes sent and
 * received. Fires when the source sent ≥ `minBytes` (half of it outside working hours), at least
 * `minUploadRatio` times what it received from there, and — once the host's usual outbound volume
 * is known (HostVolumeBaseline; a per-host EWMA until the host-baseline work replaces it) — more
 * than `baselineFactor` × (mean + 3σ) of a usual interval.
 */
import type { FlowRecord } from '../../flow/flow-record.js';
import type { ZoneName } from '../../util/zones.js';
import type { DetectContext, Detector, DetectorFactory } from '../detector.js';
import { BoundedMap } from '../state/bounded-map.js';
import { serverName } from '../app-meta.js';
import { fmtBytes, fmtDuration, hostPort, r3, unit } from '../reason.js';

export interface ExfiltrationConfig {
  windowSec: number;
  minBytes: number;
  minUploadRatio: number;
  baselineFactor: number;
  /** Working hours [start, end) in local time, and the days (0 = Sunday). */
  workStartHour: number;
  workEndHour: number;
  workDays: number[];
  /** Offset of local time from UTC, minutes (the sensor's clock may be UTC). */
  utcOffsetMinutes: number;
  maxPairs: number;
}

const DEFAULTS: ExfiltrationConfig = {
  windowSec: 600,
  minBytes: 20e6,
  minUploadRatio: 5,
  baselineFactor: 5,
  workStartHour: 7,
  workEndHour: 19,
  workDays: [1, 2, 3, 4, 5],
  utcOffsetMinutes: 0,
  maxPairs: 16_384,
};

interface Pair {
  src: string;
  srcZone: ZoneName;
  dst: string;
  dstZone: ZoneName;
  port: number;
  name: string | undefined;
  windowStart: number;
  lastUs: number;
  sent: number;
  received: number;
  flows: number;
  alerted: boolean;
  emittedSent: number;
  /** Bytes of the largest flow (its port and name are shown). */
  biggest: number;
}

class Exfiltration implements Detector {
  readonly name = 'exfiltration';
  private readonly pairs: BoundedMap<string, Pair>;
  private readonly windowUs: number;
  private readonly days: Set<number>;

  constructor(
    private readonly cfg: ExfiltrationConfig,
    private readonly ctx: DetectContext,
  ) {
    this.pairs = new BoundedMap(cfg.maxPairs);
    this.windowUs = cfg.windowSec * 1e6;
    this.days = new Set(cfg.workDays);
  }

  /** True outside the configured working hours (local time from the packet time). */
  offHours(tsUs: number): boolean {
    const d = new Date(tsUs / 1000 + this.cfg.utcOffsetMinutes * 60_000);
    const h = d.getUTCHours();
    return !this.days.has(d.getUTCDay()) || h < this.cfg.workStartHour || h >= this.cfg.workEndHour;
  }

  record(r: FlowRecord, zones: { client: ZoneName; server: ZoneName }): void {
    if (zones.client === 'untrust' || zones.server !== 'untrust') return;
    const bytesOut = r.c2s.bytes;
    if (bytesOut <= 0) return;
    const expected = this.ctx.volume.expectedOutbound(r.client.ip, r.endUs);
    this.ctx.volume.observeOutbound(r.client.ip, bytesOut, r.endUs);
    const key = `${r.client.ip}|${r.server.ip}`;
    let p = this.pairs.get(key);
    if (!p || r.endUs - p.windowStart > this.windowUs) {
      p = {
        src: r.client.ip, srcZone: zones.client, dst: r.server.ip, dstZone: zones.server, port: r.server.port, name: serverName(r),
        windowStart: r.startUs, lastUs: r.endUs, sent: 0, received: 0, flows: 0, alerted: false, emittedSent: 0, biggest: 0,
      };
      this.pairs.set(key, p);
    }
    if (bytesOut > p.biggest) {
      p.biggest = bytesOut;
      p.port = r.server.port;
      p.name = serverName(r);
    }
    p.sent += bytesOut;
    p.received += r.s2c.bytes;
    p.flows++;
    if (r.endUs > p.lastUs) p.lastUs = r.endUs;
    if (r.startUs < p.windowStart) p.windowStart = r.startUs;
    this.evaluate(p, r.uid, expected);
  }

  private evaluate(p: Pair, uid: string, expected: ReturnType<DetectContext['volume']['expectedOutbound']>): void {
    const c = this.cfg;
    const off = this.offHours(p.lastUs);
    const min = off ? c.minBytes / 2 : c.minBytes;
    if (p.sent < min) return;
    const ratio = p.sent / Math.max(1, p.received);
    if (ratio < c.minUploadRatio) return;
    let usual: number | undefined;
    if (expected) {
      // Scale the usual interval volume to this window.
      usual = ((expected.mean + 3 * expected.std) * this.windowUs) / expected.intervalUs;
      if (p.sent < c.baselineFactor * usual) return;
    }
    if (p.alerted && p.sent < 2 * p.emittedSent) return;
    p.alerted = true;
    const delta = p.sent - p.emittedSent;
    p.emittedSent = p.sent;
    const target = hostPort(p.dst, p.port) + (p.name ? ` (${p.name})` : '');
    const reason =
      `${p.src} sent ${fmtBytes(p.sent)} to ${target} in ${fmtDuration(p.lastUs - p.windowStart)} ` +
      `(received ${fmtBytes(p.received)}, ${ratio >= 1000 ? '≥1000' : ratio.toFixed(0)}× upload` +
      `${usual !== undefined ? `; usual ≤ ${fmtBytes(usual)} per ${fmtDuration(this.windowUs)}` : '; no baseline yet'}${off ? '; outside working hours' : ''})`;
    const score = unit(0.55 + 0.15 * Math.min(1, Math.log10(p.sent / c.minBytes + 1)) + 0.1 * Math.min(1, ratio / 50) + (usual !== undefined ? 0.1 : 0) + (off ? 0.1 : 0));
    const ev: import('../../alert/alert.js').AlertEvidence = {
      values: { bytes_out: p.sent, bytes_in: p.received, upload_ratio: r3(Math.min(ratio, 1e6)), flows: p.flows, off_hours: off ? 1 : 0, ...(usual !== undefined ? { usual_bytes: Math.round(usual) } : {}) },
    };
    if (p.name) ev.sni = p.name;
    this.ctx.emit({
      detector: this.name,
      category: 'exfiltration',
      technique: 'T1048',
      tactic: 'exfiltration',
      severity: off || p.sent >= 10 * c.minBytes ? 'high' : 'medium',
      score,
      source: { ip: p.src, zone: p.srcZone },
      destination: { ip: p.dst, port: p.port, zone: p.dstZone },
      aggregateTarget: p.dst,
      evidence: ev,
      reason,
      firstUs: p.windowStart,
      lastUs: p.lastUs,
      count: Math.max(1, Math.round(delta / 1e6)),
      flowUid: uid,
    });
  }

  state() {
    return this.pairs.state(350);
  }
}

export const exfiltration: DetectorFactory<ExfiltrationConfig> = {
  name: 'exfiltration',
  description: 'internal host uploading far more than usual to one outside destination (ratio, baseline, off-hours)',
  mitre: [{ technique: 'T1048', tactic: 'exfiltration' }],
  defaults: DEFAULTS,
  create: (cfg, ctx) => new Exfiltration(cfg, ctx),
};
