import { readFileSync } from 'node:fs';
import { PROCESS_IO, type Command } from './command.js';
import { flagBool, flagNumber, flagString, parseArgs, UsageError, type FlagSpecs } from './args.js';
import { FLOW_FLAGS, flowConfigFromArgs, runCaptureFiles } from './capture-run.js';
import { Alerting } from '../alert/alerting.js';
import { evaluate, formatEval, parseLabels, type FlowBrief } from '../alert/evaluation.js';
import { DETECTORS } from '../detect/registry.js';
import { rocAuc } from '../detect/iforest/roc-auc.js';

const FLAGS: FlagSpecs = {
  ...FLOW_FLAGS,
  labels: { type: 'string', value: 'LABELS.csv', help: 'rows start,end,src_ip,dst_ip,label,mitre (epoch seconds; empty ip = any)' },
  model: { type: 'string', value: 'MODEL', help: 'Isolation Forest model: flow scores are its anomaly scores (needs the anomaly detector)' },
  threshold: { type: 'string', value: 'SCORE', help: 'flow score at or above which a flow counts as flagged (default 0.5)' },
  json: { type: 'boolean', help: 'print the result as one JSON object instead of a table' },
  quiet: { type: 'boolean', help: 'no capture summary on stderr' },
};

/** `picket eval`: detectors on labelled captures → per-class recall, false alerts per host-hour, flow P/R/F1 and ROC AUC. */
export const evalCommand: Command = {
  name: 'eval',
  summary: 'run the detectors on labelled captures and report recall per class, false alerts per host-hour, P/R/F1 and ROC AUC',
  usage: 'CAPTURE... --labels LABELS.csv [--model MODEL] [options]',
  flags: FLAGS,
  async run(argv, io = PROCESS_IO) {
    const args = parseArgs(argv, FLAGS);
    if (args.positionals.length === 0) throw new UsageError('needs at least one capture file (pcap or pcapng)');
    const labelsPath = flagString(args, 'labels');
    if (!labelsPath) throw new UsageError('needs --labels LABELS.csv (rows start,end,src_ip,dst_ip,label,mitre)');
    let labelText: string;
    try {
      labelText = readFileSync(labelsPath, 'utf8');
    } catch (err) {
      throw new UsageError(`cannot read labels ${labelsPath}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
    let labels;
    try {
      labels = parseLabels(labelText, labelsPath);
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    const model = flagString(args, 'model');
    if (model !== undefined && !DETECTORS.some((d) => d.name === 'anomaly')) {
      throw new UsageError('--model needs the anomaly detector, which is not registered in this build (detect/registry.ts)');
    }
    const threshold = flagNumber(args, 'threshold', 0.5);
    const flows: FlowBrief[] = [];
    const byUid = new Map<string, FlowBrief>();
    const anomaly = new Map<string, number>();
    let alerting: Alerting;
    try {
      alerting = new Alerting({
        ...(model !== undefined ? { config: { detect: { detectors: { anomaly: { modelPath: model } } } } } : {}),
        onFlowScore: (uid, s) => anomaly.set(uid, Math.max(s, anomaly.get(uid) ?? 0)),
      });
    } catch (err) {
      // Configuration and model problems are for the person running the command.
      throw new UsageError(err instanceof Error ? err.message : String(err));
    }
    const zones = alerting.detect.zones;
    const run = await runCaptureFiles({
      command: 'eval',
      files: args.positionals,
      flow: flowConfigFromArgs(args),
      io,
      quiet: flagBool(args, 'quiet'),
      onEvent: alerting.event,
      observers: [alerting.detect],
      onRecord: (r) => {
        // Interim records of one flow become one brief spanning all of them.
        const had = byUid.get(r.uid);
        if (had) {
          had.endUs = Math.max(had.endUs, r.endUs);
          return;
        }
        const f: FlowBrief = {
          startUs: r.startUs,
          endUs: r.endUs,
          client: r.client.ip,
          server: r.server.ip,
          clientInternal: zones.zoneOf(r.client.ip) !== 'untrust',
          serverInternal: zones.zoneOf(r.server.ip) !== 'untrust',
        };
        byUid.set(r.uid, f);
        flows.push(f);
      },
    });
    alerting.finish();
    if (model !== undefined) for (const [uid, s] of anomaly) {
      const f = byUid.get(uid);
      if (f) f.anomaly = s;
    }
    const result = evaluate(labels, alerting.alerts(), flows, rocAuc, { threshold, useAnomaly: model !== undefined });
    io.stdout.write(flagBool(args, 'json') ? JSON.stringify(result) + '\n' : formatEval(result));
    return run.failedFiles > 0 ? 1 : 0;
  },
};
