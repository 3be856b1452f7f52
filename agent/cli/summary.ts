import type { DecodeStats } from '../decode/decode-stats.js';
import type { FlowTableStats } from '../flow/flow-table.js';
import type { SourceStats } from '../source/packet-source.js';

function fmt(n: number): string {
  return n.toLocaleString('en-US');
}

function rate(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} k`;
  return n.toFixed(0);
}

/** Errors by kind, most frequent first, e.g. `tcp.truncated 7, ipv4.bad_total_length 2`. */
export function formatCounts(counts: Iterable<[string, number]>): string {
  return [...counts]
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${fmt(v)}`)
    .join(', ');
}

export interface RunSummary {
  files: number;
  source: SourceStats;
  decode: DecodeStats;
  flows: FlowTableStats;
  elapsedMs: number;
  extra?: string[];
}

/** The few lines `picket inspect` prints to stderr at the end. */
export function formatSummary(s: RunSummary): string {
  const secs = s.elapsedMs / 1000;
  const pps = secs > 0 ? s.source.packets / secs : 0;
  const d = s.decode;
  const errors = new Map<string, number>([...Object.entries(s.source.errors), ...d.errors]);
  let errorTotal = 0;
  for (const v of errors.values()) errorTotal += v;
  const lines = [
    `picket: ${fmt(s.source.packets)} packets (${fmt(s.source.bytes)} bytes) from ${s.files} file${s.files === 1 ? '' : 's'} in ${secs.toFixed(2)} s = ${rate(pps)} packets/s`,
    `  decoded: ${fmt(d.ipv4)} IPv4, ${fmt(d.ipv6)} IPv6, ${fmt(d.nonIp)} non-IP, ${fmt(d.fragments)} fragments (${fmt(d.reassembled)} datagrams reassembled)`,
    `  flows: ${fmt(s.flows.created)} created, ${fmt(s.flows.exported)} exported, ${fmt(s.flows.evicted)} evicted, ${fmt(s.flows.activeTimeouts)} interim (active timeout)`,
    `  errors: ${fmt(errorTotal)}${errorTotal ? ` (${formatCounts(errors)})` : ''}`,
  ];
  if (d.unknownLinkTypes.size > 0) {
    lines.push(`  skipped unknown link types: ${[...d.unknownLinkTypes].map(([t, n]) => `${t} (${fmt(n)} packets)`).join(', ')}`);
  }
  if (s.extra) lines.push(...s.extra);
  return lines.join('\n') + '\n';
}
