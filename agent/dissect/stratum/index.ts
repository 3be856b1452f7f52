/**
 * Stratum mining protocol (JSON-RPC lines over TCP): Bitcoin-style `mining.subscribe` /
 * `mining.authorize` / `mining.submit` / `mining.notify`, Ethereum `eth_submitLogin` /
 * `eth_getWork` / `eth_submitWork`, and xmrig/Monero `login` / `job` / `submit`. Only method names
 * and a worker/agent string are kept (no JSON parsing of wire bytes: each newline-terminated
 * line is searched for its `"method"` key; an unfinished line is carried, at most 1 kB). Emits `stratum.method` once per new method name, for the mining detector.
 */
import { Verdict, type Dissector } from '../dissector.js';

export const STRATUM_LIMITS = {
  /** Bytes scanned per direction. */
  maxScanBytes: 16_384,
  /** Bytes of the start of the stream looked at by the probe. */
  probeBytes: 512,
  /** Distinct method names kept. */
  maxMethods: 12,
  /** Longest method name / worker string kept. */
  maxNameBytes: 48,
} as const;

/** Method names that only mining pools and miners use. */
export const MINING_METHODS: ReadonlySet<string> = new Set([
  'mining.subscribe', 'mining.authorize', 'mining.submit', 'mining.notify', 'mining.set_difficulty', 'mining.extranonce.subscribe',
  'mining.configure', 'eth_submitlogin', 'eth_getwork', 'eth_submitwork', 'eth_submithashrate', 'login', 'job', 'submit', 'keepalived',
]);

/** What the stratum dissector puts in `FlowRecord.app.stratum`. */
export interface StratumMeta {
  /** Distinct JSON-RPC method names in order of appearance (lower case). */
  methods: string[];
  /** Those that are mining methods. */
  miningMethods: string[];
  /** Share submissions (`mining.submit`, `submit`, `eth_submitWork`) and new jobs (`mining.notify`, `job`). */
  submits: number;
  jobs: number;
  /** Worker / login name of the first authorize or login, truncated. */
  worker?: string;
}

export interface StratumState {
  scanned: [number, number];
  methods: string[];
  submits: number;
  jobs: number;
  worker: string | undefined;
  /** The unfinished last line of each direction, carried to the next segment (≤ MAX_LINE bytes). */
  carry: [string, string];
}

const METHOD_KEY = '"method"';

function ascii(buf: Uint8Array, off: number, len: number): string {
  let s = '';
  for (let i = 0; i < len; i++) {
    const c = buf[off + i]!;
    s += c >= 0x20 && c < 0x7f ? String.fromCharCode(c) : c === 0x0a ? '\n' : ' ';
  }
  return s;
}

/** Longest incomplete line carried to the next segment (a longer one is skipped and counted). */
const MAX_LINE = 1024;

/** The string value after `"key":` in one JSON line (bounded), or undefined. */
function stringAfter(line: string, key: string, from = 0): string | undefined {
  const k = line.indexOf(key, from);
  if (k < 0) return undefined;
  let j = k + key.length;
  while (j < line.length && (line[j] === ' ' || line[j] === ':' || line[j] === '[' || line[j] === '{')) j++;
  if (line[j] !== '"') return undefined;
  const end = line.indexOf('"', j + 1);
  if (end < 0) return undefined;
  return line.slice(j + 1, Math.min(end, j + 1 + STRATUM_LIMITS.maxNameBytes));
}

/** One complete JSON-RPC line: its method name (if any) and, for logins, the worker. */
function line(s: StratumState, text: string, emit: (name: string) => void): void {
  const raw = stringAfter(text, METHOD_KEY);
  if (raw === undefined) return;
  const name = raw.toLowerCase();
  if (name === 'mining.submit' || name === 'submit' || name === 'eth_submitwork') s.submits++;
  if (name === 'mining.notify' || name === 'job') s.jobs++;
  if ((name === 'mining.authorize' || name === 'login' || name === 'eth_submitlogin') && s.worker === undefined) {
    // `"params": ["worker", ...]` (stratum, eth) or `"params": {"login": "wallet", ...}` (xmrig).
    const p = text.indexOf('"params"');
    if (p >= 0) s.worker = text[text.slice(p + 8).search(/[[{]/) + p + 8] === '{' ? stringAfter(text, '"login"', p) : stringAfter(text, '"params"');
  }
  if (!s.methods.includes(name) && s.methods.length < STRATUM_LIMITS.maxMethods) {
    s.methods.push(name);
    emit(name);
  }
}

/** Processes the complete lines of `text`; returns the incomplete tail to carry (bounded). */
function scan(s: StratumState, text: string, emit: (name: string) => void, count: (what: string) => void): string {
  let at = 0;
  for (;;) {
    const nl = text.indexOf('\n', at);
    if (nl < 0) break;
    line(s, text.slice(at, nl), emit);
    at = nl + 1;
  }
  const rest = text.slice(at);
  if (rest.length > MAX_LINE) {
    count('limit.line_bytes');
    return '';
  }
  return rest;
}

export const stratumDissector: Dissector<StratumState, StratumMeta> = {
  name: 'stratum',
  transports: ['tcp'],
  limits: STRATUM_LIMITS,
  probe(buf, off, len) {
    // A JSON-RPC object at the start of the stream with a method or result member.
    if (len < 8 || buf[off] !== 0x7b) return false;
    const head = ascii(buf, off, Math.min(len, STRATUM_LIMITS.probeBytes));
    return head.includes('"method"') || (head.includes('"result"') && head.includes('"id"'));
  },
  create() {
    return { scanned: [0, 0], methods: [], submits: 0, jobs: 0, worker: undefined, carry: ['', ''] };
  },
  payload(s, dir, buf, off, len, tsUs, ctx) {
    const room = STRATUM_LIMITS.maxScanBytes - s.scanned[dir];
    if (room <= 0) return s.scanned[0] >= STRATUM_LIMITS.maxScanBytes && s.scanned[1] >= STRATUM_LIMITS.maxScanBytes ? Verdict.Done : Verdict.More;
    const n = Math.min(len, room);
    s.scanned[dir] += n;
    if (n < len) ctx.count('limit.scan_bytes');
    const text = s.carry[dir] + ascii(buf, off, n);
    s.carry[dir] = scan(s, text, (name) => ctx.emit('stratum.method', tsUs, { method: name, mining: MINING_METHODS.has(name) }), (w) => ctx.count(w));
    if (s.scanned[0] >= STRATUM_LIMITS.maxScanBytes && s.scanned[1] >= STRATUM_LIMITS.maxScanBytes) return Verdict.Done;
    return Verdict.More;
  },
  finish(s) {
    if (s.methods.length === 0) return undefined;
    const meta: StratumMeta = {
      methods: s.methods.slice(),
      miningMethods: s.methods.filter((m) => MINING_METHODS.has(m)),
      submits: s.submits,
      jobs: s.jobs,
    };
    if (s.worker !== undefined) meta.worker = s.worker;
    return meta;
  },
  appProtocol(meta) {
    return meta.miningMethods.length > 0 ? 'stratum' : undefined;
  },
  ecs(meta) {
    const m: Record<string, unknown> = { methods: meta.methods, mining_methods: meta.miningMethods, submits: meta.submits, jobs: meta.jobs };
    if (meta.worker !== undefined) m.worker = meta.worker;
    return { picket: { stratum: m } };
  },
};
