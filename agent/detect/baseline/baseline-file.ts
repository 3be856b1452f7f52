/**
 * Host baselines on disk: a versioned, checksummed file in the daemon's state directory, written
 * periodically and at stop, read at start. Layout:
 *
 *   line 1   `PICKETHB <version> <sha256 of the body, hex>`
 *   rest     JSON body: { format, version, savedAt, hourOfWeekOffsetMinutes, hosts: [[ip, host], ...] }
 *
 * JSON keeps it inspectable (`tail -c +80 baselines | jq`); the checksum catches truncation and
 * bit rot. Loading treats the file as hostile: size-capped, every field type- and range-checked;
 * any problem refuses the whole file with one line, and the caller starts learning from scratch.
 */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { writeFileAtomic } from '../../util/atomic-write.js';
import { newHostState, type HostBaselines, type HostState } from './host-baselines.js';

export const BASELINE_MAGIC = 'PICKETHB';
export const BASELINE_FORMAT_VERSION = 1;
/** Largest state file read (≈ 3 kB per host: room for 64 k hosts). */
export const MAX_BASELINE_FILE_BYTES = 256 * 1024 * 1024;

type Json = Record<string, unknown>;

/** Numbers are written exactly (JSON round-trips doubles; Float32 values widen exactly), non-finite as 0. */
const r6 = (v: number): number => (Number.isFinite(v) ? v : 0);

function hostJson(s: HostState): Json {
  const buckets: number[][] = [];
  for (let b = 0; b < 168; b++) if (s.bn[b]! > 0) buckets.push([b, s.bn[b]!, r6(s.bmean[b]!), r6(s.bm2[b]!)]);
  const e = (x: { mean: number; variance: number; n: number }): number[] => [r6(x.mean), r6(x.variance), x.n];
  return {
    first: s.firstUs,
    hour: s.hour,
    cur: [s.out, s.sent, s.received, s.alerted],
    buckets,
    all: e(s.all),
    ratio: e(s.ratio),
    peersNew: e(s.peersNew),
    portsNew: e(s.portsNew),
    peers: [r6(s.peers.total), s.peers.entries().map(([k, w, err]) => [k, r6(w), r6(err)])],
    ports: [r6(s.ports.total), s.ports.entries().map(([k, w, err]) => [k, r6(w), r6(err)])],
    typicalPeers: [...s.typicalPeers],
    typicalPorts: [...s.typicalPorts],
  };
}

/** Serialises every host (least recently active first, so a reload keeps the LRU order). */
export function encodeBaselines(hb: HostBaselines, now = new Date()): Buffer {
  const hosts: unknown[] = [];
  for (const [ip, s] of hb.entries()) hosts.push([ip, hostJson(s)]);
  const body = Buffer.from(
    JSON.stringify({ format: 'picket-host-baselines', version: BASELINE_FORMAT_VERSION, savedAt: now.toISOString(), hourOfWeekOffsetMinutes: hb.config.utcOffsetMinutes, hosts }),
    'utf8',
  );
  const head = Buffer.from(`${BASELINE_MAGIC} ${BASELINE_FORMAT_VERSION} ${createHash('sha256').update(body).digest('hex')}\n`, 'latin1');
  return Buffer.concat([head, body]);
}

class Bad extends Error {}

const num = (v: unknown, what: string, lo = -Infinity, hi = Infinity): number => {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < lo || v > hi) throw new Bad(`${what} is not a number in range`);
  return v;
};
const arr = (v: unknown, what: string, max: number): unknown[] => {
  if (!Array.isArray(v) || v.length > max) throw new Bad(`${what} is not a list of at most ${max} items`);
  return v;
};

function ewmaOf(v: unknown, what: string): { mean: number; variance: number; n: number } {
  const a = arr(v, what, 3);
  return { mean: num(a[0], `${what}.mean`), variance: num(a[1], `${what}.variance`, 0), n: num(a[2], `${what}.n`, 0, 2 ** 40) };
}

function hostFrom(hb: HostBaselines, o: unknown, ip: string): HostState {
  if (o === null || typeof o !== 'object' || Array.isArray(o)) throw new Bad(`host ${ip} is not an object`);
  const h = o as Json;
  const s = newHostState(hb.config, num(h['first'], 'first'));
  s.hour = num(h['hour'], 'hour', 0, 2 ** 40);
  const cur = arr(h['cur'], 'cur', 4);
  s.out = num(cur[0], 'cur.out', 0);
  s.sent = num(cur[1], 'cur.sent', 0);
  s.received = num(cur[2], 'cur.received', 0);
  s.alerted = num(cur[3], 'cur.alerted', 0, 15);
  for (const bv of arr(h['buckets'], 'buckets', 168)) {
    const b = arr(bv, 'bucket', 4);
    const i = num(b[0], 'bucket index', 0, 167);
    s.bn[i] = num(b[1], 'bucket n', 0, 65535);
    s.bmean[i] = num(b[2], 'bucket mean');
    s.bm2[i] = num(b[3], 'bucket m2', 0);
  }
  s.all = ewmaOf(h['all'], 'all');
  s.ratio = ewmaOf(h['ratio'], 'ratio');
  s.peersNew = ewmaOf(h['peersNew'], 'peersNew');
  s.portsNew = ewmaOf(h['portsNew'], 'portsNew');
  const peers = arr(h['peers'], 'peers', 2);
  s.peers.load(
    arr(peers[1], 'peers.entries', hb.config.peersK).map((e) => {
      const x = arr(e, 'peer', 3);
      if (typeof x[0] !== 'string' || x[0].length > 64) throw new Bad('peer key is not an address');
      return [x[0], num(x[1], 'peer weight', 0), num(x[2], 'peer error', 0)] as const;
    }),
    num(peers[0], 'peers.total', 0),
  );
  const ports = arr(h['ports'], 'ports', 2);
  s.ports.load(
    arr(ports[1], 'ports.entries', hb.config.portsK).map((e) => {
      const x = arr(e, 'port', 3);
      return [num(x[0], 'port', 0, 65535), num(x[1], 'port weight', 0), num(x[2], 'port error', 0)] as const;
    }),
    num(ports[0], 'ports.total', 0),
  );
  s.typicalPeers = new Set(
    arr(h['typicalPeers'], 'typicalPeers', hb.config.peersK).map((p) => {
      if (typeof p !== 'string' || p.length > 64) throw new Bad('typical peer is not an address');
      return p;
    }),
  );
  s.typicalPorts = new Set(arr(h['typicalPorts'], 'typicalPorts', hb.config.portsK).map((p) => num(p, 'typical port', 0, 65535)));
  return s;
}

export type BaselineLoadResult = { ok: true; hosts: number } | { ok: false; reason: string; message: string };

/**
 * Restores `bytes` into `hb` (which should be empty). All or nothing: on any problem `hb` is
 * left empty and the result says why in one line.
 */
export function decodeBaselines(bytes: Uint8Array, hb: HostBaselines, path = 'host baselines'): BaselineLoadResult {
  const fail = (reason: string, why: string): BaselineLoadResult => {
    hb.clear();
    return { ok: false, reason, message: `${path}: ${why}; host baselines start learning again` };
  };
  const nl = bytes.indexOf(0x0a);
  if (nl < 0 || nl > 200) return fail('header', 'not a Picket host-baseline file (no header line)');
  const head = Buffer.from(bytes.subarray(0, nl)).toString('latin1').split(' ');
  if (head[0] !== BASELINE_MAGIC) return fail('magic', 'not a Picket host-baseline file (bad magic)');
  if (head[1] !== String(BASELINE_FORMAT_VERSION)) return fail('version', `format version ${head[1]} is not supported (this build reads ${BASELINE_FORMAT_VERSION})`);
  const body = bytes.subarray(nl + 1);
  if (createHash('sha256').update(body).digest('hex') !== head[2]) return fail('checksum', 'file is corrupt (checksum mismatch)');
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(body).toString('utf8'));
  } catch {
    return fail('json', 'body is not valid JSON');
  }
  try {
    if (json === null || typeof json !== 'object') throw new Bad('body is not an object');
    const j = json as Json;
    if (j['format'] !== 'picket-host-baselines' || j['version'] !== BASELINE_FORMAT_VERSION) throw new Bad('format/version fields are wrong');
    const hosts = arr(j['hosts'], 'hosts', 1_048_576);
    // Oldest first in the file: the newest end up most recently used; beyond maxHosts the oldest go.
    for (const e of hosts) {
      const pair = arr(e, 'host entry', 2);
      if (typeof pair[0] !== 'string' || pair[0].length === 0 || pair[0].length > 64) throw new Bad('host address is not a string');
      hb.restore(pair[0], hostFrom(hb, pair[1], pair[0]));
    }
    return { ok: true, hosts: hb.size().entries };
  } catch (err) {
    if (err instanceof Bad) return fail('invalid', `invalid content (${err.message})`);
    throw err;
  }
}

/** Writes atomically (temporary file + rename), so a crash never leaves half a file. */
export async function saveBaselines(path: string, hb: HostBaselines): Promise<void> {
  await writeFileAtomic(path, encodeBaselines(hb));
}

/**
 * Reads `path` into `hb`. A missing file is the normal first start (`ok`, 0 hosts); anything
 * else that is wrong refuses the file with one line (`ok: false`) and leaves `hb` empty. Never throws.
 */
export async function loadBaselines(path: string, hb: HostBaselines): Promise<BaselineLoadResult> {
  try {
    const st = await stat(path);
    if (st.size > MAX_BASELINE_FILE_BYTES) return { ok: false, reason: 'size', message: `${path}: ${st.size} bytes, above the ${MAX_BASELINE_FILE_BYTES}-byte limit; host baselines start learning again` };
    return decodeBaselines(await readFile(path), hb, path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { ok: true, hosts: 0 };
    return { ok: false, reason: 'io', message: `${path}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); host baselines start learning again` };
  }
}
