/**
 * Fuzzing kit for the HTTP/1.x, WebSocket and HTTP/2 dissectors: seed streams from capture
 * files, random and mutated inputs, random re-chunking (the result — metadata, events and
 * counters — must equal the run on the original pieces), and checks of the declared limits on
 * the per-flow state after every case. Used by bench/fuzz-http.ts, bench/fuzz-websocket.ts,
 * bench/fuzz-http2.ts (≥ 1 M cases each) and by test/dissect-http-fuzz.test.ts (short runs).
 */
import { FileSource } from '../agent/source/file-source.js';
import { PacketPipeline } from '../agent/pipeline/packet-pipeline.js';
import { Verdict, type AnyDissector, type DissectContext, type FlowInfo } from '../agent/dissect/dissector.js';
import type { Direction, FlowObserver } from '../agent/flow/flow-observer.js';
import type { Flow } from '../agent/flow/flow.js';
import type { FlowRecord } from '../agent/flow/flow-record.js';
import { insertBytes, stubRecord } from './fuzz-common.js';

export interface Piece {
  dir: Direction;
  bytes: Uint8Array;
  /** Time of the piece; sub-pieces made by re-chunking keep it. */
  tsUs: number;
}

export interface Seed {
  info: FlowInfo;
  pieces: Piece[];
}

/** Reads TCP payload pieces of every flow (first `maxPieces`, `maxBytes`) from capture files. */
export async function readSeeds(paths: readonly string[], accept: (first: Uint8Array) => boolean, maxFlows = 500, maxPieces = 24, maxBytes = 24 * 1024): Promise<Seed[]> {
  const byFlow = new Map<Flow, Seed & { bytes: number }>();
  const observer: FlowObserver = {
    payload(flow, dir, buf, off, len, tsUs) {
      if (flow.protocol !== 6) return;
      let s = byFlow.get(flow);
      if (!s) {
        if (byFlow.size >= maxFlows * 8) return;
        s = { info: { uid: `F${byFlow.size}`, protocol: 6, ipVersion: flow.ipVersion, clientPort: flow.clientPort, serverPort: flow.serverPort }, pieces: [], bytes: 0 };
        byFlow.set(flow, s);
      }
      if (s.pieces.length >= maxPieces || s.bytes >= maxBytes) return;
      s.pieces.push({ dir, bytes: buf.slice(off, off + len), tsUs });
      s.bytes += len;
    },
  };
  const pipeline = new PacketPipeline({ observer, onRecord: () => {} });
  await new FileSource(paths).run(pipeline);
  pipeline.finish();
  const out: Seed[] = [];
  for (const s of byFlow.values()) {
    if (out.length >= maxFlows) break;
    if (s.pieces.length > 0 && accept(s.pieces[0]!.bytes)) out.push({ info: s.info, pieces: s.pieces });
  }
  return out;
}

/** xorshift32: deterministic and fast. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0 || 0x2545f491;
  }
  next(): number {
    let x = this.s;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.s = x >>> 0;
    return this.s;
  }
  int(n: number): number {
    return n <= 1 ? 0 : this.next() % n;
  }
  bytes(n: number): Uint8Array {
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i++) b[i] = this.next() & 0xff;
    return b;
  }
}

const INTERESTING = [0, 1, 0x7f, 0x80, 0xff, 0x0d, 0x0a, 0x20, 0x3a, 0x3b, 0x7e, 0x7e, 0x7f, 0x3f, 0x40];

/** A few random edits: bit flips, interesting bytes, truncation, insertion, copied runs. */
export function mutate(rng: Rng, src: Uint8Array): Uint8Array {
  let out = Uint8Array.from(src);
  const edits = 1 + rng.int(6);
  for (let i = 0; i < edits && out.length > 0; i++) {
    const p = rng.int(out.length);
    switch (rng.int(7)) {
      case 0:
        out[p] = out[p]! ^ (1 << rng.int(8));
        break;
      case 1:
        out[p] = rng.int(256);
        break;
      case 2:
        out[p] = INTERESTING[rng.int(INTERESTING.length)]!;
        break;
      case 3:
        out = out.slice(0, p);
        break;
      case 4:
        out = insertBytes(out, p, rng.bytes(1 + rng.int(24)));
        break;
      case 5: {
        const q = rng.int(out.length);
        const l = Math.min(1 + rng.int(32), out.length - Math.max(p, q));
        out.copyWithin(p, q, q + l);
        break;
      }
      default: {
        // Repeat a run (header floods, pipelines, frame storms).
        const l = Math.min(1 + rng.int(64), out.length - p);
        const times = 1 + rng.int(20);
        const run = out.slice(p, p + l);
        const o = new Uint8Array(out.length + run.length * times);
        o.set(out.subarray(0, p + l));
        for (let k = 0; k < times; k++) o.set(run, p + l + k * run.length);
        o.set(out.subarray(p + l), p + l + times * run.length);
        out = o;
      }
    }
  }
  return out;
}

/**
 * Splits pieces at random points, keeping the first piece of each direction whole: the stage
 * probes a direction's first payload, so that piece is the probe's input by definition.
 */
export function rechunk(rng: Rng, pieces: readonly Piece[]): Piece[] {
  const out: Piece[] = [];
  const seen = [false, false];
  for (const p of pieces) {
    if (!seen[p.dir]) {
      seen[p.dir] = true;
      out.push(p);
      continue;
    }
    let o = 0;
    // Tiny pieces for short payloads (every boundary), coarser ones for long bodies.
    const max = p.bytes.length > 2048 ? 1500 : rng.int(3) === 0 ? 3 : 200;
    while (o < p.bytes.length) {
      const n = 1 + rng.int(Math.min(max, p.bytes.length - o));
      out.push({ dir: p.dir, bytes: p.bytes.subarray(o, o + n), tsUs: p.tsUs });
      o += n;
    }
  }
  return out;
}

function recordFor(info: FlowInfo, partial: boolean): FlowRecord {
  return stubRecord(info, partial, '10.13.0.2', '10.13.0.1');
}

/** Scratch buffer: pieces are copied to a random offset so parsers must honour `off`/`len`. */
const scratch = new Uint8Array(1 << 20);

export interface RunResult {
  /** Metadata, events and counters as JSON ('none' when not claimed or rejected). */
  json: string;
  meta: unknown;
  state: unknown;
}

/** Runs one flow through a dissector the way DissectStage does (probe per direction, payload until Done/Reject, finish twice). */
export function runPieces(d: AnyDissector, info: FlowInfo, pieces: readonly Piece[], rng?: Rng): RunResult {
  const events: unknown[] = [];
  const counters: Record<string, number> = {};
  const ctx: DissectContext = {
    flow: info,
    count: (k) => void (counters[k] = (counters[k] ?? 0) + 1),
    emit: (type, tsUs, data) => void events.push([type, tsUs, data]),
  };
  const probed = [false, false];
  let state: unknown;
  let active = false;
  for (const p of pieces) {
    let buf = p.bytes;
    let off = 0;
    if (rng && p.bytes.length + 64 <= scratch.length) {
      off = rng.int(64);
      scratch.set(p.bytes, off);
      scratch.fill(0xa5, off + p.bytes.length, off + p.bytes.length + 8);
      buf = scratch;
    }
    if (!active && !probed[p.dir]) {
      probed[p.dir] = true;
      if (d.probe(buf, off, p.bytes.length, p.dir, ctx)) {
        active = true;
        state = d.create(ctx);
      }
    }
    if (!active) continue;
    const v = d.payload(state, p.dir, buf, off, p.bytes.length, p.tsUs, ctx);
    if (v === Verdict.Reject) return { json: 'none', meta: undefined, state };
    if (v === Verdict.Done) break;
  }
  if (!active) return { json: 'none', meta: undefined, state };
  // An interim record first (active timeout): finish() must not disturb the final one.
  d.finish(state, recordFor(info, true), ctx);
  const meta = d.finish(state, recordFor(info, false), ctx);
  const ecs = meta === undefined ? undefined : d.ecs(meta);
  return { json: JSON.stringify([meta, ecs, events, counters]), meta, state };
}

export interface FuzzTarget {
  dissector: AnyDissector;
  seeds: readonly Seed[];
  /** Builds a synthetic flow (protocol-aware random structure). */
  synth: (rng: Rng) => Seed;
  /** A description when state or metadata exceeds a declared limit. */
  checkLimits: (state: unknown, meta: unknown) => string | undefined;
}

export interface FuzzReport {
  cases: number;
  ms: number;
  casesPerSec: number;
  claimed: number;
  throws: number;
  limitViolations: number;
  rechunkChecks: number;
  rechunkMismatches: number;
  problems: string[];
}

/**
 * `cases` cases in turn: random bytes after a valid first piece, synthetic flows, mutated seeds,
 * and seeds as they are; every other case is re-run re-chunked and must give the same JSON.
 */
export function fuzz(t: FuzzTarget, cases: number, seed = 1): FuzzReport {
  const rng = new Rng(seed);
  const r: FuzzReport = { cases: 0, ms: 0, casesPerSec: 0, claimed: 0, throws: 0, limitViolations: 0, rechunkChecks: 0, rechunkMismatches: 0, problems: [] };
  const note = (s: string): void => {
    if (r.problems.length < 8) r.problems.push(s);
  };
  const t0 = performance.now();
  for (let i = 0; i < cases; i++) {
    let s: Seed;
    const kind = t.seeds.length === 0 ? 1 + (i % 2) : i % 4;
    if (kind === 0) {
      // Random bytes: first a seed's opening piece (so the probe says yes), then noise.
      const base = t.seeds[rng.int(t.seeds.length)]!;
      const pieces: Piece[] = [base.pieces[0]!];
      const n = rng.int(5);
      for (let k = 0; k < n; k++) pieces.push({ dir: rng.int(2) as Direction, bytes: rng.bytes(rng.int(700)), tsUs: 1_700_000_000_000_000 + k * 1000 });
      s = { info: base.info, pieces };
    } else if (kind === 1) s = t.synth(rng);
    else {
      const base = t.seeds.length ? t.seeds[rng.int(t.seeds.length)]! : t.synth(rng);
      s = { info: base.info, pieces: kind === 2 ? base.pieces.map((p) => (rng.int(3) === 0 ? p : { ...p, bytes: mutate(rng, p.bytes) })) : base.pieces };
    }
    if (process.env.FUZZ_DUMP === String(i)) {
      process.stdout.write(`${JSON.stringify({ info: s.info, pieces: s.pieces.map((p) => ({ dir: p.dir, tsUs: p.tsUs, hex: Buffer.from(p.bytes).toString('hex') })) })}\n`);
    }
    try {
      const a = runPieces(t.dissector, s.info, s.pieces, rng);
      if (a.json !== 'none') r.claimed++;
      const lim = t.checkLimits(a.state, a.meta);
      if (lim) {
        r.limitViolations++;
        note(`limit: ${lim}`);
      }
      if (i % 2 === 0) {
        r.rechunkChecks++;
        const b = runPieces(t.dissector, s.info, rechunk(rng, s.pieces), rng);
        if (b.json !== a.json) {
          r.rechunkMismatches++;
          let d = 0;
          while (d < a.json.length && a.json[d] === b.json[d]) d++;
          const from = Math.max(0, d - 200);
          note(`rechunk mismatch (case ${i}, kind ${kind}) at ${d}\n  whole:   …${a.json.slice(from, d + 200)}\n  chunked: …${b.json.slice(from, d + 200)}`);
        }
      }
    } catch (err) {
      r.throws++;
      note(`throw (case ${i}, kind ${kind}): ${(err as Error).stack?.split('\n').slice(0, 4).join(' | ')}`);
    }
    r.cases++;
  }
  r.ms = performance.now() - t0;
  r.casesPerSec = Math.round((r.cases / r.ms) * 1000);
  return r;
}

/** Runs a target from the command line: `node dist/bench/fuzz-X.js [cases] [seed]`. */
export function mainReport(name: string, target: FuzzTarget, defaultCases: number): number {
  const cases = Number(process.argv[2] ?? defaultCases);
  const seed = Number(process.argv[3] ?? 1);
  const rep = fuzz(target, cases, seed);
  process.stdout.write(
    `${name}: ${rep.cases} cases in ${(rep.ms / 1000).toFixed(1)} s (${rep.casesPerSec} cases/s), claimed ${rep.claimed}, ` +
      `throws ${rep.throws}, limit violations ${rep.limitViolations}, re-chunk ${rep.rechunkMismatches}/${rep.rechunkChecks} mismatches, seeds ${target.seeds.length}\n`,
  );
  for (const p of rep.problems) process.stdout.write(`  ${p}\n`);
  return rep.throws + rep.limitViolations + rep.rechunkMismatches > 0 ? 1 : 0;
}
