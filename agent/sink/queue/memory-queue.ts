/**
 * The in-memory AlertQueue: same ordering, in-flight and drop policy as the disk queue, nothing
 * survives the process. Used when no --queue-dir is given, and as the reference in the contract
 * tests.
 */
import { queueIdBytes, recordSize, type AlertQueue, type DropListener, type SeverityRank } from './alert-queue.js';
import { QUEUED, QueueCore, type CoreEntry } from './queue-core.js';

interface MemoryEntry extends CoreEntry {
  payload: Uint8Array | null;
}

export interface MemoryQueueOptions {
  /** Bound on live record bytes (default 64 MiB). */
  maxBytes?: number;
  onDrop?: DropListener;
}

export class MemoryQueue extends QueueCore<MemoryEntry> implements AlertQueue {
  private nextSeq = 1;

  constructor(options: MemoryQueueOptions = {}) {
    super(options.maxBytes ?? 64 * 1024 * 1024, options.onDrop);
  }

  append(payload: Uint8Array, severity: SeverityRank, id: string): number {
    this.assertOpen();
    const seq = this.nextSeq++;
    const idBytes = queueIdBytes(id);
    const qid = idBytes.length === id.length ? id : idBytes.toString('utf8');
    const size = recordSize(idBytes.length, payload.length);
    this.stats.appended++;
    if (!this.makeRoom(size, severity)) {
      this.countDrop(seq, qid, severity);
      return seq;
    }
    // Copy: the caller may reuse its buffer.
    this.insert({ seq, id: qid, severity, size, state: QUEUED, payload: Uint8Array.prototype.slice.call(payload) });
    return seq;
  }

  protected payloads(entries: readonly MemoryEntry[]): (Uint8Array | null)[] {
    return entries.map((e) => e.payload);
  }

  protected released(entry: MemoryEntry): void {
    entry.payload = null;
  }

  sync(): void {}

  close(): void {
    this.closed = true;
  }
}
