/**
 * Per-flow state lives in typed arrays owned by the FlowTable (struct of arrays, indexed by
 * `flow.id`): compact, no boxed doubles per field, nothing allocated per packet. These are the
 * layouts; the Flow object itself only carries identity and references.
 */

/** Float64 per flow: times and byte/packet counters. */
export const NUM_STRIDE = 13;
export const N_FIRST_US = 0;
export const N_LAST_US = 1;
/** Start of the current reporting interval (moves on active-timeout exports). */
export const N_ACTIVE_START_US = 2;
/** Per-direction block: base = N_DIR + dir * N_DIR_STRIDE. */
export const N_DIR = 3;
export const N_DIR_STRIDE = 5;
export const D_PKTS = 0;
export const D_BYTES = 1;
export const D_PAYLOAD = 2;
export const D_FIRST_US = 3;
export const D_LAST_US = 4;

/**
 * Float32 per flow: packet-size and inter-arrival moments (Welford), 8 per direction. Single
 * precision is plenty for statistics and halves their memory.
 */
export const MOM_STRIDE = 16;
export const M_SIZE_MIN = 0;
export const M_SIZE_MAX = 1;
export const M_SIZE_MEAN = 2;
export const M_SIZE_M2 = 3;
export const M_IAT_MIN = 4;
export const M_IAT_MAX = 5;
export const M_IAT_MEAN = 6;
export const M_IAT_M2 = 7;

/** Uint16 TCP flag counters (saturating): base = id * FLAG_STRIDE + dir * 8, bit order FIN SYN RST PSH ACK URG ECE CWR. */
export const FLAG_STRIDE = 16;

/** Uint32 key words: client address (4), server address (4), ports, protocol|version<<8. */
export const KEY_STRIDE = 10;

/** Int32 per flow: rarely used attributes (-1 = not seen). */
export const INT_STRIDE = 14;
export const I_VLAN = 0;
export const I_VLAN_INNER = 1;
export const I_TUNNEL = 2;
export const I_FRAGMENTS = 3;
export const I_CLIENT_MSS = 4;
export const I_SERVER_MSS = 5;
export const I_CLIENT_WSCALE = 6;
export const I_SERVER_WSCALE = 7;
export const I_CLIENT_WINDOW = 8;
export const I_SERVER_WINDOW = 9;
/** Highest TCP sequence number + 1 seen per direction (as int32 bits), for retransmission counts. */
export const I_SEQ_END = 10; // + dir
/** Segments entirely below the highest sequence seen, and segments that start past it (a hole). */
export const I_RETRANSMITS = 12;
export const I_OUT_OF_ORDER = 13;

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
export const T_SACK_OK = 1024; // SACK permitted in the SYN
export const T_TIMESTAMPS = 2048; // timestamps option in the SYN
export const T_SEQ_C = 4096; // I_SEQ_END + 0 is valid
export const T_SEQ_S = 8192; // I_SEQ_END + 1 is valid

/** Flow.bits: payload no longer wanted per direction, and the flow ended. */
const B_STOP0 = 1;
const B_STOP1 = 2;
const B_ENDED = 4;

/** Process-wide prefix of flow uids, so uids from two runs rarely collide. */
const UID_PREFIX = 'C' + Math.floor(Math.random() * 36 ** 4).toString(36).padStart(4, '0');

/**
 * One tracked flow: identity and references. Created once per flow (never per packet); later
 * stages keep their per-flow state in `app`.
 */
export class Flow {
  tcpBits = 0;
  private bits = 0;
  /** Owned by the dissect stage. */
  app: unknown = undefined;

  constructor(
    /** Slot in the FlowTable's arrays; reused after the flow ends. */
    readonly id: number,
    /** Sequence number of this flow in the process; the uid is derived from it on demand. */
    readonly serial: number,
    readonly protocol: number,
    readonly ipVersion: number,
    readonly clientPort: number,
    readonly serverPort: number,
  ) {}

  /** Zeek-like unique id of this flow, stable across interim (active timeout) records. */
  get uid(): string {
    return UID_PREFIX + this.serial.toString(36);
  }

  /** Stop delivering payload (both directions, or one): saves reassembly work and memory. */
  stopPayload(dir?: 0 | 1): void {
    this.bits |= dir === undefined ? B_STOP0 | B_STOP1 : dir === 0 ? B_STOP0 : B_STOP1;
  }

  /** True when direction `dir` still wants payload. */
  wantsPayload(dir: 0 | 1): boolean {
    return (this.bits & (dir === 0 ? B_STOP0 : B_STOP1)) === 0 && (this.bits & B_ENDED) === 0;
  }

  /** Set while the flow is tracked; false once exported for good. */
  get live(): boolean {
    return (this.bits & B_ENDED) === 0;
  }

  markEnded(): void {
    this.bits |= B_ENDED;
  }
}
