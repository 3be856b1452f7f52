// @ts-check
/**
 * Small SVG charts: the alert time series (bars = alerts per window coloured by the highest
 * severity in it, line = mean score) and horizontal bar charts for ports and protocols.
 */
import { fmtHm, fmtInt, replace, s } from './dom.js';

/** Fill colour per severity rank 1..4 (low yellow, medium orange, high/critical red). */
export const SEVERITY_FILL = ['#9e9e9e', '#f9c80e', '#f57c00', '#d32f2f', '#8e0000'];

/**
 * @typedef {{startUs: number, alerts: number, events: number, meanScore: number, maxSeverity: number}} Bucket
 */

/**
 * @param {SVGSVGElement} svg
 * @param {Bucket[]} buckets
 * @param {number} stepS
 * @param {(b: Bucket) => void} onPick a window was clicked
 */
export function drawSeries(svg, buckets, stepS, onPick) {
  // Draw in the element's own pixel size so text is not stretched.
  const W = Math.max(300, Math.round(svg.getBoundingClientRect().width) || 900);
  const H = 300;
  svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
  const left = 36;
  const right = 30;
  const top = 8;
  const bottom = 22;
  const plotW = W - left - right;
  const plotH = H - top - bottom;
  const n = Math.max(1, buckets.length);
  const max = Math.max(1, ...buckets.map((b) => b.alerts));
  const bw = plotW / n;
  /** @type {SVGElement[]} */
  const parts = [];
  // Axis: 0 and max on the left (alerts), 0 and 1 on the right (score).
  parts.push(s('line', { x1: left, x2: W - right, y1: top + plotH, y2: top + plotH, stroke: '#888', 'stroke-width': 1 }));
  parts.push(s('text', { x: left - 4, y: top + 8, 'text-anchor': 'end', 'font-size': 10, fill: '#555' }, fmtInt(max)));
  parts.push(s('text', { x: left - 4, y: top + plotH, 'text-anchor': 'end', 'font-size': 10, fill: '#555' }, '0'));
  parts.push(s('text', { x: W - right + 4, y: top + 8, 'font-size': 10, fill: '#1565c0' }, '1.0'));
  parts.push(s('text', { x: W - right + 4, y: top + plotH, 'font-size': 10, fill: '#1565c0' }, '0'));
  const labelEvery = Math.max(1, Math.ceil(n / 8));
  /** @type {string[]} */
  const line = [];
  buckets.forEach((b, i) => {
    const x = left + i * bw;
    const h = (b.alerts / max) * plotH;
    const title = `${fmtHm(b.startUs)}–${fmtHm(b.startUs + stepS * 1e6)}: ${fmtInt(b.alerts)} alerts, ${fmtInt(b.events)} events, mean score ${b.meanScore.toFixed(2)}`;
    // A full-height transparent target makes thin bars easy to hover and click.
    const hit = s('rect', { x: x, y: top, width: Math.max(1, bw), height: plotH, fill: '#000', 'fill-opacity': 0, class: 'hit' }, s('title', {}, title));
    hit.addEventListener('click', () => onPick(b));
    if (b.alerts > 0) {
      parts.push(s('rect', { x: x + bw * 0.1, y: top + plotH - h, width: Math.max(1, bw * 0.8), height: Math.max(1, h), fill: SEVERITY_FILL[b.maxSeverity] ?? '#999', class: 'bar' }));
      line.push(`${(x + bw / 2).toFixed(1)},${(top + plotH - b.meanScore * plotH).toFixed(1)}`);
    }
    parts.push(hit);
    if (i % labelEvery === 0) parts.push(s('text', { x: x + 1, y: H - 6, 'font-size': 10, fill: '#555' }, fmtHm(b.startUs)));
  });
  if (line.length > 1) parts.push(s('polyline', { points: line.join(' '), fill: 'none', stroke: '#1565c0', 'stroke-width': 2, class: 'score-line' }));
  for (const p of line) {
    const [cx, cy] = p.split(',');
    parts.push(s('circle', { cx: cx ?? 0, cy: cy ?? 0, r: 2.5, fill: '#1565c0' }));
  }
  replace(svg, ...parts);
}

/**
 * Horizontal bars, one per entry, clickable.
 * @param {SVGSVGElement} svg
 * @param {{key: string, alerts: number, maxScore: number}[]} entries
 * @param {(key: string) => string} label
 * @param {(key: string) => void} onPick
 */
export function drawBars(svg, entries, label, onPick) {
  const W = 400;
  const rowH = 22;
  const labelW = 110;
  const rows = entries.slice(0, 10);
  const max = Math.max(1, ...rows.map((e) => e.alerts));
  const H = Math.max(40, rows.length * rowH + 8);
  svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
  if (rows.length === 0) {
    replace(svg, s('text', { x: W / 2, y: 24, 'text-anchor': 'middle', 'font-size': 12, fill: '#777' }, 'no alerts in this window'));
    return;
  }
  /** @type {SVGElement[]} */
  const parts = [];
  rows.forEach((e, i) => {
    const y = 4 + i * rowH;
    const w = ((W - labelW - 50) * e.alerts) / max;
    const g = s(
      'g',
      { class: 'bar-row', 'data-key': e.key, role: 'button', tabindex: 0 },
      s('title', {}, `${label(e.key)}: ${fmtInt(e.alerts)} alerts, max score ${e.maxScore.toFixed(2)}`),
      s('text', { x: labelW - 6, y: y + 15, 'text-anchor': 'end', 'font-size': 12, fill: '#222' }, label(e.key)),
      s('rect', { x: labelW, y: y + 3, width: Math.max(2, w), height: rowH - 8, fill: scoreFill(e.maxScore), rx: 2 }),
      s('text', { x: labelW + Math.max(2, w) + 4, y: y + 15, 'font-size': 11, fill: '#444' }, fmtInt(e.alerts)),
    );
    g.addEventListener('click', () => onPick(e.key));
    g.addEventListener('keydown', (ev) => {
      if (/** @type {KeyboardEvent} */ (ev).key === 'Enter') onPick(e.key);
    });
    parts.push(g);
  });
  replace(svg, ...parts);
}

/** Bar colour from a score 0..1 (yellow → orange → red, as the severities). @param {number} score */
export function scoreFill(score) {
  if (score >= 0.8) return SEVERITY_FILL[3] ?? '#d32f2f';
  if (score >= 0.5) return SEVERITY_FILL[2] ?? '#f57c00';
  return SEVERITY_FILL[1] ?? '#f9c80e';
}
