/**
 * WebSocket C2 (T1071.001): a long-lived WebSocket whose client sends small frames at regular
 * intervals (polling a command channel), or long-lived binary frames of high entropy (encrypted
 * payload inside the socket), from `record.app.websocket` and the record's packet timing.
 */
import type { FlowRecord } from '../../flow/flow-record.js';
import type { ZoneName } from '../../util/zones.js';
import type { DetectContext, Detector, DetectorFactory } from '../detector.js';
import { appOf, numberField, objectField, stringField } from '../app-meta.js';
import { fmtBytes, fmtDuration, hostPort, r3, unit } from '../reason.js';

export interface WebSocketC2Config {
  minDurationSec: number;
  minFrames: number;
  /** Client frame gap max/mean at or below this counts as regular. */
  maxGapSpread: number;
  /** Client packet inter-arrival σ/mean at or below this counts as regular. */
  maxIatCv: number;
  maxMeanFrameBytes: number;
  /** Entropy (bits/byte) of binary payload above which it looks encrypted. */
  minEntropy: number;
  /** Also judge sockets to internal servers. */
  internalDestinations: boolean;
}

const DEFAULTS: WebSocketC2Config = {
  minDurationSec: 120,
  minFrames: 20,
  maxGapSpread: 3,
  maxIatCv: 0.6,
  maxMeanFrameBytes: 512,
  minEntropy: 7.2,
  internalDestinations: false,
};

class WebSocketC2 implements Detector {
  readonly name = 'websocket_c2';

  constructor(
    private readonly cfg: WebSocketC2Config,
    private readonly ctx: DetectContext,
  ) {}

  record(r: FlowRecord, zones: { client: ZoneName; server: ZoneName }): void {
    const ws = appOf(r, 'websocket');
    if (!ws) return;
    if (!this.cfg.internalDestinations && zones.server !== 'untrust') return;
    const dur = r.endUs - r.startUs;
    const frames = numberField(ws, 'frames') ?? 0;
    if (dur < this.cfg.minDurationSec * 1e6 || frames < this.cfg.minFrames) return;
    const client = objectField(ws, 'client');
    const clientFrames = numberField(client, 'frames') ?? numberField(client, 'dataFrames') ?? frames;
    const clientBytes = numberField(client, 'payloadBytes') ?? numberField(client, 'bytes') ?? r.c2s.payloadBytes;
    const meanFrame = clientFrames > 0 ? clientBytes / clientFrames : Infinity;
    const iat = objectField(ws, 'iatUs');
    const spread = iat && (numberField(iat, 'mean') ?? 0) > 0 ? (numberField(iat, 'max') ?? 0) / numberField(iat, 'mean')! : Infinity;
    const cv = r.c2s.iat && r.c2s.iat.mean > 0 ? r.c2s.iat.stddev / r.c2s.iat.mean : Infinity;
    const regular = (spread <= this.cfg.maxGapSpread || cv <= this.cfg.maxIatCv) && meanFrame <= this.cfg.maxMeanFrameBytes;
    const entropy = Math.max(numberField(ws, 'entropyClient') ?? 0, numberField(ws, 'entropyServer') ?? 0);
    const binaryRatio = numberField(ws, 'binaryRatio') ?? 0;
    const opaque = entropy >= this.cfg.minEntropy && binaryRatio >= 0.5;
    if (!regular && !opaque) return;
    const host = stringField(objectField(ws, 'handshake'), 'host');
    const parts: string[] = [];
    if (regular) {
      const every = clientFrames > 0 ? dur / clientFrames : 0;
      const how = spread <= this.cfg.maxGapSpread ? `longest gap ${spread.toFixed(1)}× the mean` : `packet σ/mean ${cv.toFixed(2)}`;
      parts.push(`client frames of ${fmtBytes(meanFrame)} every ${fmtDuration(every)} (${how})`);
    }
    if (opaque) parts.push(`binary payload at ${entropy.toFixed(1)} bits/byte`);
    const score = unit(0.6 + (regular ? 0.15 : 0) + (opaque ? 0.15 : 0) + 0.1 * Math.min(1, dur / 3600e6));
    this.ctx.emit({
      detector: this.name,
      category: 'c2',
      technique: 'T1071.001',
      tactic: 'command-and-control',
      severity: regular && opaque ? 'high' : 'medium',
      score,
      source: { ip: r.client.ip, zone: zones.client },
      destination: { ip: r.server.ip, port: r.server.port, zone: zones.server },
      appProtocol: 'websocket',
      evidence: {
        ...(host ? { httpHost: host } : {}),
        values: { duration_s: Math.round(dur / 1e6), frames, mean_client_frame: Math.round(Math.min(meanFrame, 1e9)), iat_cv: Number.isFinite(cv) ? r3(cv) : -1, entropy: r3(entropy), binary_ratio: r3(binaryRatio) },
      },
      reason: `${r.client.ip} → ${hostPort(r.server.ip, r.server.port)}${host ? ` (${host})` : ''}: WebSocket open ${fmtDuration(dur)}, ${frames} frames; ${parts.join('; ')}`,
      firstUs: r.startUs,
      lastUs: r.endUs,
      count: 1,
      flowUid: r.uid,
    });
  }

  state() {
    return { entries: 0, capacity: 0, evictions: 0, bytes: 0 };
  }
}

export const websocketC2: DetectorFactory<WebSocketC2Config> = {
  name: 'websocket_c2',
  description: 'long-lived WebSockets with periodic small client frames or high-entropy binary payload',
  mitre: [{ technique: 'T1071.001', tactic: 'command-and-control' }],
  defaults: DEFAULTS,
  create: (cfg, ctx) => new WebSocketC2(cfg, ctx),
};
