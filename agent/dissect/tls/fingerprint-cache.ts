/**
 * Bounded caches of hello fingerprints (JA3, JA4, JA3S and the offered cipher names), keyed by
 * exactly the hello fields they are computed from. One client program sends the same lists on
 * every connection (only the random, session id, key shares and SNI change), so most flows hit;
 * building the JA strings and hashing them with MD5 and SHA-256 was the largest per-flow cost of
 * the TLS dissector. A hit is verified field by field: the results equal a fresh computation.
 */
import type { ClientHello } from './client-hello.js';
import { cipherName } from './cipher-names.js';
import { isGrease } from './grease.js';
import { ja3, ja3s, type Ja3, type Ja3sInput } from './ja3.js';
import { ja4, ja4ClientVersion, type Ja4 } from './ja4.js';

/** Distinct hellos remembered per cache (least recently used evicted). */
const MAX_ENTRIES = 256;
/** Longer signatures (hellos with huge lists) are computed without the cache, keeping it ≤ ~0.5 MB. */
const MAX_CACHED_SIG = 1024;

/**
 * A map from a u16 signature (the fingerprint inputs laid out with their lengths) to results.
 * Entries are found by a 32-bit hash and confirmed by comparing the whole signature.
 */
class SignatureCache<V> {
  private readonly map = new Map<number, { sig: Uint16Array; value: V }>();

  get(sig: Uint16Array, n: number, hash: number): V | undefined {
    const e = this.map.get(hash);
    if (!e || e.sig.length !== n) return undefined;
    for (let i = 0; i < n; i++) if (e.sig[i] !== sig[i]) return undefined;
    // Re-insert: Map iteration order then doubles as recency order for eviction.
    this.map.delete(hash);
    this.map.set(hash, e);
    return e.value;
  }

  set(sig: Uint16Array, n: number, hash: number, value: V): void {
    if (n > MAX_CACHED_SIG) return;
    this.map.delete(hash);
    if (this.map.size >= MAX_ENTRIES) this.map.delete(this.map.keys().next().value as number);
    this.map.set(hash, { sig: sig.slice(0, n), value });
  }
}

/** FNV-1a over the signature's u16 values. */
function hashSig(sig: Uint16Array, n: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < n; i++) h = Math.imul(h ^ sig[i]!, 0x01000193);
  return h >>> 0;
}

/**
 * Scratch signature: transport, legacy version and seven length-prefixed lists. The parser's
 * caps bound it: 1024 ciphers + 256 extensions + 4 × 512 list entries + 255 ALPN bytes + headers.
 */
const sig = new Uint16Array(4096);

function putList(n: number, values: readonly number[]): number {
  sig[n++] = values.length;
  for (let i = 0; i < values.length; i++) sig[n++] = values[i]!;
  return n;
}

/** What the TLS and QUIC dissectors take from a ClientHello's fingerprint fields. */
export interface HelloPrints {
  readonly ja3: Ja3;
  readonly ja4: Ja4;
  /** ja4ClientVersion(): the highest offered version. */
  readonly clientVersion: number;
  /** Offered cipher suites by IANA name, GREASE removed (shared: copy before handing out). */
  readonly ciphers: readonly string[];
}

const TRANSPORT = { t: 1, q: 2, d: 3 } as const;
const hellos = new SignatureCache<HelloPrints>();

/** JA3, JA4 and friends of a ClientHello, from the cache when the same fields were seen before. */
export function helloPrints(ch: ClientHello, transport: 't' | 'q' | 'd'): HelloPrints {
  let n = 0;
  sig[n++] = TRANSPORT[transport];
  sig[n++] = ch.legacyVersion;
  n = putList(n, ch.cipherSuites);
  const exts = ch.extensions;
  sig[n++] = exts.length;
  for (let i = 0; i < exts.length; i++) sig[n++] = exts[i]!.type;
  n = putList(n, ch.supportedGroups);
  n = putList(n, ch.ecPointFormats);
  n = putList(n, ch.signatureAlgorithms);
  n = putList(n, ch.supportedVersions);
  const alpn = ch.alpnRaw[0];
  // 0xffff: no ALPN value at all (a u8-length value never has that length).
  sig[n++] = alpn === undefined ? 0xffff : alpn.length;
  if (alpn) for (let i = 0; i < alpn.length; i++) sig[n++] = alpn[i]!;
  const h = hashSig(sig, n);
  const hit = hellos.get(sig, n, h);
  if (hit) return hit;
  const value: HelloPrints = {
    ja3: ja3(ch),
    ja4: ja4(ch, transport),
    clientVersion: ja4ClientVersion(ch),
    ciphers: ch.cipherSuites.filter((c) => !isGrease(c)).map(cipherName),
  };
  hellos.set(sig, n, h, value);
  return value;
}

const serverHellos = new SignatureCache<Ja3>();

/** JA3S of a ServerHello, cached like helloPrints(). */
export function cachedJa3s(sh: Ja3sInput): Ja3 {
  let n = 0;
  sig[n++] = sh.legacyVersion;
  sig[n++] = sh.cipherSuite;
  const exts = sh.extensions;
  sig[n++] = exts.length;
  // The ServerHello parser keeps ≤ 64 extensions: this fits the scratch array.
  for (let i = 0; i < exts.length; i++) sig[n++] = exts[i]!.type;
  const h = hashSig(sig, n);
  const hit = serverHellos.get(sig, n, h);
  if (hit) return hit;
  const value = ja3s(sh);
  serverHellos.set(sig, n, h, value);
  return value;
}
