import type { CommandIo } from './command.js';
import { flagNumber, type FlagSpecs, type ParsedArgs } from './args.js';
import { FileSource } from '../source/file-source.js';
import { PacketPipeline } from '../pipeline/packet-pipeline.js';
import { flowConfig, type FlowConfig } from '../flow/flow-config.js';
import type { FlowObserver } from '../flow/flow-observer.js';
import { composeObservers } from '../flow/compose-observers.js';
import type { FlowRecord } from '../flow/flow-record.js';
import { DissectStage } from '../dissect/dissect-stage.js';
import type { DissectEvent } from '../dissect/dissector.js';
import { formatSummary, formatCounts } from './summary.js';

/** Flow table flags shared by the commands that read captures. */
export const FLOW_FLAGS: FlagSpecs = {
  'max-flows': { type: 'string', value: 'N', help: 'hard maximum of tracked flows (default 262144)' },
  'active-timeout': { type: 'string', value: 'SECONDS', help: 'interim record for flows longer than this (default 1800)' },
  'reassembly-bytes': { type: 'string', value: 'BYTES', help: 'ordered TCP payload kept per direction for dissectors (default 32768)' },
};

export function flowConfigFromArgs(args: ParsedArgs): FlowConfig {
  return flowConfig({
    maxFlows: flagNumber(args, 'max-flows', 262_144),
    activeTimeout: flagNumber(args, 'active-timeout', 1800),
    reassemblyBytes: flagNumber(args, 'reassembly-bytes', 32 * 1024),
  });
}

export interface CaptureRunOptions {
  command: string;
  files: readonly string[];
  flow: FlowConfig;
  io: CommandIo;
  /** Replay speed (N× real time); Infinity reads as fast as possible. */
  speed?: number;
  quiet?: boolean;
  /** Every exported flow record, after the dissectors. */
  onRecord: (r: FlowRecord) => void;
  /** Dissector events (for detectors). */
  onEvent?: (e: DissectEvent) => void;
  /** Observers after the dissectors (detectors' rate hooks). */
  observers?: FlowObserver[];
  /** Awaited at the reader's yield points (output backpressure). */
  pause?: () => Promise<void> | undefined;
  /** Extra summary lines. */
  summaryExtra?: () => string[];
  signal?: AbortSignal;
}

export interface CaptureRunResult {
  pipeline: PacketPipeline;
  dissect: DissectStage;
  source: FileSource;
  /** Files that could not be read at all. */
  failedFiles: number;
}

/**
 * The offline path every capture command shares: files → decode → flows → dissectors → records,
 * with the summary on stderr (and a progress line on a terminal).
 */
export async function runCaptureFiles(o: CaptureRunOptions): Promise<CaptureRunResult> {
  const dissect = new DissectStage(o.onEvent ? { onEvent: o.onEvent } : {});
  const observer = o.observers?.length ? composeObservers(dissect, ...o.observers) : dissect;
  const pipeline = new PacketPipeline({ flow: o.flow, observer, onRecord: o.onRecord });
  const started = performance.now();
  const source = new FileSource(o.files, {
    onFileError: (_path, message) => o.io.stderr.write(`picket ${o.command}: ${message}\n`),
    ...(o.pause ? { pause: o.pause } : {}),
    ...(o.speed !== undefined ? { speed: o.speed } : {}),
  });
  const progress = !o.quiet && o.io.stderr.isTTY ? startProgress(source, pipeline, o.io) : undefined;
  await source.run(pipeline, o.signal);
  pipeline.finish();
  clearInterval(progress);
  if (progress) o.io.stderr.write('\r\x1b[K');
  if (!o.quiet) {
    o.io.stderr.write(
      formatSummary({
        files: o.files.length,
        source: source.stats(),
        decode: pipeline.decoder.stats,
        flows: pipeline.table.stats,
        elapsedMs: performance.now() - started,
        extra: [...(dissect.counters.size > 0 ? [`  dissectors: ${formatCounts(dissect.counters)}`] : []), ...(o.summaryExtra?.() ?? [])],
      }),
    );
  }
  return { pipeline, dissect, source, failedFiles: source.failedFiles.length };
}

function startProgress(source: FileSource, pipeline: PacketPipeline, io: CommandIo): NodeJS.Timeout {
  const timer = setInterval(() => {
    const s = source.stats();
    io.stderr.write(
      `\r\x1b[K  ${(source.bytesRead() / 1e6).toFixed(0)} MB read, ${s.packets.toLocaleString('en-US')} packets, ${pipeline.table.stats.active.toLocaleString('en-US')} active flows`,
    );
  }, 500);
  timer.unref();
  return timer;
}
