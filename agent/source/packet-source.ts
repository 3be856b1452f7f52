import type { PacketSink } from './raw-packet.js';

/** Counters every source reports; live sources add kernel drop counters. */
export interface SourceStats {
  packets: number;
  bytes: number;
  /** Packets the kernel or interface dropped before we saw them (pcap_stats ps_drop + ps_ifdrop). */
  drops: number;
  /** Records the source could not parse (truncated record headers, bad block lengths...). */
  errors: Record<string, number>;
  /** Records skipped on purpose (e.g. pcapng statistics blocks), by kind; not errors. */
  skipped?: Record<string, number>;
}

/**
 * Anything that produces packets: capture files, live interfaces. A source pushes packets into
 * the sink until it is exhausted or `signal` aborts, then resolves with its final counters.
 */
export interface PacketSource {
  readonly name: string;
  run(sink: PacketSink, signal?: AbortSignal): Promise<SourceStats>;
  /** Current counters while running (for metrics and status). */
  stats(): SourceStats;
}

export function emptyStats(): SourceStats {
  return { packets: 0, bytes: 0, drops: 0, errors: {} };
}

export function countError(stats: SourceStats, kind: string, n = 1): void {
  stats.errors[kind] = (stats.errors[kind] ?? 0) + n;
}
