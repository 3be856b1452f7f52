/**
 * A fuzzer for one dissector: random bytes, mutated real payloads taken from capture files, and
 * random re-chunking of TCP streams (the result must equal the unsplit run). Counts exceptions,
 * declared-limit violations and re-chunking mismatches. Used by bench/fuzz-{dns,ssh,rmm}.ts (1 M+
 * cases) and by the short versions in test/.
 */
import { FileSource } from '../agent/source/file-source.js';
import { PacketPipeline } from '../agent/pipeline/packet-pipeline.js';
import { DissectStage } from '../agent/dissect/dissect-stage.js';
import { Verdict, type AnyDissector, type DissectContext, type FlowInfo } from '../agent/dissect/dissector.js';
import type { Direction } from '../agent/flow/flow-observer.js';
import type { FlowRecord } from '../agent/flow/flow-record.js';
import { insertBytes, stubRecord } from './fuzz-common.js';

export interface SeedStream {
  info: FlowInfo;
  /** Payload units in arrival order (TCP: reassembled chunks; UDP: datagrams). */
  chunks: Array<{ dir: Direction; bytes: Uint8Array }>;
}

/** Collects the first payload bytes of flows matching `want` from capture files. */
export async function collectSeeds(paths: readonly string[], want: (f: FlowInfo) => boolean, maxFlows = 400, maxBytes = 16384): Promise<SeedStream[]> {
  const seeds: SeedStream[] = [];
  const recorder: AnyDissector = {
    name: 'seed',
    transports: ['tcp', 'udp'],
    limits: {},
    probe: (_b, _o, _l, _d, ctx) => seeds.length < maxFlows && want(ctx.flow),
    create: (ctx) => {
      const s: SeedStream & { bytes: number } = { info: { ...ctx.flow }, chunks: [], bytes: 0 };
      seeds.push(s);
      return s;
    },
    payload: (s: SeedStream & { bytes: number }, dir, buf, off, len) => {
      s.chunks.push({ dir, bytes: buf.slice(off, off + len) });
      s.bytes += len;
      return s.bytes >= maxBytes ? Verdict.Done : Verdict.More;
    },
    finish: () => undefined,
    ecs: () => ({}),
  };
  const stage = new DissectStage({ dissectors: [recorder] });
  const pipeline = new PacketPipeline({ observer: stage, onRecord: () => {} });
  await new FileSource(paths).run(pipeline);
  pipeline.finish();
  return seeds.filter((s) => s.chunks.length > 0);
}

/** Small deterministic PRNG (xorshift32). */
export class Rng {
  constructor(private s: number) {
    if (this.s === 0) this.s = 0x9e3779b9;
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
    return this.next() % n;
  }
}

export interface FuzzOptions {
  dissector: AnyDissector;
  seeds: readonly SeedStream[];
  /** Flow info for random-byte cases. */
  randomInfo: readonly FlowInfo[];
  /** Returns a description when the metadata exceeds a declared limit. */
  checkLimits: (meta: unknown) => string | undefined;
  cases: number;
  seed?: number;
}

export interface FuzzReport {
  cases: number;
  ms: number;
  casesPerSec: number;
  throws: number;
  limitViolations: number;
  rechunkCases: number;
  rechunkMismatches: number;
  firstProblems: string[];
}

const record = (info: FlowInfo, partial = false): FlowRecord => stubRecord(info, partial, '10.14.0.1', '10.14.0.2');

/** Runs one flow through the dissector like DissectStage does; returns the JSON of meta + events. */
function runFlow(d: AnyDissector, info: FlowInfo, chunks: ReadonlyArray<{ dir: Direction; bytes: Uint8Array }>): { json: string; meta: unknown } {
  const events: string[] = [];
  const ctx: DissectContext = { flow: info, count() {}, emit: (type, tsUs, data) => events.push(JSON.stringify([type, tsUs, data])) };
  const probed = [false, false];
  let state: unknown;
  let active = false;
  let t = 1_700_000_000_000_000;
  for (const c of chunks) {
    if (!active && !probed[c.dir]) {
      probed[c.dir] = true;
      if (d.probe(c.bytes, 0, c.bytes.length, c.dir, ctx)) {
        active = true;
        state = d.create(ctx);
      }
    }
    if (!active) continue;
    // The same timestamp for every chunk: re-chunking must not change the result through time.
    const v = d.payload(state, c.dir, c.bytes, 0, c.bytes.length, t, ctx);
    // Rejected or never claimed: both mean "not this protocol" (no metadata, no events).
    if (v === Verdict.Reject) return { json: 'none', meta: undefined };
    if (v === Verdict.Done) break;
  }
  t++;
  if (!active) return { json: 'none', meta: undefined };
  d.finish(state, record(info, true), ctx);
  const meta = d.finish(state, record(info), ctx);
  return { json: JSON.stringify([meta, events]), meta };
}

function mutate(rng: Rng, src: Uint8Array): Uint8Array {
  const b = Uint8Array.from(src);
  const n = 1 + rng.int(8);
  let out = b;
  for (let i = 0; i < n && out.length > 0; i++) {
    const p = rng.int(out.length);
    switch (rng.int(6)) {
      case 0:
        out[p] = out[p]! ^ (1 << rng.int(8));
        break;
      case 1:
        out[p] = rng.int(256);
        break;
      case 2:
        out[p] = [0, 0xff, 0xc0, 0x3f, 0x40, 0x7f, 0x80][rng.int(7)]!;
        break;
      case 3:
        out = out.slice(0, p);
        break;
      case 4:
        out = insertBytes(out, p, new Uint8Array(1 + rng.int(16)).map(() => rng.int(256)));
        break;
      default: {
        // Copy a run from elsewhere (repeats length fields and compression pointers).
        const q = rng.int(out.length);
        const l = Math.min(1 + rng.int(8), out.length - Math.max(p, q));
        out.copyWithin(p, q, q + l);
      }
    }
  }
  return out;
}

/** Concatenates each direction of a TCP stream and splits it at random points (same order per direction). */
function rechunk(rng: Rng, chunks: ReadonlyArray<{ dir: Direction; bytes: Uint8Array }>): Array<{ dir: Direction; bytes: Uint8Array }> {
  const out: Array<{ dir: Direction; bytes: Uint8Array }> = [];
  for (const c of chunks) {
    let p = 0;
    while (p < c.bytes.length) {
      const n = 1 + rng.int(Math.max(1, Math.min(64, c.bytes.length - p)));
      out.push({ dir: c.dir, bytes: c.bytes.subarray(p, p + n) });
      p += n;
    }
    if (c.bytes.length === 0) out.push(c);
  }
  return out;
}

export function fuzz(o: FuzzOptions): FuzzReport {
  const rng = new Rng(o.seed ?? 12345);
  const r: FuzzReport = { cases: 0, ms: 0, casesPerSec: 0, throws: 0, limitViolations: 0, rechunkCases: 0, rechunkMismatches: 0, firstProblems: [] };
  const note = (s: string): void => {
    if (r.firstProblems.length < 5) r.firstProblems.push(s);
  };
  const t0 = performance.now();
  for (let i = 0; i < o.cases; i++) {
    const kind = o.seeds.length === 0 ? 0 : i % 3;
    let info: FlowInfo;
    let chunks: Array<{ dir: Direction; bytes: Uint8Array }>;
    if (kind === 0) {
      info = o.randomInfo[rng.int(o.randomInfo.length)]!;
      chunks = [];
      const n = 1 + rng.int(4);
      for (let k = 0; k < n; k++) chunks.push({ dir: rng.int(2) as Direction, bytes: new Uint8Array(rng.int(600)).map(() => rng.int(256)) });
    } else {
      const s = o.seeds[rng.int(o.seeds.length)]!;
      info = s.info;
      chunks = s.chunks.slice(0, 16).map((c) => ({ dir: c.dir, bytes: kind === 1 && rng.int(3) === 0 ? c.bytes : mutate(rng, c.bytes) }));
    }
    try {
      const a = runFlow(o.dissector, info, chunks);
      const lim = o.checkLimits(a.meta);
      if (lim) {
        r.limitViolations++;
        note(`limit: ${lim}`);
      }
      if (kind === 2 && info.protocol === 6) {
        r.rechunkCases++;
        const b = runFlow(o.dissector, info, rechunk(rng, chunks));
        if (b.json !== a.json) {
          r.rechunkMismatches++;
          note(`rechunk mismatch (case ${i})${process.env.FUZZ_DEBUG ? `\n  whole:   ${a.json.slice(0, 600)}\n  chunked: ${b.json.slice(0, 600)}` : ''}`);
        }
      }
    } catch (err) {
      r.throws++;
      note(`throw: ${(err as Error).stack?.split('\n').slice(0, 3).join(' | ')}`);
    }
    r.cases++;
  }
  r.ms = performance.now() - t0;
  r.casesPerSec = Math.round((r.cases / r.ms) * 1000);
  return r;
}
