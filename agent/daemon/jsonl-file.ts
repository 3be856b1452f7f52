import { closeSync, openSync, writeSync } from 'node:fs';

/** Bytes gathered before a write when batching. */
const BATCH_BYTES = 64 * 1024;

/**
 * Appends JSON lines to a file (`--alerts-jsonl`, `--flows-jsonl`). Writes are synchronous, so
 * memory never grows behind a slow disk and a line written is in the file even if the process is
 * killed right after; `batch` gathers up to 64 KiB first (flows), otherwise each line is written
 * at once (alerts, which are rare and read by people and tests while the daemon runs).
 * A failing write (disk full) drops lines, counts them and reports once through `onError`.
 */
export class JsonlFile {
  private fd: number;
  private parts: string[] = [];
  private size = 0;
  /** Lines lost to write errors. */
  dropped = 0;
  private failed = false;

  /** Opens (creates) `path` for appending; throws a one-line Error when it cannot. */
  constructor(
    readonly path: string,
    private readonly batch: boolean,
    private readonly onError: (message: string) => void,
    flag: string,
  ) {
    try {
      this.fd = openSync(path, 'a', 0o640);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'error';
      throw new Error(`cannot open ${flag} ${path} for appending (${code}): check the path and its permissions`);
    }
  }

  line(text: string): void {
    if (this.fd < 0) return;
    this.parts.push(text, '\n');
    this.size += text.length + 1;
    if (!this.batch || this.size >= BATCH_BYTES) this.flush();
  }

  /** Writes what is gathered. */
  flush(): void {
    if (this.parts.length === 0 || this.fd < 0) return;
    const data = this.parts.join('');
    const lines = this.parts.length / 2;
    this.parts = [];
    this.size = 0;
    try {
      writeSync(this.fd, data);
      this.failed = false;
    } catch (err) {
      this.dropped += lines;
      if (!this.failed) {
        this.failed = true;
        const code = (err as NodeJS.ErrnoException).code ?? String(err);
        this.onError(`cannot write to ${this.path} (${code}): lines are dropped until writing works again`);
      }
    }
  }

  close(): void {
    this.flush();
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}
