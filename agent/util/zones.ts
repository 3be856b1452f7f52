/**
 * Network zones from configured CIDRs: which side of the perimeter an address is on. Used by the
 * detectors (lateral movement is trust → trust, exfiltration is trust → untrust, RMM from
 * untrust/guest...) and by feature extraction (zone transition features).
 *
 * Longest prefix wins, so `guest: 10.15.99.0/24` carves a guest network out of the default
 * `trust: 10.0.0.0/8`. Addresses that match no rule are `untrust`.
 */

export type ZoneName = 'trust' | 'untrust' | 'guest' | string;

/** One configured range: `{ cidr: '10.0.0.0/8', zone: 'trust' }`. */
export interface ZoneRule {
  cidr: string;
  zone: ZoneName;
}

/** RFC 1918, loopback, link-local (v4 and v6), IPv6 ULA and loopback: the default trusted ranges. */
export const DEFAULT_TRUST_CIDRS: readonly string[] = [
  '10.0.0.0/8',
  '172.16.0.0/12',
  '192.168.0.0/16',
  '127.0.0.0/8',
  '169.254.0.0/16',
  'fc00::/7',
  'fe80::/10',
  '::1/128',
];

/** An address as four big-endian 32-bit words (IPv4 uses word 0). */
export interface ParsedIp {
  version: 4 | 6;
  words: Uint32Array;
}

/** Parses dotted-quad IPv4 into an unsigned 32-bit number; -1 when it is not one. */
export function parseIpv4(s: string): number {
  if (s.length < 7 || s.length > 15) return -1;
  let value = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x2e) {
      if (digits === 0 || dots === 3) return -1;
      value = value * 256 + part;
      part = 0;
      digits = 0;
      dots++;
    } else if (c >= 0x30 && c <= 0x39) {
      part = part * 10 + (c - 0x30);
      if (++digits > 3 || part > 255) return -1;
    } else return -1;
  }
  if (dots !== 3 || digits === 0) return -1;
  return value * 256 + part;
}

/** Parses IPv6 text (with `::` and an optional dotted IPv4 tail, no zone id) into 4 words; undefined when invalid. */
export function parseIpv6(s: string): Uint32Array | undefined {
  if (s.length < 2 || s.length > 45 || s.includes(':::') || s.indexOf('::') !== s.lastIndexOf('::')) return undefined;
  const groups: number[] = [];
  let gap = -1;
  const parts = s.split(':');
  if (parts.length < 3 || parts.length > 9) return undefined;
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i]!;
    if (p === '') {
      // '::' shows as one empty part in the middle, two at an edge ('::1', '1::').
      const edge = i === 0 || i === parts.length - 1;
      if (edge) {
        if (parts[i === 0 ? 1 : i - 1] !== '') return undefined;
        if (gap < 0) gap = groups.length;
        continue;
      }
      if (gap >= 0 && gap !== groups.length) return undefined;
      gap = groups.length;
      continue;
    }
    if (i === parts.length - 1 && p.includes('.')) {
      const v4 = parseIpv4(p);
      if (v4 < 0) return undefined;
      groups.push(v4 >>> 16, v4 & 0xffff);
      continue;
    }
    if (p.length > 4 || !/^[0-9a-fA-F]+$/.test(p)) return undefined;
    groups.push(parseInt(p, 16));
  }
  if (gap < 0 ? groups.length !== 8 : groups.length > 7) return undefined;
  const full = gap < 0 ? groups : [...groups.slice(0, gap), ...new Array<number>(8 - groups.length).fill(0), ...groups.slice(gap)];
  const w = new Uint32Array(4);
  for (let i = 0; i < 4; i++) w[i] = ((full[2 * i]! << 16) | full[2 * i + 1]!) >>> 0;
  return w;
}

/** Parses an IPv4 or IPv6 address; undefined when it is neither. */
export function parseIp(s: string): ParsedIp | undefined {
  const v4 = parseIpv4(s);
  if (v4 >= 0) {
    const words = new Uint32Array(4);
    words[0] = v4;
    return { version: 4, words };
  }
  const v6 = s.includes(':') ? parseIpv6(s) : undefined;
  return v6 ? { version: 6, words: v6 } : undefined;
}

/** A parsed CIDR: version, network words and prefix length. */
export interface Cidr {
  version: 4 | 6;
  words: Uint32Array;
  prefix: number;
}

/** Parses `a.b.c.d/n`, `x::/n` or a bare address (a host route); undefined when invalid. */
export function parseCidr(s: string): Cidr | undefined {
  const slash = s.indexOf('/');
  const ip = parseIp(slash < 0 ? s.trim() : s.slice(0, slash).trim());
  if (!ip) return undefined;
  const max = ip.version === 4 ? 32 : 128;
  let prefix = max;
  if (slash >= 0) {
    const t = s.slice(slash + 1).trim();
    if (!/^\d{1,3}$/.test(t)) return undefined;
    prefix = Number(t);
    if (prefix > max) return undefined;
  }
  return { version: ip.version, words: ip.words, prefix };
}

/** True when `words` (same version) falls inside the CIDR. */
export function cidrContains(c: Cidr, version: number, words: ArrayLike<number>, at = 0): boolean {
  if (c.version !== version) return false;
  let bits = c.prefix;
  for (let i = 0; i < 4 && bits > 0; i++, bits -= 32) {
    const mask = bits >= 32 ? 0xffffffff : (0xffffffff << (32 - bits)) >>> 0;
    if (((words[at + i]! ^ c.words[i]!) & mask) >>> 0 !== 0) return false;
  }
  return true;
}

/** Zone settings as they appear in configuration. */
export interface ZoneConfig {
  /** Trusted ranges (default DEFAULT_TRUST_CIDRS). */
  trust?: readonly string[];
  /** Guest ranges (a zone of its own; longest prefix wins over trust). */
  guest?: readonly string[];
  /** Any other named zones: `{ dmz: ['10.9.0.0/16'] }`. */
  extra?: Readonly<Record<string, readonly string[]>>;
}

/**
 * Classifies addresses into zones. Built once from configuration; lookups allocate nothing and
 * scan the (few) rules longest prefix first.
 */
export class ZoneMap {
  private readonly rules: Array<{ cidr: Cidr; zone: ZoneName }> = [];

  /** Throws a one-line error naming the bad CIDR (configuration mistakes are for people to fix). */
  constructor(cfg: ZoneConfig = {}) {
    const add = (list: readonly string[], zone: ZoneName): void => {
      for (const text of list) {
        const cidr = parseCidr(text);
        if (!cidr) throw new Error(`zones: "${text}" is not a CIDR (write it like 10.0.0.0/8 or fd00::/8)`);
        this.rules.push({ cidr, zone });
      }
    };
    add(cfg.trust ?? DEFAULT_TRUST_CIDRS, 'trust');
    add(cfg.guest ?? [], 'guest');
    for (const [zone, list] of Object.entries(cfg.extra ?? {})) add(list, zone);
    this.rules.sort((a, b) => b.cidr.prefix - a.cidr.prefix);
  }

  /** Zone of an address held as words (DecodedPacket.src / dst). */
  zoneOfWords(version: number, words: ArrayLike<number>, at = 0): ZoneName {
    for (const r of this.rules) if (cidrContains(r.cidr, version, words, at)) return r.zone;
    return 'untrust';
  }

  /** Zone of an address in text form; `untrust` for text that is not an address. */
  zoneOf(ip: string): ZoneName {
    const p = parseIp(ip);
    return p ? this.zoneOfWords(p.version, p.words) : 'untrust';
  }

  /** True for zones inside the perimeter (every zone but `untrust`). */
  static internal(zone: ZoneName): boolean {
    return zone !== 'untrust';
  }
}

/** Multicast, broadcast and unspecified destinations: never a scan, lateral or beacon target. */
export function isGroupAddress(version: number, words: ArrayLike<number>, at = 0): boolean {
  const w0 = words[at]! >>> 0;
  if (version === 4) return w0 >>> 28 === 0xe || w0 === 0xffffffff || w0 === 0 || (w0 & 0xff) === 0xff;
  return w0 >>> 24 === 0xff || (w0 === 0 && words[at + 1] === 0 && words[at + 2] === 0 && words[at + 3] === 0);
}

/** isGroupAddress for text; false for text that is not an address. */
export function isGroupIp(ip: string): boolean {
  const p = parseIp(ip);
  return p ? isGroupAddress(p.version, p.words) : false;
}
