// @ts-check
/**
 * The attack-origin map: countries drawn from geometry the collector computed (GET /api/map,
 * from the bundled Natural Earth data), shaded by alerts, with a marker per source country
 * sized by alerts. Private ranges have no place on a map: they are listed below it as
 * "internal", addresses without a country as "unknown".
 */
import { fmtInt, h, replace, s } from './dom.js';

/**
 * @typedef {{width: number, height: number, countries: {code: string, name: string, d: string}[], points: Record<string, [number, number]>}} WorldMap
 * @typedef {{country: string, countryName: string, alerts: number, sources: number}} CountryEntry
 */

/**
 * @param {SVGSVGElement} svg
 * @param {HTMLElement} extra
 * @param {WorldMap} map
 * @param {CountryEntry[]} countries
 * @param {(code: string) => void} onPick
 */
export function drawMap(svg, extra, map, countries, onPick) {
  svg.setAttribute('viewBox', `0 0 ${map.width} ${map.height}`);
  /** @type {Map<string, CountryEntry>} */
  const by = new Map();
  for (const c of countries) by.set(c.country, c);
  const max = Math.max(1, ...countries.filter((c) => /^[A-Z]{2}$/.test(c.country)).map((c) => c.alerts));
  /** @type {SVGElement[]} */
  const parts = [];
  for (const c of map.countries) {
    const hit = by.get(c.code);
    const shade = hit ? 0.25 + 0.6 * Math.sqrt(hit.alerts / max) : 0;
    const path = s('path', {
      d: c.d,
      class: hit ? 'land hit' : 'land',
      fill: hit ? '#d32f2f' : '#dfe3e8',
      'fill-opacity': hit ? shade.toFixed(2) : 1,
      stroke: '#fff',
      'stroke-width': 0.5,
    }, s('title', {}, hit ? `${hit.countryName}: ${fmtInt(hit.alerts)} alerts from ${fmtInt(hit.sources)} sources` : c.name));
    if (hit) path.addEventListener('click', () => onPick(c.code));
    parts.push(path);
  }
  for (const c of countries) {
    const p = map.points[c.country];
    if (!p) continue;
    const r = 3 + 14 * Math.sqrt(c.alerts / max);
    const dot = s('circle', { cx: p[0], cy: p[1], r: r.toFixed(1), fill: '#b71c1c', 'fill-opacity': 0.75, stroke: '#fff', 'stroke-width': 1, class: 'origin', 'data-key': c.country },
      s('title', {}, `${c.countryName}: ${fmtInt(c.alerts)} alerts from ${fmtInt(c.sources)} sources`));
    dot.addEventListener('click', () => onPick(c.country));
    parts.push(dot);
  }
  replace(svg, ...parts);

  /** @type {HTMLElement[]} */
  const items = [];
  for (const c of countries) {
    if (map.points[c.country]) continue;
    const label = c.country === 'internal' ? 'internal (private ranges)' : c.country === '' ? 'unknown location' : c.countryName;
    const b = h('button', { type: 'button', class: c.country === 'internal' ? 'origin-chip internal' : 'origin-chip' }, `${label}: ${fmtInt(c.alerts)} alerts, ${fmtInt(c.sources)} sources`);
    b.addEventListener('click', () => onPick(c.country === '' ? 'unknown' : c.country));
    items.push(b);
  }
  replace(extra, ...items);
}
