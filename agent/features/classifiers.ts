/**
 * Small classifications behind the categorical features: User-Agent class, risky content types,
 * suspicious ports, DNS query types that tunnels favour, SNI vs certificate names, and a bounded
 * memory of TLS fingerprints seen before. Lists are defaults; the extractor takes overrides.
 */

/** Ports of backdoors, IRC botnets, Tor, SOCKS and mining pools (NGFW "suspicious port" lists). */
export const DEFAULT_SUSPICIOUS_PORTS: readonly number[] = Object.freeze([
  23, 1080, 1337, 2323, 3333, 4444, 4445, 5555, 6666, 6667, 6668, 6669, 7777, 8333, 9001, 9030, 9050, 9150, 12345, 14444, 27374,
  31337, 45700,
]);

/**
 * JA3 client fingerprints published as malware/offensive-tool defaults (abuse.ch SSLBL, vendor
 * write-ups on Cobalt Strike / Metasploit / TrickBot). A short illustrative list: operators add
 * their own feed through configuration; JA3 collides with common libraries, so this only feeds a
 * feature, never an alert on its own.
 */
export const DEFAULT_KNOWN_BAD_JA3: readonly string[] = Object.freeze([
  '72a589da586844d7f0818ce684948eea',
  'a0e9f5d64349fb13191bc781f81f42e1',
  '6734f37431670b3ab4292b8f60f29984',
]);

/** No JA4 is listed by default (JA4 feeds are licensed separately); configure your own. */
export const DEFAULT_KNOWN_BAD_JA4: readonly string[] = Object.freeze([]);

/** User-Agent class: 0 missing, 1 script/tool/scanner/bot, 2 browser, 3 other. */
export const UaClass = { Missing: 0, Script: 1, Browser: 2, Other: 3 } as const;
export type UaClass = (typeof UaClass)[keyof typeof UaClass];

const SCRIPT_UA =
  /^(curl|wget|python|go-http-client|java|okhttp|libwww|lwp|powershell|windowspowershell|axios|node-fetch|node|undici|httpie|aiohttp|ruby|perl|php|winhttp|microsoft bits|microsoft-cryptoapi|nmap|masscan|zgrab|sqlmap|nikto|hydra|gobuster|dirbuster|wfuzz|fasthttp|apache-httpclient|reqwest|got|rest-client)\b/i;
const BOT_UA = /bot|crawl|spider|scan|nmap/i;

/** Classifies a User-Agent header value (first 256 characters looked at). */
export function uaClass(ua: string | undefined): UaClass {
  if (ua === undefined) return UaClass.Missing;
  const s = ua.length > 256 ? ua.slice(0, 256) : ua;
  if (s.trim().length === 0) return UaClass.Missing;
  if (SCRIPT_UA.test(s) || BOT_UA.test(s)) return UaClass.Script;
  if (s.startsWith('Mozilla/') || s.startsWith('Opera/')) return UaClass.Browser;
  return UaClass.Other;
}

/** Executables, scripts and archives that firewalls' file-blocking profiles single out. */
const RISKY_TYPES: ReadonlySet<string> = new Set([
  'application/x-msdownload',
  'application/x-msdos-program',
  'application/x-dosexec',
  'application/x-executable',
  'application/x-elf',
  'application/x-mach-binary',
  'application/vnd.microsoft.portable-executable',
  'application/x-ms-installer',
  'application/x-msi',
  'application/x-ms-shortcut',
  'application/hta',
  'application/x-sh',
  'application/x-shellscript',
  'application/x-csh',
  'application/x-bat',
  'application/x-powershell',
  'application/x-python-code',
  'application/java-archive',
  'application/x-java-archive',
  'application/vnd.ms-cab-compressed',
  'application/x-rar-compressed',
  'application/vnd.rar',
  'application/x-7z-compressed',
  'application/x-iso9660-image',
  'text/x-sh',
  'text/x-python',
  'text/vbscript',
  'text/x-vbscript',
]);

/** True for a Content-Type (parameters ignored) on the risky list. */
export function riskyContentType(ct: string | undefined): boolean {
  if (ct === undefined) return false;
  const semi = ct.indexOf(';');
  const base = (semi >= 0 ? ct.slice(0, semi) : ct).trim().toLowerCase();
  return RISKY_TYPES.has(base);
}

const COMMON_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'POST', 'OPTIONS']);

/** True for request methods outside GET/HEAD/POST/OPTIONS (PUT, DELETE, CONNECT, TRACE, WebDAV…). */
export function rareMethod(method: string | undefined): boolean {
  return method !== undefined && !COMMON_METHODS.has(method.toUpperCase());
}

/** Query types DNS tunnels favour: TXT, NULL, ANY, and types without a name (`TYPE65399`). */
export function tunnelQueryType(type: string | undefined): boolean {
  if (type === undefined) return false;
  return type === 'TXT' || type === 'NULL' || type === 'ANY' || type === '*' || type.startsWith('TYPE');
}

/** True for A / AAAA questions. */
export function addressQueryType(type: string | undefined): boolean {
  return type === 'A' || type === 'AAAA';
}

/**
 * RFC 6125 §6.4 host name matching, simplified: case-insensitive, trailing dot ignored, a
 * wildcard only as the whole left-most label and matching exactly one label.
 */
export function nameMatches(pattern: string, host: string): boolean {
  const p = pattern.toLowerCase().replace(/\.$/, '');
  const h = host.toLowerCase().replace(/\.$/, '');
  if (p === h) return true;
  if (!p.startsWith('*.')) return false;
  const dot = h.indexOf('.');
  return dot > 0 && h.slice(dot + 1) === p.slice(2) && p.slice(2).includes('.');
}

/** True when the SNI matches a SAN entry, or the subject CN when there are no SANs. */
export function certMatchesSni(sni: string, san: readonly string[], cn: string | undefined): boolean {
  const names = san.length > 0 ? san : cn !== undefined ? [cn] : [];
  for (let i = 0; i < names.length && i < 256; i++) if (nameMatches(names[i]!, sni)) return true;
  return false;
}

/** A bounded "seen before" memory of strings (LRU): fingerprints of recently active clients. */
export class SeenSet {
  private readonly map = new Map<string, true>();
  evictions = 0;

  constructor(readonly capacity: number) {
    if (!(capacity >= 1)) throw new RangeError(`SeenSet capacity must be ≥ 1, got ${capacity}`);
  }

  get size(): number {
    return this.map.size;
  }

  /** Records `key`; returns true when it had been seen before (and is still remembered). */
  touch(key: string): boolean {
    const had = this.map.delete(key);
    if (!had && this.map.size >= this.capacity) {
      const oldest = this.map.keys().next().value as string;
      this.map.delete(oldest);
      this.evictions++;
    }
    this.map.set(key, true);
    return had;
  }
}
