/**
 * Domain generation algorithms (T1568.002): malware looking up many made-up domains until one
 * resolves. Per client over `windowSec`, from `dns.query` events: distinct registered domains
 * whose label the character n-gram model (dns/ngram-model.ts, trained on well-known service
 * names) finds unlikely, and how many of those did not resolve (NXDOMAIN, SERVFAIL, REFUSED or
 * no answer). Fires at `minDomains` unlikely domains of which at least `minFailedRatio` failed,
 * or at `minDomainsAnyway` whatever the answers.
 */
import type { DissectEvent } from '../../dissect/dissector.js';
import type { ZoneName } from '../../util/zones.js';
import type { DetectContext, Detector, DetectorFactory, FlowFacts } from '../detector.js';
import { BoundedMap } from '../state/bounded-map.js';
import { asNumber, asString } from '../app-meta.js';
import { registeredDomain } from '../dns/registered-domain.js';
import { benignDomainModel, type NgramModel } from '../dns/ngram-model.js';
import { fmtCount, fmtDuration, r3, unit } from '../reason.js';

export interface DgaConfig {
  windowSec: number;
  minDomains: number;
  minFailedRatio: number;
  minDomainsAnyway: number;
  /** Shorter labels are not judged (too little text for the model). */
  minLabelLength: number;
  /** Distinct unlikely domains kept per client. */
  maxDomainsPerClient: number;
  maxClients: number;
}

const DEFAULTS: DgaConfig = {
  windowSec: 600,
  minDomains: 8,
  minFailedRatio: 0.5,
  minDomainsAnyway: 25,
  minLabelLength: 7,
  maxDomainsPerClient: 256,
  maxClients: 8192,
};

interface Client {
  ip: string;
  zone: ZoneName;
  server: string;
  serverZone: ZoneName;
  windowStart: number;
  lastUs: number;
  /** Unlikely domain → did it fail (no usable answer)? */
  domains: Map<string, boolean>;
  failed: number;
  emitted: number;
  worst: string;
  worstScore: number;
}

const FAILED = new Set(['NXDOMAIN', 'SERVFAIL', 'REFUSED']);

class Dga implements Detector {
  readonly name = 'dga';
  private readonly clients: BoundedMap<string, Client>;
  private readonly model: NgramModel;
  private readonly windowUs: number;

  constructor(
    private readonly cfg: DgaConfig,
    private readonly ctx: DetectContext,
  ) {
    this.clients = new BoundedMap(cfg.maxClients);
    this.model = benignDomainModel();
    this.windowUs = cfg.windowSec * 1e6;
  }

  event(e: DissectEvent, f: FlowFacts): void {
    if (e.type !== 'dns.query') return;
    const name = asString(e.data.name);
    const qtype = asString(e.data.qtype);
    if (!name || (qtype !== 'A' && qtype !== 'AAAA' && qtype !== 'ANY')) return;
    const parts = registeredDomain(name);
    if (!parts || parts.label.length < this.cfg.minLabelLength || parts.suffix === 'arpa' || parts.suffix === 'local') return;
    const score = this.model.score(parts.label);
    if (score >= this.model.threshold) return;
    const rcode = asString(e.data.responseCode);
    const answers = asNumber(e.data.answerCount) ?? 0;
    const failed = e.data.unanswered === true || (rcode !== undefined && FAILED.has(rcode)) || (rcode === 'NOERROR' && answers === 0);
    let c = this.clients.get(f.clientIp);
    const ts = e.tsUs;
    if (!c || ts - c.windowStart > this.windowUs) {
      c = { ip: f.clientIp, zone: f.clientZone, server: f.serverIp, serverZone: f.serverZone, windowStart: ts, lastUs: ts, domains: new Map(), failed: 0, emitted: 0, worst: parts.domain, worstScore: score };
      this.clients.set(f.clientIp, c);
    }
    c.lastUs = ts;
    const had = c.domains.get(parts.domain);
    if (had === undefined) {
      if (c.domains.size >= this.cfg.maxDomainsPerClient) {
        this.ctx.count('limit.domains_per_client');
        return;
      }
      c.domains.set(parts.domain, failed);
      if (failed) c.failed++;
    } else if (had && !failed) {
      c.domains.set(parts.domain, false); // it resolved after all
      c.failed--;
    } else return;
    if (score < c.worstScore) {
      c.worstScore = score;
      c.worst = parts.domain;
    }
    this.evaluate(c, f.uid);
  }

  /** End of input: DGA alerts already raised get their latest numbers out. */
  finish(): void {
    for (const c of this.clients.values()) if (c.emitted > 0 && c.domains.size > c.emitted) this.evaluate(c, '', true);
  }

  private evaluate(c: Client, uid: string, force = false): void {
    const n = c.domains.size;
    const ratio = n > 0 ? c.failed / n : 0;
    const fires = force || n >= this.cfg.minDomainsAnyway || (n >= this.cfg.minDomains && ratio >= this.cfg.minFailedRatio);
    if (!fires || (!force && c.emitted > 0 && n - c.emitted < Math.max(1, Math.floor(this.cfg.minDomains / 2)))) return;
    const delta = n - c.emitted;
    c.emitted = n;
    const examples = [...c.domains.keys()].slice(-3).join(', ');
    const reason =
      `${c.ip} looked up ${fmtCount(n)} machine-like domains in ${fmtDuration(c.lastUs - c.windowStart)}, ` +
      `${fmtCount(c.failed)} did not resolve (e.g. ${examples})`;
    this.ctx.emit({
      detector: this.name,
      category: 'c2',
      technique: 'T1568.002',
      tactic: 'command-and-control',
      severity: n >= this.cfg.minDomainsAnyway ? 'high' : 'medium',
      score: unit(0.6 + 0.2 * ratio + 0.2 * Math.min(1, n / this.cfg.minDomainsAnyway)),
      source: { ip: c.ip, zone: c.zone },
      destination: { ip: c.server, port: 53, zone: c.serverZone },
      aggregateTarget: 'dga',
      appProtocol: 'dns',
      evidence: { dnsName: c.worst, values: { domains: n, failed: c.failed, failed_ratio: r3(ratio), lowest_score: r3(c.worstScore), threshold: r3(this.model.threshold) } },
      reason,
      firstUs: c.windowStart,
      lastUs: c.lastUs,
      count: Math.max(1, delta),
      ...(uid ? { flowUid: uid } : {}),
    });
  }

  state() {
    return this.clients.state((c) => 300 + c.domains.size * 80);
  }
}

export const dga: DetectorFactory<DgaConfig> = {
  name: 'dga',
  description: 'many unlikely (n-gram model) and mostly unresolvable domains looked up by one client',
  mitre: [{ technique: 'T1568.002', tactic: 'command-and-control' }],
  defaults: DEFAULTS,
  create: (cfg, ctx) => new Dga(cfg, ctx),
};
