/**
 * Remote monitoring and management tool abuse (T1219 Remote Access Software), from the RMM
 * classifier's `record.app.rmm`: an RMM session from a client in the `untrust` or `guest` zone to
 * a host inside (someone outside driving an inside host), a very long session, or one source driving RMM
 * sessions to many hosts.
 */
import type { FlowRecord } from '../../flow/flow-record.js';
import type { ZoneName } from '../../util/zones.js';
import type { DetectContext, Detector, DetectorFactory } from '../detector.js';
import { BoundedMap } from '../state/bounded-map.js';
import { appOf, stringField } from '../app-meta.js';
import { fmtDuration, hostPort } from '../reason.js';

export interface RmmAbuseConfig {
  /** Client zones an RMM session must not come from. */
  suspiciousZones: string[];
  longSessionSec: number;
  /** Distinct hosts one source drives within `windowSec` that fire. */
  minTargets: number;
  windowSec: number;
  /** Classifier confidences that count (`high`, `medium`, `low`). */
  confidences: string[];
  maxSources: number;
}

const DEFAULTS: RmmAbuseConfig = {
  suspiciousZones: ['untrust', 'guest'],
  longSessionSec: 4 * 3600,
  minTargets: 3,
  windowSec: 3600,
  confidences: ['high', 'medium'],
  maxSources: 4096,
};

interface Fanout {
  windowStart: number;
  hosts: Set<string>;
  emitted: number;
}

class RmmAbuse implements Detector {
  readonly name = 'rmm_abuse';
  private readonly fanout: BoundedMap<string, Fanout>;
  private readonly zones: Set<string>;
  private readonly conf: Set<string>;

  constructor(
    private readonly cfg: RmmAbuseConfig,
    private readonly ctx: DetectContext,
  ) {
    this.fanout = new BoundedMap(cfg.maxSources);
    this.zones = new Set(cfg.suspiciousZones);
    this.conf = new Set(cfg.confidences);
  }

  record(r: FlowRecord, zones: { client: ZoneName; server: ZoneName }): void {
    const rmm = appOf(r, 'rmm');
    const tool = stringField(rmm, 'tool');
    if (!tool) return;
    const confidence = stringField(rmm, 'confidence') ?? 'low';
    if (!this.conf.has(confidence)) return;
    const name = stringField(rmm, 'name') ?? tool;
    const dur = r.endUs - r.startUs;
    const target = hostPort(r.server.ip, r.server.port);
    const reasons: string[] = [];
    let score = 0;
    if (this.zones.has(zones.client) && zones.server !== 'untrust') {
      reasons.push(`from the ${zones.client} zone`);
      score = Math.max(score, zones.client === 'untrust' ? 0.85 : 0.75);
    }
    if (dur >= this.cfg.longSessionSec * 1e6) {
      reasons.push(`session of ${fmtDuration(dur)}`);
      score = Math.max(score, 0.65);
    }
    const key = r.client.ip;
    let f = this.fanout.get(key);
    if (!f || r.startUs - f.windowStart > this.cfg.windowSec * 1e6) {
      f = { windowStart: r.startUs, hosts: new Set(), emitted: 0 };
      this.fanout.set(key, f);
    }
    if (f.hosts.size < 256) f.hosts.add(r.server.ip);
    if (f.hosts.size >= this.cfg.minTargets && f.hosts.size > f.emitted) {
      f.emitted = f.hosts.size;
      reasons.push(`${f.hosts.size} hosts driven within ${fmtDuration(this.cfg.windowSec * 1e6)}`);
      score = Math.max(score, 0.8);
    }
    if (reasons.length === 0) return;
    this.ctx.emit({
      detector: this.name,
      category: 'rmm',
      technique: 'T1219',
      tactic: 'command-and-control',
      severity: score >= 0.8 ? 'high' : 'medium',
      score,
      source: { ip: r.client.ip, zone: zones.client },
      destination: { ip: r.server.ip, port: r.server.port, zone: zones.server },
      aggregateTarget: tool,
      appProtocol: tool,
      evidence: { rmmTool: tool, values: { confidence, duration_s: Math.round(dur / 1e6), hosts: f.hosts.size, signal: stringField(rmm, 'signal') ?? '' } },
      reason: `${name} ${r.client.ip} → ${target}: ${reasons.join(', ')}`,
      firstUs: r.startUs,
      lastUs: r.endUs,
      count: 1,
      flowUid: r.uid,
    });
  }

  state() {
    return this.fanout.state(400);
  }
}

export const rmmAbuse: DetectorFactory<RmmAbuseConfig> = {
  name: 'rmm_abuse',
  description: 'RMM tools (AnyDesk, TeamViewer, RDP...) driven from untrust/guest zones, very long, or to many hosts',
  mitre: [{ technique: 'T1219', tactic: 'command-and-control' }],
  defaults: DEFAULTS,
  create: (cfg, ctx) => new RmmAbuse(cfg, ctx),
};
