/**
 * `picket run`: the long-running sensor. Wires, in one direction:
 *
 *   LiveSource (libpcap) → PacketPipeline (decode → flows → DissectStage → DetectPort)
 *   NetflowCollector → FlowRecords → DetectPort.record
 *   DetectPort → AlertAggregator → AlertPath outputs (--alerts-jsonl, AlertPublisher: queue + MQTT)
 *   flow records → --flows-jsonl
 *   wall clock (1 s) → flow idle sweep, detector windows, output flushes
 *
 * Operations: reload() re-reads the config (SIGHUP) and applies the filter, thresholds, zones,
 * allow-lists, log level and model without touching the flow table; stop() (SIGTERM) exports every
 * flow, sends what can be acknowledged within broker.flush_timeout, keeps the rest in the queue
 * and closes everything. Metrics are read from the components at scrape time.
 */
import { composeObservers } from '../flow/compose-observers.js';
import { flowConfig, type FlowConfig } from '../flow/flow-config.js';
import type { FlowRecord } from '../flow/flow-record.js';
import { DissectStage, dissectEcs } from '../dissect/dissect-stage.js';
import { DISSECTORS } from '../dissect/registry.js';
import { PacketPipeline } from '../pipeline/packet-pipeline.js';
import { LiveSource } from '../source/live/live-source.js';
import { LiveCaptureError } from '../source/live/capture-error.js';
import type { PcapAddon } from '../source/live/pcap-addon.js';
import { NetflowCollector } from '../source/netflow/netflow-collector.js';
import { AlertPublisher, type StatusFields } from '../sink/mqtt/alert-publisher.js';
import { BrokerConfigError } from '../sink/mqtt/broker-options.js';
import { flowToEcs } from '../sink/jsonl/flow-ecs.js';
import { AlertPath, detectConfig } from './alert-path.js';
import { parseHostPort, schemaKeys, type PicketConfig } from './config-schema.js';
import { JsonlFile } from './jsonl-file.js';
import { liveLog, publisherLog, type Logger } from './logger.js';
import { DaemonMetrics, type InterfaceSample, type MetricsProbe } from './metrics.js';
import { MetricsServer, type MetricsAddress } from './metrics-server.js';
import { ModelSlot } from './model-slot.js';
import { AnomalyLearner } from '../detect/anomaly/anomaly-learner.js';
import { FLOW_FEATURE_SCHEMA } from '../detect/anomaly/anomaly-hooks.js';
import { SettingsError, type DaemonSettings } from './settings.js';

/** A start-up failure meant for a person: one line, what is wrong and what to do. */
export class StartError extends Error {}

/** Keys SIGHUP applies; every other change waits for a restart (and is logged as such). */
export const RELOADABLE_KEYS: readonly string[] = ['capture.filter', 'logging.level', 'zones', 'allow.hosts', 'allow.domains', 'allow.ja4', 'allow.detectors', 'detectors', 'model.path', 'model.learning_period'];

const TICK_MS = 1000;

export interface DaemonOptions {
  log: Logger;
  /** Re-reads the settings for SIGHUP (config file + the same flags); absent = reload not possible. */
  resolve?: () => DaemonSettings;
  /** The libpcap addon (tests may pass their own). */
  addon?: PcapAddon;
  /** Picket version for logs and metrics. */
  version?: string;
}

function get(obj: unknown, path: string): unknown {
  let v: unknown = obj;
  for (const part of path.split('.')) v = (v as Record<string, unknown> | undefined)?.[part];
  return v;
}

/** Dotted keys whose values differ between two configs. */
export function changedKeys(a: PicketConfig, b: PicketConfig): string[] {
  return schemaKeys().filter((k) => JSON.stringify(get(a, k)) !== JSON.stringify(get(b, k)));
}

export function flowConfigOf(c: PicketConfig): FlowConfig {
  const t = c.flows.idle_timeout;
  return flowConfig({
    maxFlows: c.flows.max,
    idleTimeout: { tcp: t.tcp, tcpHalfOpen: t.tcp_half_open, tcpClosed: t.tcp_closed, udp: t.udp, icmp: t.icmp, other: t.other },
    activeTimeout: c.flows.active_timeout,
    reassemblyBytes: c.flows.reassembly_bytes,
    reassemblyPendingBytes: c.flows.reassembly_pending_bytes,
  });
}

export class Daemon {
  private settings: DaemonSettings;
  private readonly log: Logger;
  private alerts: AlertPath | undefined;
  private publisher: AlertPublisher | undefined;
  private alertsOut: JsonlFile | undefined;
  private flowsOut: JsonlFile | undefined;
  /** The packet path; present when capturing. */
  pipeline: PacketPipeline | undefined;
  private dissect: DissectStage | undefined;
  live: LiveSource | undefined;
  private liveRun: Promise<unknown> | undefined;
  private readonly abort = new AbortController();
  netflow: NetflowCollector | undefined;
  private metricsServer: MetricsServer | undefined;
  /** Where /metrics is served, once started. */
  metricsAddress: MetricsAddress | undefined;
  /** Where the NetFlow collector listens, once started. */
  netflowPort = 0;
  private readonly model = new ModelSlot(FLOW_FEATURE_SCHEMA);
  private learner: AnomalyLearner | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopping: Promise<void> | undefined;
  private exitCode = 0;
  private resolveDone!: (code: number) => void;
  private readonly done = new Promise<number>((r) => (this.resolveDone = r));
  private readonly reloads = { ok: 0, failed: 0 };
  private netflowRecords = 0;
  private lastError = '';
  private lastErrorUs = 0;

  constructor(
    settings: DaemonSettings,
    private readonly o: DaemonOptions,
  ) {
    this.settings = settings;
    this.log = o.log;
  }

  /** The running configuration (hot keys as last reloaded). */
  get config(): PicketConfig {
    return this.settings.config;
  }

  /** Resolves with the exit code once the daemon has stopped. */
  wait(): Promise<number> {
    return this.done;
  }

  /**
   * Opens outputs, broker, metrics and sources. Throws StartError (one line) and closes what was
   * opened when something cannot start: bad output path, missing interface, no permission, port in use.
   */
  async start(): Promise<void> {
    const c = this.settings.config;
    const capture = c.capture.interfaces.length > 0;
    const netflow = c.netflow.listen !== '';
    const broker = this.settings.broker;
    const drain = !capture && !netflow;
    if (drain && !(broker && broker.queueDir)) {
      throw new StartError('nothing to do: give --interface IF or --netflow HOST:PORT (or capture.interfaces / netflow.listen in the config); --broker URL with --queue-dir DIR alone drains that queue');
    }
    try {
      await this.open(c, capture, netflow);
    } catch (err) {
      await this.shutdown('start failed');
      if (err instanceof StartError) throw err;
      if (err instanceof LiveCaptureError || err instanceof BrokerConfigError || err instanceof SettingsError) throw new StartError(err.message);
      throw new StartError(err instanceof Error ? err.message : String(err));
    }
    this.timer = setInterval(() => this.tick(), TICK_MS);
    const what = [
      capture ? `capturing on ${c.capture.interfaces.join(', ')}${c.capture.filter ? ` (filter "${c.capture.filter}")` : ''}` : '',
      netflow ? `collecting NetFlow/IPFIX on ${c.netflow.listen} (port ${this.netflowPort})` : '',
      broker ? `alerts to ${broker.url} as ${broker.site}/${broker.sensorId}${broker.queueDir ? ` (queue ${broker.queueDir})` : ''}` : '',
      c.alerts.jsonl ? `alerts to ${c.alerts.jsonl}` : '',
      c.flows.jsonl ? `flows to ${c.flows.jsonl}` : '',
      this.metricsAddress ? `metrics on http://${this.metricsAddress.host}:${this.metricsAddress.port}/metrics` : '',
    ].filter((s) => s);
    this.log.info({ event: 'started', metricsPort: this.metricsAddress?.port, netflowPort: this.netflowPort || undefined }, `picket ${this.o.version ?? ''} started: ${what.join('; ')}`.replace('  ', ' '));
    if (drain) void this.drainQueue();
  }

  private async open(c: PicketConfig, capture: boolean, netflow: boolean): Promise<void> {
    const onOutputError = (m: string): void => this.noteError(m);
    if (c.alerts.jsonl) this.alertsOut = new JsonlFile(c.alerts.jsonl, false, onOutputError, '--alerts-jsonl');
    if (c.flows.jsonl) this.flowsOut = new JsonlFile(c.flows.jsonl, true, onOutputError, '--flows-jsonl');
    const b = this.settings.broker;
    if (b) {
      this.publisher = new AlertPublisher(b, { log: publisherLog(this.log), status: () => this.status() });
      await this.publisher.start();
    }
    await this.loadModel(c);
    if (c.model.path !== '') {
      // Learns the first model over model.learning_period (or retrains the loaded one), saves it
      // to model.path and puts it in the slot the anomaly detector reads.
      const mlog = this.log.child({ component: 'model' });
      this.learner = new AnomalyLearner(
        FLOW_FEATURE_SCHEMA,
        { modelPath: c.model.path, learningPeriodSec: c.model.learning_period },
        {
          log: (level, line) => mlog[level](line),
          onModel: (m) => (this.model.model = m),
          ...(this.model.model ? { existing: this.model.model } : {}),
        },
      );
    }
    this.alerts = new AlertPath({
      detect: detectConfig(c),
      allow: c.allow,
      aggregator: { windowSec: c.alerts.window, updateIntervalSec: c.alerts.update_interval, maxOpen: c.alerts.max_open },
      jsonl: this.alertsOut,
      publisher: this.publisher,
      stamp: b ? { sensorId: b.sensorId, site: b.site } : undefined,
      anomaly: { model: this.model, ...(this.learner ? { learner: this.learner } : {}) },
    });
    if (capture) {
      const detect = this.alerts.detect;
      this.dissect = new DissectStage({ onEvent: (e) => detect.event(e) });
      this.pipeline = new PacketPipeline({
        flow: flowConfigOf(c),
        observer: composeObservers(this.dissect, detect.observer),
        onRecord: (r) => this.flowOut(r),
      });
      detect.attach(this.pipeline.table);
    }
    if (c.metrics.listen !== '') {
      const hp = parseHostPort(c.metrics.listen)!;
      this.metricsServer = new MetricsServer(new DaemonMetrics(this.probe(), this.o.version ?? 'unknown'));
      this.metricsAddress = await this.metricsServer.listen(hp.host, hp.port);
    }
    if (capture) await this.startCapture(c);
    if (netflow) await this.startNetflow(c);
  }

  private async startCapture(c: PicketConfig): Promise<void> {
    const cc = c.capture;
    this.live = new LiveSource(
      {
        interfaces: cc.interfaces,
        filter: cc.filter,
        snapLen: cc.snaplen,
        promiscuous: cc.promiscuous,
        bufferBytes: cc.buffer_bytes,
        immediate: cc.immediate,
        timeoutMs: cc.timeout_ms,
        batchBytes: cc.batch_bytes,
        statsIntervalMs: Math.round(cc.stats_interval * 1000),
        reopenMinMs: Math.round(cc.reopen_min * 1000),
        reopenMaxMs: Math.round(cc.reopen_max * 1000),
        logger: liveLog(this.log),
      },
      this.o.addon,
    );
    const run = this.live.run(this.pipeline!, this.abort.signal);
    // run() rejects inside its executor when an interface cannot be opened at all: that rejection
    // is already settled here and wins the race.
    await Promise.race([run, Promise.resolve()]);
    this.liveRun = run.catch((err: unknown) => {
      if (this.stopping) return;
      const msg = err instanceof Error ? err.message : String(err);
      this.log.fatal({ event: 'capture_failed' }, `capture stopped: ${msg}`);
      void this.stop('capture failed', 1);
    });
  }

  private async startNetflow(c: PicketConfig): Promise<void> {
    const hp = parseHostPort(c.netflow.listen)!;
    const nf = c.netflow;
    const detect = this.alerts!.detect;
    const log = this.log.child({ component: 'netflow' });
    this.netflow = new NetflowCollector({
      host: hp.host,
      port: hp.port,
      receiveBufferBytes: nf.rcvbuf_bytes,
      templateTimeoutMs: Math.round(nf.template_timeout * 1000),
      pendingTimeoutMs: Math.round(nf.pending_timeout * 1000),
      templateScope: nf.template_scope,
      defaultSamplingInterval: nf.default_sampling_interval,
      onWarning: (m) => log.warn(m),
      onFlow: (r) => {
        this.netflowRecords++;
        detect.record(r);
        this.flowOut(r);
      },
    });
    const l = await this.netflow.start();
    this.netflowPort = l.port;
  }

  private flowOut(r: FlowRecord): void {
    this.flowsOut?.line(JSON.stringify(flowToEcs(r, dissectEcs(r))));
  }

  private async loadModel(c: PicketConfig): Promise<void> {
    const r = await this.model.load(c.model.path, c.model.learning_period);
    if (r) this.log[r.level]({ component: 'model' }, r.message);
  }

  /** Once a second: idle flows out, detector windows forward, outputs flushed. */
  private tick(): void {
    const nowUs = Date.now() * 1000;
    this.pipeline?.tick(nowUs);
    this.alerts?.detect.tick(nowUs);
    this.flowsOut?.flush();
  }

  private noteError(message: string): void {
    this.lastError = message;
    this.lastErrorUs = Date.now() * 1000;
    this.log.error(message);
  }

  private status(): StatusFields {
    const s = this.live?.stats();
    return {
      packets: s?.packets ?? 0,
      drops: s?.drops ?? 0,
      flows: this.pipeline?.table.stats.active ?? 0,
      ...(this.lastError ? { lastError: this.lastError, lastErrorUs: this.lastErrorUs } : {}),
    };
  }

  private interfaces(): InterfaceSample[] {
    return (this.live?.interfaceStats() ?? []).map((i) => ({
      name: i.name,
      packets: i.packets,
      bytes: i.bytes,
      drops: i.dropped + i.ifDropped,
      up: i.state === 'up',
      reopens: i.reopens,
    }));
  }

  private probe(): MetricsProbe {
    const emptyFlows = { active: 0, created: 0, exported: 0, evicted: 0, activeTimeouts: 0, packets: 0, tcpGaps: 0 };
    return {
      refresh: () => this.live?.pollStats(),
      interfaces: () => this.interfaces(),
      flows: () => this.pipeline?.table.stats ?? emptyFlows,
      decodeErrors: () => this.pipeline?.decoder.stats.errors ?? new Map(),
      // Every dissector appears (0 until it sees bad input), so dashboards need no absent() guards.
      parseErrors: () => new Map([...DISSECTORS.map((d) => [d.name, 0] as [string, number]), ...(this.dissect?.errorsByDissector() ?? [])]),
      netflow: () => this.netflow?.stats(),
      alerts: () => this.alerts?.counts ?? { low: 0, medium: 0, high: 0, critical: 0 },
      publisher: () => this.publisher?.stats(),
      model: () => {
        const age = this.model.ageSeconds();
        return age === undefined ? undefined : { path: this.settings.config.model.path, ageSeconds: age };
      },
      reloads: () => this.reloads,
      outputDrops: () =>
        new Map([
          ['alerts', this.alertsOut?.dropped ?? 0],
          ['flows', this.flowsOut?.dropped ?? 0],
        ]),
    };
  }

  /** No capture source: publish what is left in the queue, then stop. */
  private async drainQueue(): Promise<void> {
    const p = this.publisher!;
    this.log.info({ event: 'draining' }, `no capture source: publishing the ${p.stats().queueDepth} queued alerts in ${this.settings.broker!.queueDir}, then exiting`);
    while (!this.stopping) {
      const r = await p.flush(5_000);
      if (r.left === 0) break;
    }
    if (!this.stopping) void this.stop('queue drained', 0);
  }

  /**
   * SIGHUP: re-reads the settings and applies capture.filter, zones, detectors, allow-lists,
   * logging.level and the model, keeping every flow and open alert. Any problem leaves the
   * running settings as they were. Returns whether the new settings were applied.
   */
  async reload(): Promise<boolean> {
    if (this.stopping) return false;
    if (!this.o.resolve) return false;
    const fail = (lines: string[]): false => {
      this.reloads.failed++;
      for (const l of lines) this.log.error({ event: 'reload_failed' }, `reload failed, keeping the running configuration: ${l}`);
      return false;
    };
    let next: DaemonSettings;
    try {
      next = this.o.resolve();
    } catch (err) {
      return fail(err instanceof SettingsError ? err.lines : [String(err)]);
    }
    const old = this.settings.config;
    const nc = next.config;
    const changed = changedKeys(old, nc);
    const hot = changed.filter((k) => RELOADABLE_KEYS.some((r) => k === r || k.startsWith(`${r}.`)));
    const cold = changed.filter((k) => !hot.includes(k));
    const filterChanged = hot.includes('capture.filter');
    if (filterChanged && this.live) {
      try {
        this.live.setFilter(nc.capture.filter);
      } catch (err) {
        return fail([err instanceof Error ? err.message : String(err)]);
      }
    }
    const detectChanged = hot.some((k) => k === 'detectors' || k.startsWith('zones') || k.startsWith('allow.'));
    if (detectChanged && this.alerts) {
      try {
        this.alerts.reconfigure(detectConfig(nc), nc.allow);
      } catch (err) {
        if (filterChanged && this.live) this.live.setFilter(old.capture.filter);
        return fail([err instanceof Error ? err.message : String(err)]);
      }
    }
    if (nc.logging.level !== old.logging.level) this.log.level = nc.logging.level;
    // The running config takes the hot keys only: the rest is what the processes run with now.
    const running: PicketConfig = structuredClone(old);
    running.capture.filter = nc.capture.filter;
    running.logging = nc.logging;
    running.zones = nc.zones;
    running.allow = nc.allow;
    running.detectors = nc.detectors;
    running.model = nc.model;
    this.settings = { ...this.settings, config: running };
    await this.loadModel(running);
    this.reloads.ok++;
    const allowCount = nc.allow.hosts.length + nc.allow.domains.length + nc.allow.ja4.length + nc.allow.detectors.length;
    this.log.info(
      { event: 'reloaded', changed: hot },
      `configuration reloaded: ${hot.length > 0 ? `applied ${hot.join(', ')}` : 'nothing to apply'}; filter "${running.capture.filter}", ${allowCount} allow-list entries; ${this.pipeline?.table.stats.active ?? 0} flows kept`,
    );
    if (cold.length > 0) this.log.warn({ event: 'reload_needs_restart', keys: cold }, `changed settings that need a restart were not applied: ${cold.join(', ')}`);
    return true;
  }

  /** Stops sources, exports every flow, flushes alerts and outputs, closes everything. */
  stop(reason: string, code = 0): Promise<void> {
    if (this.stopping) return this.stopping;
    this.exitCode = code;
    this.stopping = this.shutdown(reason).then(() => this.resolveDone(this.exitCode));
    return this.stopping;
  }

  private async shutdown(reason: string): Promise<void> {
    const started = Date.now();
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    const flows = this.pipeline?.table.stats.active ?? 0;
    if (reason !== 'start failed') {
      this.log.info({ event: 'stopping', reason }, `stopping (${reason}): exporting ${flows} active flows and flushing ${this.publisher?.stats().queueDepth ?? 0} queued alerts`);
    }
    this.abort.abort();
    await this.liveRun;
    await this.netflow?.stop();
    this.pipeline?.finish();
    this.alerts?.detect.finish();
    let left = 0;
    if (this.publisher) {
      try {
        const r = await this.publisher.flush(Math.round(this.settings.config.broker.flush_timeout * 1000));
        left = r.left;
      } catch {
        // Not started (start failed before): nothing queued.
      }
      await this.publisher.stop();
    }
    // A model being written when the stop came is finished, not left half-saved.
    await this.learner?.flush();
    this.alertsOut?.close();
    this.flowsOut?.close();
    await this.metricsServer?.close();
    if (reason === 'start failed') return;
    const s = this.live?.stats();
    const where = this.settings.broker?.queueDir ? `kept in ${this.settings.broker.queueDir}` : 'lost (no queue directory)';
    this.log.info(
      {
        event: 'stopped',
        packets: s?.packets ?? 0,
        drops: s?.drops ?? 0,
        flowsExported: this.pipeline?.table.stats.exported ?? 0,
        netflowRecords: this.netflowRecords,
        alerts: this.alerts?.counts,
        queueLeft: left,
        ms: Date.now() - started,
      },
      `stopped in ${Date.now() - started} ms: ${s?.packets ?? 0} packets, ${s?.drops ?? 0} dropped, ${this.pipeline?.table.stats.exported ?? 0} flow records, ${this.netflowRecords} NetFlow records${left > 0 ? `; ${left} alerts not acknowledged, ${where}` : ''}`,
    );
  }
}
