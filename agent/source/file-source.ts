import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { emptyStats, countError, type PacketSource, type SourceStats } from './packet-source.js';
import { RawPacket, type PacketSink } from './raw-packet.js';
import { openCapture, CaptureOpenError } from './capture-file/open-capture.js';
import type { CaptureReader } from './capture-file/capture-reader.js';

export interface FileSourceOptions {
  /** Replay speed: N× real time, or Infinity to read as fast as possible (the default). */
  speed?: number;
  /** Called with a one-line reason for each file that cannot be read at all. */
  onFileError?: (path: string, message: string) => void;
  /** Called when a file is opened (for progress reporting). */
  onFileOpen?: (path: string, reader: CaptureReader) => void;
  /** Read buffer per file (bytes). */
  chunkBytes?: number;
  /** Awaited at each yield point: lets a backed-up output slow the reader down. */
  pause?: () => Promise<void> | undefined;
}

/** Packets between yields to the event loop when reading at full speed (keeps timers/progress alive). */
const YIELD_EVERY = 65536;

/**
 * Several capture files read in order as one stream. Memory stays flat: each file is read
 * through one fixed buffer (see ChunkedFile).
 */
export class FileSource implements PacketSource {
  readonly name: string;
  private readonly s: SourceStats = emptyStats();
  /** Paths that could not be read at all, with the reason. */
  readonly failedFiles: Array<{ path: string; message: string }> = [];
  private current: CaptureReader | undefined;
  private doneBytes = 0;

  constructor(
    readonly paths: readonly string[],
    private readonly opts: FileSourceOptions = {},
  ) {
    this.name = paths.length === 1 ? paths[0]! : `${paths.length} files`;
  }

  stats(): SourceStats {
    return this.s;
  }

  /** Bytes of capture consumed so far across files (for progress). */
  bytesRead(): number {
    return this.doneBytes + (this.current?.offset ?? 0);
  }

  async run(sink: PacketSink, signal?: AbortSignal): Promise<SourceStats> {
    const p = new RawPacket();
    const speed = this.opts.speed ?? Infinity;
    const paced = Number.isFinite(speed) && speed > 0;
    let firstTs = -1;
    let wallStart = 0;
    for (const path of this.paths) {
      if (signal?.aborted) break;
      let reader: CaptureReader;
      try {
        reader = openCapture(path, this.opts.chunkBytes);
      } catch (err) {
        const message = err instanceof CaptureOpenError ? err.message : `${path}: ${String(err)}`;
        this.failedFiles.push({ path, message });
        this.opts.onFileError?.(path, message);
        continue;
      }
      this.current = reader;
      this.opts.onFileOpen?.(path, reader);
      let sinceYield = 0;
      try {
        while (reader.next(p)) {
          this.s.packets++;
          this.s.bytes += p.wireLen;
          if (paced) {
            if (firstTs < 0) {
              firstTs = p.tsUs;
              wallStart = performance.now();
            }
            const dueMs = wallStart + (p.tsUs - firstTs) / 1000 / speed;
            const waitMs = dueMs - performance.now();
            // The packet's bytes live in the reader's buffer, which stays put while we wait.
            if (waitMs > 1) await sleep(Math.min(waitMs, 60_000), undefined, signal ? { signal } : undefined).catch(() => {});
          } else if (++sinceYield >= YIELD_EVERY) {
            sinceYield = 0;
            await yieldToLoop();
            await this.opts.pause?.();
          }
          if (signal?.aborted) break;
          sink.packet(p);
        }
      } catch (err) {
        // An I/O error in the middle of a file (EIO, a file truncated while read): report, go on.
        const code = (err as NodeJS.ErrnoException).code;
        if (code === undefined) throw err;
        countError(this.s, `file.read_error_${code.toLowerCase()}`);
        this.opts.onFileError?.(path, `${path}: read error (${code}) after ${reader.offset} bytes; rest of the file skipped`);
      } finally {
        for (const [kind, n] of reader.errors) countError(this.s, kind, n);
        for (const [kind, n] of reader.skipped) (this.s.skipped ??= {})[kind] = (this.s.skipped[kind] ?? 0) + n;
        this.doneBytes += reader.offset;
        this.current = undefined;
        reader.close();
      }
    }
    return this.s;
  }
}
