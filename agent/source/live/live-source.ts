/**
 * PacketSource over live interfaces, through the libpcap addon in native/.
 *
 *   const src = new LiveSource({ interfaces: ['eth0'], filter: 'not port 22' });
 *   const stats = await src.run(sink, abortController.signal);
 *
 * run() resolves with the final counters when `signal` aborts, and rejects with a
 * LiveCaptureError (one actionable line) when an interface cannot be captured at start:
 * missing permission, no such interface, bad filter. Interfaces lost later are reopened with
 * backoff and never end run(). A sink that throws stops the capture and rejects run().
 */
import { countError, emptyStats, type PacketSource, type SourceStats } from '../packet-source.js';
import { RawPacket, type PacketSink } from '../raw-packet.js';
import { LiveCaptureError } from './capture-error.js';
import { InterfaceCapture, type LiveInterfaceStats } from './interface-capture.js';
import { resolveLiveOptions, type LiveSourceOptions, type ResolvedLiveOptions } from './live-options.js';
import { loadPcapAddon, type PcapAddon } from './pcap-addon.js';

export class LiveSource implements PacketSource {
  readonly name: string;
  private readonly opts: ResolvedLiveOptions;
  private readonly raw = new RawPacket();
  private captures: InterfaceCapture[] = [];
  private running = false;

  /**
   * @param addon the loaded addon; defaults to loadPcapAddon() at run() (tests may pass their own).
   */
  constructor(
    options: LiveSourceOptions,
    private readonly addon?: PcapAddon,
  ) {
    this.opts = resolveLiveOptions(options);
    this.name = `live:${this.opts.interfaces.join(',')}`;
  }

  run(sink: PacketSink, signal?: AbortSignal): Promise<SourceStats> {
    if (this.running) return Promise.reject(new Error(`${this.name} is already running`));
    if (signal?.aborted === true) return Promise.resolve(this.stats());
    let addon: PcapAddon;
    try {
      addon = this.addon ?? loadPcapAddon();
    } catch (e) {
      const text = e instanceof Error ? e.message : String(e);
      return Promise.reject(new LiveCaptureError(text, 'addon_missing', this.opts.interfaces[0] ?? '', text));
    }
    this.running = true;
    return new Promise<SourceStats>((resolve, reject) => {
      let statsTimer: NodeJS.Timeout | undefined;
      let settled = false;
      const stopAll = (): void => {
        if (statsTimer !== undefined) clearInterval(statsTimer);
        signal?.removeEventListener('abort', onAbort);
        for (const c of this.captures) c.close();
        this.running = false;
      };
      const onAbort = (): void => {
        if (settled) return;
        settled = true;
        stopAll();
        resolve(this.stats());
      };
      const onFatal = (err: unknown): void => {
        if (settled) return;
        settled = true;
        stopAll();
        reject(err);
      };
      this.captures = this.opts.interfaces.map(
        (name, i) => new InterfaceCapture(name, i, this.opts, addon, this.raw, sink, onFatal),
      );
      try {
        for (const c of this.captures) c.start();
      } catch (e) {
        onFatal(e);
        return;
      }
      statsTimer = setInterval(() => this.pollStats(), this.opts.statsIntervalMs);
      // Counters alone must not keep a process alive; open captures and retry timers do.
      statsTimer.unref();
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Totals over all interfaces; drops = ps_drop + ps_ifdrop as of the last stats poll. */
  stats(): SourceStats {
    const s = emptyStats();
    for (const c of this.captures) {
      const i = c.stats();
      s.packets += i.packets;
      s.bytes += i.bytes;
      s.drops += i.dropped + i.ifDropped;
      if (i.reopens > 0) countError(s, 'reopened', i.reopens);
      if (i.state === 'down') countError(s, 'interface_down');
    }
    return s;
  }

  /** Per-interface counters and state (for metrics and the status message). */
  interfaceStats(): LiveInterfaceStats[] {
    return this.captures.map((c) => ({ ...c.stats() }));
  }

  /** Reads pcap_stats on every open interface now (run() also does it every statsIntervalMs). */
  pollStats(): void {
    for (const c of this.captures) c.pollStats();
  }

  /**
   * Replaces the BPF filter on every interface (SIGHUP reload). Throws LiveCaptureError with
   * libpcap's text if it does not compile; interfaces before the failing one keep the new filter.
   */
  setFilter(expression: string): void {
    for (const c of this.captures) c.setFilter(expression);
  }

  /** Stops/resumes reading from the kernel on every interface (benchmarks, tests, back-pressure). */
  pause(): void {
    for (const c of this.captures) c.pause();
  }

  resume(): void {
    for (const c of this.captures) c.resume();
  }
}
