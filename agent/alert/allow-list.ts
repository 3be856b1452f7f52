/**
 * Allow-lists: alerts an operator has decided not to see. Matching is on the candidate, before
 * aggregation, so suppressed activity never opens an alert.
 *   hosts      CIDRs or addresses; match the source or the destination address
 *   domains    suffix match on label boundaries (`example.com` allows `a.example.com`, not
 *              `badexample.com`) against the SNI, HTTP host and DNS name of the evidence
 *   ja4        exact JA4 fingerprints (evidence.ja4)
 *   detectors  detector names whose alerts are dropped
 */
import { cidrContains, parseCidr, parseIp, type Cidr } from '../util/zones.js';
import type { AlertCandidate } from '../detect/detector.js';

export interface AllowListConfig {
  hosts?: readonly string[];
  domains?: readonly string[];
  ja4?: readonly string[];
  detectors?: readonly string[];
}

/** Why a candidate was allowed (a counter label). */
export type AllowReason = 'host' | 'domain' | 'ja4' | 'detector';

export class AllowList {
  private readonly hosts: Cidr[] = [];
  private readonly domains: string[];
  private readonly ja4: Set<string>;
  private readonly detectors: Set<string>;

  /** Throws a one-line error naming an entry that is not a CIDR/address. */
  constructor(cfg: AllowListConfig = {}) {
    for (const h of cfg.hosts ?? []) {
      const c = parseCidr(h);
      if (!c) throw new Error(`allow.hosts: "${h}" is not an address or CIDR (e.g. 10.0.0.5 or 10.0.0.0/24)`);
      this.hosts.push(c);
    }
    this.domains = (cfg.domains ?? []).map((d) => d.toLowerCase().replace(/^\*?\./, '').replace(/\.$/, '')).filter((d) => d.length > 0);
    this.ja4 = new Set(cfg.ja4 ?? []);
    this.detectors = new Set(cfg.detectors ?? []);
  }

  get empty(): boolean {
    return this.hosts.length === 0 && this.domains.length === 0 && this.ja4.size === 0 && this.detectors.size === 0;
  }

  /** The reason a candidate is allowed (suppressed), or undefined when it must be alerted. */
  match(c: AlertCandidate): AllowReason | undefined {
    if (this.detectors.has(c.detector)) return 'detector';
    if (this.hosts.length > 0 && (this.hostAllowed(c.source.ip) || this.hostAllowed(c.destination.ip))) return 'host';
    const ev = c.evidence;
    if (this.domains.length > 0) {
      for (const name of [ev.sni, ev.httpHost, ev.dnsName]) if (name && this.domainAllowed(name)) return 'domain';
    }
    if (ev.ja4 && this.ja4.has(ev.ja4)) return 'ja4';
    return undefined;
  }

  hostAllowed(ip: string): boolean {
    const p = parseIp(ip);
    if (!p) return false;
    for (const c of this.hosts) if (cidrContains(c, p.version, p.words)) return true;
    return false;
  }

  domainAllowed(name: string): boolean {
    const n = name.toLowerCase().replace(/\.$/, '');
    for (const d of this.domains) {
      if (n === d) return true;
      if (n.length > d.length && n.endsWith(d) && n.charCodeAt(n.length - d.length - 1) === 0x2e) return true;
    }
    return false;
  }
}
