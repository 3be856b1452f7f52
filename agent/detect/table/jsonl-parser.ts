/**
 * Incremental JSON Lines parser: one JSON object per line (LF or CRLF), blank lines skipped,
 * nested objects flattened with dots (`{"tls":{"ja4":"x"}}` → `tls.ja4`). Arrays are not
 * features and are skipped. Input is untrusted: lines longer than `maxLineChars`, nesting deeper
 * than `maxDepth` and objects with more than `maxKeys` leaves become error records instead.
 */

export interface JsonlLimits {
  /** Longest line kept (default 1 MiB of characters). */
  maxLineChars: number;
  /** Deepest object nesting flattened (default 16). */
  maxDepth: number;
  /** Most leaf keys per record (default 8192). */
  maxKeys: number;
}

export const DEFAULT_JSONL_LIMITS: JsonlLimits = Object.freeze({ maxLineChars: 1 << 20, maxDepth: 16, maxKeys: 8192 });

/** One parsed line: flattened leaves (dotted key → JSON scalar), or why it was dropped. */
export type JsonlRecord =
  | { readonly values: Map<string, unknown>; readonly error?: undefined }
  | { readonly values?: undefined; readonly error: string };

export class JsonlParser {
  private pending = '';
  private overflow = false;
  private readonly limits: JsonlLimits;

  constructor(
    private readonly emit: (record: JsonlRecord) => void,
    limits: Partial<JsonlLimits> = {},
  ) {
    this.limits = { ...DEFAULT_JSONL_LIMITS, ...limits };
  }

  /** Feeds a chunk of text; complete lines are emitted synchronously. */
  push(chunk: string): void {
    let from = 0;
    for (;;) {
      const nl = chunk.indexOf('\n', from);
      if (nl < 0) {
        this.keep(chunk.slice(from));
        return;
      }
      this.keep(chunk.slice(from, nl));
      this.endLine();
      from = nl + 1;
    }
  }

  /** Ends the input: a last line without a newline still counts. */
  end(): void {
    this.endLine();
  }

  private keep(s: string): void {
    if (this.overflow) return;
    if (this.pending.length + s.length > this.limits.maxLineChars) {
      this.overflow = true;
      this.pending = '';
      return;
    }
    this.pending += s;
  }

  private endLine(): void {
    const line = this.pending;
    const overflow = this.overflow;
    this.pending = '';
    this.overflow = false;
    if (overflow) {
      this.emit({ error: `line longer than ${this.limits.maxLineChars} characters` });
      return;
    }
    const text = line.endsWith('\r') ? line.slice(0, -1) : line;
    if (text.trim().length === 0) return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      this.emit({ error: `invalid JSON: ${(err as Error).message}` });
      return;
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      this.emit({ error: 'line is not a JSON object' });
      return;
    }
    const values = new Map<string, unknown>();
    const problem = this.flatten(parsed as Record<string, unknown>, '', 1, values);
    this.emit(problem === undefined ? { values } : { error: problem });
  }

  /** Adds the leaves of `obj` under `prefix`; returns a problem when a limit is hit. Recursion ≤ maxDepth. */
  private flatten(obj: Record<string, unknown>, prefix: string, depth: number, out: Map<string, unknown>): string | undefined {
    if (depth > this.limits.maxDepth) return `objects nested deeper than ${this.limits.maxDepth}`;
    for (const key of Object.keys(obj)) {
      const v = obj[key];
      const name = prefix === '' ? key : `${prefix}.${key}`;
      if (Array.isArray(v)) continue;
      if (typeof v === 'object' && v !== null) {
        const p = this.flatten(v as Record<string, unknown>, name, depth + 1, out);
        if (p !== undefined) return p;
        continue;
      }
      if (out.size >= this.limits.maxKeys) return `more than ${this.limits.maxKeys} keys`;
      out.set(name, v);
    }
    return undefined;
  }
}
