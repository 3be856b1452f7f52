/**
 * Alerts for `picket replay`: detection over the replayed capture, each alert appended to
 * `--alerts-jsonl` and/or published to `--broker`. At the end the replay waits until the broker
 * acknowledged every alert, or `--flush-timeout` passes and one line says how many are left.
 */
import type { CommandIo } from '../cli/command.js';
import { flagNumber, flagString, UsageError, type ParsedArgs } from '../cli/args.js';
import type { CaptureRunOptions } from '../cli/capture-run.js';
import { formatCounts } from '../cli/summary.js';
import { AlertPublisher } from '../sink/mqtt/alert-publisher.js';
import { BrokerConfigError, brokerOptionsFromFlags, type BrokerOptions } from '../sink/mqtt/broker-options.js';
import { AlertPath, detectConfig } from './alert-path.js';
import { defaultConfig } from './config-loader.js';
import { JsonlFile } from './jsonl-file.js';

export class ReplayAlerts {
  private constructor(
    readonly path: AlertPath,
    private readonly io: CommandIo,
    private readonly jsonl: JsonlFile | undefined,
    private readonly publisher: AlertPublisher | undefined,
    private readonly broker: BrokerOptions | undefined,
    private readonly flushTimeoutS: number,
  ) {}

  /** Undefined when neither --alerts-jsonl nor --broker asks for alerts. Throws UsageError for bad flags. */
  static async fromFlags(args: ParsedArgs, io: CommandIo): Promise<ReplayAlerts | undefined> {
    const file = flagString(args, 'alerts-jsonl');
    let broker: BrokerOptions | undefined;
    try {
      broker = brokerOptionsFromFlags(args.flags);
    } catch (err) {
      if (err instanceof BrokerConfigError) throw new UsageError(err.message);
      throw err;
    }
    if (file === undefined && broker === undefined) return undefined;
    const flushTimeoutS = flagNumber(args, 'flush-timeout', 30);
    if (flushTimeoutS < 0) throw new UsageError(`--flush-timeout must be 0 or more seconds, got ${flushTimeoutS}`);
    let jsonl: JsonlFile | undefined;
    try {
      if (file !== undefined) jsonl = new JsonlFile(file, false, (m) => io.stderr.write(`picket replay: ${m}\n`), '--alerts-jsonl');
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    let publisher: AlertPublisher | undefined;
    if (broker) {
      publisher = new AlertPublisher(broker);
      try {
        await publisher.start();
      } catch (err) {
        jsonl?.close();
        if (err instanceof BrokerConfigError) throw new UsageError(err.message);
        throw err;
      }
    }
    const c = defaultConfig();
    const path = new AlertPath({
      detect: detectConfig(c),
      allow: c.allow,
      aggregator: { windowSec: c.alerts.window, updateIntervalSec: c.alerts.update_interval, maxOpen: c.alerts.max_open },
      jsonl,
      publisher,
      stamp: broker ? { sensorId: broker.sensorId, site: broker.site } : undefined,
    });
    return new ReplayAlerts(path, io, jsonl, publisher, broker, flushTimeoutS);
  }

  /** Options for runCaptureFiles: detection after the dissectors. */
  captureHooks(): Pick<CaptureRunOptions, 'observers' | 'onEvent'> {
    const detect = this.path.detect;
    return { observers: [detect.observer], onEvent: (e) => detect.event(e) };
  }

  /**
   * End of the capture: pending alerts out, then (with a broker) wait for acknowledgements.
   * Returns how many alerts are still unacknowledged (0 without a broker).
   */
  async finish(quiet: boolean): Promise<number> {
    this.path.detect.finish();
    this.jsonl?.flush();
    const c = this.path.counts;
    const opened = c.low + c.medium + c.high + c.critical;
    if (!quiet) {
      const by = formatCounts(Object.entries(c).filter(([, n]) => n > 0));
      this.io.stderr.write(`  alerts: ${opened} raised${by ? ` (${by})` : ''}, ${this.path.sent} alert messages${this.publisher ? ` to ${this.broker!.url}` : ''}\n`);
    }
    if (!this.publisher) return 0;
    const r = await this.publisher.flush(this.flushTimeoutS * 1000);
    if (r.left > 0) {
      const where = this.broker!.queueDir ? `they stay in ${this.broker!.queueDir} for the next run` : 'they are lost (no --queue-dir)';
      this.io.stderr.write(`picket replay: ${r.left} alerts left in the queue after waiting ${this.flushTimeoutS} s for ${this.broker!.url}; ${where}\n`);
    }
    return r.left;
  }

  async close(): Promise<void> {
    await this.publisher?.stop();
    this.jsonl?.close();
  }
}
