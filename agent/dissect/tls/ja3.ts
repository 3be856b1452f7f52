/**
 * JA3 (client) and JA3S (server) fingerprints (Salesforce JA3, BSD 3-Clause): decimal values
 * joined by "-" within a field and "," between fields, then MD5. GREASE values (RFC 8701) are
 * dropped from every list; lists keep wire order.
 *
 *   JA3  = legacy_version,ciphers,extensions,supported_groups,ec_point_formats
 *   JA3S = legacy_version,cipher,extensions
 */
import { hexDigest } from './digest.js';
import type { ClientHello } from './client-hello.js';
import { isGrease } from './grease.js';

/** A JA3/JA3S fingerprint: the clear string and its MD5 (lower-case hex). */
export interface Ja3 {
  string: string;
  md5: string;
}

function join(values: readonly number[]): string {
  let s = '';
  for (const v of values) {
    if (isGrease(v)) continue;
    s += s ? `-${v}` : String(v);
  }
  return s;
}

function md5(s: string): string {
  return hexDigest('md5', s);
}

/** JA3 of a ClientHello. */
export function ja3(ch: ClientHello): Ja3 {
  const exts: number[] = ch.extensions.map((e) => e.type);
  const s = `${ch.legacyVersion},${join(ch.cipherSuites)},${join(exts)},${join(ch.supportedGroups)},${ch.ecPointFormats.join('-')}`;
  return { string: s, md5: md5(s) };
}

/** What JA3S needs from a ServerHello. */
export interface Ja3sInput {
  readonly legacyVersion: number;
  readonly cipherSuite: number;
  readonly extensions: ReadonlyArray<{ readonly type: number }>;
}

/** JA3S of a ServerHello. */
export function ja3s(sh: Ja3sInput): Ja3 {
  const s = `${sh.legacyVersion},${sh.cipherSuite},${join(sh.extensions.map((e) => e.type))}`;
  return { string: s, md5: md5(s) };
}
