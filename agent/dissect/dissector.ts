import type { Direction } from '../flow/flow-observer.js';
import type { FlowRecord } from '../flow/flow-record.js';

/** What a dissector may know about the flow it looks at (read-only). */
export interface FlowInfo {
  readonly uid: string;
  /** IANA protocol number (6 TCP, 17 UDP). */
  readonly protocol: number;
  readonly ipVersion: number;
  readonly clientPort: number;
  readonly serverPort: number;
}

/** A typed event for the detectors (Zeek-style), e.g. one DNS query or one HTTP request. */
export interface DissectEvent {
  /** `<dissector>.<what>`, e.g. `dns.query`, `http.request`, `tls.client_hello`. */
  readonly type: string;
  readonly flowUid: string;
  readonly tsUs: number;
  readonly data: Readonly<Record<string, unknown>>;
}

/** Handed to a dissector with every call: counters, events, and the flow. */
export interface DissectContext {
  readonly flow: FlowInfo;
  /**
   * Counts a condition under `<dissector>.<kind>`: malformed input (`malformed.<reason>`) and
   * declared limits that hit (`limit.<name>`). Feeds `picket_parse_errors_total{dissector}`.
   */
  count(kind: string): void;
  emit(type: string, tsUs: number, data: Record<string, unknown>): void;
  /**
   * False when nobody listens to events (e.g. `picket inspect` without detectors): emit() then
   * drops them, so a dissector may skip building event data. Absent means true.
   */
  readonly wantsEvents?: boolean;
  /**
   * True when the dissector named `name` claimed this flow and wants no more of its payload
   * (done or rejected), e.g. RMM stops scanning a TLS stream once the TLS dissector has seen it
   * turn encrypted. Absent when the caller cannot tell.
   */
  finished?(name: string): boolean;
}

/**
 * What a dissector wants after seeing bytes. `More`: keep sending payload. `Done`: finished with
 * this flow (got what it needs, or a budget hit). `Reject`: not this protocol after all (the
 * state is dropped and contributes nothing).
 */
export const Verdict = { More: 0, Done: 1, Reject: 2 } as const;
export type Verdict = (typeof Verdict)[keyof typeof Verdict];

/**
 * One application protocol. The folder `agent/dissect/<name>/` holds a pure parser over bytes
 * (never throws on input; returns ParseResult), this adapter with its per-flow state and limits,
 * and its ECS mapping. Register it with one line in registry.ts.
 */
export interface Dissector<State = unknown, Meta = unknown> {
  /** Lower case, also the key in FlowRecord.app and the counter label. */
  readonly name: string;
  /** Transports it runs on. */
  readonly transports: ReadonlyArray<'tcp' | 'udp'>;
  /** Declared budgets (bytes and packets inspected per flow, name lengths, header counts...). */
  readonly limits: Readonly<Record<string, number>>;
  /**
   * Cheap test on a direction's first payload (ports are in ctx.flow): could this flow be
   * mine? Called once per direction until some call returns true.
   */
  probe(buf: Uint8Array, off: number, len: number, dir: Direction, ctx: DissectContext): boolean;
  /** Fresh per-flow state once probe() said yes. */
  create(ctx: DissectContext): State;
  /** Ordered payload (TCP reassembled in order; one UDP datagram per call). Bytes are only valid during the call. */
  payload(state: State, dir: Direction, buf: Uint8Array, off: number, len: number, tsUs: number, ctx: DissectContext): Verdict;
  /** Bytes were lost in this direction (TCP capture gap). */
  gap?(state: State, dir: Direction, ctx: DissectContext): Verdict;
  /**
   * Metadata for the record, or undefined when nothing was recognised. Called at flow end (and
   * for interim records). `record.app` already holds the metadata of dissectors registered
   * earlier, so a later one (e.g. RMM) can use them.
   */
  finish(state: State, record: FlowRecord, ctx: DissectContext): Meta | undefined;
  /** The detected application protocol for `network.protocol`, when this metadata shows one. */
  appProtocol?(meta: Meta): string | undefined;
  /** ECS-shaped output (nested objects), e.g. `{ tls: {...}, picket: { tls: {...} } }`. */
  ecs(meta: Meta): Record<string, unknown>;
}

/** Erases a dissector's type parameters for the registry list. */
export type AnyDissector = Dissector<any, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
