/**
 * Country of an IP address from an offline GeoIP database (the GeoLite2 country MMDB shipped in
 * the npm package @ip-location-db/geolite2-country-mmdb; nothing is downloaded at run time).
 *
 * Result codes: an ISO 3166-1 alpha-2 code ("DE"), `internal` for private and similar ranges,
 * or `` (empty) when the address is reserved, invalid or not in the database.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Reader, type Response } from 'maxmind';
import { classifyAddress } from './address-class.js';

/** The country code stored for private ranges. */
export const INTERNAL = 'internal';

interface CountryRecord {
  country_code?: string;
}

/** Where the bundled database lives (both IPv4 and IPv6). */
export function bundledCountryDb(): string {
  const require = createRequire(import.meta.url);
  return require.resolve('@ip-location-db/geolite2-country-mmdb/geolite2-country.mmdb');
}

export interface CountryLookup {
  country(ip: string): string;
}

/** Looks addresses up in an MMDB file read once into memory (≈9 MB for the bundled file). */
export class GeoIp implements CountryLookup {
  // The ip-location-db files carry {country_code}, not MaxMind's own record layout: read loosely.
  private readonly reader: Reader<Response>;
  private readonly cache = new Map<string, string>();
  /** Bounded memo: attack sources repeat a lot; the cap keeps a flood of spoofed sources from growing it. */
  private static readonly CACHE_MAX = 10_000;

  constructor(path = bundledCountryDb()) {
    this.reader = new Reader<Response>(readFileSync(path));
  }

  country(ip: string): string {
    const hit = this.cache.get(ip);
    if (hit !== undefined) return hit;
    const code = this.lookup(ip);
    if (this.cache.size >= GeoIp.CACHE_MAX) this.cache.clear();
    this.cache.set(ip, code);
    return code;
  }

  private lookup(ip: string): string {
    const cls = classifyAddress(ip);
    if (cls === 'internal') return INTERNAL;
    if (cls !== 'public') return '';
    try {
      const code = (this.reader.get(ip) as CountryRecord | null)?.country_code;
      return typeof code === 'string' && /^[A-Z]{2}$/.test(code) ? code : '';
    } catch {
      return '';
    }
  }
}
