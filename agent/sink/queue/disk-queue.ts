/**
 * The on-disk AlertQueue (`--queue-dir`). Records are appended to segment files
 * (`seg-NNNNNNNNNNNN.log`, framing in segment-format.ts) with one write per record, so a record
 * survives a killed process as soon as append() returns; fsync (power loss) follows the policy:
 * `always` (every record), `batch` (every N records or T ms, whichever first) or `none`.
 * Acknowledgements and drops go to a small journal (state-journal.ts) written every T ms, so after
 * a crash at most the records acknowledged in the last T ms are sent again (at-least-once).
 *
 * On open, every segment is scanned: records already acknowledged or dropped are skipped, torn
 * tails (cut by a crash) are truncated and counted, corrupt regions are skipped and counted, and
 * the rest is replayed in sequence order. A segment is deleted when none of its records is live;
 * when acknowledged or dropped records scattered over segments push the disk use past the bound,
 * the sparsest segment's live records are rewritten at the head (keeping their sequence numbers)
 * and the segment deleted, so disk use stays within maxBytes plus two segments.
 */
import {
  closeSync,
  constants,
  fdatasync,
  fdatasyncSync,
  fsync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { queueIdBytes, recordSize, type AlertQueue, type DropListener, type SeverityRank } from './alert-queue.js';
import { DEAD, QUEUED, QueueCore, type CoreEntry } from './queue-core.js';
import { abandonQueueLock, acquireQueueLock, releaseQueueLock } from './queue-lock.js';
import { recordAt, scanSegment, writeRecord } from './segment-format.js';
import { fsyncDir, JOURNAL_COMPACT_BYTES, readJournal, StateJournal } from './state-journal.js';

export type FsyncMode = 'always' | 'batch' | 'none';

export interface DiskQueueOptions {
  dir: string;
  /** Bound on live record bytes (default 256 MiB). Disk use stays below this plus two segments. */
  maxBytes?: number;
  /** Segment file size before rolling to a new one (default 8 MiB). */
  segmentBytes?: number;
  /** Default `batch`. */
  fsync?: FsyncMode;
  /** batch: fsync after this many records (default 512). */
  fsyncEveryRecords?: number;
  /** batch: fsync at most this long after a record (default 200 ms); also how often ack state is written. */
  fsyncEveryMs?: number;
  /** Payload bytes kept in memory for fast sending (default 4 MiB); the rest is read back from disk. */
  cacheBytes?: number;
  /** Rewrite the ack-state journal past this size (default 256 KiB). */
  journalCompactBytes?: number;
  onDrop?: DropListener;
  /** Called with the OS message of each failed write or fsync (the record stays in memory). */
  onWriteError?: (message: string) => void;
}

interface Segment {
  no: number;
  path: string;
  fd: number;
  /** Bytes written (file size). */
  size: number;
  live: number;
  liveBytes: number;
}

interface DiskEntry extends CoreEntry {
  /** null when the write failed and the record lives in memory only. */
  seg: Segment | null;
  off: number;
  payloadOff: number;
  payloadLen: number;
  /** Cached (or memory-only) payload. */
  payload: Uint8Array | null;
}

const SEGMENT_NAME = /^seg-(\d{12})\.log$/;
/** Relocations attempted per append at most (each frees one segment). */
const MAX_COMPACTIONS_PER_APPEND = 4;

function segmentPath(dir: string, no: number): string {
  return join(dir, `seg-${String(no).padStart(12, '0')}.log`);
}

export class DiskQueue extends QueueCore<DiskEntry> implements AlertQueue {
  readonly dir: string;
  private readonly segmentBytes: number;
  private readonly mode: FsyncMode;
  private readonly everyRecords: number;
  private readonly everyMs: number;
  private readonly cacheLimit: number;
  private journalLimit: number;
  private readonly journalMin: number;
  private readonly segments = new Map<number, Segment>();
  private head!: Segment;
  private nextSeq = 1;
  private diskBytes = 0;
  private cachedBytes = 0;
  private scratch = Buffer.alloc(64 * 1024);
  private unsynced = 0;
  private timer: NodeJS.Timeout | null = null;
  private readonly journal: StateJournal;
  private persistedFloor = 0;
  private pendingDead: number[] = [];
  private journalDirty = false;
  private bgBusy = false;
  private bgAgain = false;
  private readonly lockPath: string;
  /** Message of the last failed write, for the owner to report. */
  lastWriteError = '';
  private readonly onWriteError: ((message: string) => void) | undefined;

  /** Opens (creating if needed) the queue in `options.dir`, replaying what a previous run left. */
  constructor(options: DiskQueueOptions) {
    super(options.maxBytes ?? 256 * 1024 * 1024, options.onDrop);
    this.dir = options.dir;
    this.segmentBytes = Math.max(4096, options.segmentBytes ?? 8 * 1024 * 1024);
    this.mode = options.fsync ?? 'batch';
    this.everyRecords = Math.max(1, options.fsyncEveryRecords ?? 512);
    this.everyMs = Math.max(1, options.fsyncEveryMs ?? 200);
    this.cacheLimit = Math.max(0, options.cacheBytes ?? 4 * 1024 * 1024);
    this.onWriteError = options.onWriteError;
    this.journalMin = Math.max(64, options.journalCompactBytes ?? JOURNAL_COMPACT_BYTES);
    this.journalLimit = this.journalMin;
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    this.lockPath = acquireQueueLock(this.dir);
    try {
      const statePath = join(this.dir, 'state.log');
      this.recover(statePath);
      let journalBytes = 0;
      try {
        journalBytes = statSync(statePath).size;
      } catch {
        // No journal yet.
      }
      this.journal = new StateJournal(statePath, journalBytes);
      this.head = this.newSegment(this.lastSegmentNo() + 1);
      // A smaller bound than last time: apply the drop policy to what was recovered.
      this.makeRoom(0, 4);
    } catch (err) {
      for (const s of this.segments.values()) closeSync(s.fd);
      releaseQueueLock(this.lockPath);
      throw err;
    }
  }

  private lastSegmentNo(): number {
    let max = 0;
    for (const no of this.segments.keys()) max = Math.max(max, no);
    return max;
  }

  /** Scans the journal and segments left by a previous run and rebuilds the index. */
  private recover(statePath: string): void {
    const state = readJournal(statePath);
    this.persistedFloor = state.floor;
    const files = readdirSync(this.dir)
      .map((f) => SEGMENT_NAME.exec(f))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => Number(m[1]))
      .sort((a, b) => a - b);
    const seen = new Set<number>();
    const entries: DiskEntry[] = [];
    let maxSeq = state.floor;
    for (let i = 0; i < files.length; i++) {
      const no = files[i]!;
      const path = segmentPath(this.dir, no);
      const buf = readFileSync(path);
      const scan = scanSegment(buf);
      this.stats.corrupt += scan.corrupt;
      const fd = openSync(path, constants.O_RDWR);
      let size = buf.length;
      if (scan.badTail >= 0) {
        if (i === files.length - 1) {
          // The write a crash interrupted: cut it so the file ends on a record boundary.
          this.stats.torn++;
          ftruncateSync(fd, scan.badTail);
          size = scan.badTail;
        } else this.stats.corrupt++;
      }
      const seg: Segment = { no, path, fd, size, live: 0, liveBytes: 0 };
      this.segments.set(no, seg);
      this.diskBytes += size;
      for (const r of scan.records) {
        if (r.seq > maxSeq) maxSeq = r.seq;
        if (r.seq <= state.floor || state.dead.has(r.seq) || seen.has(r.seq)) continue;
        seen.add(r.seq);
        seg.live++;
        seg.liveBytes += r.size;
        entries.push({
          seq: r.seq,
          id: r.id,
          severity: r.severity,
          size: r.size,
          state: QUEUED,
          seg,
          off: r.off,
          payloadOff: r.payloadOff,
          payloadLen: r.payloadLen,
          payload: null,
        });
      }
    }
    entries.sort((a, b) => a.seq - b.seq);
    for (const e of entries) this.insert(e);
    this.stats.recovered = entries.length;
    this.nextSeq = maxSeq + 1;
    for (const seg of [...this.segments.values()]) if (seg.live === 0) this.deleteSegment(seg);
  }

  private newSegment(no: number): Segment {
    const path = segmentPath(this.dir, no);
    const fd = openSync(path, constants.O_RDWR | constants.O_CREAT | constants.O_TRUNC, 0o600);
    if (this.mode !== 'none') fsyncDir(this.dir);
    const seg: Segment = { no, path, fd, size: 0, live: 0, liveBytes: 0 };
    this.segments.set(no, seg);
    return seg;
  }

  private deleteSegment(seg: Segment): void {
    try {
      closeSync(seg.fd);
      unlinkSync(seg.path);
    } catch {
      // Already closed or gone; nothing left to release.
    }
    this.segments.delete(seg.no);
    this.diskBytes -= seg.size;
  }

  /** Seals the head (synced per policy) and starts a new one. */
  private roll(): void {
    const old = this.head;
    this.syncData();
    this.head = this.newSegment(old.no + 1);
    if (old.live === 0) this.deleteSegment(old);
  }

  /** Writes `len` bytes of scratch at the head's end; throws on I/O errors. */
  private writeScratch(len: number): void {
    let done = 0;
    while (done < len) done += writeSync(this.head.fd, this.scratch, done, len - done, this.head.size + done);
  }

  append(payload: Uint8Array, severity: SeverityRank, id: string): number {
    this.assertOpen();
    const seq = this.nextSeq++;
    const idBytes = queueIdBytes(id);
    const size = recordSize(idBytes.length, payload.length);
    this.stats.appended++;
    if (!this.makeRoom(size, severity)) {
      this.countDrop(seq, id, severity);
      return seq;
    }
    const entry: DiskEntry = {
      seq,
      id: idBytes.length === id.length ? id : idBytes.toString('utf8'),
      severity,
      size,
      state: QUEUED,
      seg: null,
      off: 0,
      payloadOff: size - payload.length,
      payloadLen: payload.length,
      payload: null,
    };
    if (this.scratch.length < size) this.scratch = Buffer.alloc(Math.max(size, this.scratch.length * 2));
    writeRecord(this.scratch, 0, seq, severity, idBytes, payload);
    try {
      if (this.head.size > 0 && this.head.size + size > this.segmentBytes) this.roll();
      this.writeScratch(size);
      entry.seg = this.head;
      entry.off = this.head.size;
      this.head.size += size;
      this.head.live++;
      this.head.liveBytes += size;
      this.diskBytes += size;
    } catch (err) {
      // Disk full or failing: keep the alert in memory (still within maxBytes) rather than lose it.
      // A partial write is overwritten by the next one: the head's size did not move.
      this.writeFailed(err);
      entry.payload = Uint8Array.prototype.slice.call(payload);
    }
    if (entry.seg && this.cachedBytes + payload.length <= this.cacheLimit) {
      entry.payload = Uint8Array.prototype.slice.call(payload);
      this.cachedBytes += payload.length;
    }
    this.insert(entry);
    try {
      if (entry.seg) this.afterWrite();
      this.compactIfNeeded();
    } catch (err) {
      this.writeFailed(err);
    }
    return seq;
  }

  private writeFailed(err: unknown): void {
    this.stats.writeErrors++;
    this.lastWriteError = err instanceof Error ? err.message : String(err);
    this.onWriteError?.(this.lastWriteError);
  }

  private afterWrite(): void {
    this.unsynced++;
    if (this.mode === 'always') this.syncData();
    else if (this.mode === 'batch' && this.unsynced >= this.everyRecords) this.backgroundSync(false);
    else this.arm();
  }

  private arm(): void {
    if (this.timer || this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      if (this.closed) return;
      try {
        this.backgroundSync(this.writeState(false));
      } catch (err) {
        // A timer must never take the sensor down: the state is written again next time.
        this.writeFailed(err);
      }
    }, this.everyMs);
    this.timer.unref();
  }

  /** fsync now, on this thread (`always`, sealing a segment, sync(), close()). */
  private syncData(force = false): void {
    if (this.unsynced === 0 || (this.mode === 'none' && !force)) return;
    fdatasyncSync(this.head.fd);
    this.stats.fsyncs++;
    this.unsynced = 0;
  }

  /**
   * Batched fsync of the head segment (and the journal when it was written) on libuv's thread
   * pool, so a slow disk flush never stalls the event loop that receives PUBACKs. At most one runs
   * at a time; requests meanwhile are folded into one more run.
   */
  private backgroundSync(journalDirty: boolean): void {
    if (this.mode === 'none' || this.closed) return;
    this.journalDirty ||= journalDirty;
    if (this.bgBusy) {
      this.bgAgain = true;
      return;
    }
    if (this.unsynced === 0 && !this.journalDirty) return;
    this.bgBusy = true;
    const dataFd = this.unsynced > 0 ? this.head.fd : -1;
    const journalFd = this.journalDirty ? this.journal.fd : -1;
    this.unsynced = 0;
    this.journalDirty = false;
    const failed = (err: NodeJS.ErrnoException | null): void => {
      // After close() the descriptors are gone; anything else is a real I/O problem to report.
      if (err && !this.closed) this.writeFailed(err);
    };
    const done = (n: number): void => {
      this.stats.fsyncs += n;
      this.bgBusy = false;
      if (this.bgAgain && !this.closed) {
        this.bgAgain = false;
        this.backgroundSync(false);
      }
    };
    const syncJournal = (n: number): void => {
      if (journalFd < 0) return done(n);
      fsync(journalFd, (err) => {
        failed(err);
        done(n + 1);
      });
    };
    if (dataFd < 0) syncJournal(0);
    else
      fdatasync(dataFd, (err) => {
        failed(err);
        syncJournal(1);
      });
  }

  /**
   * Persists the acknowledgement floor and dead records above it; with `durable` also fsyncs.
   * Returns true when the journal was written but not synced.
   */
  private writeState(durable: boolean): boolean {
    const first = this.firstLiveSeq();
    const floor = (first ?? this.nextSeq) - 1;
    const dead = this.pendingDead.length > 0 ? this.pendingDead.filter((s) => s > floor) : [];
    this.pendingDead = [];
    if (floor <= this.persistedFloor && dead.length === 0) return false;
    this.journal.write(floor > this.persistedFloor ? floor : undefined, dead);
    this.persistedFloor = Math.max(this.persistedFloor, floor);
    if (this.journal.bytes > this.journalLimit) {
      const stillDead: number[] = [];
      for (let i = this.order.head; i < this.order.items.length; i++) {
        const e = this.order.items[i]!;
        if (e.state === DEAD && e.seq > floor) stillDead.push(e.seq);
      }
      this.journal.rewrite(this.persistedFloor, stillDead);
      // When the live state itself is large, do not rewrite on every write: wait until it doubles.
      this.journalLimit = Math.max(this.journalMin, 2 * this.journal.bytes);
      this.stats.fsyncs++;
      return false;
    }
    if (!durable) return true;
    this.journal.sync();
    this.stats.fsyncs++;
    return false;
  }

  protected released(e: DiskEntry): void {
    if (e.payload && e.seg) this.cachedBytes -= e.payloadLen;
    e.payload = null;
    const seg = e.seg;
    if (seg) {
      seg.live--;
      seg.liveBytes -= e.size;
      if (seg.live === 0 && seg !== this.head && this.segments.has(seg.no)) this.deleteSegment(seg);
    }
    this.pendingDead.push(e.seq);
    this.arm();
  }

  protected payloads(entries: readonly DiskEntry[]): (Uint8Array | null)[] {
    const out: (Uint8Array | null)[] = new Array<Uint8Array | null>(entries.length).fill(null);
    let i = 0;
    while (i < entries.length) {
      const e = entries[i]!;
      if (e.payload || !e.seg) {
        out[i] = e.payload;
        i++;
        continue;
      }
      // Read a run of adjacent records of one segment with a single pread.
      let j = i + 1;
      while (j < entries.length) {
        const prev = entries[j - 1]!;
        const n = entries[j]!;
        if (n.payload || n.seg !== e.seg || n.off !== prev.off + prev.size) break;
        j++;
      }
      const last = entries[j - 1]!;
      const span = last.off + last.size - e.off;
      const buf = Buffer.allocUnsafe(span);
      let got = 0;
      try {
        got = readSync(e.seg.fd, buf, 0, span, e.off);
      } catch {
        got = 0;
      }
      for (let k = i; k < j; k++) {
        const r = entries[k]!;
        const rel = r.off - e.off;
        // Re-verify: the disk may have changed under us since the scan at open.
        if (rel + r.size <= got && recordAt(buf.subarray(0, got), rel) === r.size) {
          out[k] = buf.subarray(rel + r.payloadOff, rel + r.payloadOff + r.payloadLen);
        } else this.stats.corrupt++;
      }
      i = j;
    }
    return out;
  }

  /** Rewrites the sparsest sealed segments while acknowledged/dropped records bloat the disk use. */
  private compactIfNeeded(): void {
    for (let n = 0; n < MAX_COMPACTIONS_PER_APPEND && this.diskBytes > this.maxBytes + 2 * this.segmentBytes; n++) {
      let victim: Segment | undefined;
      for (const s of this.segments.values()) {
        if (s === this.head) continue;
        if (!victim || s.liveBytes / Math.max(1, s.size) < victim.liveBytes / Math.max(1, victim.size)) victim = s;
      }
      if (!victim || victim.liveBytes >= victim.size) return;
      this.relocate(victim);
    }
  }

  private relocate(seg: Segment): void {
    const moving: DiskEntry[] = [];
    for (const e of this.liveEntries()) if (e.seg === seg) moving.push(e);
    const src = Buffer.allocUnsafe(seg.size);
    const got = readSync(seg.fd, src, 0, seg.size, 0);
    for (const e of moving) {
      if (e.off + e.size > got || recordAt(src.subarray(0, got), e.off) !== e.size) continue;
      if (this.head.size > 0 && this.head.size + e.size > this.segmentBytes) this.roll();
      if (this.scratch.length < e.size) this.scratch = Buffer.alloc(e.size);
      src.copy(this.scratch, 0, e.off, e.off + e.size);
      this.writeScratch(e.size);
      e.seg = this.head;
      e.off = this.head.size;
      this.head.size += e.size;
      this.head.live++;
      this.head.liveBytes += e.size;
      this.diskBytes += e.size;
      this.unsynced++;
    }
    // The copies must be durable before the originals go.
    this.syncData();
    this.stats.compactions++;
    this.deleteSegment(seg);
  }

  sync(): void {
    this.assertOpen();
    this.syncData(true);
    this.writeState(true);
  }

  close(): void {
    if (this.closed) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.syncData();
    this.writeState(this.mode !== 'none');
    for (const s of this.segments.values()) {
      closeSync(s.fd);
      // An empty head left by a quiet run is just noise on the next open.
      if (s.size === 0) unlinkSync(s.path);
    }
    this.journal.close();
    releaseQueueLock(this.lockPath);
    this.closed = true;
  }

  /** Drops every handle without writing state or syncing, as a killed process would (tests only). */
  crashForTest(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    for (const s of this.segments.values()) closeSync(s.fd);
    this.journal.close();
    abandonQueueLock(this.lockPath);
    this.closed = true;
  }

  /** Bytes of all segment files (live and not yet reclaimed records). */
  get diskUsage(): number {
    return this.diskBytes;
  }
}
