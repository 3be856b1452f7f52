/**
 * Registered domain of a query name, for grouping DNS activity by owner: the public suffix is the
 * last label, or the last two when the last is a two-letter country code and the one before is a
 * common second level (co.uk, com.au, ne.jp...). A heuristic in place of the Public Suffix List
 * (no data file ships with the sensor): wrong for private suffixes (user.github.io → github.io)
 * and unusual ccTLD layouts, right for the grouping detectors need.
 */
const CC_SECOND_LEVEL = new Set([
  'ac', 'co', 'com', 'edu', 'gob', 'gov', 'go', 'govt', 'in', 'info', 'lg', 'ltd', 'me', 'mil', 'ne', 'net', 'nhs',
  'nic', 'nom', 'or', 'org', 'plc', 'sch', 'biz', 'gouv', 'asso',
]);

export interface DomainParts {
  /** `example.co.uk` */
  domain: string;
  /** The label left of the public suffix: `example` (what a DGA makes up). */
  label: string;
  suffix: string;
  /** Labels left of the registered domain (`''` when none). */
  subdomain: string;
}

/** Splits a presentation-form name (case-folded, trailing dot removed); undefined for single labels. */
export function registeredDomain(name: string): DomainParts | undefined {
  let n = name.toLowerCase();
  if (n.endsWith('.')) n = n.slice(0, -1);
  if (n.length === 0 || n.length > 253) return undefined;
  const labels = n.split('.');
  if (labels.length < 2 || labels.some((l) => l.length === 0)) return undefined;
  const last = labels[labels.length - 1]!;
  const second = labels[labels.length - 2]!;
  const suffixLabels = labels.length >= 3 && last.length === 2 && CC_SECOND_LEVEL.has(second) ? 2 : 1;
  if (labels.length <= suffixLabels) return undefined;
  const labelIdx = labels.length - suffixLabels - 1;
  return {
    domain: labels.slice(labelIdx).join('.'),
    label: labels[labelIdx]!,
    suffix: labels.slice(labelIdx + 1).join('.'),
    subdomain: labels.slice(0, labelIdx).join('.'),
  };
}
