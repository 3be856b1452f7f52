import { LineReader } from './line-reader.js';
import {
  equalsCi,
  indexOfByte,
  isTchar,
  lastIndexOfByte,
  lit,
  parseDecimal,
  skipOws,
  startsWith,
  text,
  trimOwsEnd,
} from './ascii.js';

/** Budgets of one HTTP/1.x head (start line + header fields). */
export interface HeadLimits {
  /** Longest line kept; longer lines are cut (counted as `truncatedLines`). */
  readonly lineBytes: number;
  /** Header lines interpreted per message; later ones are skipped. */
  readonly headersPerMessage: number;
  /** Kept bytes of a header value. */
  readonly valueBytes: number;
  /** Kept bytes of a request target (URI). */
  readonly uriBytes: number;
}

/** The start line and the header fields Picket keeps from one HTTP/1.x message head. */
export interface HttpHead {
  kind: 'request' | 'response';
  /** Request method as sent (case kept), '' for responses. */
  method: string;
  /** Request target as sent (origin, absolute, authority or asterisk form), '' for responses. */
  target: string;
  /** `1.1`, `1.0`; '' when the start line was cut before the version. */
  version: string;
  /** Response status code, 0 for requests. */
  status: number;
  reason: string;
  host?: string;
  userAgent?: string;
  referer?: string;
  contentType?: string;
  server?: string;
  upgrade?: string;
  connection?: string;
  transferEncoding?: string;
  origin?: string;
  location?: string;
  wsKey?: string;
  wsAccept?: string;
  wsProtocol?: string;
  wsExtensions?: string;
  wsVersion?: string;
  http2Settings?: string;
  /** Content-Length value; -1 when absent, -2 when invalid or when two values disagree. */
  contentLength: number;
  /** Transfer-Encoding ends with `chunked`. */
  chunked: boolean;
  /** Content-Length together with Transfer-Encoding, or conflicting Content-Length values: a request-smuggling signal. */
  ambiguousLength: boolean;
  /** Header lines seen (interpreted or not). */
  headerLines: number;
  /** More header lines than the budget: the rest were not interpreted. */
  headersOverLimit: boolean;
  /** Lines longer than the line budget (cut). */
  truncatedLines: number;
  /** Header lines that are not `name: value`. */
  badHeaderLines: number;
  /** The request line separated its parts with more than one space (accepted, RFC 9112 §3 allows it). */
  extraSpaces: boolean;
}

/** Header fields worth keeping, by lower-case name. */
const H = {
  host: 1,
  userAgent: 2,
  referer: 3,
  contentType: 4,
  contentLength: 5,
  transferEncoding: 6,
  upgrade: 7,
  connection: 8,
  server: 9,
  wsKey: 10,
  wsAccept: 11,
  wsProtocol: 12,
  wsExtensions: 13,
  wsVersion: 14,
  http2Settings: 15,
  origin: 16,
  location: 17,
} as const;

const NAMES: ReadonlyArray<[string, number]> = [
  ['host', H.host],
  ['user-agent', H.userAgent],
  ['referer', H.referer],
  ['content-type', H.contentType],
  ['content-length', H.contentLength],
  ['transfer-encoding', H.transferEncoding],
  ['upgrade', H.upgrade],
  ['connection', H.connection],
  ['server', H.server],
  ['sec-websocket-key', H.wsKey],
  ['sec-websocket-accept', H.wsAccept],
  ['sec-websocket-protocol', H.wsProtocol],
  ['sec-websocket-extensions', H.wsExtensions],
  ['sec-websocket-version', H.wsVersion],
  ['http2-settings', H.http2Settings],
  ['origin', H.origin],
  ['location', H.location],
];

/** Candidates by name length, so most uninteresting names are rejected by one array lookup. */
const BY_LENGTH: Array<Array<[Uint8Array, number]> | undefined> = [];
for (const [name, id] of NAMES) (BY_LENGTH[name.length] ??= []).push([lit(name), id]);

function headerId(buf: Uint8Array, start: number, end: number): number {
  const list = BY_LENGTH[end - start];
  if (!list) return 0;
  for (const [name, id] of list) if (equalsCi(buf, start, end, name)) return id;
  return 0;
}

const HTTP_SLASH = lit('HTTP/');
const CHUNKED = lit('chunked');
const MAX_METHOD = 24;
/** Empty lines tolerated before a start line (RFC 9112 §2.2 asks to ignore at least one). */
const MAX_LEADING_BLANKS = 4;

export const HeadState = { Start: 0, Headers: 1, Done: 2, Error: 3 } as const;
export type HeadState = (typeof HeadState)[keyof typeof HeadState];

/** Which start lines a direction may carry. */
export type HeadRole = 'any' | 'request' | 'response';

function newHead(kind: 'request' | 'response'): HttpHead {
  return {
    kind,
    method: '',
    target: '',
    version: '',
    status: 0,
    reason: '',
    contentLength: -1,
    chunked: false,
    ambiguousLength: false,
    headerLines: 0,
    headersOverLimit: false,
    truncatedLines: 0,
    badHeaderLines: 0,
    extraSpaces: false,
  };
}

/** `x.y` for every digit pair, built once: each message would otherwise make its own copy. */
const VERSIONS: readonly string[] = Array.from({ length: 100 }, (_, i) => `${(i / 10) | 0}.${i % 10}`);

/** `HTTP/x.y` at `[s, e)` → `x.y`, or '' when it is not a version. */
function versionAt(buf: Uint8Array, s: number, e: number): string {
  if (e - s !== 8 || !startsWith(buf, s, e, HTTP_SLASH)) return '';
  const major = buf[s + 5]!;
  const minor = buf[s + 7]!;
  if (major < 0x30 || major > 0x39 || buf[s + 6] !== 0x2e || minor < 0x30 || minor > 0x39) return '';
  return VERSIONS[(major - 0x30) * 10 + (minor - 0x30)]!;
}

/**
 * Parses one HTTP/1.x message head (start line and header fields) from a stream that arrives
 * in pieces. Only the fields in {@link HttpHead} are kept, each capped; the parser never holds
 * more than one line (≤ `lineBytes`). Call feed() until `state` is Done or Error, read `head`,
 * then reset() for the next message.
 */
export class HeadParser {
  readonly lines: LineReader;
  state: HeadState = HeadState.Start;
  head: HttpHead | null = null;
  /** Why the head could not be parsed (a counter label), when state is Error. */
  error = '';
  private blanks = 0;

  constructor(
    private readonly limits: HeadLimits,
    /** Requests only, responses only, or whichever comes first. */
    public role: HeadRole = 'any',
  ) {
    this.lines = new LineReader(limits.lineBytes);
  }

  /** Between messages with nothing held: dropping this parser (keeping its role) loses nothing. */
  get idle(): boolean {
    return this.state === HeadState.Start && this.blanks === 0 && this.lines.held === 0;
  }

  /** Ready for the next message (keeps the role). */
  reset(): void {
    this.state = HeadState.Start;
    this.head = null;
    this.error = '';
    this.blanks = 0;
  }

  /** Consumes bytes until the head ends (state Done/Error) or the piece ends; returns the new offset. */
  feed(buf: Uint8Array, off: number, end: number): number {
    const lr = this.lines;
    while (off < end && (this.state === HeadState.Start || this.state === HeadState.Headers)) {
      off = lr.next(buf, off, end);
      if (!lr.complete) break;
      if (this.state === HeadState.Start) this.startLine(lr.lineBuf, lr.lineStart, lr.lineEnd, lr.truncated);
      else this.headerLine(lr.lineBuf, lr.lineStart, lr.lineEnd, lr.truncated);
    }
    return off;
  }

  private fail(reason: string): void {
    this.state = HeadState.Error;
    this.error = reason;
  }

  private startLine(b: Uint8Array, s: number, e: number, truncated: boolean): void {
    if (s === e) {
      if (++this.blanks > MAX_LEADING_BLANKS) this.fail('leading_blank_lines');
      return;
    }
    if (startsWith(b, s, e, HTTP_SLASH)) {
      if (this.role === 'request') return this.fail('response_in_request_direction');
      this.statusLine(b, s, e);
    } else {
      if (this.role === 'response') return this.fail('request_in_response_direction');
      this.requestLine(b, s, e, truncated);
    }
    if (this.head && truncated) this.head.truncatedLines++;
  }

  private statusLine(b: Uint8Array, s: number, e: number): void {
    const sp = indexOfByte(b, 0x20, s, e);
    const version = versionAt(b, s, sp < 0 ? e : sp);
    if (!version || sp < 0) return this.fail('status_line');
    const cs = sp + 1;
    const status = e - cs >= 3 ? parseDecimal(b, cs, cs + 3, 3) : -1;
    if (status < 100 || (e > cs + 3 && b[cs + 3] !== 0x20)) return this.fail('status_code');
    const h = newHead('response');
    h.version = version;
    h.status = status;
    h.reason = text(b, cs + 4 <= e ? cs + 4 : e, e, this.limits.valueBytes);
    this.head = h;
    this.role = 'response';
    this.state = HeadState.Headers;
  }

  private requestLine(b: Uint8Array, s: number, e: number, truncated: boolean): void {
    const sp1 = indexOfByte(b, 0x20, s, e);
    if (sp1 <= s || sp1 - s > MAX_METHOD) return this.fail('request_line');
    for (let i = s; i < sp1; i++) if (!isTchar(b[i]!)) return this.fail('method');
    let sp2 = lastIndexOfByte(b, 0x20, sp1, e);
    let version = sp2 > sp1 ? versionAt(b, sp2 + 1, e) : '';
    if (!version) {
      // A start line cut inside a long URI has no version left: keep what we have.
      if (!truncated) return this.fail('request_version');
      sp2 = e;
    }
    const ts = skipOws(b, sp1 + 1, sp2);
    const te = trimOwsEnd(b, ts, sp2);
    if (te <= ts) return this.fail('request_target');
    const h = newHead('request');
    h.method = text(b, s, sp1, MAX_METHOD);
    h.target = text(b, ts, te, this.limits.uriBytes);
    h.version = version;
    h.extraSpaces = ts !== sp1 + 1 || (version !== '' && te !== sp2);
    this.head = h;
    this.role = 'request';
    this.state = HeadState.Headers;
  }

  private headerLine(b: Uint8Array, s: number, e: number, truncated: boolean): void {
    const h = this.head!;
    if (s === e) {
      this.state = HeadState.Done;
      return;
    }
    h.headerLines++;
    if (truncated) h.truncatedLines++;
    // Obsolete line folding (RFC 9112 §5.2): continuation of the previous value; not interpreted.
    if (b[s] === 0x20 || b[s] === 0x09) return;
    if (h.headerLines > this.limits.headersPerMessage) {
      h.headersOverLimit = true;
      return;
    }
    const colon = indexOfByte(b, 0x3a, s, e);
    if (colon <= s) {
      h.badHeaderLines++;
      return;
    }
    const id = headerId(b, s, colon);
    if (id === 0) return;
    const vs = skipOws(b, colon + 1, e);
    const ve = trimOwsEnd(b, vs, e);
    this.keep(h, id, b, vs, ve);
  }

  private keep(h: HttpHead, id: number, b: Uint8Array, vs: number, ve: number): void {
    const max = this.limits.valueBytes;
    switch (id) {
      case H.contentLength: {
        const n = parseDecimal(b, vs, ve);
        if (n < 0) h.contentLength = -2;
        else if (h.contentLength === -1) h.contentLength = n;
        else if (h.contentLength !== n) {
          h.contentLength = -2;
          h.ambiguousLength = true;
        }
        if (h.transferEncoding !== undefined) h.ambiguousLength = true;
        return;
      }
      case H.transferEncoding: {
        h.transferEncoding = append(h.transferEncoding, text(b, vs, ve, max), max);
        // The final coding decides (RFC 9112 §6.3): `gzip, chunked` is chunked.
        let e = ve;
        let s = e;
        while (s > vs && b[s - 1] !== 0x2c) s--;
        s = skipOws(b, s, e);
        e = trimOwsEnd(b, s, e);
        h.chunked = equalsCi(b, s, e, CHUNKED);
        if (h.contentLength !== -1) h.ambiguousLength = true;
        return;
      }
      case H.host:
        if (h.host === undefined) h.host = text(b, vs, ve, max);
        return;
      case H.userAgent:
        if (h.userAgent === undefined) h.userAgent = text(b, vs, ve, max);
        return;
      case H.referer:
        if (h.referer === undefined) h.referer = text(b, vs, ve, max);
        return;
      case H.contentType:
        if (h.contentType === undefined) h.contentType = text(b, vs, ve, max);
        return;
      case H.server:
        if (h.server === undefined) h.server = text(b, vs, ve, max);
        return;
      case H.origin:
        if (h.origin === undefined) h.origin = text(b, vs, ve, max);
        return;
      case H.location:
        if (h.location === undefined) h.location = text(b, vs, ve, max);
        return;
      case H.upgrade:
        h.upgrade = append(h.upgrade, text(b, vs, ve, max), max);
        return;
      case H.connection:
        h.connection = append(h.connection, text(b, vs, ve, max), max);
        return;
      case H.wsKey:
        if (h.wsKey === undefined) h.wsKey = text(b, vs, ve, max);
        return;
      case H.wsAccept:
        if (h.wsAccept === undefined) h.wsAccept = text(b, vs, ve, max);
        return;
      case H.wsProtocol:
        h.wsProtocol = append(h.wsProtocol, text(b, vs, ve, max), max);
        return;
      case H.wsExtensions:
        h.wsExtensions = append(h.wsExtensions, text(b, vs, ve, max), max);
        return;
      case H.wsVersion:
        if (h.wsVersion === undefined) h.wsVersion = text(b, vs, ve, max);
        return;
      case H.http2Settings:
        if (h.http2Settings === undefined) h.http2Settings = text(b, vs, ve, max);
        return;
      default:
        return;
    }
  }
}

/** Joins repeated list-valued fields (RFC 9110 §5.3) with `, `, capped. */
function append(prev: string | undefined, value: string, max: number): string {
  if (prev === undefined) return value;
  if (prev.length >= max) return prev;
  return `${prev}, ${value}`.slice(0, max);
}
