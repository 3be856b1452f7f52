/**
 * Crypto mining (T1496 Resource Hijacking): stratum JSON-RPC mining methods seen by the stratum
 * dissector (`mining.subscribe`, `mining.authorize`, `mining.submit`, `eth_submitLogin`, xmrig
 * `login`/`job`/`submit`) — raised at the first such method, while the session runs — or, for
 * encrypted pools, a long low-volume session to a well-known pool port.
 */
import type { FlowRecord } from '../../flow/flow-record.js';
import type { DissectEvent } from '../../dissect/dissector.js';
import type { ZoneName } from '../../util/zones.js';
import type { DetectContext, Detector, DetectorFactory, FlowFacts } from '../detector.js';
import { appOf, arrayField, asString, numberField, stringField } from '../app-meta.js';
import { fmtBytes, fmtDuration, hostPort } from '../reason.js';

export interface CryptoMiningConfig {
  poolPorts: number[];
  /** A pool-port session at least this long and at most this many bytes per second is suspicious. */
  minSessionSec: number;
  maxBytesPerSec: number;
}

const DEFAULTS: CryptoMiningConfig = {
  poolPorts: [3333, 3334, 3335, 3357, 4444, 5555, 5588, 6666, 7777, 9999, 14433, 14444, 45560, 45700],
  minSessionSec: 600,
  maxBytesPerSec: 2000,
};

class CryptoMining implements Detector {
  readonly name = 'crypto_mining';
  private readonly ports: Set<number>;

  constructor(
    private readonly cfg: CryptoMiningConfig,
    private readonly ctx: DetectContext,
  ) {
    this.ports = new Set(cfg.poolPorts);
  }

  event(e: DissectEvent, f: FlowFacts): void {
    if (e.type !== 'stratum.method' || e.data.mining !== true) return;
    const method = asString(e.data.method) ?? '?';
    this.raise(f.clientIp, f.clientZone, f.serverIp, f.serverZone, f.serverPort, e.tsUs, e.tsUs, 0.9, 'high',
      `${f.clientIp} → ${hostPort(f.serverIp, f.serverPort)} speaks stratum mining (${method})`, { method }, f.uid);
  }

  record(r: FlowRecord, zones: { client: ZoneName; server: ZoneName }): void {
    if (r.protocol !== 6) return;
    const st = appOf(r, 'stratum');
    const mining = arrayField(st, 'miningMethods').filter((m): m is string => typeof m === 'string');
    const dur = r.endUs - r.startUs;
    if (mining.length > 0) {
      const submits = numberField(st, 'submits') ?? 0;
      const jobs = numberField(st, 'jobs') ?? 0;
      const worker = stringField(st, 'worker');
      this.raise(r.client.ip, zones.client, r.server.ip, zones.server, r.server.port, r.startUs, r.endUs, 0.95, 'high',
        `${r.client.ip} → ${hostPort(r.server.ip, r.server.port)} mined for ${fmtDuration(dur)}: ${mining.slice(0, 4).join(', ')}; ${submits} shares submitted, ${jobs} jobs${worker ? `, worker ${worker}` : ''}`,
        { methods: mining.join(' '), submits, jobs, ...(worker ? { worker } : {}) }, r.uid);
      return;
    }
    if (!this.ports.has(r.server.port) || dur < this.cfg.minSessionSec * 1e6 || !r.tcp?.handshake) return;
    const bytes = r.c2s.bytes + r.s2c.bytes;
    const rate = bytes / (dur / 1e6);
    if (rate > this.cfg.maxBytesPerSec) return;
    this.raise(r.client.ip, zones.client, r.server.ip, zones.server, r.server.port, r.startUs, r.endUs, 0.6, 'medium',
      `${r.client.ip} → ${hostPort(r.server.ip, r.server.port)} (mining pool port): ${fmtDuration(dur)} session, ${fmtBytes(bytes)} (${rate.toFixed(0)} B/s)`,
      { duration_s: Math.round(dur / 1e6), bytes_per_s: Math.round(rate) }, r.uid);
  }

  private raise(src: string, srcZone: ZoneName, dst: string, dstZone: ZoneName, port: number, first: number, last: number, score: number, severity: 'medium' | 'high', reason: string, values: Record<string, string | number>, uid: string): void {
    this.ctx.emit({
      detector: this.name,
      category: 'mining',
      technique: 'T1496',
      tactic: 'impact',
      severity,
      score,
      source: { ip: src, zone: srcZone },
      destination: { ip: dst, port, zone: dstZone },
      appProtocol: 'stratum',
      evidence: { values },
      reason,
      firstUs: first,
      lastUs: last,
      count: 1,
      flowUid: uid,
    });
  }

  state() {
    return { entries: 0, capacity: 0, evictions: 0, bytes: 0 };
  }
}

export const cryptoMining: DetectorFactory<CryptoMiningConfig> = {
  name: 'crypto_mining',
  description: 'stratum mining methods in clear text, or long low-volume sessions to pool ports',
  mitre: [{ technique: 'T1496', tactic: 'impact' }],
  defaults: DEFAULTS,
  create: (cfg, ctx) => new CryptoMining(cfg, ctx),
};
