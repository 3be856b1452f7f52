/**
 * Lexical features of a query name, for DGA and tunnelling detectors, and a registered-domain
 * split for ECS `dns.question.registered_domain` / `subdomain` / `top_level_domain`.
 */

export interface NameMetrics {
  /** Shannon entropy in bits per character over the name without the dots. */
  entropy: number;
  labelCount: number;
  longestLabel: number;
  /** Digits / characters (dots excluded). */
  digitRatio: number;
}

/** Names longer than this are measured on their first 255 characters (escapes make them longer). */
const MAX_MEASURED = 255;
const counts = new Uint16Array(256);
const seen = new Uint8Array(MAX_MEASURED);

/** Entropy, label count, longest label and digit ratio of a presentation-form name. */
export function nameMetrics(name: string): NameMetrics {
  if (name === '.' || name.length === 0) return { entropy: 0, labelCount: 0, longestLabel: 0, digitRatio: 0 };
  const len = Math.min(name.length, MAX_MEASURED);
  let chars = 0;
  let digits = 0;
  let labels = 1;
  let cur = 0;
  let longest = 0;
  let distinct = 0;
  for (let i = 0; i < len; i++) {
    const c = name.charCodeAt(i) & 0xff;
    if (c === 0x2e) {
      labels++;
      if (cur > longest) longest = cur;
      cur = 0;
      continue;
    }
    cur++;
    chars++;
    if (c >= 0x30 && c <= 0x39) digits++;
    // Case-insensitive, as DNS is (0x20 randomisation must not raise entropy).
    const k = c >= 0x41 && c <= 0x5a ? c + 0x20 : c;
    if (counts[k] === 0) seen[distinct++] = k;
    counts[k]!++;
  }
  if (cur > longest) longest = cur;
  let h = 0;
  for (let i = 0; i < distinct; i++) {
    const k = seen[i]!;
    const p = counts[k]! / chars;
    h -= p * Math.log2(p);
    counts[k] = 0;
  }
  return {
    entropy: Math.round(h * 1000) / 1000,
    labelCount: labels,
    longestLabel: longest,
    digitRatio: chars === 0 ? 0 : Math.round((digits / chars) * 1000) / 1000,
  };
}

/**
 * Second-level labels that ccTLD registries commonly sell below (co.uk, com.au, ne.jp, gov.br...).
 *
 * Heuristic in place of the Public Suffix List (no data file ships with the sensor): the public
 * suffix is the last label, or the last two when the last is a two-letter country code and the
 * one before it is in this list. It gets `example.co.uk` and `example.com.au` right, and it is
 * wrong for private suffixes (`user.github.io` → `github.io`), for ccTLDs with other second
 * levels (`city.kawasaki.jp`), and for wildcard rules. Good enough to group names by owner for
 * detectors; not an authority.
 */
const CC_SECOND_LEVEL = new Set([
  'ac', 'co', 'com', 'edu', 'gob', 'gov', 'gv', 'go', 'govt', 'id', 'in', 'info', 'lg', 'ltd', 'me',
  'mil', 'ne', 'net', 'nhs', 'nic', 'nom', 'or', 'org', 'plc', 'police', 'sch', 'biz', 'gouv', 'asso',
]);

export interface DomainSplit {
  registeredDomain: string;
  /** Labels left of the registered domain ('' when none). */
  subdomain: string;
  topLevelDomain: string;
}

/** Registered domain by the heuristic above; undefined for single labels, roots, arpa and IPs. */
export function splitDomain(name: string): DomainSplit | undefined {
  if (name.length === 0 || name === '.' || name.length > 1024) return undefined;
  const lower = (name.endsWith('.') ? name.slice(0, -1) : name).toLowerCase();
  const last = lower.lastIndexOf('.');
  if (last <= 0) return undefined;
  const tld = lower.slice(last + 1);
  if (tld === 'arpa' || tld === 'local' || /^\d+$/.test(tld)) return undefined;
  let suffixStart = last + 1;
  const prev = lower.lastIndexOf('.', last - 1);
  const second = lower.slice(prev + 1, last);
  if (tld.length === 2 && CC_SECOND_LEVEL.has(second) && prev > 0) suffixStart = prev + 1;
  else if (tld.length === 2 && CC_SECOND_LEVEL.has(second) && prev < 0) return undefined;
  const regStart = lower.lastIndexOf('.', suffixStart - 2) + 1;
  return {
    registeredDomain: lower.slice(regStart),
    subdomain: regStart > 0 ? lower.slice(0, regStart - 1) : '',
    topLevelDomain: lower.slice(suffixStart),
  };
}
