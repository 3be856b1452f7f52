import type { Writable } from 'node:stream';

/** Bytes gathered before one write call: fewer syscalls than a write per line. */
const BATCH_BYTES = 64 * 1024;

/**
 * Buffered JSON-lines output with backpressure: `write()` never blocks; producers call
 * `drained()` at their yield points and wait when the destination is backed up. A closed pipe
 * (EPIPE, e.g. `| head`) stops output quietly instead of crashing.
 */
export class LineWriter {
  private parts: string[] = [];
  private size = 0;
  closed = false;

  constructor(private readonly out: Writable) {
    out.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') this.closed = true;
      else throw err;
    });
  }

  line(text: string): void {
    if (this.closed) return;
    this.parts.push(text, '\n');
    this.size += text.length + 1;
    if (this.size >= BATCH_BYTES) this.flushBatch();
  }

  private flushBatch(): void {
    if (this.parts.length === 0 || this.closed) return;
    this.out.write(this.parts.join(''));
    this.parts = [];
    this.size = 0;
  }

  /** Resolves when the destination can take more (immediately if it can). */
  drained(): Promise<void> | undefined {
    this.flushBatch();
    if (this.closed || !this.out.writableNeedDrain) return undefined;
    return new Promise((resolve) => {
      const done = (): void => {
        this.out.off('drain', done);
        this.out.off('close', done);
        resolve();
      };
      this.out.once('drain', done);
      this.out.once('close', done);
    });
  }

  async end(): Promise<void> {
    this.flushBatch();
    await this.drained();
  }
}
