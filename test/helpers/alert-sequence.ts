/** The deterministic alert sequence the publishing tests and benchmark raise. */
import type { Alert, Severity } from '../../agent/alert/alert.js';
import { ulid } from '../../agent/util/ulid.js';

const SEVERITIES: readonly Severity[] = ['low', 'medium', 'high', 'critical'];

/** Alert number k of the deterministic sequence (its id is a fresh ULID). */
export function alertFor(k: number, sensorId: string, site: string, severity?: Severity): Alert {
  return {
    id: ulid(),
    sensorId,
    site,
    firstUs: 1_764_000_000_000_000 + k * 1_000_000,
    lastUs: 1_764_000_000_500_000 + k * 1_000_000,
    severity: severity ?? SEVERITIES[k % 4]!,
    score: (k % 100) / 100,
    category: 'scan',
    detector: 'port_scan',
    technique: 'T1046',
    tactic: 'discovery',
    source: { ip: `10.0.${(k >> 8) & 255}.${k & 255}`, port: 40_000 + (k % 20_000), zone: 'trust' },
    destination: { ip: '198.51.100.7', port: 22, zone: 'untrust' },
    appProtocol: 'ssh',
    evidence: { values: { k, ports: k % 1000 }, dnsName: `h${k}.example` },
    reason: `alert #${k}: 10.0.${(k >> 8) & 255}.${k & 255} probed ${k % 1000} ports`,
    count: k + 1,
  };
}

