import type { DecodedPacket } from '../decode/decoded-packet.js';
import type { Flow } from './flow.js';
import type { FlowRecord } from './flow-record.js';

/** Direction of a packet within its flow: 0 = client → server, 1 = server → client. */
export type Direction = 0 | 1;

/**
 * How later stages (dissectors) see a flow while it is alive. The flow stage calls these; it
 * never imports what implements them. Bytes passed in are only valid during the call.
 */
export interface FlowObserver {
  /** A new flow was created (before its first packet is observed). */
  flowStart?(flow: Flow): void;
  /** Every packet of every flow, after the flow's counters were updated. */
  packet?(flow: Flow, dir: Direction, pkt: DecodedPacket): void;
  /**
   * Application bytes in order: each UDP/ICMP payload as it arrives, and for TCP the reassembled
   * in-order stream (retransmissions removed, out-of-order segments put in place) until the
   * per-direction budget is spent or `flow.stopPayload()` was called.
   */
  payload?(flow: Flow, dir: Direction, buf: Uint8Array, off: number, len: number, tsUs: number): void;
  /** TCP bytes were lost (capture gap): the stream continues after a hole. */
  gap?(flow: Flow, dir: Direction, lostBytes: number): void;
  /** The flow is being exported: add application metadata to the record. */
  flowEnd?(flow: Flow, record: FlowRecord): void;
}
