/**
 * gRPC abuse (T1190 Exploit Public-Facing Application, the probing that precedes it): one client
 * calling many distinct methods, unknown services/methods (grpc-status 12 UNIMPLEMENTED),
 * authentication failures (16 UNAUTHENTICATED, 7 PERMISSION_DENIED), or server reflection from
 * outside. Per (client, server) over `windowSec`, from `grpc.call` events.
 */
import type { DissectEvent } from '../../dissect/dissector.js';
import type { ZoneName } from '../../util/zones.js';
import type { DetectContext, Detector, DetectorFactory, FlowFacts } from '../detector.js';
import { BoundedMap } from '../state/bounded-map.js';
import { asNumber, asString } from '../app-meta.js';
import { fmtCount, fmtDuration, hostPort, r3, unit } from '../reason.js';

export interface GrpcAbuseConfig {
  windowSec: number;
  minUnimplemented: number;
  minAuthFailures: number;
  /** Distinct methods with at least `minErrorRatio` errors that count as enumeration. */
  minMethods: number;
  minErrorRatio: number;
  /** Server reflection calls from the untrust zone fire on their own. */
  reflectionFromUntrust: boolean;
  maxPairs: number;
}

const DEFAULTS: GrpcAbuseConfig = {
  windowSec: 300,
  minUnimplemented: 5,
  minAuthFailures: 10,
  minMethods: 20,
  minErrorRatio: 0.5,
  reflectionFromUntrust: true,
  maxPairs: 8192,
};

interface Pair {
  client: string;
  clientZone: ZoneName;
  server: string;
  serverZone: ZoneName;
  port: number;
  windowStart: number;
  lastUs: number;
  calls: number;
  errors: number;
  unimplemented: number;
  auth: number;
  reflection: number;
  methods: Set<string>;
  emittedCalls: number;
  example: string;
}

class GrpcAbuse implements Detector {
  readonly name = 'grpc_abuse';
  private readonly pairs: BoundedMap<string, Pair>;

  constructor(
    private readonly cfg: GrpcAbuseConfig,
    private readonly ctx: DetectContext,
  ) {
    this.pairs = new BoundedMap(cfg.maxPairs);
  }

  event(e: DissectEvent, f: FlowFacts): void {
    if (e.type !== 'grpc.call') return;
    const path = asString(e.data.path) ?? '?';
    const status = asNumber(e.data.status);
    const key = `${f.clientIp}|${f.serverIp}|${f.serverPort}`;
    let p = this.pairs.get(key);
    if (!p || e.tsUs - p.windowStart > this.cfg.windowSec * 1e6) {
      p = {
        client: f.clientIp, clientZone: f.clientZone, server: f.serverIp, serverZone: f.serverZone, port: f.serverPort, windowStart: e.tsUs, lastUs: e.tsUs,
        calls: 0, errors: 0, unimplemented: 0, auth: 0, reflection: 0, methods: new Set(), emittedCalls: 0, example: path,
      };
      this.pairs.set(key, p);
    }
    p.calls++;
    p.lastUs = e.tsUs;
    if (p.methods.size < 512) p.methods.add(path);
    if (status !== undefined && status !== 0) {
      p.errors++;
      p.example = path;
    }
    if (status === 12) p.unimplemented++;
    if (status === 16 || status === 7) p.auth++;
    if (path.includes('grpc.reflection.')) p.reflection++;
    this.evaluate(p, f.uid);
  }

  /** End of input: alerts in progress get their latest numbers out. */
  finish(): void {
    for (const p of this.pairs.values()) if (p.emittedCalls > 0 && p.calls > p.emittedCalls) this.evaluate(p, '', true);
  }

  private evaluate(p: Pair, uid: string, force = false): void {
    const c = this.cfg;
    const errRatio = p.errors / p.calls;
    const why: string[] = [];
    if (p.unimplemented >= c.minUnimplemented) why.push(`${fmtCount(p.unimplemented)} calls to unknown services/methods`);
    if (p.auth >= c.minAuthFailures) why.push(`${fmtCount(p.auth)} authentication failures`);
    if (p.methods.size >= c.minMethods && errRatio >= c.minErrorRatio) why.push(`${fmtCount(p.methods.size)} distinct methods, ${Math.round(errRatio * 100)} % failed`);
    if (c.reflectionFromUntrust && p.reflection > 0 && p.clientZone === 'untrust') why.push('server reflection from outside');
    if (why.length === 0) return;
    if (!force && p.emittedCalls > 0 && p.calls < 2 * p.emittedCalls) return;
    const delta = p.calls - p.emittedCalls;
    p.emittedCalls = p.calls;
    this.ctx.emit({
      detector: this.name,
      category: 'exploit',
      technique: 'T1190',
      tactic: 'initial-access',
      severity: p.clientZone === 'untrust' ? 'high' : 'medium',
      score: unit(0.6 + 0.1 * why.length + 0.2 * errRatio),
      source: { ip: p.client, zone: p.clientZone },
      destination: { ip: p.server, port: p.port, zone: p.serverZone },
      appProtocol: 'grpc',
      evidence: { values: { calls: p.calls, errors: p.errors, unimplemented: p.unimplemented, auth_failures: p.auth, methods: p.methods.size, reflection: p.reflection, error_ratio: r3(errRatio), example: p.example } },
      reason: `${p.client} → ${hostPort(p.server, p.port)} gRPC: ${why.join(', ')} in ${fmtDuration(p.lastUs - p.windowStart)} (${fmtCount(p.calls)} calls, e.g. ${p.example})`,
      firstUs: p.windowStart,
      lastUs: p.lastUs,
      count: Math.max(1, delta),
      ...(uid ? { flowUid: uid } : {}),
    });
  }

  state() {
    return this.pairs.state((p) => 400 + p.methods.size * 80);
  }
}

export const grpcAbuse: DetectorFactory<GrpcAbuseConfig> = {
  name: 'grpc_abuse',
  description: 'gRPC method enumeration, unknown services, authentication failures, reflection from outside',
  mitre: [{ technique: 'T1190', tactic: 'initial-access' }],
  defaults: DEFAULTS,
  create: (cfg, ctx) => new GrpcAbuse(cfg, ctx),
};
