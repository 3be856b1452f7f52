/**
 * Types for the native libpcap addon (native/src) and the loader that finds its compiled file.
 *
 * The addon delivers frames in batches: `onBatch(n)` is called with n frames copied back to back
 * into `capture.buffer`, described by `capture.meta` (META_STRIDE doubles per frame). Both arrays
 * are reused for the next batch as soon as `onBatch` returns, so consumers copy what they keep.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Classification of a libpcap failure, set as `err.kind` by the addon. */
export type PcapErrorKind =
  | 'permission'
  | 'no_such_device'
  | 'iface_down'
  | 'filter'
  | 'closed'
  | 'invalid'
  | 'other';

/** Options of `open()`; omitted values take the addon defaults shown. */
export interface PcapOpenOptions {
  device: string;
  /** Bytes kept per frame, 64..262144 (default 262144). */
  snapLen?: number;
  /** Default false. */
  promiscuous?: boolean;
  /** Kernel ring size in bytes, 64 KiB..1 GiB (default 16 MiB). */
  bufferBytes?: number;
  /** Deliver each packet as soon as it arrives instead of per filled block (default false). */
  immediate?: boolean;
  /** Longest wait before a partly filled kernel block is handed over, 1..60000 ms (default 100). */
  timeoutMs?: number;
  /** BPF expression (tcpdump syntax); empty = everything. */
  filter?: string;
  /** Size of the batch buffer shared with JS, 64 KiB..64 MiB, at least snapLen (default 1 MiB). */
  batchBytes?: number;
  /** Ask for nanosecond timestamps (default true; falls back to microseconds). */
  nanoseconds?: boolean;
}

/** pcap_stats counters since the capture was opened (unsigned 32-bit, they wrap). */
export interface PcapStats {
  /** ps_recv: packets that passed the filter (on Linux including those dropped). */
  received: number;
  /** ps_drop: passed the filter but the kernel ring was full. */
  dropped: number;
  /** ps_ifdrop: dropped by the interface/driver. */
  ifDropped: number;
}

/** An open capture; polls on the Node event loop until `close()`. */
export interface PcapCapture {
  readonly device: string;
  /** pcap_activate warning text, or '' (e.g. promiscuous mode not supported). */
  readonly warning: string;
  readonly snapLen: number;
  /** True when meta timestamps carry nanoseconds in the fraction field, false for microseconds. */
  readonly nanoseconds: boolean;
  /** pcap_datalink(): the LINKTYPE / DLT value of the interface. */
  readonly linkType: number;
  /** Batch bytes: frame i is buffer[meta[i*5], meta[i*5] + meta[i*5+1]). */
  readonly buffer: Buffer;
  /** Per frame: [offset, capLen, wireLen, tsSec, tsFrac]. */
  readonly meta: Float64Array;
  readonly closed: boolean;
  stats(): PcapStats;
  /** Replaces the BPF filter; throws kind 'filter' with libpcap's text. Not callable inside onBatch. */
  setFilter(expression: string): void;
  /** Stops reading from the kernel (the ring fills and then drops, counted in stats). */
  pause(): void;
  resume(): void;
  /** Idempotent; safe inside onBatch (takes effect when the batch returns). */
  close(): void;
}

/** Error thrown by `open()`/`stats()`/`setFilter()` or passed to `onError`. */
export interface PcapError extends Error {
  kind: PcapErrorKind;
  pcapStatus: number;
}

export interface PcapInterface {
  name: string;
  description: string;
  up: boolean;
  running: boolean;
  loopback: boolean;
}

/** The module exported by picket_pcap.node. */
export interface PcapAddon {
  open(options: PcapOpenOptions, onBatch: (count: number) => void, onError: (err: PcapError) => void): PcapCapture;
  listInterfaces(): PcapInterface[];
  readonly libVersion: string;
}

/** Doubles per frame in `PcapCapture.meta`. */
export const META_STRIDE = 5;
export const META_OFFSET = 0;
export const META_CAPLEN = 1;
export const META_WIRELEN = 2;
export const META_TS_SEC = 3;
export const META_TS_FRAC = 4;

const ADDON_RELATIVE = join('native', 'build', 'Release', 'picket_pcap.node');

let cached: PcapAddon | undefined;

/**
 * Loads the compiled addon, searching upwards from this file for native/build/Release (works from
 * the sources and from dist/). Throws one actionable line when it was never built.
 */
export function loadPcapAddon(): PcapAddon {
  if (cached !== undefined) return cached;
  const path = findAddon(dirname(fileURLToPath(import.meta.url)));
  if (path === undefined) {
    throw new Error(
      `live capture addon is not built (${ADDON_RELATIVE} not found): install a C++ compiler and ` +
        'libpcap headers (Debian: apt-get install build-essential libpcap-dev), then run `npm run build:native`',
    );
  }
  const require = createRequire(import.meta.url);
  cached = require(path) as PcapAddon;
  return cached;
}

function findAddon(start: string): string | undefined {
  let dir = start;
  // The package root is at most a few levels up (agent/source/live or dist/agent/source/live).
  for (let i = 0; i < 8; i++) {
    const candidate = join(dir, ADDON_RELATIVE);
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return undefined;
}

/** True when `e` looks like an error raised by the addon (has a string `kind`). */
export function isPcapError(e: unknown): e is PcapError {
  return e instanceof Error && typeof (e as Partial<PcapError>).kind === 'string';
}
