/**
 * DNS tunnelling (T1071.004): data carried in query names (and TXT/NULL answers) under one
 * registered domain. Per (client, registered domain) over `windowSec`, from `dns.query` events:
 * queries, distinct sub-domains, sub-domain length and entropy, data-carrying query types
 * (TXT, NULL, CNAME, MX, SRV, ANY, private/unknown types) and sub-domain bytes per minute.
 *
 * Fires when at least `minQueries` queries are mostly unique (≥ `minUniqueRatio`) and either the
 * sub-domains are long and random (mean length ≥ `minMeanLength` or max ≥ `minMaxLength`, mean
 * entropy ≥ `minEntropy` bits/char) or most queries use data-carrying types with sub-domains of
 * at least `minTypedLength`. Tunnels need unique names (caches would answer repeats), long labels
 * (bandwidth) and answer types that carry bytes; lookups of CDNs and blocklists rarely have all.
 */
import type { DissectEvent } from '../../dissect/dissector.js';
import type { ZoneName } from '../../util/zones.js';
import type { DetectContext, Detector, DetectorFactory, FlowFacts } from '../detector.js';
import { BoundedMap } from '../state/bounded-map.js';
import { asString } from '../app-meta.js';
import { registeredDomain } from '../dns/registered-domain.js';
import { entropyOf } from '../stats.js';
import { fmtBytes, fmtCount, fmtDuration, r3, unit } from '../reason.js';

export interface DnsTunnelConfig {
  windowSec: number;
  minQueries: number;
  minUniqueRatio: number;
  minMeanLength: number;
  minMaxLength: number;
  minEntropy: number;
  minTypedRatio: number;
  minTypedLength: number;
  /** Registered domains never scored (suffix match), e.g. reverse lookups and local names. */
  ignoreSuffixes: string[];
  /** Queries between two candidates of one tunnel. */
  emitEvery: number;
  maxDomains: number;
}

const DEFAULTS: DnsTunnelConfig = {
  windowSec: 300,
  minQueries: 8,
  minUniqueRatio: 0.7,
  minMeanLength: 20,
  minMaxLength: 40,
  minEntropy: 3.2,
  minTypedRatio: 0.5,
  minTypedLength: 10,
  ignoreSuffixes: ['arpa', 'local', 'localdomain', 'internal', 'lan', 'home.arpa'],
  emitEvery: 50,
  maxDomains: 8192,
};

const DATA_TYPES = new Set(['TXT', 'NULL', 'CNAME', 'MX', 'SRV', 'ANY', 'KEY', 'DNSKEY', 'PRIVATE']);

interface Domain {
  client: string;
  clientZone: ZoneName;
  server: string;
  serverZone: ZoneName;
  serverPort: number;
  domain: string;
  windowStart: number;
  firstUs: number;
  lastUs: number;
  queries: number;
  unique: Set<number>;
  uniqueCapped: boolean;
  lengthSum: number;
  maxLength: number;
  entropySum: number;
  typed: number;
  nx: number;
  totalQueries: number;
  emittedTotal: number;
  example: string;
  types: Map<string, number>;
}

/** 32-bit FNV-1a of a string (sub-domain identity without keeping the string). */
function fnv(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

const MAX_UNIQUE = 1024;

/**
 * The registered domain, or — for names without a real top-level domain (dnscat2's direct mode
 * sends `dnscat.<hex>.<hex>` straight to its server) — the first label, so such names still group.
 */
function tunnelDomain(name: string): { domain: string; subdomain: string } | undefined {
  const lower = name.toLowerCase().replace(/\.$/, '');
  const last = lower.slice(lower.lastIndexOf('.') + 1);
  if (!/^([a-z]{2,63}|xn--[a-z0-9-]{1,59})$/.test(last)) {
    const dot = lower.indexOf('.');
    if (dot <= 0) return undefined;
    return { domain: `${lower.slice(0, dot)}.(no-tld)`, subdomain: lower.slice(dot + 1) };
  }
  return registeredDomain(lower);
}

class DnsTunnel implements Detector {
  readonly name = 'dns_tunnel';
  private readonly domains: BoundedMap<string, Domain>;
  private readonly windowUs: number;

  constructor(
    private readonly cfg: DnsTunnelConfig,
    private readonly ctx: DetectContext,
  ) {
    this.domains = new BoundedMap(cfg.maxDomains);
    this.windowUs = cfg.windowSec * 1e6;
  }

  private ignored(domain: string): boolean {
    for (const s of this.cfg.ignoreSuffixes) if (domain === s || domain.endsWith(`.${s}`)) return true;
    return false;
  }

  event(e: DissectEvent, f: FlowFacts): void {
    if (e.type !== 'dns.query') return;
    const name = asString(e.data.name);
    if (!name) return;
    const parts = tunnelDomain(name);
    if (!parts || parts.subdomain.length === 0 || this.ignored(parts.domain)) return;
    const key = `${f.clientIp}|${parts.domain}`;
    let d = this.domains.get(key);
    const ts = e.tsUs;
    if (!d || ts - d.windowStart > this.windowUs) {
      const keep = d;
      d = {
        client: f.clientIp, clientZone: f.clientZone, server: f.serverIp, serverZone: f.serverZone, serverPort: f.serverPort,
        domain: parts.domain, windowStart: ts, firstUs: keep?.firstUs ?? ts, lastUs: ts, queries: 0, unique: new Set(), uniqueCapped: false,
        lengthSum: 0, maxLength: 0, entropySum: 0, typed: 0, nx: 0, totalQueries: keep?.totalQueries ?? 0, emittedTotal: keep?.emittedTotal ?? 0,
        example: name, types: new Map(),
      };
      this.domains.set(key, d);
    }
    const sub = parts.subdomain;
    const len = sub.length;
    d.queries++;
    d.totalQueries++;
    d.lastUs = ts;
    if (d.unique.size < MAX_UNIQUE) d.unique.add(fnv(sub.toLowerCase()));
    else d.uniqueCapped = true;
    d.lengthSum += len;
    if (len > d.maxLength) {
      d.maxLength = len;
      d.example = name.length > 120 ? `${name.slice(0, 117)}...` : name;
    }
    d.entropySum += entropyOf(sub.replace(/\./g, ''));
    const qtype = asString(e.data.qtype) ?? '';
    if (DATA_TYPES.has(qtype) || qtype.startsWith('TYPE')) d.typed++;
    if (d.types.size < 16 || d.types.has(qtype)) d.types.set(qtype, (d.types.get(qtype) ?? 0) + 1);
    if (asString(e.data.responseCode) === 'NXDOMAIN') d.nx++;
    this.evaluate(d, f.uid);
  }

  /** End of input: tunnels already reported get their latest numbers out. */
  finish(): void {
    for (const d of this.domains.values()) if (d.emittedTotal > 0 && d.totalQueries > d.emittedTotal) this.evaluate(d, '', true);
  }

  private evaluate(d: Domain, uid: string, force = false): void {
    const c = this.cfg;
    if (d.queries < c.minQueries) return;
    if (!force && d.emittedTotal > 0 && d.totalQueries - d.emittedTotal < c.emitEvery) return;
    const uniqueRatio = d.uniqueCapped ? 1 : d.unique.size / d.queries;
    if (uniqueRatio < c.minUniqueRatio && !force) return;
    const meanLen = d.lengthSum / d.queries;
    const meanEntropy = d.entropySum / d.queries;
    const typedRatio = d.typed / d.queries;
    const longRandom = (meanLen >= c.minMeanLength || d.maxLength >= c.minMaxLength) && meanEntropy >= c.minEntropy;
    const typed = typedRatio >= c.minTypedRatio && (meanLen >= c.minMeanLength || (meanLen >= c.minTypedLength && meanEntropy >= c.minEntropy));
    if (!longRandom && !typed && !force) return;
    const delta = d.totalQueries - d.emittedTotal;
    d.emittedTotal = d.totalQueries;
    const span = Math.max(1, d.lastUs - d.windowStart);
    const bytesPerMin = (d.lengthSum / span) * 60e6;
    const types = [...d.types.entries()].sort((a, b) => b[1] - a[1]).slice(0, 3).map(([t, n]) => `${t} ${n}`).join(', ');
    const reason =
      `${d.client} sent ${fmtCount(d.queries)} queries under ${d.domain} in ${fmtDuration(span)}: ` +
      `${Math.round(uniqueRatio * 100)} % unique sub-domains, mean ${meanLen.toFixed(0)} chars (max ${d.maxLength}), ` +
      `${meanEntropy.toFixed(1)} bits/char, ${fmtBytes(bytesPerMin)}/min in names; types ${types}`;
    const score = unit(0.55 + 0.15 * Math.min(1, meanLen / 50) + 0.1 * Math.min(1, meanEntropy / 4.5) + 0.1 * typedRatio + 0.1 * Math.min(1, d.queries / 100));
    this.ctx.emit({
      detector: this.name,
      category: 'tunnel',
      technique: 'T1071.004',
      tactic: 'command-and-control',
      severity: d.queries >= 100 ? 'high' : 'medium',
      score,
      source: { ip: d.client, zone: d.clientZone },
      destination: { ip: d.server, port: d.serverPort, zone: d.serverZone },
      aggregateTarget: d.domain,
      appProtocol: 'dns',
      evidence: {
        dnsName: d.domain,
        values: {
          queries: d.queries,
          unique_ratio: r3(uniqueRatio),
          mean_length: r3(meanLen),
          max_length: d.maxLength,
          entropy: r3(meanEntropy),
          data_type_ratio: r3(typedRatio),
          nxdomain: d.nx,
          bytes_per_min: Math.round(bytesPerMin),
          example: d.example,
        },
      },
      reason,
      firstUs: d.windowStart,
      lastUs: d.lastUs,
      count: Math.max(1, delta),
      ...(uid ? { flowUid: uid } : {}),
    });
  }

  state() {
    return this.domains.state((d) => 400 + d.unique.size * 16);
  }
}

export const dnsTunnel: DetectorFactory<DnsTunnelConfig> = {
  name: 'dns_tunnel',
  description: 'data in DNS names: many unique, long, high-entropy sub-domains or TXT/NULL queries under one domain',
  mitre: [{ technique: 'T1071.004', tactic: 'command-and-control' }],
  defaults: DEFAULTS,
  create: (cfg, ctx) => new DnsTunnel(cfg, ctx),
};
