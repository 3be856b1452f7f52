import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import type { FlowRecord } from '../../flow/flow-record.js';
import type { NetflowCounters } from './counters.js';
import { NetflowDecoder, type NetflowDecoderOptions } from './netflow-decoder.js';
import { udpSocketDrops } from './udp-drops.js';

/** Options of the UDP collector (plus every decoder option). */
export interface NetflowCollectorOptions extends NetflowDecoderOptions {
  /** Address to bind; `::` listens on IPv6 and IPv4. Default `0.0.0.0`. */
  host?: string;
  /** UDP port; 0 picks a free one (see start()). Default 2055. */
  port?: number;
  /**
   * SO_RCVBUF to ask for. Default 8 MiB: softflowd flushing a capture bursts hundreds of
   * datagrams at once, and the kernel default (212 KiB) lost 42 % of them. The kernel caps it
   * at net.core.rmem_max; start() warns when the buffer obtained is smaller.
   */
  receiveBufferBytes?: number;
  /** Records delivered through the callback; without it, iterate the collector instead. */
  onFlow?: (r: FlowRecord) => void;
  /** Records held for a slow async-iterator consumer before new ones are dropped. Default 65536. */
  queueLimit?: number;
  /** One-line warnings for people (receive buffer capped, consumer threw). Default console.warn. */
  onWarning?: (message: string) => void;
  /** Template/pending expiry tick. Default 1000 ms. */
  sweepIntervalMs?: number;
}

/** What the collector reports: decoder counters plus socket and delivery counters. */
export interface NetflowCollectorStats extends NetflowCounters {
  /** Datagrams dropped by the kernel for our socket (receive buffer full); -1 when unknown. */
  socketDrops: number;
  /** Receive buffer the kernel granted (bytes as reported by getsockopt). */
  receiveBufferBytes: number;
  /** Records waiting for the async-iterator consumer. */
  queued: number;
  /** Records dropped because the consumer queue was full. */
  dropped: number;
  /** onFlow callbacks that threw (the record is lost, the collector continues). */
  consumerErrors: number;
  /** Datagrams on which the decoder itself failed (a bug; should stay 0). */
  internalErrors: number;
}

/** Where the collector listens once started. */
export interface NetflowListening {
  address: string;
  port: number;
  /** SO_RCVBUF as reported by the kernel (Linux reports twice the usable size it granted). */
  receiveBufferBytes: number;
}

const DEFAULT_RCVBUF = 8 * 1024 * 1024;

/** `::ffff:a.b.c.d` (IPv4 on a dual-stack socket) → `a.b.c.d`, so exporters have one name. */
function exporterAddress(rinfo: RemoteInfo): string {
  const a = rinfo.address;
  return a.startsWith('::ffff:') && a.includes('.') ? a.slice(7) : a;
}

/**
 * NetFlow v5/v9/IPFIX collector on a UDP socket. Decodes each datagram as it arrives and
 * delivers FlowRecords to `onFlow`, or through `for await (const r of collector)`.
 *
 * ```ts
 * const c = new NetflowCollector({ port: 2055, onFlow: (r) => table.add(r) });
 * await c.start();
 * ...
 * await c.stop();
 * ```
 */
export class NetflowCollector implements AsyncIterable<FlowRecord> {
  readonly decoder: NetflowDecoder;
  private readonly o: NetflowCollectorOptions;
  private socket: Socket | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;
  private boundPort = -1;
  private rcvbuf = 0;
  private queue: FlowRecord[] = [];
  private head = 0;
  private waiter: ((r: IteratorResult<FlowRecord>) => void) | undefined;
  private stopped = false;
  private dropped = 0;
  private consumerErrors = 0;
  private internalErrors = 0;
  private finalDrops = -1;

  constructor(options: NetflowCollectorOptions = {}) {
    this.o = options;
    const deliver = options.onFlow ? (r: FlowRecord) => this.callback(r) : (r: FlowRecord) => this.enqueue(r);
    this.decoder = new NetflowDecoder(deliver, options);
  }

  /** Binds the socket; rejects with a one-line reason when it cannot. */
  start(): Promise<NetflowListening> {
    if (this.socket) return Promise.reject(new Error('netflow: collector already started'));
    const host = this.o.host ?? '0.0.0.0';
    const port = this.o.port ?? 2055;
    const wanted = this.o.receiveBufferBytes ?? DEFAULT_RCVBUF;
    this.stopped = false;
    return new Promise((resolve, reject) => {
      const socket = createSocket({ type: host.includes(':') ? 'udp6' : 'udp4', recvBufferSize: wanted });
      this.socket = socket;
      const onError = (err: NodeJS.ErrnoException): void => {
        this.socket = undefined;
        socket.close();
        reject(new Error(`netflow: cannot listen on ${host}:${port} (${err.code ?? err.message}): choose another --netflow address or port`));
      };
      socket.once('error', onError);
      socket.on('message', (msg, rinfo) => this.onMessage(msg, rinfo));
      socket.bind(port, host, () => {
        socket.off('error', onError);
        // After bind, errors are per-datagram ICMP noise; never let them crash the process.
        socket.on('error', () => undefined);
        const a = socket.address();
        this.boundPort = a.port;
        this.rcvbuf = socket.getRecvBufferSize();
        // Linux doubles the value it grants (bookkeeping overhead) and caps the request at
        // net.core.rmem_max, so compare against twice the request there.
        const expected = process.platform === 'linux' ? wanted * 2 : wanted;
        if (this.rcvbuf < expected) {
          const granted = process.platform === 'linux' ? this.rcvbuf / 2 : this.rcvbuf;
          this.warn(
            `netflow: UDP receive buffer is ${granted} bytes, asked for ${wanted}: bursts may be dropped; raise it with sysctl -w net.core.rmem_max=${wanted}`,
          );
        }
        this.sweepTimer = setInterval(() => this.decoder.sweep(), this.o.sweepIntervalMs ?? 1000);
        this.sweepTimer.unref();
        resolve({ address: a.address, port: a.port, receiveBufferBytes: this.rcvbuf });
      });
    });
  }

  /** Closes the socket and ends any async iteration (records already queued are still yielded). */
  async stop(): Promise<void> {
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.sweepTimer = undefined;
    const s = this.socket;
    // /proc lists the socket only while it is open: keep its last drop count.
    if (s && this.boundPort >= 0) this.finalDrops = udpSocketDrops(this.boundPort);
    this.socket = undefined;
    this.stopped = true;
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
    if (this.waiter && this.head >= this.queue.length) {
      const w = this.waiter;
      this.waiter = undefined;
      w({ done: true, value: undefined });
    }
  }

  stats(): NetflowCollectorStats {
    return {
      ...this.decoder.stats(),
      socketDrops: this.socket && this.boundPort >= 0 ? udpSocketDrops(this.boundPort) : this.finalDrops,
      receiveBufferBytes: this.rcvbuf,
      queued: this.queue.length - this.head,
      dropped: this.dropped,
      consumerErrors: this.consumerErrors,
      internalErrors: this.internalErrors,
    };
  }

  [Symbol.asyncIterator](): AsyncIterator<FlowRecord> {
    return {
      next: () => {
        if (this.head < this.queue.length) return Promise.resolve({ done: false, value: this.shift() });
        if (this.stopped) return Promise.resolve({ done: true, value: undefined });
        return new Promise((resolve) => {
          this.waiter = resolve;
        });
      },
      return: async () => {
        await this.stop();
        return { done: true, value: undefined };
      },
    };
  }

  private onMessage(msg: Buffer, rinfo: RemoteInfo): void {
    try {
      this.decoder.decode(msg, exporterAddress(rinfo), rinfo.port);
    } catch (err) {
      // The decoder never throws on input by design (the fuzz tests hold it to that); if a bug
      // slips through, one datagram is lost, not the daemon.
      this.internalErrors++;
      if (this.internalErrors === 1) this.warn(`netflow: decoder failed on a datagram from ${rinfo.address} (${String(err)}); please report it`);
    }
  }

  private warn(m: string): void {
    (this.o.onWarning ?? ((x: string) => console.warn(x)))(m);
  }

  private callback(r: FlowRecord): void {
    try {
      this.o.onFlow!(r);
    } catch (err) {
      this.consumerErrors++;
      if (this.consumerErrors === 1) {
        this.warn(`netflow: onFlow threw (${String(err)}); counting further failures silently`);
      }
    }
  }

  private enqueue(r: FlowRecord): void {
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      w({ done: false, value: r });
      return;
    }
    if (this.queue.length - this.head >= (this.o.queueLimit ?? 65536)) {
      this.dropped++;
      return;
    }
    this.queue.push(r);
  }

  private shift(): FlowRecord {
    const r = this.queue[this.head++]!;
    // Compact once the consumed prefix dominates, so the array does not grow without bound.
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    return r;
  }
}
