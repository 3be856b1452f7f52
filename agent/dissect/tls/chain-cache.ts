/**
 * A bounded cache of parsed Certificate messages, keyed by their exact bytes. A server sends the
 * same chain to every client, and parsing it (DER walk, names, SHA-256 and SHA-1 of the leaf) was
 * a large part of a TLS flow's cost. Hits are confirmed by comparing all bytes, and every caller
 * gets its own copy of the certificate objects (they end up in flow metadata others may touch).
 */
import { parseCertificateChain, type ChainResult } from './certificate-message.js';
import type { TlsCertificate } from './meta.js';

/** Chains remembered (least recently used evicted). */
const MAX_ENTRIES = 64;
/** Larger messages are parsed without the cache: at most 64 × 16 KiB of copies are held. */
const MAX_CACHED_BYTES = 16 * 1024;

interface Entry {
  body: Uint8Array;
  max: number;
  result: ChainResult;
}

const cache = new Map<number, Entry>();

/**
 * A cheap key: the length and up to 64 sampled bytes. Certificates differ early (serial number,
 * validity), so distinct chains rarely share a key, and a shared key only costs a miss.
 */
function sampleKey(b: Uint8Array): number {
  let h = Math.imul(0x811c9dc5 ^ b.length, 0x01000193);
  const step = b.length > 64 ? (b.length / 64) | 0 : 1;
  for (let i = 0; i < b.length; i += step) h = Math.imul(h ^ b[i]!, 0x01000193);
  return h >>> 0;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}

function copyCert(c: TlsCertificate): TlsCertificate {
  return { ...c, san: c.san.slice(), subjectO: c.subjectO.slice(), issuerO: c.issuerO.slice() };
}

/**
 * parseCertificateChain(), memoised. `problems` of a hit are the cached array: read it, do not
 * change it.
 */
export function cachedCertificateChain(body: Uint8Array, max: number): ChainResult {
  if (body.length > MAX_CACHED_BYTES) return parseCertificateChain(body, max);
  const key = sampleKey(body);
  const e = cache.get(key);
  if (e && e.max === max && sameBytes(e.body, body)) {
    cache.delete(key);
    cache.set(key, e);
    return { certificates: e.result.certificates.map(copyCert), problems: e.result.problems };
  }
  const result = parseCertificateChain(body, max);
  cache.delete(key);
  if (cache.size >= MAX_ENTRIES) cache.delete(cache.keys().next().value as number);
  cache.set(key, { body: body.slice(), max, result: { certificates: result.certificates.map(copyCert), problems: result.problems } });
  return result;
}
