import { FileSource } from '../../agent/source/file-source.js';
import { PacketPipeline } from '../../agent/pipeline/packet-pipeline.js';
import { DissectStage, dissectEcs } from '../../agent/dissect/dissect-stage.js';
import { flowToEcs } from '../../agent/sink/jsonl/flow-ecs.js';
import type { FlowRecord } from '../../agent/flow/flow-record.js';
import type { FlowConfig } from '../../agent/flow/flow-config.js';
import type { AnyDissector, DissectEvent } from '../../agent/dissect/dissector.js';
import type { SourceStats } from '../../agent/source/packet-source.js';
import type { Decoder } from '../../agent/decode/decoder.js';
import type { FlowTable } from '../../agent/flow/flow-table.js';

export interface CaptureRun {
  records: FlowRecord[];
  /** The same records in their `picket inspect` JSON form. */
  ecs: Array<Record<string, unknown>>;
  events: DissectEvent[];
  source: SourceStats;
  decoder: Decoder;
  table: FlowTable;
  dissect: DissectStage;
}

/** Runs capture files through the real pipeline (decode → flows → dissectors) in-process. */
export async function runCapture(
  paths: string | readonly string[],
  opts: { flow?: FlowConfig; dissectors?: readonly AnyDissector[] } = {},
): Promise<CaptureRun> {
  const records: FlowRecord[] = [];
  const events: DissectEvent[] = [];
  const dissect = new DissectStage({ ...(opts.dissectors ? { dissectors: opts.dissectors } : {}), onEvent: (e) => events.push(e) });
  const pipeline = new PacketPipeline({
    ...(opts.flow ? { flow: opts.flow } : {}),
    observer: dissect,
    onRecord: (r) => records.push(r),
  });
  const source = new FileSource(typeof paths === 'string' ? [paths] : paths);
  await source.run(pipeline);
  pipeline.finish();
  const ecs = records.map((r) => flowToEcs(r, dissectEcs(r, opts.dissectors)));
  return { records, ecs, events, source: source.stats(), decoder: pipeline.decoder, table: pipeline.table, dissect };
}
