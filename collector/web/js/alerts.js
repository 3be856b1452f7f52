// @ts-check
/**
 * The alerts table (highest score first; severity colours) and the evidence panel that opens
 * when a row is clicked. Every value is inserted as text.
 */
import { getJson } from './api.js';
import { byId, fmtEndpoint, fmtInt, fmtTime, h, replace } from './dom.js';

/**
 * @typedef {{ip: string, port?: number, zone: string, country: string, countryName: string}} Endpoint
 * @typedef {{id: string, site: string, sensorId: string, firstUs: number, lastUs: number, time: string, severity: string,
 *   score: number, category: string, detector: string, technique: string, tactic: string, source: Endpoint,
 *   destination: Endpoint, protocol: string, reason: string, count: number, receivedUs: number, updates: number}} AlertSummary
 * @typedef {AlertSummary & {evidence: Record<string, any>, modelVersion: string, updatedUs: number}} AlertDetail
 */

/**
 * @param {HTMLElement} tbody
 * @param {AlertSummary[]} alerts
 * @param {Set<string>} fresh ids that arrived live since the last view (highlighted)
 */
export function renderAlerts(tbody, alerts, fresh) {
  if (alerts.length === 0) {
    replace(tbody, h('tr', {}, h('td', { colspan: 9, class: 'empty' }, 'No alerts match.')));
    return;
  }
  const rows = alerts.map((a) => {
    const tr = h(
      'tr',
      { class: `sev-row sev-${a.severity}${fresh.has(a.id) ? ' fresh' : ''}`, 'data-id': a.id, tabindex: 0, title: 'show evidence' },
      h('td', {}, h('span', { class: `sev-badge sev-${a.severity}` }, a.severity)),
      h('td', { class: 'num' }, a.score.toFixed(2)),
      h('td', { class: 'nowrap' }, fmtTime(a.lastUs)),
      h('td', {}, a.sensorId),
      h('td', { class: 'nowrap' }, fmtEndpoint(a.source), ' ', h('span', { class: 'cc' }, ccLabel(a.source))),
      h('td', { class: 'nowrap' }, fmtEndpoint(a.destination)),
      h('td', {}, a.protocol || '–'),
      h('td', { title: a.tactic }, a.technique || '–'),
      h('td', { class: 'reason' }, a.reason, a.count > 1 ? h('span', { class: 'count' }, ` ×${fmtInt(a.count)}`) : null),
    );
    const open = () => void showEvidence(a.id);
    tr.addEventListener('click', open);
    tr.addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter') open();
    });
    return tr;
  });
  replace(tbody, ...rows);
}

/** @param {Endpoint} e */
function ccLabel(e) {
  if (e.country === 'internal') return 'internal';
  return e.country || '';
}

/**
 * @param {string} label
 * @param {string | number | undefined | null} value
 */
function field(label, value) {
  if (value === undefined || value === null || value === '') return [];
  return [h('dt', {}, label), h('dd', {}, String(value))];
}

/** Opens the evidence panel for one alert. @param {string} id */
export async function showEvidence(id) {
  const panel = byId('evidence');
  /** @type {AlertDetail} */
  const a = await getJson(`/api/alerts/${encodeURIComponent(id)}`);
  replace(byId('evidence-title'), h('span', { class: `sev-badge sev-${a.severity}` }, a.severity), ' ', a.detector || a.category);
  replace(
    byId('evidence-fields'),
    ...field('Reason', a.reason),
    ...field('Score', a.score.toFixed(3)),
    ...field('Category', a.category),
    ...field('Detector', a.detector),
    ...field('Technique', a.technique),
    ...field('Tactic', a.tactic),
    ...field('Source', `${fmtEndpoint(a.source)} (${a.source.countryName}, zone ${a.source.zone || '–'})`),
    ...field('Destination', `${fmtEndpoint(a.destination)} (${a.destination.countryName}, zone ${a.destination.zone || '–'})`),
    ...field('Protocol', a.protocol),
    ...field('First seen', fmtTime(a.firstUs)),
    ...field('Last seen', fmtTime(a.lastUs)),
    ...field('Occurrences', fmtInt(a.count)),
    ...field('Sensor', `${a.sensorId} (site ${a.site})`),
    ...field('Model', a.modelVersion),
    ...field('Alert id', a.id),
  );
  const ev = a.evidence ?? {};
  const names = /** @type {Record<string, string>} */ ({ sni: 'TLS SNI', ja3: 'JA3', ja4: 'JA4', httpHost: 'HTTP host', userAgent: 'User agent', dnsName: 'DNS name', rmmTool: 'Remote tool' });
  /** @type {HTMLElement[]} */
  const items = [];
  for (const [k, label] of Object.entries(names)) items.push(...field(label, ev[k]));
  const values = ev.values && typeof ev.values === 'object' ? ev.values : {};
  for (const [k, v] of Object.entries(values)) items.push(...field(k, typeof v === 'number' ? String(Math.round(v * 1000) / 1000) : String(v)));
  if (items.length === 0) items.push(h('dd', {}, 'none carried'));
  replace(byId('evidence-values'), ...items);
  panel.hidden = false;
  panel.setAttribute('data-id', a.id);
}

export function hideEvidence() {
  byId('evidence').hidden = true;
}
