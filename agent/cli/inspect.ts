import { PROCESS_IO, type Command } from './command.js';
import { flagBool, flagString, parseArgs, UsageError, type FlagSpecs } from './args.js';
import { flowToEcs } from '../sink/jsonl/flow-ecs.js';
import { LineWriter } from '../sink/jsonl/line-writer.js';
import { dissectEcs } from '../dissect/dissect-stage.js';
import { FLOW_FLAGS, flowConfigFromArgs, runCaptureFiles } from './capture-run.js';
import { Alerting } from '../alert/alerting.js';
import { alertJsonLine } from '../alert/alert-json.js';
import { formatCounts } from './summary.js';
import { loadModel } from '../detect/iforest/model-file.js';
import type { IsolationForest } from '../detect/iforest/forest.js';
import { FLOW_FEATURE_SCHEMA } from '../detect/anomaly/anomaly-hooks.js';

const FLAGS: FlagSpecs = {
  ...FLOW_FLAGS,
  quiet: { type: 'boolean', help: 'no summary on stderr' },
  'no-records': { type: 'boolean', help: 'do not print flow records (summary only)' },
  alerts: { type: 'boolean', help: 'run the detectors and print alerts (final state, by first time) instead of flow records' },
  model: { type: 'string', value: 'MODEL', help: 'anomaly model from `picket train`: unexplained flows above its threshold raise `anomaly` alerts (implies --alerts)' },
};

export const inspectCommand: Command = {
  name: 'inspect',
  summary: 'read capture files (pcap/pcapng) and print one JSON flow record per line',
  usage: 'CAPTURE... [options]',
  flags: FLAGS,
  async run(argv, io = PROCESS_IO) {
    const args = parseArgs(argv, FLAGS);
    if (args.positionals.length === 0) throw new UsageError('needs at least one capture file (pcap or pcapng)');
    const modelPath = flagString(args, 'model');
    let model: IsolationForest | undefined;
    if (modelPath !== undefined) {
      const r = await loadModel(modelPath, FLOW_FEATURE_SCHEMA);
      if (!r.ok) {
        io.stderr.write(`picket inspect: ${r.message}\n`);
        return 1;
      }
      model = r.value;
    }
    const alerting = flagBool(args, 'alerts') || model ? new Alerting(model ? { anomaly: { model } } : {}) : undefined;
    const printRecords = !flagBool(args, 'no-records') && !alerting;
    const out = new LineWriter(io.stdout);
    const run = await runCaptureFiles({
      command: 'inspect',
      files: args.positionals,
      flow: flowConfigFromArgs(args),
      io,
      quiet: flagBool(args, 'quiet'),
      pause: () => out.drained(),
      onRecord: (r) => {
        if (printRecords) out.line(JSON.stringify(flowToEcs(r, dissectEcs(r))));
      },
      ...(alerting
        ? {
            onEvent: alerting.event,
            observers: [alerting.detect],
            summaryExtra: () => {
              alerting.finish();
              return [`  alerts: ${alerting.alerts().length} (candidates: ${formatCounts(alerting.detect.raised) || 'none'})`];
            },
          }
        : {}),
    });
    if (alerting) {
      alerting.finish();
      for (const a of alerting.alerts()) out.line(alertJsonLine(a));
    }
    await out.end();
    // Non-zero only when a file could not be read at all.
    return run.failedFiles > 0 ? 1 : 0;
  },
};
