/** Runs captures through decode → flows → dissectors → detectors → alert aggregation, in-process. */
import { FileSource } from '../../agent/source/file-source.js';
import { PacketPipeline } from '../../agent/pipeline/packet-pipeline.js';
import { DissectStage } from '../../agent/dissect/dissect-stage.js';
import { composeObservers } from '../../agent/flow/compose-observers.js';
import { Alerting, type AlertingConfig } from '../../agent/alert/alerting.js';
import type { Alert } from '../../agent/alert/alert.js';
import type { AlertChange } from '../../agent/alert/aggregator.js';
import type { FlowRecord } from '../../agent/flow/flow-record.js';
import type { FlowConfig } from '../../agent/flow/flow-config.js';
import type { AnyDetectorFactory } from '../../agent/detect/detector.js';

export interface DetectRun {
  alerts: Alert[];
  /** Every sink call in order (new and updates). */
  changes: Array<{ alert: Alert; change: AlertChange }>;
  records: FlowRecord[];
  alerting: Alerting;
  firstPacketUs: number;
}

export async function detectCapture(
  paths: string | readonly string[],
  opts: { config?: AlertingConfig; flow?: FlowConfig; factories?: readonly AnyDetectorFactory[]; attach?: boolean } = {},
): Promise<DetectRun> {
  const changes: DetectRun['changes'] = [];
  const records: FlowRecord[] = [];
  const alerting = new Alerting({
    ...(opts.config ? { config: opts.config } : {}),
    ...(opts.factories ? { factories: opts.factories } : {}),
    onAlert: (alert, change) => changes.push({ alert, change }),
  });
  const dissect = new DissectStage({ onEvent: alerting.event });
  const pipeline = new PacketPipeline({
    ...(opts.flow ? { flow: opts.flow } : {}),
    observer: composeObservers(dissect, alerting.detect),
    onRecord: (r) => records.push(r),
  });
  if (opts.attach !== false) alerting.attach(pipeline);
  let firstPacketUs = Infinity;
  const source = new FileSource(typeof paths === 'string' ? [paths] : paths);
  await source.run({
    packet: (raw) => {
      if (raw.tsUs < firstPacketUs) firstPacketUs = raw.tsUs;
      pipeline.packet(raw);
    },
  });
  pipeline.finish();
  alerting.finish();
  return { alerts: alerting.alerts(), changes, records, alerting, firstPacketUs };
}
