/**
 * Lateral movement (T1021 Remote Services): one internal host reaching many other internal hosts
 * on remote-administration ports — SMB 445/139 (T1021.002), RPC/DCOM 135 (T1021.003), WinRM
 * 5985/5986 (T1021.006), RDP 3389 (T1021.001), SSH 22 (T1021.004), VNC 5900 (T1021.005). Per
 * source over `windowSec`: distinct internal destinations (attempted; how many answered).
 */
import type { FlowRecord } from '../../flow/flow-record.js';
import type { ZoneName } from '../../util/zones.js';
import { isGroupIp } from '../../util/zones.js';
import type { DetectContext, Detector, DetectorFactory } from '../detector.js';
import { BoundedMap } from '../state/bounded-map.js';
import { fmtCount, fmtDuration } from '../reason.js';

export interface LateralMovementConfig {
  windowSec: number;
  minHosts: number;
  ports: number[];
  /** Destinations kept per source. */
  maxHostsPerSource: number;
  maxSources: number;
}

const DEFAULTS: LateralMovementConfig = {
  windowSec: 600,
  minHosts: 5,
  ports: [22, 135, 139, 445, 3389, 5900, 5985, 5986],
  maxHostsPerSource: 512,
  maxSources: 8192,
};

const SUB: Record<number, [string, string]> = {
  22: ['T1021.004', 'ssh'], 135: ['T1021.003', 'rpc'], 139: ['T1021.002', 'smb'], 445: ['T1021.002', 'smb'], 3389: ['T1021.001', 'rdp'],
  5900: ['T1021.005', 'vnc'], 5985: ['T1021.006', 'winrm'], 5986: ['T1021.006', 'winrm'],
};

interface Source {
  ip: string;
  zone: ZoneName;
  windowStart: number;
  lastUs: number;
  hosts: Map<string, boolean>;
  answered: number;
  ports: Map<number, number>;
  emitted: number;
  firstDst: string;
  firstDstZone: ZoneName;
}

class LateralMovement implements Detector {
  readonly name = 'lateral_movement';
  private readonly sources: BoundedMap<string, Source>;
  private readonly ports: Set<number>;
  private readonly windowUs: number;

  constructor(
    private readonly cfg: LateralMovementConfig,
    private readonly ctx: DetectContext,
  ) {
    this.sources = new BoundedMap(cfg.maxSources);
    this.ports = new Set(cfg.ports);
    this.windowUs = cfg.windowSec * 1e6;
  }

  record(r: FlowRecord, zones: { client: ZoneName; server: ZoneName }): void {
    if (r.protocol !== 6 || r.partial || !this.ports.has(r.server.port)) return;
    if (zones.client === 'untrust' || zones.server === 'untrust' || r.client.ip === r.server.ip || isGroupIp(r.server.ip)) return;
    if (r.tcp?.midstream) return;
    let s = this.sources.get(r.client.ip);
    if (!s || r.startUs - s.windowStart > this.windowUs) {
      s = { ip: r.client.ip, zone: zones.client, windowStart: r.startUs, lastUs: r.endUs, hosts: new Map(), answered: 0, ports: new Map(), emitted: 0, firstDst: r.server.ip, firstDstZone: zones.server };
      this.sources.set(r.client.ip, s);
    }
    if (r.endUs > s.lastUs) s.lastUs = r.endUs;
    s.ports.set(r.server.port, (s.ports.get(r.server.port) ?? 0) + 1);
    const ok = r.tcp?.handshake === true;
    const had = s.hosts.get(r.server.ip);
    if (had === undefined) {
      if (s.hosts.size >= this.cfg.maxHostsPerSource) {
        this.ctx.count('limit.hosts_per_source');
        return;
      }
      s.hosts.set(r.server.ip, ok);
      if (ok) s.answered++;
    } else if (!had && ok) {
      s.hosts.set(r.server.ip, true);
      s.answered++;
    } else return;
    this.evaluate(s, r.uid);
  }

  /** End of input: fan-outs already reported get their latest numbers out. */
  finish(): void {
    for (const s of this.sources.values()) if (s.emitted > 0 && s.hosts.size > s.emitted) this.evaluate(s, '', true);
  }

  private evaluate(s: Source, uid: string, force = false): void {
    const n = s.hosts.size;
    if (n < this.cfg.minHosts || (!force && s.emitted > 0 && n < s.emitted + Math.max(1, Math.ceil(this.cfg.minHosts / 2)))) return;
    const delta = n - s.emitted;
    s.emitted = n;
    const top = [...s.ports.entries()].sort((a, b) => b[1] - a[1]);
    const [technique, service] = SUB[top[0]![0]] ?? ['T1021', 'remote service'];
    const ports = top.slice(0, 4).map(([p, c]) => `${p}×${c}`).join(', ');
    const reason = `${s.ip} reached ${fmtCount(n)} internal hosts on remote-service ports (${ports}) in ${fmtDuration(s.lastUs - s.windowStart)}, ${fmtCount(s.answered)} answered`;
    this.ctx.emit({
      detector: this.name,
      category: 'lateral',
      technique,
      tactic: 'lateral-movement',
      severity: s.answered >= this.cfg.minHosts ? 'high' : 'medium',
      score: Math.min(1, 0.6 + 0.2 * Math.min(1, n / (4 * this.cfg.minHosts)) + 0.2 * (s.answered / n)),
      source: { ip: s.ip, zone: s.zone },
      destination: { ip: s.firstDst, port: top[0]![0], zone: s.firstDstZone },
      aggregateTarget: 'internal',
      appProtocol: service,
      evidence: { values: { hosts: n, answered: s.answered, ports, window_s: this.cfg.windowSec } },
      reason,
      firstUs: s.windowStart,
      lastUs: s.lastUs,
      count: Math.max(1, delta),
      ...(uid ? { flowUid: uid } : {}),
    });
  }

  state() {
    return this.sources.state((s) => 300 + s.hosts.size * 60);
  }
}

export const lateralMovement: DetectorFactory<LateralMovementConfig> = {
  name: 'lateral_movement',
  description: 'one internal host fanning out to many internal hosts on SMB, RPC, WinRM, RDP, SSH or VNC',
  mitre: [{ technique: 'T1021', tactic: 'lateral-movement' }],
  defaults: DEFAULTS,
  create: (cfg, ctx) => new LateralMovement(cfg, ctx),
};
