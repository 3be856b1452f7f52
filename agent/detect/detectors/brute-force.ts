/**
 * Brute force on authentication services (T1110, credential access).
 *
 * Per (source, server, service): short connections to an authentication service (SSH, RDP, FTP,
 * Telnet, SMTP/IMAP/POP, VNC, databases, LDAP) — each one login attempt or a few, closed within
 * `maxAttemptSec` without a session's worth of bytes — and HTTP authentication failures (401/407)
 * or login-form POSTs seen as `http.response` events. Fires when `minAttempts` fall within
 * `windowSec`. Encrypted protocols do not show the failure itself; the cadence of short
 * connections does.
 */
import type { FlowRecord } from '../../flow/flow-record.js';
import type { DissectEvent } from '../../dissect/dissector.js';
import type { ZoneName } from '../../util/zones.js';
import type { DetectContext, Detector, DetectorFactory, FlowFacts } from '../detector.js';
import { BoundedMap } from '../state/bounded-map.js';
import { EventWindow } from '../state/event-window.js';
import { appOf, asNumber, asString } from '../app-meta.js';
import { fmtCount, fmtDuration, hostPort, unit } from '../reason.js';

export interface BruteForceConfig {
  windowSec: number;
  /** Connection attempts (or HTTP failures) within the window that fire. */
  minAttempts: number;
  /** A connection longer than this is a session, not an attempt. */
  maxAttemptSec: number;
  /** Client payload above this is a session, not an attempt. */
  maxAttemptBytes: number;
  /** Server ports of authentication services (SSH is also recognised on any port by its banner). */
  authPorts: number[];
  /** Case-insensitive regular expression for login endpoints (HTTP POSTs counted as attempts). */
  loginPath: string;
  /** Attempts between two candidates of one ongoing brute force. */
  emitEvery: number;
  maxPairs: number;
}

const DEFAULTS: BruteForceConfig = {
  windowSec: 120,
  minAttempts: 10,
  maxAttemptSec: 30,
  maxAttemptBytes: 16_384,
  authPorts: [21, 22, 23, 25, 110, 143, 389, 465, 587, 636, 993, 995, 1433, 3306, 3389, 5432, 5900],
  loginPath: '(log-?in|sign-?in|logon|auth|session|wp-login|xmlrpc|token|password)',
  emitEvery: 10,
  maxPairs: 8192,
};

const SERVICE: Record<number, string> = {
  21: 'ftp', 22: 'ssh', 23: 'telnet', 25: 'smtp', 110: 'pop3', 143: 'imap', 389: 'ldap', 465: 'smtp', 587: 'smtp',
  636: 'ldap', 993: 'imap', 995: 'pop3', 1433: 'mssql', 3306: 'mysql', 3389: 'rdp', 5432: 'postgresql', 5900: 'vnc',
};

interface Target {
  src: string;
  srcZone: ZoneName;
  dst: string;
  dstZone: ZoneName;
  port: number;
  service: string;
  attempts: EventWindow;
  emittedTotal: number;
  lastUid: string | undefined;
}

class BruteForce implements Detector {
  readonly name = 'brute_force';
  private readonly targets: BoundedMap<string, Target>;
  private readonly ports: Set<number>;
  private readonly login: RegExp;
  private readonly windowUs: number;

  constructor(
    private readonly cfg: BruteForceConfig,
    private readonly ctx: DetectContext,
  ) {
    this.targets = new BoundedMap(cfg.maxPairs);
    this.ports = new Set(cfg.authPorts);
    this.login = new RegExp(cfg.loginPath, 'i');
    this.windowUs = cfg.windowSec * 1e6;
  }

  private target(src: string, srcZone: ZoneName, dst: string, dstZone: ZoneName, port: number, service: string): Target {
    const key = `${src}|${dst}|${port}|${service}`;
    let t = this.targets.get(key);
    if (!t) {
      t = { src, srcZone, dst, dstZone, port, service, attempts: new EventWindow(64), emittedTotal: 0, lastUid: undefined };
      this.targets.set(key, t);
    }
    return t;
  }

  record(r: FlowRecord, zones: { client: ZoneName; server: ZoneName }): void {
    if (r.protocol !== 6 || r.partial || !r.tcp || !r.tcp.handshake) return;
    const ssh = appOf(r, 'ssh');
    const service = ssh ? 'ssh' : SERVICE[r.server.port];
    if (!service || (!ssh && !this.ports.has(r.server.port))) return;
    if (r.endUs - r.startUs > this.cfg.maxAttemptSec * 1e6 || r.c2s.payloadBytes > this.cfg.maxAttemptBytes) return;
    const t = this.target(r.client.ip, zones.client, r.server.ip, zones.server, r.server.port, service);
    t.attempts.add(r.startUs);
    t.lastUid = r.uid;
    this.evaluate(t, r.endUs);
  }

  event(e: DissectEvent, f: FlowFacts): void {
    if (e.type !== 'http.response') return;
    const status = asNumber(e.data.status);
    if (status === undefined) return;
    const method = asString(e.data.method)?.toUpperCase();
    const uri = asString(e.data.uri) ?? '';
    const authFailure = status === 401 || status === 407;
    const loginPost = method === 'POST' && this.login.test(uri) && (status === 200 || status === 401 || status === 403 || status === 302 || status === 303);
    if (!authFailure && !loginPost) return;
    const t = this.target(f.clientIp, f.clientZone, f.serverIp, f.serverZone, f.serverPort, 'http');
    t.attempts.add(e.tsUs);
    t.lastUid = f.uid;
    this.evaluate(t, e.tsUs);
  }

  /** End of input: alerts in progress get their latest numbers out. */
  finish(): void {
    for (const t of this.targets.values()) if (t.emittedTotal > 0 && t.attempts.total > t.emittedTotal) this.evaluate(t, t.attempts.lastUs, true);
  }

  private evaluate(t: Target, nowUs: number, force = false): void {
    const from = nowUs - this.windowUs;
    const n = t.attempts.countSince(from);
    if (!force && n < this.cfg.minAttempts) return;
    if (!force && t.emittedTotal > 0 && t.attempts.total - t.emittedTotal < this.cfg.emitEvery) return;
    const delta = t.attempts.total - t.emittedTotal;
    t.emittedTotal = t.attempts.total;
    const first = t.attempts.firstSince(from);
    const span = Math.max(1, t.attempts.lastUs - first);
    const rate = (n / span) * 60e6;
    const what = t.service === 'http' ? 'HTTP authentication failures / login POSTs' : `short ${t.service} connections`;
    const reason = `${t.src} → ${hostPort(t.dst, t.port)}: ${fmtCount(n)} ${what} in ${fmtDuration(span)} (${rate.toFixed(0)}/min, ${fmtCount(t.attempts.total)} in total)`;
    const score = unit(0.6 + 0.3 * Math.min(1, Math.log10(n / this.cfg.minAttempts + 1) / Math.log10(11)) + (t.srcZone === 'untrust' ? 0.1 : 0));
    this.ctx.emit({
      detector: this.name,
      category: 'brute_force',
      technique: 'T1110',
      tactic: 'credential-access',
      severity: n >= 10 * this.cfg.minAttempts ? 'high' : 'medium',
      score,
      source: { ip: t.src, zone: t.srcZone },
      destination: { ip: t.dst, port: t.port, zone: t.dstZone },
      appProtocol: t.service,
      evidence: { values: { attempts_in_window: n, attempts_total: t.attempts.total, window_s: this.cfg.windowSec, per_minute: Math.round(rate), service: t.service } },
      reason,
      firstUs: first,
      lastUs: t.attempts.lastUs,
      count: Math.max(1, delta),
      ...(t.lastUid ? { flowUid: t.lastUid } : {}),
    });
  }

  state() {
    return this.targets.state(64 * 8 + 300);
  }
}

export const bruteForce: DetectorFactory<BruteForceConfig> = {
  name: 'brute_force',
  description: 'many short connections to authentication services, HTTP 401s and login POSTs per source and server',
  mitre: [{ technique: 'T1110', tactic: 'credential-access' }],
  defaults: DEFAULTS,
  create: (cfg, ctx) => new BruteForce(cfg, ctx),
};
