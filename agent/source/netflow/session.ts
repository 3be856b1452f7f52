import type { Template } from './template.js';

/**
 * Template and options state of one exporter session: the scope in which a template id means
 * one layout. Keyed by (exporter address, protocol version, observation domain / source id),
 * plus the exporter's UDP port when configured — see README "Template scope".
 */
export class ExporterSession {
  readonly templates = new Map<number, Template>();
  /** Sampling interval by sampler/selector id, from options data. */
  readonly samplers = new Map<number, number>();
  /** Interval from options data that named no sampler (applies to every record), 0 = none. */
  defaultSamplingInterval = 0;
  /** IPFIX systemInitTimeMilliseconds from options data (base of sysUptime fields), -1 = unknown. */
  systemInitMs = -1;
  /** NetFlow v9 sequence number the next packet should carry, -1 = unknown. */
  nextSequence = -1;
  lastSeenMs: number;

  constructor(
    readonly exporterIp: string,
    readonly exporterPort: number,
    readonly version: 9 | 10,
    readonly domain: number,
    nowMs: number,
  ) {
    this.lastSeenMs = nowMs;
  }
}

/** Limits of the session table (all counted when hit). */
export interface SessionLimits {
  maxSessions: number;
  maxTemplatesPerSession: number;
}

/**
 * All exporter sessions. Lookup per datagram goes through two Maps (address string → numeric
 * key → session) so the hot path builds no string keys.
 */
export class SessionTable {
  private readonly byIp = new Map<string, Map<number, ExporterSession>>();
  private count = 0;

  constructor(
    private readonly limits: SessionLimits,
    /** Include the exporter's UDP source port in the key (RFC 7011 §8.4 Transport Session). */
    private readonly scopeByPort: boolean,
  ) {}

  get size(): number {
    return this.count;
  }

  private key(port: number, version: 9 | 10, domain: number): number {
    // port (16 bits) · version (1 bit) · domain (32 bits) = 49 bits: exact in a float64.
    const p = this.scopeByPort ? port : 0;
    return (p * 2 + (version === 10 ? 1 : 0)) * 0x1_0000_0000 + (domain >>> 0);
  }

  /** The session, created when new; undefined when the session limit is reached. */
  get(ip: string, port: number, version: 9 | 10, domain: number, nowMs: number): ExporterSession | undefined {
    let inner = this.byIp.get(ip);
    const k = this.key(port, version, domain);
    let s = inner?.get(k);
    if (s) {
      s.lastSeenMs = nowMs;
      return s;
    }
    if (this.count >= this.limits.maxSessions) return undefined;
    if (!inner) {
      inner = new Map();
      this.byIp.set(ip, inner);
    }
    s = new ExporterSession(ip, port, version, domain, nowMs);
    inner.set(k, s);
    this.count++;
    return s;
  }

  /** Every session (for sweeps and stats). */
  *sessions(): IterableIterator<ExporterSession> {
    for (const inner of this.byIp.values()) yield* inner.values();
  }

  /**
   * Expires templates not refreshed within `templateTimeoutMs` and drops sessions idle that long
   * with no template left. Returns the number of templates expired.
   */
  sweep(nowMs: number, templateTimeoutMs: number): number {
    let expired = 0;
    for (const [ip, inner] of this.byIp) {
      for (const [k, s] of inner) {
        for (const [id, t] of s.templates) {
          if (nowMs - t.refreshedMs > templateTimeoutMs) {
            s.templates.delete(id);
            expired++;
          }
        }
        if (s.templates.size === 0 && nowMs - s.lastSeenMs > templateTimeoutMs) {
          inner.delete(k);
          this.count--;
        }
      }
      if (inner.size === 0) this.byIp.delete(ip);
    }
    return expired;
  }

  templateCount(): number {
    let n = 0;
    for (const s of this.sessions()) n += s.templates.size;
    return n;
  }
}
