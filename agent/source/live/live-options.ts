/** Options of the live capture source, with the defaults a sensor on a mirror port wants. */

/** Where the live source writes its (rare) state-change lines; pino loggers fit. */
export interface LiveLogger {
  info(msg: string): void;
  warn(msg: string): void;
}

export interface LiveSourceOptions {
  /** Interface names; packets carry the position in this list as `ifIndex`. */
  interfaces: readonly string[];
  /** BPF filter in tcpdump syntax applied on every interface; '' or absent = everything. */
  filter?: string;
  /** Bytes kept per frame (default 262144, libpcap's maximum). */
  snapLen?: number;
  /** Promiscuous mode (default true: a sensor usually watches a mirror port). */
  promiscuous?: boolean;
  /** Kernel ring per interface in bytes (default 32 MiB: ~0.1 s of 1 Gbit/s line rate). */
  bufferBytes?: number;
  /** Hand over every packet at once instead of per kernel block (default false: batches). */
  immediate?: boolean;
  /** Longest delay before a partly filled kernel block is delivered, ms (default 100). */
  timeoutMs?: number;
  /** Batch buffer shared with the addon per interface, bytes (default 2 MiB). */
  batchBytes?: number;
  /** How often pcap_stats is read into stats(), ms (default 5000). */
  statsIntervalMs?: number;
  /** First reopen delay after an interface goes away, ms (default 500); doubles per failure. */
  reopenMinMs?: number;
  /** Longest reopen delay, ms (default 30000). */
  reopenMaxMs?: number;
  /** Default: one line per event to stderr. */
  logger?: LiveLogger;
}

/** LiveSourceOptions with every default filled in. */
export interface ResolvedLiveOptions {
  interfaces: readonly string[];
  filter: string;
  snapLen: number;
  promiscuous: boolean;
  bufferBytes: number;
  immediate: boolean;
  timeoutMs: number;
  batchBytes: number;
  statsIntervalMs: number;
  reopenMinMs: number;
  reopenMaxMs: number;
  logger: LiveLogger;
}

const stderrLogger: LiveLogger = {
  info: (msg) => process.stderr.write(`${msg}\n`),
  warn: (msg) => process.stderr.write(`${msg}\n`),
};

/** Fills defaults and rejects what can never work (programmer or config errors). */
export function resolveLiveOptions(o: LiveSourceOptions): ResolvedLiveOptions {
  if (o.interfaces.length === 0) throw new Error('live capture needs at least one interface');
  const seen = new Set<string>();
  for (const name of o.interfaces) {
    if (name.length === 0) throw new Error('live capture interface name is empty');
    if (seen.has(name)) throw new Error(`live capture interface ${name} is listed twice`);
    seen.add(name);
  }
  const reopenMinMs = o.reopenMinMs ?? 500;
  return {
    interfaces: [...o.interfaces],
    filter: o.filter ?? '',
    snapLen: o.snapLen ?? 262144,
    promiscuous: o.promiscuous ?? true,
    bufferBytes: o.bufferBytes ?? 32 * 1024 * 1024,
    immediate: o.immediate ?? false,
    timeoutMs: o.timeoutMs ?? 100,
    batchBytes: o.batchBytes ?? 2 * 1024 * 1024,
    statsIntervalMs: o.statsIntervalMs ?? 5000,
    reopenMinMs,
    reopenMaxMs: Math.max(reopenMinMs, o.reopenMaxMs ?? 30000),
    logger: o.logger ?? stderrLogger,
  };
}
