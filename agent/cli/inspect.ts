import { PROCESS_IO, type Command, type CommandIo } from './command.js';
import { flagBool, flagNumber, parseArgs, UsageError, type FlagSpecs } from './args.js';
import { FileSource } from '../source/file-source.js';
import { PacketPipeline } from '../pipeline/packet-pipeline.js';
import { flowConfig } from '../flow/flow-config.js';
import { flowToEcs } from '../sink/jsonl/flow-ecs.js';
import { LineWriter } from '../sink/jsonl/line-writer.js';
import { formatSummary, formatCounts } from './summary.js';
import { DissectStage, dissectEcs } from '../dissect/dissect-stage.js';

const FLAGS: FlagSpecs = {
  'max-flows': { type: 'string', value: 'N', help: 'hard maximum of tracked flows (default 262144)' },
  'active-timeout': { type: 'string', value: 'SECONDS', help: 'interim record for flows longer than this (default 1800)' },
  'reassembly-bytes': { type: 'string', value: 'BYTES', help: 'ordered TCP payload kept per direction for dissectors (default 32768)' },
  quiet: { type: 'boolean', help: 'no summary on stderr' },
  'no-records': { type: 'boolean', help: 'do not print flow records (summary only)' },
};

export const inspectCommand: Command = {
  name: 'inspect',
  summary: 'read capture files (pcap/pcapng) and print one JSON flow record per line',
  usage: 'CAPTURE... [options]',
  flags: FLAGS,
  async run(argv, io = PROCESS_IO) {
    const args = parseArgs(argv, FLAGS);
    if (args.positionals.length === 0) throw new UsageError('needs at least one capture file (pcap or pcapng)');
    const flow = flowConfig({
      maxFlows: flagNumber(args, 'max-flows', 262_144),
      activeTimeout: flagNumber(args, 'active-timeout', 1800),
      reassemblyBytes: flagNumber(args, 'reassembly-bytes', 32 * 1024),
    });
    const quiet = flagBool(args, 'quiet');
    const printRecords = !flagBool(args, 'no-records');
    const out = new LineWriter(io.stdout);
    const dissect = new DissectStage();
    const pipeline = new PacketPipeline({
      flow,
      observer: dissect,
      onRecord: (r) => {
        if (printRecords) out.line(JSON.stringify(flowToEcs(r, dissectEcs(r))));
      },
    });
    const started = performance.now();
    const source = new FileSource(args.positionals, {
      onFileError: (_path, message) => io.stderr.write(`picket inspect: ${message}\n`),
      pause: () => out.drained(),
    });
    const progress = !quiet && io.stderr.isTTY ? startProgress(source, pipeline, io) : undefined;
    await source.run(pipeline);
    pipeline.finish();
    clearInterval(progress);
    if (progress) io.stderr.write('\r\x1b[K');
    await out.end();
    if (!quiet) {
      io.stderr.write(
        formatSummary({
          files: args.positionals.length,
          source: source.stats(),
          decode: pipeline.decoder.stats,
          flows: pipeline.table.stats,
          elapsedMs: performance.now() - started,
          extra: dissect.counters.size > 0 ? [`  dissectors: ${formatCounts(dissect.counters)}`] : [],
        }),
      );
    }
    // Non-zero only when a file could not be read at all.
    return source.failedFiles.length > 0 ? 1 : 0;
  },
};

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
