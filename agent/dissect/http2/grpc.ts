/**
 * gRPC over HTTP/2 (grpc/grpc doc/PROTOCOL-HTTP2.md): requests are POST to `/Service/Method`
 * with content-type `application/grpc[+proto|+json|…]`; each message in DATA is a 5-byte prefix
 * (compressed flag, 4-byte big-endian length) and the message, which may span DATA frames; the
 * status comes in trailers (`grpc-status`, percent-encoded `grpc-message`).
 */

/** Call shapes, inferred from message counts per direction (one message each way is unary). */
export type CallType = 'unary' | 'server_streaming' | 'client_streaming' | 'bidirectional';

/**
 * Infers the call type from the request and response message counts. Counts cannot tell a
 * streaming call that happened to send one message from a unary call: such calls report as the
 * simpler shape.
 */
export function callType(requests: number, responses: number): CallType {
  if (requests <= 1) return responses <= 1 ? 'unary' : 'server_streaming';
  return responses <= 1 ? 'client_streaming' : 'bidirectional';
}

/** True for `application/grpc` and its `+proto`, `+json`, `-web` … variants. */
export function isGrpcContentType(ct: string | undefined): boolean {
  return ct !== undefined && ct.toLowerCase().startsWith('application/grpc');
}

/** `/package.Service/Method` → service and method (undefined when the path has another shape). */
export function splitGrpcPath(path: string | undefined): { service: string; method: string } | undefined {
  if (!path || path[0] !== '/') return undefined;
  const slash = path.indexOf('/', 1);
  if (slash <= 1 || slash === path.length - 1) return undefined;
  const method = path.slice(slash + 1);
  if (method.includes('/') || method.includes('?')) return undefined;
  return { service: path.slice(1, slash), method };
}

/** Decodes %XX escapes (grpc-message), leaving malformed escapes as they are; at most `max` chars. */
export function percentDecode(s: string, max = 1024): string {
  if (!s.includes('%')) return s.slice(0, max);
  const bytes: number[] = [];
  for (let i = 0; i < s.length && bytes.length < max; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x25 && i + 2 < s.length && /^[0-9a-fA-F]{2}$/.test(s.slice(i + 1, i + 3))) {
      bytes.push(parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(c & 0xff);
  }
  return Buffer.from(bytes).toString('utf8');
}

/**
 * Counts length-prefixed messages in one direction of one stream, fed DATA bytes in pieces; keeps
 * the first `maxSizes` message sizes. Never buffers message bodies.
 */
export class GrpcMessageCounter {
  count = 0;
  bytes = 0;
  compressed = 0;
  readonly sizes: number[] = [];
  /** Prefix bytes gathered (0–4; at 5 the prefix is complete). */
  private pfx = 0;
  private flag = 0;
  private len = 0;
  private remaining = 0;
  /** Set when a prefix had a compressed flag other than 0/1: the framing is not gRPC. */
  broken = false;

  constructor(private readonly maxSizes: number) {}

  /** A message is partly read (prefix or body) — a stream ending now was cut. */
  get partial(): boolean {
    return this.pfx > 0 || this.remaining > 0;
  }

  feed(buf: Uint8Array, start: number, end: number): void {
    let p = start;
    // Each pass consumes at least one byte.
    while (p < end && !this.broken) {
      if (this.remaining > 0) {
        const n = Math.min(this.remaining, end - p);
        this.remaining -= n;
        p += n;
        continue;
      }
      const b = buf[p++]!;
      if (this.pfx === 0) {
        this.flag = b;
        this.len = 0;
        if (b > 1) {
          this.broken = true;
          return;
        }
      } else this.len = this.len * 256 + b;
      if (++this.pfx < 5) continue;
      this.pfx = 0;
      this.count++;
      this.bytes += this.len;
      if (this.flag) this.compressed++;
      if (this.sizes.length < this.maxSizes) this.sizes.push(this.len);
      this.remaining = this.len;
    }
  }
}
