/**
 * Loads picket.yaml: parses it with positions (yaml Document + LineCounter), validates every key
 * against CONFIG_SCHEMA and fills in defaults. Every problem is one line naming the file, the line
 * and the dotted key, e.g.
 *
 *   picket.yaml:14: flows.idle_timeout.tcp must be a positive number of seconds up to 2592000, got "abc"
 *   picket.yaml:3: unknown key capture.filtre (did you mean capture.filter?)
 *
 * All problems of a file are reported at once, so a person fixes them in one go.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Node, type Pair, type YAMLMap } from 'yaml';
import {
  CONFIG_SCHEMA,
  type DetectorSettings,
  type ListMapSpec,
  type ListSpec,
  type NumberSpec,
  type PicketConfig,
  type SectionSpec,
  type Spec,
  type StringSpec,
} from './config-schema.js';
import { closest } from './suggest.js';

/** What the loader needs to know about a detector to validate its settings. */
export interface DetectorInfo {
  readonly name: string;
  readonly defaults: Readonly<Record<string, unknown>>;
}

export type ConfigResult = { ok: true; config: PicketConfig } | { ok: false; errors: string[] };

/** Largest config file read (a config is a few KB; this only stops a wrong path from eating memory). */
const MAX_CONFIG_BYTES = 4 * 1024 * 1024;
/** Stop listing problems after this many (the rest are usually consequences). */
const MAX_ERRORS = 50;

class Ctx {
  readonly errors: string[] = [];
  constructor(
    readonly file: string,
    readonly lines: LineCounter,
    readonly detectors: readonly DetectorInfo[],
  ) {}

  lineOf(node: Node | Pair | null | undefined): number {
    const range = node && 'range' in node ? node.range : undefined;
    const start = range?.[0] ?? (isPair(node) ? (node.key as Node | null)?.range?.[0] : undefined);
    return start === undefined ? 1 : this.lines.linePos(start).line;
  }

  error(node: Node | Pair | null | undefined, message: string): void {
    if (this.errors.length < MAX_ERRORS) this.errors.push(`${this.file}:${this.lineOf(node)}: ${message}`);
  }
}

/** `got ...` text for a node: scalars quoted as written, containers named. */
function got(node: Node | null | undefined): string {
  if (node === null || node === undefined) return 'nothing';
  if (isMap(node)) return 'a mapping';
  if (isSeq(node)) return 'a list';
  if (isAlias(node)) return `an alias *${node.source}`;
  if (isScalar(node)) {
    const v = node.value;
    if (typeof v === 'string') return JSON.stringify(v);
    if (v === null) return 'nothing';
    return String(v);
  }
  return 'an unknown value';
}

function numberExpectation(s: NumberSpec): string {
  const kind = s.integer ? 'a whole number' : 'a number';
  const unit = s.unit ? ` of ${s.unit}` : '';
  const off = s.zeroOff ? ' (0 = off)' : '';
  if (!s.integer && s.min > 0 && s.min < 1) return `a positive number${unit} up to ${s.max}${off}`;
  return `${kind}${unit} from ${s.min} to ${s.max}${off}`;
}

function leafNumber(ctx: Ctx, node: Node, path: string, s: NumberSpec): number | undefined {
  const v = isScalar(node) ? node.value : undefined;
  const okNumber = typeof v === 'number' && Number.isFinite(v);
  if (!okNumber || (s.integer && !Number.isInteger(v)) || ((v < s.min || v > s.max) && !(s.zeroOff && v === 0))) {
    ctx.error(node, `${path} must be ${numberExpectation(s)}, got ${got(node)}`);
    return undefined;
  }
  return v;
}

function leafString(ctx: Ctx, node: Node, path: string, s: StringSpec): string | undefined {
  const v = isScalar(node) ? node.value : undefined;
  // A number is fine where the choices are numbers written bare (`version: 5`).
  const text = typeof v === 'string' ? v : typeof v === 'number' && s.choices ? String(v) : undefined;
  if (text === undefined) {
    ctx.error(node, `${path} must be ${s.choices ? `one of ${s.choices.join(', ')}` : 'a string'}, got ${got(node)}`);
    return undefined;
  }
  if (s.choices && !s.choices.includes(text)) {
    ctx.error(node, `${path} must be one of ${s.choices.join(', ')}, got ${JSON.stringify(text)}`);
    return undefined;
  }
  const problem = s.check?.(text);
  if (problem) {
    ctx.error(node, `${path} must be ${problem}, got ${JSON.stringify(text)}`);
    return undefined;
  }
  return text;
}

/** A list of strings; a single string is taken as a list of one. */
function leafList(ctx: Ctx, node: Node, path: string, s: Pick<ListSpec, 'maxItems' | 'check'>): string[] | undefined {
  if (isScalar(node) && typeof node.value === 'string') node = { items: [node] } as unknown as Node;
  else if (!isSeq(node)) {
    ctx.error(node, `${path} must be a list, got ${got(node)}`);
    return undefined;
  }
  const items = (node as unknown as { items: unknown[] }).items;
  if (items.length > s.maxItems) {
    ctx.error(node, `${path} has ${items.length} entries, more than the ${s.maxItems} allowed`);
    return undefined;
  }
  const out: string[] = [];
  let bad = false;
  items.forEach((item, i) => {
    const n = item as Node;
    const v = isScalar(n) ? n.value : undefined;
    if (typeof v !== 'string' && typeof v !== 'number') {
      ctx.error(n, `${path}[${i}] must be a string, got ${got(n)}`);
      bad = true;
      return;
    }
    const text = String(v);
    const problem = s.check?.(text);
    if (problem) {
      ctx.error(n, `${path}[${i}] must be ${problem}, got ${JSON.stringify(text)}`);
      bad = true;
      return;
    }
    out.push(text);
  });
  return bad ? undefined : out;
}

function keyText(pair: Pair): string | undefined {
  const k = pair.key;
  if (isScalar(k) && (typeof k.value === 'string' || typeof k.value === 'number')) return String(k.value);
  return undefined;
}

/** Pairs of a mapping node; reports non-mappings and non-scalar keys. */
function pairsOf(ctx: Ctx, node: Node, path: string): Array<{ key: string; pair: Pair }> | undefined {
  if (!isMap(node)) {
    ctx.error(node, `${path || 'the file'} must be a mapping (key: value lines), got ${got(node)}`);
    return undefined;
  }
  const out: Array<{ key: string; pair: Pair }> = [];
  for (const pair of (node as YAMLMap).items) {
    const key = keyText(pair);
    if (key === undefined) {
      ctx.error(pair.key as Node, `${path ? `${path}: ` : ''}keys must be plain words, got ${got(pair.key as Node)}`);
      continue;
    }
    out.push({ key, pair });
  }
  return out;
}

/** Where else in the schema a misplaced leaf name lives (`filter` → `capture.filter`). */
function elsewhere(name: string, spec: SectionSpec = CONFIG_SCHEMA, prefix = ''): string | undefined {
  for (const [k, s] of Object.entries(spec.fields)) {
    const p = prefix ? `${prefix}.${k}` : k;
    if (k === name && s.type !== 'section') return p;
    if (s.type === 'section') {
      const hit = elsewhere(name, s, p);
      if (hit) return hit;
    }
  }
  return undefined;
}

function unknownKey(ctx: Ctx, pair: Pair, path: string, key: string, known: readonly string[]): void {
  const full = path ? `${path}.${key}` : key;
  const near = closest(key, known);
  let hint = '';
  if (near !== undefined) hint = ` (did you mean ${path ? `${path}.` : ''}${near}?)`;
  else {
    const other = elsewhere(key);
    if (other) hint = ` (it belongs under ${other.slice(0, other.lastIndexOf('.'))}: ${other})`;
    else hint = ` (known here: ${known.join(', ')})`;
  }
  if (key === 'password' && path === 'broker') hint = ' (keep secrets out of the config: use broker.password_file or PICKET_BROKER_PASSWORD)';
  ctx.error(pair.key as Node, `unknown key ${full}${hint}`);
}

function defaultsOf(spec: Spec): unknown {
  switch (spec.type) {
    case 'section':
      return Object.fromEntries(Object.entries(spec.fields).map(([k, s]) => [k, defaultsOf(s)]));
    case 'list':
      return [...spec.default];
    case 'list-map':
      return Object.fromEntries(Object.entries(spec.default).map(([k, v]) => [k, [...v]]));
    case 'detectors':
      return {};
    default:
      return spec.default;
  }
}

function section(ctx: Ctx, node: Node, path: string, spec: SectionSpec, out: Record<string, unknown>): void {
  const pairs = pairsOf(ctx, node, path);
  if (!pairs) return;
  const known = Object.keys(spec.fields);
  for (const { key, pair } of pairs) {
    const s = spec.fields[key];
    const full = path ? `${path}.${key}` : key;
    if (!s) {
      unknownKey(ctx, pair, path, key, known);
      continue;
    }
    const value = pair.value as Node | null;
    // `key:` with nothing after it keeps the default.
    if (value === null || (isScalar(value) && value.value === null)) continue;
    if (isAlias(value)) {
      ctx.error(value, `${full}: YAML aliases are not supported in the config; write the value out`);
      continue;
    }
    const v = leaf(ctx, value, full, s, out[key]);
    if (v !== undefined) out[key] = v;
  }
}

function leaf(ctx: Ctx, node: Node, path: string, s: Spec, current: unknown): unknown {
  switch (s.type) {
    case 'section': {
      const out = current as Record<string, unknown>;
      section(ctx, node, path, s, out);
      return out;
    }
    case 'number':
      return leafNumber(ctx, node, path, s);
    case 'boolean': {
      const v = isScalar(node) ? node.value : undefined;
      if (typeof v !== 'boolean') {
        ctx.error(node, `${path} must be true or false, got ${got(node)}`);
        return undefined;
      }
      return v;
    }
    case 'string':
      return leafString(ctx, node, path, s);
    case 'list':
      return leafList(ctx, node, path, s);
    case 'list-map':
      return listMap(ctx, node, path, s);
    case 'detectors':
      return detectors(ctx, node, path);
  }
}

function listMap(ctx: Ctx, node: Node, path: string, s: ListMapSpec): Record<string, string[]> | undefined {
  const pairs = pairsOf(ctx, node, path);
  if (!pairs) return undefined;
  if (pairs.length > s.maxKeys) {
    ctx.error(node, `${path} has ${pairs.length} names, more than the ${s.maxKeys} allowed`);
    return undefined;
  }
  // Configured names replace the defaults for that name only (trust keeps its default unless given).
  const out: Record<string, string[]> = Object.fromEntries(Object.entries(s.default).map(([k, v]) => [k, [...v]]));
  for (const { key, pair } of pairs) {
    if (!/^[a-z][a-z0-9_-]{0,31}$/.test(key)) {
      ctx.error(pair.key as Node, `${path}: name "${key}" must be 1-32 lower-case letters, digits, - or _ starting with a letter`);
      continue;
    }
    const value = pair.value as Node | null;
    if (value === null || (isScalar(value) && value.value === null)) {
      out[key] = [];
      continue;
    }
    const list = leafList(ctx, value, `${path}.${key}`, s);
    if (list) out[key] = list;
  }
  return out;
}

function typeName(v: unknown): string {
  return Array.isArray(v) ? 'a list' : typeof v === 'number' ? 'a number' : typeof v === 'boolean' ? 'true or false' : typeof v === 'string' ? 'a string' : 'a value';
}

/** `detectors:` — each name must be a registered detector, each setting one of its defaults' keys. */
function detectors(ctx: Ctx, node: Node, path: string): DetectorSettings | undefined {
  const pairs = pairsOf(ctx, node, path);
  if (!pairs) return undefined;
  const byName = new Map(ctx.detectors.map((d) => [d.name, d]));
  const out: DetectorSettings = {};
  for (const { key, pair } of pairs) {
    const info = byName.get(key);
    const full = `${path}.${key}`;
    if (!info) {
      const near = closest(key, byName.keys());
      const known = [...byName.keys()].join(', ') || 'none registered';
      ctx.error(pair.key as Node, `unknown detector ${full}${near ? ` (did you mean ${path}.${near}?)` : ` (known: ${known})`}`);
      continue;
    }
    const value = pair.value as Node | null;
    if (value === null || (isScalar(value) && value.value === null)) continue;
    if (isScalar(value) && typeof value.value === 'boolean') {
      if (!value.value) out[key] = false;
      continue;
    }
    const settings = pairsOf(ctx, value, full);
    if (!settings) continue;
    const conf: Record<string, unknown> = {};
    for (const { key: k, pair: p } of settings) {
      const sv = p.value as Node | null;
      if (k === 'enabled') {
        if (!isScalar(sv) || typeof sv.value !== 'boolean') ctx.error(sv ?? p, `${full}.enabled must be true or false, got ${got(sv)}`);
        else if (!sv.value) out[key] = false;
        continue;
      }
      if (!(k in info.defaults)) {
        const near = closest(k, Object.keys(info.defaults));
        ctx.error(p.key as Node, `unknown setting ${full}.${k}${near ? ` (did you mean ${full}.${near}?)` : ` (known: ${Object.keys(info.defaults).join(', ')})`}`);
        continue;
      }
      if (sv === null || (isScalar(sv) && sv.value === null)) continue;
      const want = info.defaults[k];
      const js: unknown = sv.toJSON();
      const sameType = Array.isArray(want) ? Array.isArray(js) : typeof js === typeof want && !Array.isArray(js);
      if (!sameType || (typeof js === 'number' && !Number.isFinite(js))) {
        ctx.error(sv, `${full}.${k} must be ${typeName(want)} (default ${JSON.stringify(want)}), got ${got(sv)}`);
        continue;
      }
      if (typeof js === 'number' && typeof want === 'number' && want >= 0 && js < 0) {
        ctx.error(sv, `${full}.${k} must not be negative (default ${want}), got ${js}`);
        continue;
      }
      conf[k] = js;
    }
    if (out[key] !== false) out[key] = conf;
  }
  return out;
}

/** The configuration with every default, as when no file is given. */
export function defaultConfig(): PicketConfig {
  return defaultsOf(CONFIG_SCHEMA) as PicketConfig;
}

/**
 * Validates YAML text. `file` names the source in messages (the base name of the path is used).
 * `detectors` are the registered detectors (for the `detectors:` section).
 */
export function parseConfig(text: string, file: string, detectorList: readonly DetectorInfo[] = []): ConfigResult {
  const lines = new LineCounter();
  const ctx = new Ctx(file, lines, detectorList);
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false, strict: true });
  if (doc.errors.length > 0) {
    for (const e of doc.errors.slice(0, MAX_ERRORS)) {
      const line = e.linePos?.[0]?.line ?? lines.linePos(e.pos[0]).line;
      const what = e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
      ctx.errors.push(`${file}:${line}: YAML syntax: ${what}`);
    }
    return { ok: false, errors: ctx.errors };
  }
  const config = defaultConfig();
  const root = doc.contents as Node | null;
  if (root !== null && !(isScalar(root) && root.value === null)) {
    section(ctx, root, '', CONFIG_SCHEMA, config as unknown as Record<string, unknown>);
  }
  crossChecks(ctx, root, config);
  return ctx.errors.length > 0 ? { ok: false, errors: ctx.errors } : { ok: true, config };
}

/** Rules that involve several keys. */
function crossChecks(ctx: Ctx, root: Node | null, c: PicketConfig): void {
  const at = (path: string): Node | null => {
    let node: Node | null = root;
    for (const part of path.split('.')) {
      if (!node || !isMap(node)) return root;
      const pair = (node as YAMLMap).items.find((p) => keyText(p) === part);
      if (!pair) return node;
      node = (pair.value as Node | null) ?? (pair.key as Node);
    }
    return node;
  };
  if (c.capture.reopen_max < c.capture.reopen_min) {
    ctx.error(at('capture.reopen_max'), `capture.reopen_max (${c.capture.reopen_max}) must not be smaller than capture.reopen_min (${c.capture.reopen_min})`);
  }
  const b = c.broker;
  if (b.url === '') {
    for (const k of ['username', 'password_file', 'ca_file', 'cert_file', 'key_file'] as const) {
      if (b[k] !== '') ctx.error(at(`broker.${k}`), `broker.${k} is set but broker.url is empty: set broker.url or remove broker.${k}`);
    }
  } else {
    if (!/^mqtts?:\/\/[^/\s]+/.test(b.url)) ctx.error(at('broker.url'), `broker.url must be mqtt://HOST:PORT or mqtts://HOST:PORT, got ${JSON.stringify(b.url)}`);
    if (!b.url.startsWith('mqtts:') && (b.ca_file || b.cert_file || b.key_file)) {
      ctx.error(at('broker.url'), 'broker.ca_file/cert_file/key_file need an mqtts:// broker.url');
    }
    if ((b.cert_file === '') !== (b.key_file === '')) ctx.error(at(b.cert_file ? 'broker.cert_file' : 'broker.key_file'), 'mutual TLS needs both broker.cert_file and broker.key_file');
  }
  const names = new Set(ctx.detectors.map((d) => d.name));
  if (names.size > 0) {
    c.allow.detectors.forEach((d, i) => {
      if (!names.has(d)) {
        const near = closest(d, names);
        ctx.error(at('allow.detectors'), `allow.detectors[${i}] "${d}" is not a detector${near ? ` (did you mean ${near}?)` : ` (known: ${[...names].join(', ')})`}`);
      }
    });
  }
}

/** Reads and validates a config file; read problems are reported like validation problems. */
export function loadConfigFile(path: string, detectorList: readonly DetectorInfo[] = []): ConfigResult {
  const file = basename(path);
  let text: string;
  try {
    const buf = readFileSync(path);
    if (buf.length > MAX_CONFIG_BYTES) return { ok: false, errors: [`${path}: ${buf.length} bytes is too large for a config file (limit ${MAX_CONFIG_BYTES}): is this the right file?`] };
    text = buf.toString('utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    return { ok: false, errors: [`cannot read config ${path} (${code}): check --config and the file's permissions`] };
  }
  return parseConfig(text, file, detectorList);
}
