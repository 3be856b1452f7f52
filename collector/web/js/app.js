// @ts-check
/**
 * The dashboard: status banner and KPIs (always over everything in the window), then the time
 * series, map, top lists and the alerts table (narrowed by the filters). Refreshes when the live
 * stream says alerts or sensors changed (at most every 1.5 s) and every 30 s.
 */
import { ApiError, follow, getJson, NeedToken, setToken } from './api.js';
import { renderAlerts, hideEvidence } from './alerts.js';
import { drawBars, drawSeries } from './charts.js';
import { byId, byIdAs, fmtInt, fmtTime, h, replace } from './dom.js';
import { drawMap } from './map.js';

const PAGE = 50;

/** @type {{range: number, offset: number, filters: Record<string, string>, fresh: Set<string>, map: any, timer: number | undefined, last: number, pending: boolean, newCount: number}} */
const state = {
  range: 3600,
  offset: 0,
  filters: {},
  fresh: new Set(),
  map: null,
  timer: undefined,
  last: 0,
  pending: false,
  newCount: 0,
};

const SEVERITIES = ['critical', 'high', 'medium', 'low'];

/** Filter parameters as the API takes them. @returns {Record<string, string>} */
function filterParams() {
  return { ...state.filters };
}

/**
 * @param {string} id
 * @param {{value: number, previous: number, delta: number}} k
 * @param {string} windowLabel
 * @param {boolean} upIsBad
 */
function setKpi(id, k, windowLabel, upIsBad) {
  const el = byId(id);
  const value = el.querySelector('.kpi-value');
  const delta = el.querySelector('.kpi-delta');
  if (value) value.textContent = fmtInt(k.value);
  if (delta) {
    const sign = k.delta > 0 ? '▲ +' : k.delta < 0 ? '▼ −' : '= ';
    delta.textContent = `${sign}${fmtInt(Math.abs(k.delta))} vs previous ${windowLabel}`;
    delta.className = `kpi-delta ${k.delta === 0 ? 'flat' : (k.delta > 0) === upIsBad ? 'worse' : 'better'}`;
  }
}

function rangeLabel() {
  const sel = byIdAs('range', HTMLSelectElement);
  return sel.selectedOptions[0]?.textContent ?? '';
}

/** @param {any} d the /api/dashboard answer (unfiltered) */
function renderOverview(d) {
  const banner = byId('banner');
  banner.className = `banner banner-${d.status.level}`;
  byId('banner-headline').textContent = d.status.headline;
  replace(byId('banner-reasons'), ...d.status.reasons.map((/** @type {string} */ r) => h('li', {}, r)));
  const label = rangeLabel();
  setKpi('kpi-events', d.kpis.events, label, true);
  setKpi('kpi-alerts', d.kpis.alerts, label, true);
  setKpi('kpi-sources', d.kpis.uniqueSources, label, true);
  setKpi('kpi-sensors', d.kpis.sensorsOnline, 'window', false);
  const sensorsValue = byId('kpi-sensors').querySelector('.kpi-value');
  if (sensorsValue) sensorsValue.textContent = `${fmtInt(d.kpis.sensorsOnline.value)} / ${fmtInt(d.kpis.sensorsOnline.total)}`;
  const note = byId('window-note');
  note.textContent =
    d.window.anchored === 'data'
      ? `showing ${fmtTime(d.window.fromUs)} – ${fmtTime(d.window.toUs)}, ending at the newest alert (replayed or older data)`
      : `${fmtTime(d.window.fromUs)} – ${fmtTime(d.window.toUs)}`;
  renderSensors(d.sensors);
  fillSelect('f-sensor', d.sensors.map((/** @type {any} */ s) => s.sensorId), state.filters.sensor);
}

/** @param {any[]} sensors */
function renderSensors(sensors) {
  const tbody = byId('sensors');
  if (sensors.length === 0) {
    replace(tbody, h('tr', {}, h('td', { colspan: 5, class: 'empty' }, 'No sensor has reported yet.')));
    return;
  }
  replace(
    tbody,
    ...sensors.map((s) =>
      h(
        'tr',
        { class: `health-${s.health}`, title: s.problems.join('; ') || 'healthy' },
        h('td', {}, s.sensorId, h('span', { class: 'sub' }, ` ${s.site}`)),
        h('td', {}, h('span', { class: `health health-${s.health}` }, s.health), s.problems.length > 0 && s.health === 'online' ? h('span', { class: 'problem' }, ` ${s.problems[0]}`) : null),
        h('td', { class: 'nowrap' }, s.seenUs ? fmtTime(s.seenUs) : '–'),
        h('td', { class: 'num' }, fmtInt(s.drops)),
        h('td', { class: 'num' }, fmtInt(s.queueDepth)),
      ),
    ),
  );
}

/**
 * Keeps a <select>'s options in step with the values seen, preserving the choice.
 * @param {string} id
 * @param {string[]} values
 * @param {string | undefined} chosen
 */
function fillSelect(id, values, chosen) {
  const sel = byIdAs(id, HTMLSelectElement);
  const uniq = [...new Set(values.filter(Boolean))].sort();
  if (chosen && !uniq.includes(chosen)) uniq.push(chosen);
  replace(sel, h('option', { value: '' }, 'all'), ...uniq.map((v) => h('option', { value: v }, v)));
  sel.value = chosen ?? '';
}

/** @param {any} d the /api/dashboard answer (filtered) */
function renderViews(d) {
  byId('series-step').textContent = `(${d.window.stepS / 60}-minute windows)`;
  drawSeries(byIdAs('series', SVGSVGElement), d.series, d.window.stepS, (b) => {
    state.filters.from = String(Math.floor(b.startUs / 1000));
    state.filters.to = String(Math.floor(b.startUs / 1000 + d.window.stepS * 1000));
    applyFilters();
  });
  if (state.map) {
    drawMap(byIdAs('map', SVGSVGElement), byId('map-extra'), state.map, d.top.countries, (code) => {
      state.filters.country = code;
      applyFilters();
    });
  }
  replace(
    byId('top-sources'),
    ...(d.top.sources.length === 0
      ? [h('tr', {}, h('td', { colspan: 4, class: 'empty' }, 'none'))]
      : d.top.sources.map((/** @type {any} */ e) => {
          const tr = h('tr', { class: 'pick', title: 'filter on this source' }, h('td', {}, e.key), h('td', {}, e.countryName), h('td', { class: 'num' }, fmtInt(e.alerts)), h('td', { class: 'num' }, e.maxScore.toFixed(2)));
          tr.addEventListener('click', () => {
            state.filters.src = e.key;
            byIdAs('f-src', HTMLInputElement).value = e.key;
            applyFilters();
          });
          return tr;
        })),
  );
  drawBars(byIdAs('ports', SVGSVGElement), d.top.ports, (k) => k, (k) => {
    state.filters.port = k;
    applyFilters();
  });
  drawBars(byIdAs('protocols', SVGSVGElement), d.top.protocols, (k) => k, (k) => {
    state.filters.protocol = k;
    applyFilters();
  });
  fillSelect('f-category', d.top.categories.map((/** @type {any} */ c) => c.key), state.filters.category);
  fillSelect('f-technique', d.top.techniques.map((/** @type {any} */ c) => c.key).filter((/** @type {string} */ k) => k !== 'none'), state.filters.technique);
}

/** @param {{fromUs: number, toUs: number}} w */
async function loadAlerts(w) {
  const f = filterParams();
  /** @type {Record<string, string | number>} */
  const params = { ...f, limit: PAGE, offset: state.offset, sort: 'score', order: 'desc' };
  // The table follows the dashboard window unless a time filter narrows it.
  if (!f.from) params.from = String(Math.floor(w.fromUs / 1000));
  if (!f.to) params.to = String(Math.ceil(w.toUs / 1000));
  const r = await getJson('/api/alerts', params);
  renderAlerts(byId('alerts'), r.alerts, state.fresh);
  const first = r.total === 0 ? 0 : state.offset + 1;
  byId('page-info').textContent = `${fmtInt(first)}–${fmtInt(state.offset + r.alerts.length)} of ${fmtInt(r.total)}`;
  byIdAs('prev', HTMLButtonElement).disabled = state.offset === 0;
  byIdAs('next', HTMLButtonElement).disabled = state.offset + PAGE >= r.total;
}

function renderChips() {
  const names = /** @type {Record<string, string>} */ ({ country: 'country', port: 'port', protocol: 'protocol', from: 'time' });
  /** @type {HTMLElement[]} */
  const chips = [];
  for (const [k, label] of Object.entries(names)) {
    const v = state.filters[k];
    if (!v || k === 'to') continue;
    const text = k === 'from' ? `${fmtTime(Number(v) * 1000)} – ${fmtTime(Number(state.filters.to) * 1000)}` : v;
    const b = h('button', { type: 'button', class: 'chip', title: 'remove this filter' }, `${label}: ${text} ×`);
    b.addEventListener('click', () => {
      delete state.filters[k];
      if (k === 'from') delete state.filters.to;
      applyFilters();
    });
    chips.push(b);
  }
  replace(byId('chips'), ...chips);
}

async function refresh() {
  state.pending = false;
  state.last = Date.now();
  const errorBox = byId('filter-error');
  try {
    const base = { range: state.range };
    const overall = await getJson('/api/dashboard', base);
    renderOverview(overall);
    const f = filterParams();
    const filtered = Object.keys(f).length > 0 ? await getJson('/api/dashboard', { ...base, ...f, ...(f.from ? { range: undefined } : {}) }) : overall;
    renderViews(filtered);
    await loadAlerts(overall.window);
    renderChips();
    errorBox.hidden = true;
    document.body.setAttribute('data-loaded', String(state.last));
  } catch (err) {
    if (err instanceof NeedToken) {
      byId('login').hidden = false;
      return;
    }
    errorBox.hidden = false;
    errorBox.textContent = err instanceof ApiError ? err.message : `cannot reach the collector (${err instanceof Error ? err.message : String(err)})`;
  }
}

/** Refresh soon, but not more than every 1.5 s. */
function schedule() {
  if (state.pending) return;
  state.pending = true;
  const wait = Math.max(0, 1500 - (Date.now() - state.last));
  setTimeout(() => void refresh(), wait);
}

function applyFilters() {
  state.offset = 0;
  hideEvidence();
  void refresh();
}

function readForm() {
  const form = byIdAs('filters', HTMLFormElement);
  const data = new FormData(form);
  const sev = data.getAll('severity').map(String);
  const keep = { country: state.filters.country, port: state.filters.port, protocol: state.filters.protocol, from: state.filters.from, to: state.filters.to };
  /** @type {Record<string, string>} */
  const f = {};
  for (const [k, v] of Object.entries(keep)) if (v) f[k] = v;
  if (sev.length > 0 && sev.length < SEVERITIES.length) f.severity = sev.join(',');
  // Nothing ticked reads as everything (an empty table helps nobody): tick them all again.
  if (sev.length === 0) for (const box of form.querySelectorAll('input[name=severity]')) /** @type {HTMLInputElement} */ (box).checked = true;
  for (const k of ['sensor', 'src', 'category', 'technique', 'q']) {
    const v = String(data.get(k) ?? '').trim();
    if (v) f[k] = v;
  }
  state.filters = f;
}

async function init() {
  // ?range=SECONDS in the page address preselects the window (the demo links to 6 hours).
  const wanted = new URLSearchParams(location.search).get('range');
  const rangeSelect = byIdAs('range', HTMLSelectElement);
  if (wanted && [...rangeSelect.options].some((o) => o.value === wanted)) {
    rangeSelect.value = wanted;
    state.range = Number(wanted);
  }
  rangeSelect.addEventListener('change', (ev) => {
    state.range = Number(/** @type {HTMLSelectElement} */ (ev.target).value);
    applyFilters();
  });
  const form = byIdAs('filters', HTMLFormElement);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    readForm();
    applyFilters();
  });
  for (const sel of form.querySelectorAll('select, input[type=checkbox]')) {
    sel.addEventListener('change', () => form.requestSubmit());
  }
  byId('f-reset').addEventListener('click', () => {
    form.reset();
    state.filters = {};
    applyFilters();
  });
  byId('prev').addEventListener('click', () => {
    state.offset = Math.max(0, state.offset - PAGE);
    void refresh();
  });
  byId('next').addEventListener('click', () => {
    state.offset += PAGE;
    void refresh();
  });
  byId('evidence-close').addEventListener('click', hideEvidence);
  document.addEventListener('keydown', (ev) => {
    if (ev.key === 'Escape') hideEvidence();
  });
  byIdAs('login-form', HTMLFormElement).addEventListener('submit', (ev) => {
    ev.preventDefault();
    setToken(byIdAs('login-token', HTMLInputElement).value.trim());
    byId('login').hidden = true;
    void start();
  });
  await start();
}

let following = false;

async function start() {
  try {
    state.map = await getJson('/api/map');
  } catch (err) {
    if (err instanceof NeedToken) {
      byId('login').hidden = false;
      return;
    }
  }
  await refresh();
  if (following) return;
  following = true;
  const live = byId('live');
  follow(
    (name, data) => {
      if (name === 'alerts') {
        for (const a of data.alerts ?? []) state.fresh.add(String(a.id));
        if (state.fresh.size > 500) state.fresh = new Set([...state.fresh].slice(-200));
        state.newCount += Number(data.count) || 0;
        live.textContent = `live · ${fmtInt(state.newCount)} new`;
        schedule();
      } else if (name === 'sensors') schedule();
    },
    (on) => {
      live.className = on ? 'live live-on' : 'live live-off';
      live.title = on ? 'receiving live updates' : 'live updates disconnected; retrying';
    },
  );
  setInterval(() => schedule(), 30_000);
}

void init();
