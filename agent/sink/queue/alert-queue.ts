/**
 * The durable alert queue between detection and the MQTT publisher: alerts are appended before
 * they are published and removed only after the broker's PUBACK. One interface, two
 * implementations (memory-queue.ts, disk-queue.ts), one contract test suite
 * (test/sink-queue-contract.test.ts).
 *
 * Life of a record: append → queued → next() hands it out (in flight) → ack(seq) removes it.
 * After a reconnect the publisher calls requeueInflight() so unacknowledged records go out again
 * in order (at-least-once; collectors de-duplicate by alert id).
 *
 * Size bound: `maxBytes` of live records (queued + in flight). When an append would exceed it,
 * records are dropped "oldest lowest-severity first" among the queued records and the new one;
 * in-flight records are never dropped. Every drop is counted per severity.
 */

/** Severity rank 1..4 (low, medium, high, critical), as SEVERITY_RANK in alert/alert.ts. */
export type SeverityRank = 1 | 2 | 3 | 4;

/** A record handed out for sending. */
export interface QueuedRecord {
  /** Queue sequence number: increasing in append order, never reused within a queue directory. */
  readonly seq: number;
  /** Alert id (ULID), for de-duplication and logs. */
  readonly id: string;
  readonly severity: SeverityRank;
  /** The encoded alert. */
  readonly payload: Uint8Array;
}

/** Cumulative counters since the queue was opened. */
export interface QueueCounters {
  /** Records accepted by append() (a record dropped right away by the size policy counts too). */
  appended: number;
  /** Records returned by next(), resends included. */
  handedOut: number;
  acked: number;
  /** In-flight records returned to the queue by requeueInflight(). */
  requeued: number;
  /** Records removed by the size policy (or larger than the bound), total and per severity low..critical. */
  dropped: number;
  droppedBySeverity: [number, number, number, number];
  /** Disk: live records found when the queue was opened. */
  recovered: number;
  /** Disk: torn tail writes (a record cut short by a crash) skipped. */
  torn: number;
  /** Disk: corrupt regions (checksum or framing mismatch) skipped. */
  corrupt: number;
  /** Disk: fsync calls (data and state). */
  fsyncs: number;
  /** Disk: segments rewritten to keep the disk use within the bound. */
  compactions: number;
  /** Disk: failed writes; the record is then kept in memory only. */
  writeErrors: number;
}

/** Called once per dropped record, so the owner can log (rate-limited) what the policy did. */
export type DropListener = (record: { seq: number; id: string; severity: SeverityRank }) => void;

export interface AlertQueue {
  /**
   * Appends one encoded alert; returns its sequence number. Never blocks on the network; may
   * drop older records (or this one) to stay within the size bound.
   */
  append(payload: Uint8Array, severity: SeverityRank, id: string): number;
  /** Hands out up to `max` queued records in sequence order and marks them in flight. */
  next(max: number): QueuedRecord[];
  /** Removes a record (after PUBACK); false when the seq is unknown or already gone. */
  ack(seq: number): boolean;
  /** Returns every in-flight record to the queue (connection lost); returns how many. */
  requeueInflight(): number;
  /** Live records: queued + in flight. */
  readonly depth: number;
  /** Bytes of live records, as counted against maxBytes. */
  readonly bytes: number;
  readonly inflight: number;
  /** Queued records not handed out yet. */
  readonly pending: number;
  readonly maxBytes: number;
  counters(): Readonly<QueueCounters>;
  /** Makes everything appended and acknowledged so far durable now (disk; no-op in memory). */
  sync(): void;
  /** Syncs and releases files and timers; the queue must not be used afterwards. */
  close(): void;
}

/** Fixed bytes counted per record on top of id and payload (the disk framing), same for both implementations. */
export const RECORD_OVERHEAD = 24;

/** Largest payload accepted; anything bigger is dropped (an alert is normally < 2 KiB). */
export const MAX_PAYLOAD_BYTES = 4 * 1024 * 1024;

/** Ids longer than this are truncated in the queue (the payload keeps the full alert). */
export const MAX_ID_BYTES = 255;

/** Bytes a record counts against the bound. */
export function recordSize(idBytes: number, payloadBytes: number): number {
  return RECORD_OVERHEAD + idBytes + payloadBytes;
}

export function emptyCounters(): QueueCounters {
  return {
    appended: 0,
    handedOut: 0,
    acked: 0,
    requeued: 0,
    dropped: 0,
    droppedBySeverity: [0, 0, 0, 0],
    recovered: 0,
    torn: 0,
    corrupt: 0,
    fsyncs: 0,
    compactions: 0,
    writeErrors: 0,
  };
}

/** A severity rank from any number: clamped into 1..4. */
export function toSeverityRank(n: number): SeverityRank {
  return (n >= 4 ? 4 : n >= 3 ? 3 : n >= 2 ? 2 : 1) as SeverityRank;
}

/** The id as stored by a queue: UTF-8, cut at MAX_ID_BYTES. */
export function queueIdBytes(id: string): Buffer {
  const b = Buffer.from(id, 'utf8');
  return b.length > MAX_ID_BYTES ? b.subarray(0, MAX_ID_BYTES) : b;
}
