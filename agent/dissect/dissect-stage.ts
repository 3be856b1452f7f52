import type { Flow } from '../flow/flow.js';
import type { Direction, FlowObserver } from '../flow/flow-observer.js';
import type { FlowRecord } from '../flow/flow-record.js';
import { Verdict, type AnyDissector, type DissectContext, type DissectEvent } from './dissector.js';
import { DISSECTORS } from './registry.js';

const TCP = 6;
const UDP = 17;

/** One dissector that claimed a flow, with its per-flow state. */
class Claim {
  /** Done or rejected: no more payload for this dissector. */
  finished = false;
  rejected = false;
  constructor(
    readonly d: AnyDissector,
    /** Position in the stage's list of all dissectors (registry order, for finish()). */
    readonly index: number,
    readonly state: unknown,
  ) {}
}

/** Shared by flows that no dissector claimed yet (replaced, never mutated). */
const NO_CLAIMS: readonly Claim[] = Object.freeze([]);
const PROBED_0 = 1;
const PROBED_1 = 2;

/**
 * Per-flow dissection state, kept in `flow.app`. It exists for every flow with payload, so it is
 * small: the claim list is an exact-size array (a `[]` that is pushed to reserves 17 slots), and
 * the probed directions are two bits.
 */
class FlowDissection implements DissectContext {
  claims: readonly Claim[] = NO_CLAIMS;
  /** PROBED_0 | PROBED_1. */
  probed = 0;
  /** Name of the dissector being called (labels its counters). */
  current = '';

  constructor(
    readonly flow: Flow,
    private readonly stage: DissectStage,
  ) {}

  /** On the prototype, not per flow: dissectors skip building event data nobody reads. */
  get wantsEvents(): boolean {
    return this.stage.onEvent !== undefined;
  }

  finished(name: string): boolean {
    for (const c of this.claims) if (c.d.name === name) return c.finished;
    return false;
  }

  count(kind: string): void {
    this.stage.bump(this.current, kind);
  }

  emit(type: string, tsUs: number, data: Record<string, unknown>): void {
    this.stage.onEvent?.({ type, flowUid: this.flow.uid, tsUs, data });
  }
}

export interface DissectStageOptions {
  /** Dissectors to run (default: all registered). */
  dissectors?: readonly AnyDissector[];
  /** Typed events for detectors. */
  onEvent?: (e: DissectEvent) => void;
}

/**
 * Runs the registered dissectors on live flows: probes each direction's first payload, feeds
 * ordered payload to the dissectors that claimed the flow, stops payload delivery as soon as
 * none wants more, and puts their metadata on the record at flow end.
 */
export class DissectStage implements FlowObserver {
  /** `<dissector>.<kind>` → count (malformed input, limits hit). */
  readonly counters = new Map<string, number>();
  /** CPU time per dissector in ms, when `timing` is on (for the benchmark). */
  readonly timeMs = new Map<string, number>();
  timing = false;
  readonly onEvent: ((e: DissectEvent) => void) | undefined;
  /** Indexes into `all` of the TCP and UDP dissectors. */
  private readonly tcp: readonly number[];
  private readonly udp: readonly number[];
  private readonly all: readonly AnyDissector[];
  /** Scratch list of the claims one probe() makes. */
  private readonly added: Claim[] = [];
  private lastDissector = '';
  private lastKind = '';
  private lastKey = '';
  /** Counter keys by dissector and kind, so counting builds no string per call. */
  private readonly keys = new Map<string, Map<string, string>>();

  constructor(opts: DissectStageOptions = {}) {
    this.all = opts.dissectors ?? DISSECTORS;
    const idx = this.all.map((_, i) => i);
    this.tcp = idx.filter((i) => this.all[i]!.transports.includes('tcp'));
    this.udp = idx.filter((i) => this.all[i]!.transports.includes('udp'));
    this.onEvent = opts.onEvent;
  }

  bump(dissector: string, kind: string): void {
    // A limit that hits tends to hit on every message of a flow: the same two strings again
    // (usually the same literals, so the comparison is a pointer check), and the lookups are skipped.
    if (dissector === this.lastDissector && kind === this.lastKind) {
      this.counters.set(this.lastKey, (this.counters.get(this.lastKey) ?? 0) + 1);
      return;
    }
    let byKind = this.keys.get(dissector);
    if (!byKind) this.keys.set(dissector, (byKind = new Map()));
    let key = byKind.get(kind);
    if (key === undefined) {
      key = `${dissector}.${kind}`;
      // Kinds are a small fixed vocabulary; the cap only guards against a dissector that makes them up.
      if (byKind.size < 1024) byKind.set(kind, key);
    }
    this.lastDissector = dissector;
    this.lastKind = kind;
    this.lastKey = key;
    this.counters.set(key, (this.counters.get(key) ?? 0) + 1);
  }

  /** Parse errors and limits per dissector (for metrics). */
  errorsByDissector(): Map<string, number> {
    const out = new Map<string, number>();
    for (const [key, n] of this.counters) {
      const name = key.slice(0, key.indexOf('.'));
      out.set(name, (out.get(name) ?? 0) + n);
    }
    return out;
  }

  payload(flow: Flow, dir: Direction, buf: Uint8Array, off: number, len: number, tsUs: number): void {
    let fd = flow.app as FlowDissection | undefined;
    if (!fd) {
      const list = flow.protocol === TCP ? this.tcp : flow.protocol === UDP ? this.udp : undefined;
      if (!list || list.length === 0) {
        flow.stopPayload();
        return;
      }
      fd = new FlowDissection(flow, this);
      flow.app = fd;
    }
    const bit = dir === 0 ? PROBED_0 : PROBED_1;
    if ((fd.probed & bit) === 0) {
      fd.probed |= bit;
      this.probe(fd, dir, buf, off, len);
    }
    let wanting = 0;
    const claims = fd.claims;
    for (let i = 0; i < claims.length; i++) {
      const a = claims[i]!;
      if (a.finished) continue;
      fd.current = a.d.name;
      const t0 = this.timing ? performance.now() : 0;
      let v: Verdict;
      try {
        v = a.d.payload(a.state, dir, buf, off, len, tsUs, fd);
      } catch {
        // A dissector bug must not take the sensor down: count it and drop the dissector.
        this.bump(a.d.name, 'internal_error');
        v = Verdict.Reject;
      }
      if (this.timing) this.timeMs.set(a.d.name, (this.timeMs.get(a.d.name) ?? 0) + performance.now() - t0);
      if (v === Verdict.More) wanting++;
      else {
        a.finished = true;
        if (v === Verdict.Reject) a.rejected = true;
      }
    }
    if (wanting === 0) {
      // Nobody wants more of this flow: stop both directions once a dissector finished, or once
      // both directions were probed. When nothing claimed the flow yet, stop only this direction
      // (the other one may still be claimed by its first payload, e.g. a server banner).
      if (claims.length > 0 || fd.probed === (PROBED_0 | PROBED_1)) flow.stopPayload();
      else flow.stopPayload(dir);
      // Nothing claimed the flow and nothing more will arrive: free its state now, not at flow end.
      if (claims.length === 0 && !flow.wantsPayload(0) && !flow.wantsPayload(1)) flow.app = undefined;
    }
  }

  private probe(fd: FlowDissection, dir: Direction, buf: Uint8Array, off: number, len: number): void {
    const list = fd.flow.protocol === TCP ? this.tcp : this.udp;
    const added = this.added;
    added.length = 0;
    for (const i of list) {
      if (claimOf(fd.claims, i)) continue;
      const d = this.all[i]!;
      fd.current = d.name;
      let yes = false;
      try {
        yes = d.probe(buf, off, len, dir, fd);
      } catch {
        this.bump(d.name, 'internal_error');
      }
      if (yes) added.push(new Claim(d, i, d.create(fd)));
    }
    // concat() makes an exact-size array (probing happens at most twice per flow).
    if (added.length > 0) fd.claims = fd.claims.concat(added);
    added.length = 0;
  }

  gap(flow: Flow, dir: Direction): void {
    const fd = flow.app as FlowDissection | undefined;
    if (!fd) return;
    for (const a of fd.claims) {
      if (a.finished || !a.d.gap) continue;
      fd.current = a.d.name;
      const v = a.d.gap(a.state, dir, fd);
      if (v !== Verdict.More) {
        a.finished = true;
        if (v === Verdict.Reject) a.rejected = true;
      }
    }
  }

  flowEnd(flow: Flow, record: FlowRecord): void {
    const fd = flow.app as FlowDissection | undefined;
    if (!fd) return;
    // Registry order, so later dissectors see earlier metadata.
    for (let i = 0; i < this.all.length; i++) {
      const a = claimOf(fd.claims, i);
      if (!a || a.rejected) continue;
      const d = a.d;
      fd.current = d.name;
      let meta: unknown;
      try {
        meta = d.finish(a.state, record, fd);
      } catch {
        this.bump(d.name, 'internal_error');
        continue;
      }
      if (meta === undefined) continue;
      record.app[d.name] = meta;
      const proto = d.appProtocol?.(meta);
      if (proto) record.appProtocol = proto;
    }
  }
}

/** The claim of the dissector at `index`, if it claimed the flow (lists hold a few entries). */
function claimOf(claims: readonly Claim[], index: number): Claim | undefined {
  for (let i = 0; i < claims.length; i++) if (claims[i]!.index === index) return claims[i];
  return undefined;
}

/** Merges `src` into `dst` recursively (objects only; arrays and values from src win). */
export function deepMerge(dst: Record<string, unknown>, src: Record<string, unknown>): Record<string, unknown> {
  // for-in over own keys (ECS objects are plain literals): no entries array per level and record.
  for (const k in src) {
    if (!Object.prototype.hasOwnProperty.call(src, k)) continue;
    const v = src[k];
    const cur = dst[k];
    if (v && typeof v === 'object' && !Array.isArray(v) && cur && typeof cur === 'object' && !Array.isArray(cur)) {
      deepMerge(cur as Record<string, unknown>, v as Record<string, unknown>);
    } else dst[k] = v;
  }
  return dst;
}

/** ECS fields of all dissector metadata on a record. */
export function dissectEcs(record: FlowRecord, dissectors: readonly AnyDissector[] = DISSECTORS): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const d of dissectors) {
    const meta = record.app[d.name];
    if (meta !== undefined) deepMerge(out, d.ecs(meta));
  }
  return out;
}
