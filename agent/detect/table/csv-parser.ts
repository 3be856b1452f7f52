/**
 * Incremental CSV parser (RFC 4180 plus what real exports do): comma separator, fields optionally
 * in double quotes with `""` for a quote, commas and newlines allowed inside quotes, records ended
 * by LF, CRLF or a lone CR, a UTF-8 BOM at the start ignored, blank lines skipped. Text arrives in
 * chunks of any size (a quote or CRLF may straddle chunks).
 *
 * Input is untrusted: a field longer than `maxFieldChars` or a record with more than `maxFields`
 * fields is not kept in memory; the record is still delimited correctly and reported with an
 * error instead of its fields. An unterminated quote at the end of input is an error record too.
 */

/** Limits of the parser; both bound memory per record. */
export interface CsvLimits {
  /** Longest field kept (default 65 536 characters). */
  maxFieldChars: number;
  /** Most fields per record (default 8192). */
  maxFields: number;
}

export const DEFAULT_CSV_LIMITS: CsvLimits = Object.freeze({ maxFieldChars: 65_536, maxFields: 8192 });

/** One parsed record: its fields, or why it was dropped. */
export type CsvRecord = { readonly fields: string[]; readonly error?: undefined } | { readonly fields?: undefined; readonly error: string };

const QUOTE = 0x22;
const COMMA = 0x2c;
const LF = 0x0a;
const CR = 0x0d;

const enum State {
  FieldStart,
  Unquoted,
  Quoted,
  /** Just saw a quote inside a quoted field: either `""` or the closing quote. */
  QuoteInQuoted,
  /** Saw CR ending a record; swallow a directly following LF. */
  AfterCr,
}

export class CsvParser {
  private state = State.FieldStart;
  private field = '';
  private fields: string[] = [];
  private error: string | undefined;
  private started = false;
  private readonly limits: CsvLimits;

  constructor(
    private readonly emit: (record: CsvRecord) => void,
    limits: Partial<CsvLimits> = {},
  ) {
    this.limits = { ...DEFAULT_CSV_LIMITS, ...limits };
  }

  /** Feeds a chunk of text; complete records are emitted synchronously. */
  push(chunk: string): void {
    let i = 0;
    if (!this.started && chunk.length > 0) {
      this.started = true;
      if (chunk.charCodeAt(0) === 0xfeff) i = 1;
    }
    const n = chunk.length;
    let start = i; // start of the pending slice of the current field within this chunk
    while (i < n) {
      const c = chunk.charCodeAt(i);
      switch (this.state) {
        case State.AfterCr:
          this.state = State.FieldStart;
          if (c === LF) {
            i++;
            start = i;
            continue;
          }
          start = i;
          break; // re-examine c as the start of a field
        case State.FieldStart:
          if (c === QUOTE) {
            this.state = State.Quoted;
            start = i + 1;
          } else if (c === COMMA) {
            this.endField('');
            start = i + 1;
          } else if (c === LF || c === CR) {
            // After a comma the record ends with an empty field; at record start it is a blank line.
            if (this.fields.length > 0) this.endField('');
            this.endRecord();
            if (c === CR) this.state = State.AfterCr;
            start = i + 1;
          } else {
            this.state = State.Unquoted;
            start = i;
          }
          i++;
          continue;
        case State.Unquoted:
          if (c === COMMA || c === LF || c === CR) {
            this.endFieldAt(this.take(chunk, start, i), c);
            start = i + 1;
          }
          i++;
          continue;
        case State.Quoted:
          if (c === QUOTE) {
            this.append(chunk, start, i);
            this.state = State.QuoteInQuoted;
          }
          i++;
          continue;
        case State.QuoteInQuoted:
          if (c === QUOTE) {
            this.appendText('"');
            this.state = State.Quoted;
            start = i + 1;
          } else if (c === COMMA || c === LF || c === CR) {
            this.endFieldAt(this.take(chunk, i, i), c);
            start = i + 1;
          } else {
            // Text after a closing quote (`"ab"c`): keep it, as most readers do.
            this.state = State.Unquoted;
            start = i;
          }
          i++;
          continue;
      }
    }
    if (this.state === State.Unquoted || this.state === State.Quoted) this.append(chunk, start, n);
  }

  /** Ends the input: flushes the last record (no trailing newline) or reports an open quote. */
  end(): void {
    switch (this.state) {
      case State.Quoted:
        this.error ??= 'unterminated quoted field at end of input';
        this.endRecord();
        break;
      case State.Unquoted:
      case State.QuoteInQuoted:
        this.endField(this.take('', 0, 0));
        this.endRecord();
        break;
      case State.FieldStart:
        if (this.fields.length > 0 || this.error !== undefined) {
          this.endField('');
          this.endRecord();
        }
        break;
      case State.AfterCr:
        break;
    }
    this.state = State.FieldStart;
  }

  private append(chunk: string, from: number, to: number): void {
    if (to > from) this.appendText(chunk.slice(from, to));
  }

  private appendText(s: string): void {
    if (this.error !== undefined) return;
    if (this.field.length + s.length > this.limits.maxFieldChars) {
      this.error = `field longer than ${this.limits.maxFieldChars} characters`;
      this.field = '';
      return;
    }
    this.field += s;
  }

  /** The pending field text plus chunk[from, to). */
  private take(chunk: string, from: number, to: number): string {
    this.append(chunk, from, to);
    const f = this.field;
    this.field = '';
    return f;
  }

  private endField(text: string): void {
    if (this.error !== undefined) return;
    if (this.fields.length >= this.limits.maxFields) {
      this.error = `more than ${this.limits.maxFields} fields`;
      this.fields = [];
      return;
    }
    this.fields.push(text);
  }

  /** Ends a field at separator `c`: a comma starts the next field, LF or CR also ends the record. */
  private endFieldAt(text: string, c: number): void {
    this.endField(text);
    if (c !== COMMA) {
      this.endRecord();
      this.state = c === CR ? State.AfterCr : State.FieldStart;
    } else {
      this.state = State.FieldStart;
    }
  }

  private endRecord(): void {
    const fields = this.fields;
    const error = this.error;
    this.fields = [];
    this.field = '';
    this.error = undefined;
    if (error !== undefined) {
      this.emit({ error });
      return;
    }
    // A blank line is one empty unquoted field: skip it like most CSV readers do.
    if (fields.length === 0 || (fields.length === 1 && fields[0] === '')) return;
    this.emit({ fields });
  }
}
