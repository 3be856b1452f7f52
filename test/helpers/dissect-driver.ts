import { Verdict, type AnyDissector, type DissectContext, type DissectEvent, type FlowInfo } from '../../agent/dissect/dissector.js';
import type { Direction } from '../../agent/flow/flow-observer.js';
import type { FlowRecord } from '../../agent/flow/flow-record.js';

export interface Chunk {
  dir: Direction;
  bytes: Uint8Array;
  tsUs?: number;
}

export interface DriveResult<M = unknown> {
  /** finish() output (undefined when the dissector never claimed the flow or rejected it). */
  meta: M | undefined;
  probed: boolean;
  rejected: boolean;
  /** Verdict after each payload call. */
  verdicts: number[];
  counters: Map<string, number>;
  events: DissectEvent[];
  record: FlowRecord;
}

/** A flow record with no L7 data, for dissectors that read record fields in finish(). */
export function emptyRecord(info: Partial<FlowInfo> = {}, app: Record<string, unknown> = {}): FlowRecord {
  const dir = { packets: 1, bytes: 100, payloadBytes: 50, firstUs: 1, lastUs: 2 };
  const protocol = info.protocol ?? 6;
  return {
    uid: info.uid ?? 'Ctest1',
    origin: 'packets',
    startUs: 1,
    endUs: 2,
    ipVersion: 4,
    protocol,
    transport: protocol === 6 ? 'tcp' : protocol === 17 ? 'udp' : String(protocol),
    client: { ip: '10.14.0.1', port: info.clientPort ?? 40000 },
    server: { ip: '10.14.0.2', port: info.serverPort ?? 443 },
    c2s: { ...dir },
    s2c: { ...dir },
    communityId: '1:test',
    state: 'established',
    endReason: 'end_of_input',
    partial: false,
    app: { ...app },
  };
}

/**
 * Drives one dissector over payload chunks the way DissectStage does (probe on each direction's
 * first payload, then payload until Done/Reject, then finish), without the packet pipeline.
 */
export function driveDissector<M = unknown>(
  d: AnyDissector,
  info: Partial<FlowInfo>,
  chunks: readonly Chunk[],
  app: Record<string, unknown> = {},
): DriveResult<M> {
  const flow: FlowInfo = { uid: 'Ctest1', protocol: 6, ipVersion: 4, clientPort: 40000, serverPort: 443, ...info };
  const counters = new Map<string, number>();
  const events: DissectEvent[] = [];
  const ctx: DissectContext = {
    flow,
    count: (k) => counters.set(k, (counters.get(k) ?? 0) + 1),
    emit: (type, tsUs, data) => events.push({ type, flowUid: flow.uid, tsUs, data }),
  };
  const probedDir = [false, false];
  let state: unknown;
  let claimed = false;
  let finished = false;
  let rejected = false;
  const verdicts: number[] = [];
  let t = 1_700_000_000_000_000;
  for (const c of chunks) {
    if (finished) break;
    if (!claimed && !probedDir[c.dir]) {
      probedDir[c.dir] = true;
      if (d.probe(c.bytes, 0, c.bytes.length, c.dir, ctx)) {
        claimed = true;
        state = d.create(ctx);
      }
    }
    if (!claimed) continue;
    t = c.tsUs ?? t + 1000;
    const v = d.payload(state, c.dir, c.bytes, 0, c.bytes.length, t, ctx);
    verdicts.push(v);
    if (v !== Verdict.More) finished = true;
    if (v === Verdict.Reject) rejected = true;
  }
  const record = emptyRecord(flow, app);
  const meta = claimed && !rejected ? (d.finish(state, record, ctx) as M | undefined) : undefined;
  return { meta, probed: claimed, rejected, verdicts, counters, events, record };
}
