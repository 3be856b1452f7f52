/**
 * JA4 TLS client fingerprint (FoxIO JA4 spec, BSD 3-Clause; technical_details/JA4.md). Only JA4
 * itself: JA4S/JA4H/JA4X/JA4SSH are under the FoxIO licence and stay out of Picket.
 *
 *   a = transport + version + (d|i) + 2-digit cipher count + 2-digit extension count + ALPN chars
 *   b = sha256(sorted cipher hex list)[0..12]
 *   c = sha256(sorted extension hex list without SNI/ALPN + "_" + signature algorithms)[0..12]
 *
 * GREASE (RFC 8701) is ignored everywhere: counts, lists, versions and signature algorithms.
 */
import { hexDigest } from './digest.js';
import type { ClientHello } from './client-hello.js';
import { isGrease } from './grease.js';
import { hex, hex4 } from './text.js';

/** JA4 and its raw (unhashed, sorted) form JA4_r. */
export interface Ja4 {
  ja4: string;
  ja4_r: string;
}

const EXT_SNI = 0x0000;
const EXT_ALPN = 0x0010;
const EXT_SUPPORTED_VERSIONS = 0x002b;
const EMPTY_HASH = '000000000000';

/** JA4 2-character version code for a TLS/DTLS version number; "00" when unknown. */
export function ja4Version(v: number): string {
  switch (v) {
    case 0x0304: return '13';
    case 0x0303: return '12';
    case 0x0302: return '11';
    case 0x0301: return '10';
    case 0x0300: return 's3';
    case 0x0002: return 's2';
    case 0xfeff: return 'd1';
    case 0xfefd: return 'd2';
    case 0xfefc: return 'd3';
    default: return '00';
  }
}

function isAlnum(b: number): boolean {
  return (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a);
}

/**
 * First and last character of the first ALPN value. A one-byte value gives that character twice.
 * If the first or last byte is not alphanumeric, the first and last characters of the value's
 * hex form are used instead (spec: 0xAB 0xCD → "ad"). Absent or empty → "00".
 */
export function ja4Alpn(first: Uint8Array | undefined): string {
  if (!first || first.length === 0) return '00';
  const a = first[0]!;
  const z = first[first.length - 1]!;
  if (isAlnum(a) && isAlnum(z)) return String.fromCharCode(a) + String.fromCharCode(z);
  const h = hex(first);
  return h[0]! + h[h.length - 1]!;
}

function two(n: number): string {
  return n > 99 ? '99' : n < 10 ? `0${n}` : String(n);
}

function hash12(s: string): string {
  return hexDigest('sha256', s).slice(0, 12);
}

function sortedHexList(values: readonly number[], skip?: (v: number) => boolean): string {
  const kept: number[] = [];
  for (const v of values) if (!isGrease(v) && !(skip && skip(v))) kept.push(v);
  kept.sort((x, y) => x - y);
  let s = '';
  for (let i = 0; i < kept.length; i++) s += i ? `,${hex4(kept[i]!)}` : hex4(kept[i]!);
  return s;
}

/**
 * The TLS version JA4 reports: the highest non-GREASE supported_versions entry when that
 * extension is present (even if it held nothing usable: then unknown), else legacy_version.
 */
export function ja4ClientVersion(ch: ClientHello): number {
  if (!ch.extensions.some((e) => e.type === EXT_SUPPORTED_VERSIONS)) return ch.legacyVersion;
  let best = -1;
  for (const v of ch.supportedVersions) if (!isGrease(v) && v > best) best = v;
  return best;
}

/**
 * JA4 of a ClientHello. `transport`: 't' TLS over TCP, 'q' QUIC, 'd' DTLS.
 * JA4_r is the same with the sorted lists in clear instead of hashes.
 */
export function ja4(ch: ClientHello, transport: 't' | 'q' | 'd'): Ja4 {
  let nCiphers = 0;
  for (const c of ch.cipherSuites) if (!isGrease(c)) nCiphers++;
  let nExt = 0;
  let hasSni = false;
  const extTypes: number[] = [];
  for (const e of ch.extensions) {
    if (isGrease(e.type)) continue;
    nExt++;
    if (e.type === EXT_SNI) hasSni = true;
    extTypes.push(e.type);
  }
  const a =
    transport +
    ja4Version(ja4ClientVersion(ch)) +
    (hasSni ? 'd' : 'i') +
    two(nCiphers) +
    two(nExt) +
    ja4Alpn(ch.alpnRaw[0]);
  const ciphers = sortedHexList(ch.cipherSuites);
  const exts = sortedHexList(extTypes, (t) => t === EXT_SNI || t === EXT_ALPN);
  const sigs = ch.signatureAlgorithms.filter((s) => !isGrease(s)).map(hex4).join(',');
  // Spec: no signature algorithms → the string ends without the underscore.
  const extsSigs = sigs ? `${exts}_${sigs}` : exts;
  const b = ciphers ? hash12(ciphers) : EMPTY_HASH;
  const c = exts ? hash12(extsSigs) : EMPTY_HASH;
  return { ja4: `${a}_${b}_${c}`, ja4_r: `${a}_${ciphers}_${extsSigs}` };
}
