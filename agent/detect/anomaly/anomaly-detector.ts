/**
 * `anomaly`: Isolation Forest scoring of every flow's feature vector, and alerts for the flows
 * that score above the model's threshold and that no behavioural detector explained.
 *
 * Calibration (the false-alert budget of ≤ 1 per benign host-hour counts these too):
 * - the threshold is the model's baseline quantile (0.995 by default: 1 benign flow in 200 is
 *   above it), raised to `minScore` when lower;
 * - a source must have `minFlows` anomalous flows within `windowSec` before it alerts — one odd
 *   flow is noise, a host behaving oddly repeatedly is worth a look — unless a single flow
 *   scores ≥ `singleFlowScore`;
 * - candidates aggregate per source (target `*`), so a host stays one alert that grows.
 *
 * MITRE: an anomaly score says "unusual", not "how", so no technique id is claimed (a guess
 * would mislead triage and per-technique statistics). The tactic is a coarse hint from the
 * family of the feature that deviates most: host fan-out → discovery, internal → internal →
 * lateral-movement, untrust → internal → initial-access, upload-heavy volume → exfiltration,
 * L7 oddities (DNS/TLS/QUIC/HTTP/gRPC/WebSocket/RMM) → command-and-control.
 */
import type { FlowRecord } from '../../flow/flow-record.js';
import type { ZoneName } from '../../util/zones.js';
import type { AlertCandidate, DetectContext, Detector, DetectorFactory, DetectorState } from '../detector.js';
import type { IsolationForest } from '../iforest/forest.js';
import { decodeModel } from '../iforest/model-file.js';
import { schemaMismatch } from '../iforest/schema.js';
import { explainRow, describeDeviations, type FeatureDeviation } from '../iforest/explain.js';
import { BoundedMap } from '../state/bounded-map.js';
import { FeatureExtractor } from '../../features/flow-features.js';
import { FEATURE_COUNT, featureFamily, featureIndex } from '../../features/feature-schema.js';
import { DEFAULT_SUSPICIOUS_PORTS, DEFAULT_KNOWN_BAD_JA3, DEFAULT_KNOWN_BAD_JA4 } from '../../features/classifiers.js';
import { currentModel, FLOW_FEATURE_SCHEMA, type AnomalyHooks } from './anomaly-hooks.js';
import { readFileSync, statSync } from 'node:fs';

export interface AnomalyConfig {
  /** Model file to load at start ('' = the model comes from the stage options, or none). */
  modelPath: string;
  /** Anomalous flows from one source within `windowSec` before it alerts. */
  minFlows: number;
  windowSec: number;
  /** Floor on the model's threshold (a model trained on very uniform traffic has a low one). */
  minScore: number;
  /** A single flow at or above this score alerts on its own. */
  singleFlowScore: number;
  /** Sources with pending anomalous flows tracked (LRU). */
  maxSources: number;
  /** Features named in the reason. */
  explain: number;
  /** Feature extraction: host-context window and hosts, port and fingerprint lists. */
  hostWindowSec: number;
  maxHosts: number;
  suspiciousPorts: number[];
  knownBadJa3: string[];
  knownBadJa4: string[];
}

export const ANOMALY_DEFAULTS: AnomalyConfig = {
  modelPath: '',
  minFlows: 3,
  windowSec: 600,
  minScore: 0.55,
  singleFlowScore: 0.72,
  maxSources: 16_384,
  explain: 3,
  hostWindowSec: 300,
  maxHosts: 16_384,
  suspiciousPorts: [...DEFAULT_SUSPICIOUS_PORTS],
  knownBadJa3: [...DEFAULT_KNOWN_BAD_JA3],
  knownBadJa4: [...DEFAULT_KNOWN_BAD_JA4],
};

/** Largest model file the detector reads synchronously at start. */
const MAX_MODEL_BYTES = 256 * 1024 * 1024;

interface Pending {
  firstUs: number;
  lastUs: number;
  /** Anomalous unexplained flows in the current window. */
  count: number;
  /** An alert was raised for this window (later flows grow it). */
  raised: boolean;
  bestScore: number;
  bestRow: Float64Array;
  bestRecord: FlowRecord | undefined;
  bestZones: { client: ZoneName; server: ZoneName };
}

/** Loads `path` synchronously for the detector; throws one line when it cannot be used. */
export function loadModelSync(path: string): IsolationForest {
  let bytes: Buffer;
  try {
    const st = statSync(path);
    if (st.size > MAX_MODEL_BYTES) throw new Error(`${st.size} bytes, above the ${MAX_MODEL_BYTES}-byte limit`);
    bytes = readFileSync(path);
  } catch (err) {
    throw new Error(`cannot load model ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const r = decodeModel(bytes, FLOW_FEATURE_SCHEMA);
  if (!r.ok) throw new Error(`cannot load model ${path}: ${r.message}`);
  return r.value;
}

const TACTIC_BY_FAMILY: Readonly<Record<string, string>> = {
  host: 'discovery',
  dns: 'command-and-control',
  tls: 'command-and-control',
  quic: 'command-and-control',
  http: 'command-and-control',
  grpc: 'command-and-control',
  websocket: 'command-and-control',
  rmm: 'command-and-control',
};

const SENT_BYTE_SHARE = featureIndex('sent_byte_share');

/** The tactic hint for an anomaly from its most deviating features (see the file comment). */
export function tacticFor(devs: readonly FeatureDeviation[], x: Float64Array): string {
  const top = devs[0];
  if (!top) return 'discovery';
  const fam = featureFamily(top.feature);
  if (fam === 'zone') {
    if (top.feature === 'zone.internal_lateral' && top.value === 1) return 'lateral-movement';
    if (top.feature === 'zone.external_inbound' && top.value === 1) return 'initial-access';
    return 'discovery';
  }
  if (fam === 'l4') {
    // Upload-heavy flows: more out than in, well above the usual.
    const share = x[SENT_BYTE_SHARE]!;
    if ((top.feature.startsWith('bytes_out') || top.feature === 'sent_byte_share' || top.feature === 'bytes_ratio_log') && top.deviation > 0 && share > 0.8) {
      return 'exfiltration';
    }
    return 'discovery';
  }
  return TACTIC_BY_FAMILY[fam] ?? 'discovery';
}

class AnomalyDetector implements Detector {
  readonly name = 'anomaly';
  private readonly fx: FeatureExtractor;
  private readonly pending: BoundedMap<string, Pending>;
  private readonly hooks: AnomalyHooks | undefined;
  private readonly windowUs: number;
  private lastModel: IsolationForest | undefined;
  private modelUsable = false;
  private threshold = 1;
  /** Flows scored (for the state report). */
  private scored = 0;

  constructor(
    private readonly cfg: AnomalyConfig,
    private readonly ctx: DetectContext,
  ) {
    const fixed = cfg.modelPath !== '' ? loadModelSync(cfg.modelPath) : undefined;
    this.hooks = fixed ? { ...ctx.anomaly, model: fixed } : ctx.anomaly;
    this.fx = new FeatureExtractor({
      zones: ctx.zones,
      suspiciousPorts: cfg.suspiciousPorts,
      knownBadJa3: cfg.knownBadJa3,
      knownBadJa4: cfg.knownBadJa4,
      host: { windowSec: cfg.hostWindowSec, maxHosts: cfg.maxHosts },
    });
    this.pending = new BoundedMap(cfg.maxSources);
    this.windowUs = cfg.windowSec * 1e6;
  }

  /** The model to score with now, checked against our schema once per model object. */
  private model(): IsolationForest | undefined {
    const m = currentModel(this.hooks);
    if (m !== this.lastModel) {
      this.lastModel = m;
      this.modelUsable = false;
      if (m) {
        const mismatch = schemaMismatch(m.schema, FLOW_FEATURE_SCHEMA);
        if (mismatch) this.ctx.count('schema_mismatch');
        else {
          this.modelUsable = true;
          this.threshold = Math.max(m.threshold, this.cfg.minScore);
        }
      }
    }
    return this.modelUsable ? m : undefined;
  }

  record(r: FlowRecord, zones: { client: ZoneName; server: ZoneName }): void {
    const learner = this.hooks?.learner;
    const model = this.model();
    if (!model && !learner) return;
    const x = this.fx.extract(r, zones);
    const alerted = this.ctx.flowAlerted(r.uid);
    if (learner && !alerted) learner.offer(x, r.uid, r.endUs);
    if (!model) return;
    const score = model.scoreRow(x);
    this.scored++;
    this.ctx.scoreFlow(r.uid, score);
    if (score < this.threshold) return;
    if (alerted) {
      this.ctx.count('explained');
      return;
    }
    this.anomalous(r, zones, x, score, model);
  }

  private anomalous(r: FlowRecord, zones: { client: ZoneName; server: ZoneName }, x: Float64Array, score: number, model: IsolationForest): void {
    const src = r.client.ip;
    let p = this.pending.get(src);
    if (p && r.endUs - p.lastUs > this.windowUs) {
      this.pending.delete(src);
      p = undefined;
    }
    if (!p) {
      p = { firstUs: r.startUs, lastUs: r.endUs, count: 0, raised: false, bestScore: -1, bestRow: new Float64Array(FEATURE_COUNT), bestRecord: undefined, bestZones: zones };
      this.pending.set(src, p);
    }
    p.count++;
    p.firstUs = Math.min(p.firstUs, r.startUs);
    p.lastUs = Math.max(p.lastUs, r.endUs);
    if (score > p.bestScore) {
      p.bestScore = score;
      p.bestRow.set(x.subarray(0, FEATURE_COUNT));
      p.bestRecord = r;
      p.bestZones = zones;
    }
    if (p.raised) {
      this.emit(r, zones, x, score, 1, r.startUs, r.endUs, model);
      return;
    }
    if (p.count >= this.cfg.minFlows || score >= this.cfg.singleFlowScore) {
      p.raised = true;
      this.emit(p.bestRecord!, p.bestZones, p.bestRow, p.bestScore, p.count, p.firstUs, p.lastUs, model);
    } else this.ctx.count('below_min_flows');
  }

  private emit(
    r: FlowRecord,
    zones: { client: ZoneName; server: ZoneName },
    x: Float64Array,
    score: number,
    count: number,
    firstUs: number,
    lastUs: number,
    model: IsolationForest,
  ): void {
    const devs = explainRow(model, x, 0, this.cfg.explain);
    const why = describeDeviations(devs);
    const values: Record<string, number | string> = { score: round(score), threshold: round(this.threshold) };
    for (const d of devs) values[d.feature] = d.missing ? 'missing' : round(d.value);
    const severity = score >= 0.8 ? 'high' : score >= this.cfg.singleFlowScore || count >= 10 ? 'medium' : 'low';
    const c: AlertCandidate = {
      detector: 'anomaly',
      category: 'anomaly',
      technique: '',
      tactic: tacticFor(devs, x),
      severity,
      score,
      source: { ip: r.client.ip, zone: zones.client },
      destination: { ip: r.server.ip, port: r.server.port, zone: zones.server },
      aggregateTarget: '*',
      evidence: { values },
      reason: `${r.client.ip} → ${r.server.ip}:${r.server.port} unusual flow (score ${score.toFixed(2)} ≥ ${this.threshold.toFixed(2)}${count > 1 ? `, ${count} such flows` : ''}): ${why || 'no single feature stands out'}`,
      firstUs,
      lastUs,
      count,
      flowUid: r.uid,
      modelVersion: model.createdAt,
    };
    if (r.appProtocol !== undefined) c.appProtocol = r.appProtocol;
    this.ctx.emit(c);
  }

  tick(nowUs: number): void {
    const learner = this.hooks?.learner;
    if (learner) learner.tick(nowUs, (uid) => this.ctx.flowAlerted(uid));
  }

  /** End of input: a learner whose period is over trains now (offline runs tick rarely). */
  finish(nowUs: number): void {
    this.tick(nowUs);
  }

  state(): DetectorState {
    const f = this.fx.state();
    return {
      entries: this.pending.size + f.hosts + f.fingerprints,
      capacity: this.cfg.maxSources + f.hostCapacity,
      evictions: this.pending.evictions + f.hostEvictions,
      bytes: f.bytes + this.pending.size * (FEATURE_COUNT * 8 + 200),
    };
  }
}

function round(v: number): number {
  return Math.round(v * 1000) / 1000;
}

export const anomaly: DetectorFactory<AnomalyConfig> = {
  name: 'anomaly',
  description: 'Isolation Forest score of each flow; unexplained flows above the model threshold, repeated per source, raise `anomaly` alerts',
  mitre: [],
  defaults: ANOMALY_DEFAULTS,
  create: (cfg, ctx) => new AnomalyDetector(cfg, ctx),
};
