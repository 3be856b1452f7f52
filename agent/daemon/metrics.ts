/**
 * Prometheus metrics of the running daemon (prom-client, its own registry). Nothing is counted
 * twice on the hot path: every value is read from the component that already counts it (source,
 * decoder, flow table, dissectors, collector, publisher) when /metrics is scraped.
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { Severity } from '../alert/alert.js';
import type { FlowTableStats } from '../flow/flow-table.js';
import type { NetflowCollectorStats } from '../source/netflow/netflow-collector.js';
import type { PublisherStats } from '../sink/mqtt/alert-publisher.js';

/** Counters of one capture interface. */
export interface InterfaceSample {
  name: string;
  packets: number;
  bytes: number;
  /** ps_drop + ps_ifdrop. */
  drops: number;
  up: boolean;
  reopens: number;
}

/** Where the metrics read their values at scrape time (the daemon implements it). */
export interface MetricsProbe {
  /** Called first on each scrape (e.g. to read pcap_stats now). */
  refresh?(): void;
  interfaces(): readonly InterfaceSample[];
  flows(): FlowTableStats;
  decodeErrors(): ReadonlyMap<string, number>;
  parseErrors(): ReadonlyMap<string, number>;
  netflow(): NetflowCollectorStats | undefined;
  alerts(): Readonly<Record<Severity, number>>;
  publisher(): PublisherStats | undefined;
  /** The loaded model's file and seconds since it was trained; undefined without a model. */
  model(): { path: string; ageSeconds: number } | undefined;
  reloads(): { ok: number; failed: number };
  /** Lines dropped by a backed-up JSON-lines output, per output name. */
  outputDrops(): ReadonlyMap<string, number>;
}

/** Sets a counter to absolute values read from a component (counters there only grow). */
function setCounter<T extends string>(c: Counter<T>, entries: Iterable<[Partial<Record<T, string>>, number]>): void {
  c.reset();
  for (const [labels, v] of entries) c.inc(labels, Number.isFinite(v) && v > 0 ? v : 0);
}

export class DaemonMetrics {
  readonly registry = new Registry();

  constructor(probe: MetricsProbe, version: string) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    const iface = (pick: (i: InterfaceSample) => number) => () =>
      probe.interfaces().map((i) => [{ interface: i.name }, pick(i)] as [Partial<Record<'interface', string>>, number]);
    const counter = <T extends string>(name: string, help: string, labelNames: readonly T[], read: () => Iterable<[Partial<Record<T, string>>, number]>): void => {
      new Counter<T>({
        name,
        help,
        labelNames,
        registers,
        collect() {
          setCounter(this, read());
        },
      });
    };
    const gauge = (name: string, help: string, read: () => number, labelNames: string[] = []): void => {
      new Gauge({
        name,
        help,
        labelNames,
        registers,
        collect() {
          this.set(read());
        },
      });
    };
    // The first metric collected refreshes the probe (metrics are collected in registration order).
    new Gauge({
      name: 'picket_build_info',
      help: 'Always 1; the version label says which Picket runs',
      labelNames: ['version'],
      registers,
      collect() {
        probe.refresh?.();
        this.set({ version }, 1);
      },
    });
    counter('picket_packets_total', 'Packets captured, per interface', ['interface'], iface((i) => i.packets));
    counter('picket_bytes_total', 'Bytes captured (wire length), per interface', ['interface'], iface((i) => i.bytes));
    counter('picket_drops_total', 'Packets the kernel or interface dropped before capture (pcap_stats ps_drop + ps_ifdrop), per interface', ['interface'], iface((i) => i.drops));
    counter('picket_interface_reopens_total', 'Times an interface was lost and reopened', ['interface'], iface((i) => i.reopens));
    new Gauge({
      name: 'picket_interface_up',
      help: '1 while the interface is being captured, 0 while it is down and retried',
      labelNames: ['interface'],
      registers,
      collect() {
        this.reset();
        for (const i of probe.interfaces()) this.set({ interface: i.name }, i.up ? 1 : 0);
      },
    });
    gauge('picket_flows_active', 'Flows tracked now', () => probe.flows().active);
    counter('picket_flows_created_total', 'Flows created', [], () => [[{}, probe.flows().created]]);
    counter('picket_flows_exported_total', 'Flow records exported (ended or interim)', [], () => [[{}, probe.flows().exported]]);
    counter('picket_flows_evicted_total', 'Flows pushed out by the flow table maximum (flows.max)', [], () => [[{}, probe.flows().evicted]]);
    counter('picket_decode_errors_total', 'Packets the decoder could not read, by kind', ['kind'], () => [...probe.decodeErrors()].map(([k, v]) => [{ kind: k }, v]));
    counter('picket_parse_errors_total', 'Malformed input and limits hit in dissectors, per dissector', ['dissector'], () => [...probe.parseErrors()].map(([k, v]) => [{ dissector: k }, v]));
    counter('picket_netflow_records_total', 'Flow records decoded from NetFlow/IPFIX', [], () => [[{}, probe.netflow()?.records ?? 0]]);
    counter('picket_netflow_packets_total', 'NetFlow/IPFIX export datagrams received', [], () => [[{}, probe.netflow()?.packets ?? 0]]);
    counter('picket_netflow_errors_total', 'NetFlow/IPFIX input not turned into records, by kind', ['kind'], () => Object.entries(probe.netflow()?.errors ?? {}).map(([k, v]) => [{ kind: k }, v]));
    counter('picket_netflow_socket_drops_total', 'Export datagrams the kernel dropped for the collector socket (receive buffer full)', [], () => [[{}, Math.max(0, probe.netflow()?.socketDrops ?? 0)]]);
    counter('picket_alerts_total', 'Alerts raised (opened), by severity', ['severity'], () => Object.entries(probe.alerts()).map(([k, v]) => [{ severity: k }, v]));
    gauge('picket_queue_depth', 'Alerts waiting in the queue for the broker', () => probe.publisher()?.queueDepth ?? 0);
    gauge('picket_queue_bytes', 'Bytes held by the alert queue', () => probe.publisher()?.queueBytes ?? 0);
    counter('picket_queue_dropped_total', 'Alerts dropped because the queue was full', [], () => [[{}, probe.publisher()?.dropped ?? 0]]);
    counter('picket_alerts_acked_total', 'Alerts acknowledged by the broker', [], () => [[{}, probe.publisher()?.acked ?? 0]]);
    gauge('picket_broker_connected', '1 while connected to the MQTT broker', () => (probe.publisher()?.connected ? 1 : 0));
    new Gauge({
      name: 'picket_model_age_seconds',
      help: 'Seconds since the loaded anomaly model was trained (absent while no model is loaded)',
      labelNames: ['model'],
      registers,
      collect() {
        this.reset();
        const m = probe.model();
        if (m) this.set({ model: m.path }, m.ageSeconds);
      },
    });
    counter('picket_config_reloads_total', 'SIGHUP reloads, by result', ['result'], () => {
      const r = probe.reloads();
      return [[{ result: 'ok' }, r.ok], [{ result: 'failed' }, r.failed]];
    });
    counter('picket_output_dropped_total', 'JSON lines dropped because an output file could not keep up', ['output'], () => [...probe.outputDrops()].map(([k, v]) => [{ output: k }, v]));
  }

  /** The text exposition format. */
  text(): Promise<string> {
    return this.registry.metrics();
  }
}
