/**
 * A small, bounded X.509 reader (RFC 5280 §4.1) for the certificates a TLS ≤ 1.2 server sends in
 * clear: subject, issuer, validity, serial, subjectAltName, fingerprints. No signature checks:
 * "self-signed" means subject == issuer (byte-equal Names), which is what a sensor can see.
 */
import { hexDigest } from './digest.js';
import { incomplete, malformed, ok, type ParseResult } from '../../util/result.js';
import { TAG, children, oidString, readTlv, type Tlv } from './der.js';

export const X509_LIMITS = {
  /** Attributes read per Name (RDN entries). */
  maxNameAttributes: 64,
  /** Characters kept per attribute value and per distinguished-name string. */
  maxValueChars: 256,
  maxDnChars: 2048,
  /** Extensions read per certificate. */
  maxExtensions: 64,
  /** subjectAltName entries kept. */
  maxSans: 256,
  /** Serial number octets (RFC 5280 §4.1.2.2 caps conforming serials at 20). */
  maxSerialBytes: 32,
} as const;

/** RFC 4514 short names, plus the ones nDPI and OpenSSL print (emailAddress…). */
const ATTR: Readonly<Record<string, string>> = {
  '2.5.4.3': 'CN',
  '2.5.4.4': 'SN',
  '2.5.4.5': 'serialNumber',
  '2.5.4.6': 'C',
  '2.5.4.7': 'L',
  '2.5.4.8': 'ST',
  '2.5.4.9': 'STREET',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
  '2.5.4.12': 'title',
  '2.5.4.15': 'businessCategory',
  '2.5.4.17': 'postalCode',
  '2.5.4.42': 'GN',
  '0.9.2342.19200300.100.1.1': 'UID',
  '0.9.2342.19200300.100.1.25': 'DC',
  '1.2.840.113549.1.9.1': 'emailAddress',
  '1.3.6.1.4.1.311.60.2.1.1': 'jurisdictionL',
  '1.3.6.1.4.1.311.60.2.1.2': 'jurisdictionST',
  '1.3.6.1.4.1.311.60.2.1.3': 'jurisdictionC',
};

const OID_SAN = '2.5.29.17';

/** A Name (subject or issuer). */
export interface X509Name {
  /** ECS/OpenSSL style: attributes in certificate order, `, ` between, `+` inside an RDN; RFC 4514 escaping. */
  dn: string;
  /** Values per short name (CN, O, OU, C, L, ST…), in order. */
  attrs: Record<string, string[]>;
}

export interface X509Cert {
  version: number;
  /** Upper-case hex, no colons (ECS `x509.serial_number`). */
  serial: string;
  subject: X509Name;
  issuer: X509Name;
  notBeforeUs?: number;
  notAfterUs?: number;
  /** subjectAltName dNSName entries and iPAddress entries (dotted / RFC 5952 text). */
  sanDns: string[];
  sanIp: string[];
  /** Subject and issuer Names are byte-equal. */
  selfSigned: boolean;
  /** Upper-case hex of the DER's SHA-256 and SHA-1 (ECS `hash.sha256`/`hash.sha1`; SHA-1 '' when not asked for). */
  sha256: string;
  sha1: string;
  /** Something inside did not parse; the fields above hold what did. */
  partial: boolean;
}

const decoderUtf8 = new TextDecoder('utf-8', { fatal: false });

// C0 and C1 control characters and DEL.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** Replaces control characters so certificate text cannot corrupt logs. */
function clean(s: string, max: number): string {
  // Fast path: nearly every certificate string is clean.
  if (!CONTROL.test(s)) return s.length > max ? s.slice(0, max) : s;
  let out = '';
  for (const ch of s) {
    if (out.length >= max) break;
    const c = ch.codePointAt(0)!;
    out += c < 0x20 || c === 0x7f || (c >= 0x80 && c < 0xa0) ? `\\x${c.toString(16).padStart(2, '0')}` : ch;
  }
  return out;
}

/** Text of a DirectoryString / IA5String / … element; undefined for non-string tags. */
function stringValue(buf: Uint8Array, t: Tlv): string | undefined {
  const max = X509_LIMITS.maxValueChars;
  const raw = buf.subarray(t.start, Math.min(t.end, t.start + max * 4));
  switch (t.tag) {
    case TAG.utf8String:
      return clean(decoderUtf8.decode(raw), max);
    case TAG.printableString:
    case TAG.ia5String:
    case TAG.teletexString:
      // Teletex (T.61) is treated as Latin-1, as OpenSSL and Wireshark do in practice.
      return clean(Buffer.from(raw.buffer, raw.byteOffset, raw.length).toString('latin1'), max);
    case TAG.bmpString: {
      let s = '';
      for (let i = 0; i + 1 < raw.length; i += 2) s += String.fromCharCode((raw[i]! << 8) | raw[i + 1]!);
      return clean(s, max);
    }
    case TAG.universalString: {
      let s = '';
      for (let i = 0; i + 3 < raw.length; i += 4) {
        const cp = ((raw[i]! << 24) >>> 0) + ((raw[i + 1]! << 16) | (raw[i + 2]! << 8) | raw[i + 3]!);
        s += cp <= 0x10ffff ? String.fromCodePoint(cp) : '\ufffd';
      }
      return clean(s, max);
    }
    default:
      return undefined;
  }
}

const HEX = '0123456789ABCDEF';
function hexUpper(buf: Uint8Array, start: number, end: number): string {
  let s = '';
  for (let i = start; i < end; i++) s += HEX[buf[i]! >> 4]! + HEX[buf[i]! & 15]!;
  return s;
}

/** RFC 4514 §2.4 escaping of an attribute value. */
const DN_SPECIAL = /[\\,+"<>;=]/;
const DN_SPECIAL_ALL = /[\\,+"<>;=]/g;

function escapeDn(v: string): string {
  let s = DN_SPECIAL.test(v) ? v.replace(DN_SPECIAL_ALL, (c) => `\\${c}`) : v;
  if (s.startsWith('#') || s.startsWith(' ')) s = `\\${s}`;
  if (s.endsWith(' ') && s.length > 1) s = `${s.slice(0, -1)}\\ `;
  return s;
}

function parseName(buf: Uint8Array, name: Tlv): { name: X509Name; ok: boolean } {
  const out: X509Name = { dn: '', attrs: {} };
  if (name.tag !== TAG.sequence) return { name: out, ok: false };
  const rdns = children(buf, name, X509_LIMITS.maxNameAttributes);
  let ok = rdns.ok;
  let count = 0;
  const parts: string[] = [];
  for (const rdn of rdns.items) {
    if (rdn.tag !== TAG.set) {
      ok = false;
      continue;
    }
    const atvs = children(buf, rdn, X509_LIMITS.maxNameAttributes);
    if (!atvs.ok) ok = false;
    const rdnParts: string[] = [];
    for (const atv of atvs.items) {
      if (++count > X509_LIMITS.maxNameAttributes) return { name: finishDn(out, parts), ok: false };
      const kv = atv.tag === TAG.sequence ? children(buf, atv, 2) : undefined;
      const type = kv?.items[0];
      const value = kv?.items[1];
      if (!kv || !kv.ok || !type || !value || type.tag !== TAG.oid) {
        ok = false;
        continue;
      }
      const oid = oidString(buf, type.start, type.end) ?? '?';
      const key = ATTR[oid] ?? oid;
      const text = stringValue(buf, value);
      const shown = text ?? `#${hexUpper(buf, value.at, Math.min(value.end, value.at + 64))}`;
      (out.attrs[key] ??= []).push(text ?? shown);
      rdnParts.push(`${key}=${text === undefined ? shown : escapeDn(text)}`);
    }
    if (rdnParts.length) parts.push(rdnParts.join('+'));
  }
  return { name: finishDn(out, parts), ok };
}

function finishDn(out: X509Name, parts: string[]): X509Name {
  const dn = parts.join(', ');
  out.dn = dn.length > X509_LIMITS.maxDnChars ? dn.slice(0, X509_LIMITS.maxDnChars) : dn;
  return out;
}

function digits(buf: Uint8Array, p: number, n: number): number {
  let v = 0;
  for (let i = 0; i < n; i++) {
    const d = buf[p + i]! - 0x30;
    if (d < 0 || d > 9) return NaN;
    v = v * 10 + d;
  }
  return v;
}

/** UTCTime (YYMMDDHHMMSSZ) or GeneralizedTime (YYYYMMDDHHMMSS[.f]Z) → µs since the epoch. */
export function parseTime(buf: Uint8Array, t: Tlv): number | undefined {
  let p = t.start;
  const len = t.end - t.start;
  let year: number;
  if (t.tag === TAG.utcTime) {
    if (len < 11) return undefined;
    const yy = digits(buf, p, 2);
    year = yy >= 50 ? 1900 + yy : 2000 + yy; // RFC 5280 §4.1.2.5.1
    p += 2;
  } else if (t.tag === TAG.generalizedTime) {
    if (len < 13) return undefined;
    year = digits(buf, p, 4);
    p += 4;
  } else return undefined;
  const mo = digits(buf, p, 2);
  const d = digits(buf, p + 2, 2);
  const h = digits(buf, p + 4, 2);
  const mi = digits(buf, p + 6, 2);
  // Seconds are mandatory in DER; tolerate their absence (old BER encoders) when 'Z' follows.
  const s = buf[p + 8] === 0x5a ? 0 : digits(buf, p + 8, 2);
  if ([year, mo, d, h, mi, s].some((x) => Number.isNaN(x)) || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) {
    return undefined;
  }
  return Date.UTC(year, mo - 1, d, h, mi, s) * 1000;
}

function ipText(buf: Uint8Array, t: Tlv): string | undefined {
  const n = t.end - t.start;
  if (n === 4) return `${buf[t.start]}.${buf[t.start + 1]}.${buf[t.start + 2]}.${buf[t.start + 3]}`;
  if (n !== 16) return undefined;
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((buf[t.start + i]! << 8) | buf[t.start + i + 1]!).toString(16));
  // RFC 5952: compress the longest run (≥ 2) of zero groups.
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}

function parseSan(buf: Uint8Array, octets: Tlv, cert: X509Cert): boolean {
  const seq = readTlv(buf, octets.start, octets.end);
  if (!seq || seq.tag !== TAG.sequence) return false;
  const names = children(buf, seq, X509_LIMITS.maxSans);
  for (const gn of names.items) {
    if (gn.tag === 0x82) {
      // dNSName [2] IA5String (implicit)
      const s = stringValue(buf, { tag: TAG.ia5String, at: gn.at, start: gn.start, end: gn.end });
      if (s !== undefined) cert.sanDns.push(s);
    } else if (gn.tag === 0x87) {
      // iPAddress [7] OCTET STRING (implicit)
      const ip = ipText(buf, gn);
      if (ip !== undefined) cert.sanIp.push(ip);
    }
  }
  return names.ok;
}

function equalBytes(buf: Uint8Array, a: Tlv, b: Tlv): boolean {
  const la = a.end - a.at;
  if (la !== b.end - b.at) return false;
  for (let i = 0; i < la; i++) if (buf[a.at + i] !== buf[b.at + i]) return false;
  return true;
}

/**
 * Parses one DER certificate. Never throws; `partial` marks a certificate read only in part.
 * `withSha1`: also hash with SHA-1 (ECS `hash.sha1`; the leaf needs it, chain certificates not).
 */
export function parseCertificate(der: Uint8Array, withSha1 = true): ParseResult<X509Cert> {
  const top = readTlv(der, 0, der.length);
  if (!top) return der.length < 4 ? incomplete('x509.short') : malformed('x509.outer');
  if (top.tag !== TAG.sequence) return malformed('x509.outer');
  const tbs = readTlv(der, top.start, top.end);
  if (!tbs || tbs.tag !== TAG.sequence) return malformed('x509.tbs');
  const fields = children(der, tbs, 12);
  const f = fields.items;
  let i = 0;
  let version = 1;
  if (f[i]?.tag === 0xa0) {
    const v = readTlv(der, f[i]!.start, f[i]!.end);
    if (v && v.tag === TAG.integer && v.end - v.start === 1) version = der[v.start]! + 1;
    i++;
  }
  const serialT = f[i++];
  const sigAlg = f[i++];
  const issuerT = f[i++];
  const validity = f[i++];
  const subjectT = f[i++];
  if (!serialT || serialT.tag !== TAG.integer || !sigAlg || !issuerT || !validity || !subjectT) return malformed('x509.tbs_fields');
  let sStart = serialT.start;
  // Drop the sign-padding zero octet of a positive serial.
  if (serialT.end - sStart > 1 && der[sStart] === 0 && der[sStart + 1]! >= 0x80) sStart++;
  const sEnd = Math.min(serialT.end, sStart + X509_LIMITS.maxSerialBytes);
  const issuer = parseName(der, issuerT);
  const subject = parseName(der, subjectT);
  const cert: X509Cert = {
    version,
    serial: hexUpper(der, sStart, sEnd),
    subject: subject.name,
    issuer: issuer.name,
    sanDns: [],
    sanIp: [],
    selfSigned: equalBytes(der, subjectT, issuerT),
    sha256: hexDigest('sha256', der.subarray(top.at, top.end)).toUpperCase(),
    sha1: withSha1 ? hexDigest('sha1', der.subarray(top.at, top.end)).toUpperCase() : '',
    partial: !fields.ok || !issuer.ok || !subject.ok,
  };
  if (validity.tag === TAG.sequence) {
    const v = children(der, validity, 2);
    const nb = v.items[0] && parseTime(der, v.items[0]);
    const na = v.items[1] && parseTime(der, v.items[1]);
    if (nb !== undefined) cert.notBeforeUs = nb;
    if (na !== undefined) cert.notAfterUs = na;
    if (nb === undefined || na === undefined) cert.partial = true;
  } else cert.partial = true;
  // Optional fields after subjectPublicKeyInfo: [1] issuerUID, [2] subjectUID, [3] extensions.
  for (let k = i + 1; k < f.length; k++) {
    const t = f[k]!;
    if (t.tag !== 0xa3) continue;
    const seq = readTlv(der, t.start, t.end);
    if (!seq || seq.tag !== TAG.sequence) {
      cert.partial = true;
      break;
    }
    const exts = children(der, seq, X509_LIMITS.maxExtensions);
    if (!exts.ok) cert.partial = true;
    for (const ext of exts.items) {
      const parts = ext.tag === TAG.sequence ? children(der, ext, 3) : undefined;
      const id = parts?.items[0];
      if (!parts || !id || id.tag !== TAG.oid) {
        cert.partial = true;
        continue;
      }
      if (oidString(der, id.start, id.end) !== OID_SAN) continue;
      const octets = parts.items[parts.items.length - 1]!;
      if (octets.tag !== TAG.octetString || !parseSan(der, octets, cert)) cert.partial = true;
    }
  }
  return ok(cert);
}
