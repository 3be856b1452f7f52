/**
 * QUIC C2 tunnels (T1572 Protocol Tunneling): a long-lived QUIC connection to a destination few
 * internal hosts use, whose client packets come at regular intervals (keep-alive / polling) and
 * stay small. Judged on flow records, including the interim records long flows export, so a
 * tunnel open for hours is reported while it runs.
 *
 * Rarity: distinct internal clients per destination (SNI, else address) seen so far, bounded.
 * Regularity: coefficient of variation (σ/mean) of the client's packet inter-arrival times.
 */
import type { FlowRecord } from '../../flow/flow-record.js';
import type { ZoneName } from '../../util/zones.js';
import type { DetectContext, Detector, DetectorFactory } from '../detector.js';
import { BoundedMap } from '../state/bounded-map.js';
import { appOf, stringField } from '../app-meta.js';
import { fmtBytes, fmtDuration, hostPort, r3, unit } from '../reason.js';

export interface QuicTunnelConfig {
  minDurationSec: number;
  minPackets: number;
  /** Client inter-arrival σ/mean at or below this is regular. */
  maxIatCv: number;
  /** Mean client packet size at or below this is small (bytes). */
  maxMeanPacket: number;
  /** A destination used by at most this many internal clients is rare. */
  rareMaxClients: number;
  maxDestinations: number;
}

const DEFAULTS: QuicTunnelConfig = {
  minDurationSec: 300,
  minPackets: 30,
  maxIatCv: 0.6,
  maxMeanPacket: 300,
  rareMaxClients: 2,
  maxDestinations: 16_384,
};

class QuicTunnel implements Detector {
  readonly name = 'quic_tunnel';
  private readonly clients: BoundedMap<string, Set<string>>;

  constructor(
    private readonly cfg: QuicTunnelConfig,
    private readonly ctx: DetectContext,
  ) {
    this.clients = new BoundedMap(cfg.maxDestinations);
  }

  record(r: FlowRecord, zones: { client: ZoneName; server: ZoneName }): void {
    const quic = appOf(r, 'quic');
    if (!quic || r.protocol !== 17) return;
    const sni = stringField(quic, 'sni');
    const dest = sni ?? r.server.ip;
    let set = this.clients.get(dest);
    if (!set) {
      set = new Set();
      this.clients.set(dest, set);
    }
    if (set.size <= this.cfg.rareMaxClients * 4) set.add(r.client.ip);
    if (zones.server !== 'untrust') return;
    const dur = r.endUs - r.startUs;
    const c = r.c2s;
    if (dur < this.cfg.minDurationSec * 1e6 || c.packets < this.cfg.minPackets || !c.iat || !c.size) return;
    const cv = c.iat.mean > 0 ? c.iat.stddev / c.iat.mean : Infinity;
    if (cv > this.cfg.maxIatCv || c.size.mean > this.cfg.maxMeanPacket || set.size > this.cfg.rareMaxClients) return;
    const score = unit(0.6 + 0.2 * (1 - cv / this.cfg.maxIatCv) + 0.1 * Math.min(1, dur / (3600e6)) + 0.1 * (1 - c.size.mean / this.cfg.maxMeanPacket));
    this.ctx.emit({
      detector: this.name,
      category: 'c2',
      technique: 'T1572',
      tactic: 'command-and-control',
      severity: score >= 0.8 ? 'high' : 'medium',
      score,
      source: { ip: r.client.ip, zone: zones.client },
      destination: { ip: r.server.ip, port: r.server.port, zone: zones.server },
      aggregateTarget: `${dest}:${r.server.port}/quic`,
      appProtocol: 'quic',
      evidence: {
        ...(sni ? { sni } : {}),
        values: { duration_s: Math.round(dur / 1e6), packets: c.packets, iat_s: r3(c.iat.mean / 1e6), iat_cv: r3(cv), mean_packet: Math.round(c.size.mean), clients_of_destination: set.size },
      },
      reason:
        `${r.client.ip} → ${hostPort(r.server.ip, r.server.port)}${sni ? ` (${sni})` : ''}: QUIC open ${fmtDuration(dur)}, ` +
        `a ${fmtBytes(c.size.mean)} packet every ${fmtDuration(c.iat.mean)} ±${Math.round(cv * 100)} %, used by ${set.size} internal host${set.size === 1 ? '' : 's'}`,
      firstUs: r.startUs,
      lastUs: r.endUs,
      count: 1,
      flowUid: r.uid,
    });
  }

  state() {
    return this.clients.state((s) => 200 + s.size * 60);
  }
}

export const quicTunnel: DetectorFactory<QuicTunnelConfig> = {
  name: 'quic_tunnel',
  description: 'long-lived QUIC to rarely used destinations with regular, small client packets',
  mitre: [{ technique: 'T1572', tactic: 'command-and-control' }],
  defaults: DEFAULTS,
  create: (cfg, ctx) => new QuicTunnel(cfg, ctx),
};
