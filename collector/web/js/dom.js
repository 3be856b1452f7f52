// @ts-check
/**
 * DOM helpers for the dashboard. Everything shown comes from sensors and, through them, from
 * attackers (SNI, user agents, DNS names, URIs, reasons): it is only ever inserted as text nodes
 * or as values of a fixed set of harmless attributes. There is no HTML parsing anywhere in the
 * dashboard (the server's Content-Security-Policy enforces Trusted Types, so an innerHTML
 * assignment would throw).
 */

const SVG_NS = 'http://www.w3.org/2000/svg';

/** Attributes the helpers set; event handlers, href/src and style are deliberately absent. */
const SAFE_ATTRS = new Set([
  'class', 'id', 'title', 'type', 'value', 'name', 'colspan', 'role', 'tabindex', 'aria-label', 'data-id', 'data-key',
  'x', 'y', 'x1', 'x2', 'y1', 'y2', 'width', 'height', 'd', 'r', 'cx', 'cy', 'points', 'fill', 'stroke', 'stroke-width',
  'text-anchor', 'dominant-baseline', 'font-size', 'opacity', 'transform', 'viewBox', 'fill-opacity', 'rx',
]);

/**
 * @typedef {Record<string, string | number | boolean | undefined>} Attrs
 * @typedef {Node | string | number | null | undefined | false} Child
 */

/**
 * @param {Element} node
 * @param {Attrs} attrs
 */
function setAttrs(node, attrs) {
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    if (!SAFE_ATTRS.has(k)) throw new Error(`attribute ${k} is not allowed`);
    node.setAttribute(k, v === true ? '' : String(v));
  }
}

/**
 * @param {Element} node
 * @param {Child[]} children
 */
function append(node, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    node.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
  }
}

/**
 * An HTML element with attributes and children (strings become text nodes).
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Attrs} [attrs]
 * @param {...Child} children
 * @returns {HTMLElementTagNameMap[K]}
 */
export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  setAttrs(node, attrs);
  append(node, children);
  return node;
}

/**
 * An SVG element.
 * @param {string} tag
 * @param {Attrs} [attrs]
 * @param {...Child} children
 * @returns {SVGElement}
 */
export function s(tag, attrs = {}, ...children) {
  const node = /** @type {SVGElement} */ (document.createElementNS(SVG_NS, tag));
  setAttrs(node, attrs);
  append(node, children);
  return node;
}

/**
 * Replaces all children of `node`.
 * @param {Element} node
 * @param {...Child} children
 */
export function replace(node, ...children) {
  node.replaceChildren();
  append(node, children);
}

/**
 * @param {string} id
 * @returns {HTMLElement}
 */
export function byId(id) {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} missing`);
  return el;
}

/**
 * @template {Element} T
 * @param {string} id
 * @param {new () => T} type
 * @returns {T}
 */
export function byIdAs(id, type) {
  const el = document.getElementById(id);
  if (!(el instanceof type)) throw new Error(`#${id} missing or not a ${type.name}`);
  return el;
}

/** @param {number} n */
export function fmtInt(n) {
  return Math.round(n).toLocaleString('en-US');
}

/** @param {number} n @param {number} w */
function pad(n, w = 2) {
  return String(n).padStart(w, '0');
}

/**
 * Local time "HH:MM:SS", with the date in front when not today.
 * @param {number} us µs since the epoch
 */
export function fmtTime(us) {
  const d = new Date(us / 1000);
  const now = new Date();
  const hms = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  if (d.toDateString() === now.toDateString()) return hms;
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${hms}`;
}

/** @param {number} us */
export function fmtHm(us) {
  const d = new Date(us / 1000);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/**
 * "ip:port", with brackets for IPv6.
 * @param {{ip: string, port?: number}} e
 */
export function fmtEndpoint(e) {
  const ip = e.ip.includes(':') ? `[${e.ip}]` : e.ip;
  return e.port === undefined ? e.ip : `${ip}:${e.port}`;
}
