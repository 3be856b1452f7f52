/**
 * Capture on one interface: opens it through the addon, turns each batch into RawPacket calls,
 * accumulates pcap_stats across reopenings, and reopens with exponential backoff when the
 * interface goes down or disappears. Logs one line per state change, never per retry.
 */
import type { PacketSink, RawPacket } from '../raw-packet.js';
import { describeCaptureError, LiveCaptureError } from './capture-error.js';
import type { ResolvedLiveOptions } from './live-options.js';
import {
  isPcapError,
  META_CAPLEN,
  META_OFFSET,
  META_STRIDE,
  META_TS_FRAC,
  META_TS_SEC,
  META_WIRELEN,
  type PcapAddon,
  type PcapCapture,
  type PcapError,
  type PcapErrorKind,
  type PcapStats,
} from './pcap-addon.js';

/** `up`: capturing; `down`: lost, reopening with backoff; `closed`: stopped by the owner. */
export type InterfaceState = 'idle' | 'up' | 'down' | 'closed';

/** Counters of one interface, summed over every time it was (re)opened. */
export interface LiveInterfaceStats {
  name: string;
  ifIndex: number;
  state: InterfaceState;
  /** Frames handed to the sink. */
  packets: number;
  /** Sum of wire lengths of those frames. */
  bytes: number;
  /** pcap_stats ps_recv / ps_drop / ps_ifdrop, accumulated. */
  received: number;
  dropped: number;
  ifDropped: number;
  /** Times the interface was lost and reopened. */
  reopens: number;
  /** LINKTYPE of the current (or last) handle, -1 before the first open. */
  linkType: number;
  nanoseconds: boolean;
}

/** Failures that retrying cannot fix: they end a start-up instead of entering backoff. */
const PERMANENT: ReadonlySet<PcapErrorKind> = new Set(['permission', 'filter', 'invalid', 'no_such_device']);

const U32 = 2 ** 32;

export class InterfaceCapture {
  private cap: PcapCapture | undefined;
  private state: InterfaceState = 'idle';
  private retryTimer: NodeJS.Timeout | undefined;
  private attempts = 0;
  private downSince = 0;
  private lastFailKind: PcapErrorKind | undefined;
  private last: PcapStats = { received: 0, dropped: 0, ifDropped: 0 };
  private readonly counters: LiveInterfaceStats;
  private filter: string;

  constructor(
    readonly device: string,
    readonly ifIndex: number,
    private readonly opts: ResolvedLiveOptions,
    private readonly addon: PcapAddon,
    private readonly raw: RawPacket,
    private readonly sink: PacketSink,
    /** Called once when the sink throws: the owner stops everything and rejects run(). */
    private readonly onFatal: (err: unknown) => void,
  ) {
    this.filter = opts.filter;
    this.counters = {
      name: device,
      ifIndex,
      state: 'idle',
      packets: 0,
      bytes: 0,
      received: 0,
      dropped: 0,
      ifDropped: 0,
      reopens: 0,
      linkType: -1,
      nanoseconds: false,
    };
  }

  /**
   * First open. Throws LiveCaptureError for what retrying cannot fix (permission, missing
   * interface, bad filter or option); an interface that exists but is down enters backoff.
   */
  start(): void {
    try {
      this.openNow();
    } catch (e) {
      const err = this.toCaptureError(e);
      if (PERMANENT.has(err.kind as PcapErrorKind) || err.kind === 'addon_missing') throw err;
      this.enterDown(err);
    }
  }

  /** Current counters (pcap_stats as of the last poll). */
  stats(): LiveInterfaceStats {
    this.counters.state = this.state;
    return this.counters;
  }

  /** Reads pcap_stats now and adds the increase since the previous read. */
  pollStats(): void {
    if (this.cap === undefined || this.cap.closed) return;
    let s: PcapStats;
    try {
      s = this.cap.stats();
    } catch {
      return; // the handle is failing; its error arrives through onError
    }
    // Counters are u_int in libpcap: take increases modulo 2^32 so a wrap is not a negative jump.
    this.counters.received += (s.received - this.last.received + U32) % U32;
    this.counters.dropped += (s.dropped - this.last.dropped + U32) % U32;
    this.counters.ifDropped += (s.ifDropped - this.last.ifDropped + U32) % U32;
    this.last = s;
  }

  /** Replaces the filter now and for later reopenings; throws LiveCaptureError if it is bad. */
  setFilter(expression: string): void {
    if (this.cap !== undefined && !this.cap.closed) {
      try {
        this.cap.setFilter(expression);
      } catch (e) {
        throw this.toCaptureError(e);
      }
    }
    this.filter = expression;
  }

  /** Pauses reading from the kernel (tests and benchmarks use this to overflow the ring). */
  pause(): void {
    this.cap?.pause();
  }

  resume(): void {
    this.cap?.resume();
  }

  /** Final stats read, then release the handle and any pending retry. */
  close(): void {
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.release();
    this.state = 'closed';
  }

  private openNow(): void {
    const cap = this.addon.open(
      {
        device: this.device,
        snapLen: this.opts.snapLen,
        promiscuous: this.opts.promiscuous,
        bufferBytes: this.opts.bufferBytes,
        immediate: this.opts.immediate,
        timeoutMs: this.opts.timeoutMs,
        batchBytes: this.opts.batchBytes,
        filter: this.filter,
        nanoseconds: true,
      },
      this.onBatch,
      this.onError,
    );
    this.cap = cap;
    this.last = { received: 0, dropped: 0, ifDropped: 0 };
    this.counters.linkType = cap.linkType;
    this.counters.nanoseconds = cap.nanoseconds;
    const wasDown = this.state === 'down';
    this.state = 'up';
    const detail = `linktype ${cap.linkType}, ${cap.nanoseconds ? 'ns' : 'µs'} timestamps` +
      (this.filter !== '' ? `, filter "${this.filter}"` : '') + (cap.warning !== '' ? `, warning: ${cap.warning}` : '');
    if (wasDown) {
      const secs = ((Date.now() - this.downSince) / 1000).toFixed(1);
      this.counters.reopens++;
      this.opts.logger.info(`live: ${this.device} capturing again after ${secs} s down (${detail})`);
    } else {
      this.opts.logger.info(`live: capturing on ${this.device} (${detail})`);
    }
    this.attempts = 0;
    this.lastFailKind = undefined;
  }

  /** Hot path: one call per batch, one sink call per frame, no allocation. */
  private readonly onBatch = (count: number): void => {
    const cap = this.cap;
    if (cap === undefined) return;
    const meta = cap.meta;
    const raw = this.raw;
    const sink = this.sink;
    // The RawPacket is shared by all interfaces of the source: set the per-interface fields per batch.
    raw.buf = cap.buffer;
    raw.linkType = cap.linkType;
    raw.ifIndex = this.ifIndex;
    const fracToUs = cap.nanoseconds ? 0.001 : 1;
    let bytes = 0;
    let i = 0;
    try {
      for (let j = 0; i < count; i++, j += META_STRIDE) {
        raw.off = meta[j + META_OFFSET]!;
        raw.capLen = meta[j + META_CAPLEN]!;
        raw.wireLen = meta[j + META_WIRELEN]!;
        raw.tsUs = meta[j + META_TS_SEC]! * 1e6 + meta[j + META_TS_FRAC]! * fracToUs;
        bytes += raw.wireLen;
        sink.packet(raw);
      }
    } catch (e) {
      this.counters.packets += i;
      this.counters.bytes += bytes;
      this.close();
      this.onFatal(e);
      return;
    }
    this.counters.packets += count;
    this.counters.bytes += bytes;
  };

  private readonly onError = (err: PcapError): void => {
    this.release();
    this.enterDown(describeCaptureError(err.kind, this.device, err.message, this.safeList()));
  };

  private enterDown(err: LiveCaptureError): void {
    if (this.state !== 'down') {
      this.downSince = Date.now();
      this.opts.logger.warn(
        `live: ${err.message}; reopening with backoff (${this.opts.reopenMinMs} ms doubling to ${this.opts.reopenMaxMs} ms)`,
      );
    } else if (err.kind !== this.lastFailKind) {
      // Still down, but for a new reason (e.g. deleted after being down): worth one line.
      this.opts.logger.warn(`live: ${err.message}; still retrying`);
    }
    this.state = 'down';
    this.lastFailKind = err.kind as PcapErrorKind;
    this.scheduleRetry();
  }

  private scheduleRetry(): void {
    const delay = Math.min(this.opts.reopenMaxMs, this.opts.reopenMinMs * 2 ** Math.min(this.attempts, 30));
    this.attempts++;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (this.state !== 'down') return;
      try {
        this.openNow();
      } catch (e) {
        this.enterDown(this.toCaptureError(e));
      }
    }, delay);
  }

  /** Reads the last stats of the current handle and closes it. */
  private release(): void {
    if (this.cap === undefined) return;
    this.pollStats();
    this.cap.close();
    this.cap = undefined;
  }

  private toCaptureError(e: unknown): LiveCaptureError {
    if (e instanceof LiveCaptureError) return e;
    if (isPcapError(e)) return describeCaptureError(e.kind, this.device, e.message, this.safeList());
    const text = e instanceof Error ? e.message : String(e);
    return new LiveCaptureError(`capture on ${this.device} failed: ${text}`, 'other', this.device, text);
  }

  private safeList(): ReturnType<PcapAddon['listInterfaces']> {
    try {
      return this.addon.listInterfaces();
    } catch {
      return [];
    }
  }
}
