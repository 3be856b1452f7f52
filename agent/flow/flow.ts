import type { TcpStream } from './tcp-stream.js';

/**
 * Per-flow numbers live in typed arrays owned by the FlowTable (struct of arrays, indexed by
 * `flow.id`): compact (no boxed doubles per field) and cache-friendly. These are the offsets.
 */
export const NUM_STRIDE = 32;
export const N_FIRST_US = 0;
export const N_LAST_US = 1;
/** Start of the current reporting interval (moves on active-timeout exports). */
export const N_ACTIVE_START_US = 2;
/** Per-direction block: base = N_DIR + dir * N_DIR_STRIDE. */
export const N_DIR = 3;
export const N_DIR_STRIDE = 13;
export const D_PKTS = 0;
export const D_BYTES = 1;
export const D_PAYLOAD = 2;
export const D_FIRST_US = 3;
export const D_LAST_US = 4;
export const D_SIZE_MIN = 5;
export const D_SIZE_MAX = 6;
export const D_SIZE_MEAN = 7;
export const D_SIZE_M2 = 8;
export const D_IAT_MIN = 9;
export const D_IAT_MAX = 10;
export const D_IAT_MEAN = 11;
export const D_IAT_M2 = 12;
/** Initial sequence number per direction from the SYN / SYN-ACK (-1 when not seen): the TCP stream starts there. */
export const N_ISN = N_DIR + 2 * N_DIR_STRIDE;

/** TCP flag counters: base = id * FLAG_STRIDE + dir * 8, in bit order FIN SYN RST PSH ACK URG ECE CWR. */
export const FLAG_STRIDE = 16;

/** Key words: client address (4), server address (4), ports, protocol|version<<8. */
export const KEY_STRIDE = 10;

/** TCP state bits (Flow.tcpBits). */
export const T_SYN = 1; // SYN from client
export const T_SYNACK = 2; // SYN-ACK from server
export const T_HANDSHAKE = 4; // ACK from client after SYN-ACK
export const T_MIDSTREAM = 8; // first packet was not a SYN
export const T_FIN_C = 16;
export const T_FIN_S = 32;
export const T_RST_C = 64;
export const T_RST_S = 128;
export const T_DATA_C = 256; // payload seen from client
export const T_DATA_S = 512; // payload seen from server

/**
 * One tracked flow: identity and the non-numeric state. Created once per flow (never per packet).
 * Later stages keep their per-flow state in `app`.
 */
export class Flow {
  /** Zeek-like unique id of this flow, stable across interim (active timeout) records. */
  uid: string;
  protocol: number;
  ipVersion: number;
  clientPort: number;
  serverPort: number;
  tcpBits = 0;
  vlan = -1;
  vlanInner = -1;
  fragments = 0;
  /** Tunnel the flow was carried in (decode TUNNEL_*), 0 when none. */
  tunnel = 0;
  /** SYN / SYN-ACK options (-1 when not seen). */
  clientMss = -1;
  serverMss = -1;
  clientWscale = -1;
  serverWscale = -1;
  clientWindow = -1;
  serverWindow = -1;
  sackPermitted = false;
  timestamps = false;
  /** Ordered TCP payload per direction (created on first payload). Two fields, not an array: one object less per flow. */
  stream0: TcpStream | null = null;
  stream1: TcpStream | null = null;
  /** Bit d set: a later stage no longer needs direction d's payload. */
  stoppedDirs = 0;
  /** Owned by the dissect stage. */
  app: unknown = undefined;
  /** Set while the flow is tracked; cleared once exported for good. */
  live = true;

  constructor(
    /** Slot in the FlowTable's arrays; reused after the flow ends. */
    readonly id: number,
    uid: string,
    protocol: number,
    ipVersion: number,
    clientPort: number,
    serverPort: number,
  ) {
    this.uid = uid;
    this.protocol = protocol;
    this.ipVersion = ipVersion;
    this.clientPort = clientPort;
    this.serverPort = serverPort;
  }

  /** Stop delivering payload (both directions, or one): saves reassembly work and memory. */
  stopPayload(dir?: 0 | 1): void {
    if (dir === undefined || dir === 0) {
      this.stoppedDirs |= 1;
      this.stream0?.release();
    }
    if (dir === undefined || dir === 1) {
      this.stoppedDirs |= 2;
      this.stream1?.release();
    }
  }

  /** True when direction `dir` still wants payload. */
  wantsPayload(dir: 0 | 1): boolean {
    return (this.stoppedDirs & (1 << dir)) === 0;
  }
}
