import { Decoder } from '../decode/decoder.js';
import type { RawPacket, PacketSink } from '../source/raw-packet.js';
import { FlowTable } from '../flow/flow-table.js';
import type { FlowConfig } from '../flow/flow-config.js';
import { DEFAULT_FLOW_CONFIG } from '../flow/flow-config.js';
import type { FlowObserver } from '../flow/flow-observer.js';
import type { FlowRecord } from '../flow/flow-record.js';
import { buildFlowRecord } from '../flow/flow-export.js';

export interface PacketPipelineOptions {
  flow?: FlowConfig;
  /** Dissectors (and anything else that watches live flows). */
  observer?: FlowObserver;
  /** Every exported flow record, in export order. */
  onRecord: (record: FlowRecord) => void;
}

/**
 * source → decode → flow (→ observer for dissectors) → record. The composition root the commands
 * use; it owns no logic of its own beyond wiring the stages in their one direction.
 */
export class PacketPipeline implements PacketSink {
  readonly decoder = new Decoder();
  readonly table: FlowTable;
  private readonly observer: FlowObserver;

  constructor(private readonly opts: PacketPipelineOptions) {
    this.observer = opts.observer ?? {};
    this.table = new FlowTable(
      opts.flow ?? DEFAULT_FLOW_CONFIG,
      (flow, reason, partial) => {
        const record = buildFlowRecord(this.table, flow, reason, partial);
        this.observer.flowEnd?.(flow, record);
        this.opts.onRecord(record);
      },
      this.observer,
    );
  }

  packet(raw: RawPacket): void {
    if (this.decoder.decode(raw)) this.table.packet(this.decoder.out);
  }

  /** Exports flows idle past their timeout at wall-clock time (live sources with quiet links). */
  tick(nowUs: number): void {
    this.table.sweep(nowUs);
  }

  /** Exports every remaining flow. */
  finish(): void {
    this.table.flushAll('end_of_input');
  }
}
