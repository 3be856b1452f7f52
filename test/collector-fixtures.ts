/**
 * Alerts and helpers shared by the collector and dashboard tests: varied, deterministic alerts
 * (public sources that the bundled GeoIP database places in known countries, private sources,
 * every severity, several categories and techniques), and a collector on a temp database.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Alert, Severity } from '../agent/alert/alert.js';
import { ulid } from '../agent/util/ulid.js';
import { Collector, type CollectorLog, type CollectorOptions } from '../collector/collector.js';

/** Public addresses and the country the bundled GeoLite2 database gives them (checked in collector-store). */
export const PUBLIC_SOURCES: readonly [string, string][] = [
  ['185.220.101.34', 'DE'],
  ['61.177.172.60', 'CN'],
  ['177.54.144.9', 'BR'],
  ['45.155.205.233', 'RU'],
  ['121.142.87.218', 'KR'],
  ['2.56.57.10', 'SG'],
];

const KINDS = [
  { category: 'scan', detector: 'port_scan', technique: 'T1046', tactic: 'discovery', port: 0, proto: '' },
  { category: 'brute_force', detector: 'ssh_bruteforce', technique: 'T1110.001', tactic: 'credential-access', port: 22, proto: 'ssh' },
  { category: 'c2', detector: 'beacon', technique: 'T1071.001', tactic: 'command-and-control', port: 443, proto: 'tls' },
  { category: 'tunnel', detector: 'dns_tunnel', technique: 'T1071.004', tactic: 'command-and-control', port: 53, proto: 'dns' },
] as const;

const SEVERITIES: readonly Severity[] = ['low', 'medium', 'high', 'critical'];

/**
 * Alert k: source cycles over PUBLIC_SOURCES and one private address (every 7th), kind over
 * KINDS, severity over the four, score = 0.05 + (k % 19) / 20; time = baseUs + k seconds.
 */
export function variedAlert(k: number, baseUs: number, over: Partial<Alert> = {}): Alert {
  const kind = KINDS[k % KINDS.length]!;
  const src = k % 7 === 6 ? '10.16.2.20' : PUBLIC_SOURCES[k % PUBLIC_SOURCES.length]![0];
  const a: Alert = {
    id: ulid(),
    firstUs: baseUs + k * 1e6,
    lastUs: baseUs + k * 1e6 + 500_000,
    severity: SEVERITIES[k % 4]!,
    score: Math.round((0.05 + (k % 19) / 20) * 100) / 100,
    category: kind.category,
    detector: kind.detector,
    technique: kind.technique,
    tactic: kind.tactic,
    source: { ip: src, zone: src.startsWith('10.') ? 'trust' : 'untrust' },
    destination: { ip: '10.16.1.10', zone: 'trust', ...(kind.port ? { port: kind.port } : {}) },
    evidence: kind.proto === 'dns' ? { dnsName: `q${k}.t.tunnel.example` } : kind.proto === 'tls' ? { sni: `c2-${k % 3}.example` } : { values: { ports: k } },
    reason: `alert ${k}: ${kind.detector} from ${src}`,
    count: 1,
    ...over,
  };
  if (kind.proto) a.appProtocol = kind.proto;
  return a;
}

export interface TempDir {
  path: string;
  remove(): void;
}

export function tempDir(prefix: string): TempDir {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

export function memoryLog(): CollectorLog & { lines: string[] } {
  const lines: string[] = [];
  return { lines, info: (m) => lines.push(`info ${m}`), warn: (m) => lines.push(`warn ${m}`), error: (m) => lines.push(`error ${m}`) };
}

/** Collector options for tests: HTTP on a free loopback port, fast reconnects. */
export function testOptions(brokerUrl: string, dbPath: string, over: Partial<CollectorOptions> = {}): CollectorOptions {
  return {
    brokerUrl,
    dbPath,
    httpHost: '127.0.0.1',
    httpPort: 0,
    group: 'picket-collectors',
    topicPrefix: 'picket/v1',
    protocol: 'auto',
    clientId: `test-collector-${process.pid}-${Math.random().toString(36).slice(2, 8)}`,
    retentionDays: 30,
    maxDbMb: 0,
    staleAfterS: 120,
    retentionIntervalMs: 60_000,
    reconnectMinMs: 50,
    reconnectMaxMs: 500,
    live: { flushMs: 50 },
    ...over,
  };
}

/** Polls `pred` every 20 ms until it holds or `timeoutMs` passes (then throws naming `what`). */
export async function until(pred: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export async function startCollector(brokerUrl: string, dir: string, over: Partial<CollectorOptions> = {}, log = memoryLog()): Promise<{ collector: Collector; log: typeof log }> {
  const collector = await Collector.start(testOptions(brokerUrl, join(dir, `c-${Math.random().toString(36).slice(2, 8)}.db`), over), { log });
  return { collector, log };
}
