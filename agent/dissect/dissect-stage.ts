import type { Flow } from '../flow/flow.js';
import type { Direction, FlowObserver } from '../flow/flow-observer.js';
import type { FlowRecord } from '../flow/flow-record.js';
import { Verdict, type AnyDissector, type DissectContext, type DissectEvent } from './dissector.js';
import { DISSECTORS } from './registry.js';

const TCP = 6;
const UDP = 17;

interface Active {
  readonly d: AnyDissector;
  readonly state: unknown;
  /** Done or rejected: no more payload for this dissector. */
  finished: boolean;
  rejected: boolean;
}

/** Per-flow dissection state, kept in `flow.app`. */
class FlowDissection implements DissectContext {
  readonly active: Active[] = [];
  readonly probed: [boolean, boolean] = [false, false];

  constructor(
    readonly flow: Flow,
    private readonly stage: DissectStage,
  ) {}

  count(kind: string): void {
    this.stage.bump(this.current, kind);
  }

  emit(type: string, tsUs: number, data: Record<string, unknown>): void {
    this.stage.onEvent?.({ type, flowUid: this.flow.uid, tsUs, data });
  }

  /** Name of the dissector being called (labels its counters). */
  current = '';
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
  private readonly tcp: readonly AnyDissector[];
  private readonly udp: readonly AnyDissector[];
  private readonly all: readonly AnyDissector[];

  constructor(opts: DissectStageOptions = {}) {
    this.all = opts.dissectors ?? DISSECTORS;
    this.tcp = this.all.filter((d) => d.transports.includes('tcp'));
    this.udp = this.all.filter((d) => d.transports.includes('udp'));
    this.onEvent = opts.onEvent;
  }

  bump(dissector: string, kind: string): void {
    const key = `${dissector}.${kind}`;
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
    if (!fd.probed[dir]) {
      fd.probed[dir] = true;
      this.probe(fd, dir, buf, off, len);
    }
    let wanting = 0;
    for (const a of fd.active) {
      if (a.finished) continue;
      fd.current = a.d.name;
      const t0 = this.timing ? performance.now() : 0;
      let v: Verdict;
      try {
        v = a.d.payload(a.state, dir, buf, off, len, tsUs, fd);
      } catch (err) {
        // A dissector bug must not take the sensor down: count it and drop the dissector.
        this.bump(a.d.name, `internal_error`);
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
      if (fd.active.length > 0 || (fd.probed[0] && fd.probed[1])) flow.stopPayload();
      else flow.stopPayload(dir);
      // Nothing claimed the flow and nothing more will arrive: free its state now, not at flow end.
      if (fd.active.length === 0 && !flow.wantsPayload(0) && !flow.wantsPayload(1)) flow.app = undefined;
    }
  }

  private probe(fd: FlowDissection, dir: Direction, buf: Uint8Array, off: number, len: number): void {
    const list = fd.flow.protocol === TCP ? this.tcp : this.udp;
    for (const d of list) {
      if (fd.active.some((a) => a.d === d)) continue;
      fd.current = d.name;
      let yes = false;
      try {
        yes = d.probe(buf, off, len, dir, fd);
      } catch {
        this.bump(d.name, 'internal_error');
      }
      if (yes) fd.active.push({ d, state: d.create(fd), finished: false, rejected: false });
    }
  }

  gap(flow: Flow, dir: Direction): void {
    const fd = flow.app as FlowDissection | undefined;
    if (!fd) return;
    for (const a of fd.active) {
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
    for (const d of this.all) {
      const a = fd.active.find((x) => x.d === d);
      if (!a || a.rejected) continue;
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

/** Merges `src` into `dst` recursively (objects only; arrays and values from src win). */
export function deepMerge(dst: Record<string, unknown>, src: Record<string, unknown>): Record<string, unknown> {
  for (const [k, v] of Object.entries(src)) {
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
