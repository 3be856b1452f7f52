import type { RawPacket } from '../raw-packet.js';

/** A capture file format reader: fills the shared RawPacket with the next frame. */
export interface CaptureReader {
  /** Human name of the format, e.g. `pcap (µs, little-endian)`, `pcapng`. */
  readonly format: string;
  /** Fills `p` and returns true, or returns false at the end (or when the file cannot continue). */
  next(p: RawPacket): boolean;
  /** Counters of records skipped or conditions met, by kind (e.g. `pcap.record_too_large`). */
  readonly errors: Map<string, number>;
  /** Blocks skipped on purpose (statistics, name resolution, custom blocks), by kind: not errors. */
  readonly skipped: Map<string, number>;
  /** Bytes consumed so far (for progress). */
  readonly offset: number;
  close(): void;
}

export function bump(errors: Map<string, number>, kind: string, n = 1): void {
  errors.set(kind, (errors.get(kind) ?? 0) + n);
}

/** Largest frame accepted from a capture file. libpcap's own maximum snapshot length is 256 KiB. */
export const MAX_FRAME_BYTES = 256 * 1024;
