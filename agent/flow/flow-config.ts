/** Flow table settings; every time is in seconds here (config file units) and converted once. */
export interface FlowConfig {
  /** Hard maximum of tracked flows; the least recently seen flow is evicted beyond it. */
  maxFlows: number;
  /** Idle timeouts per protocol class, seconds. */
  idleTimeout: {
    tcp: number;
    /** SYN seen, handshake not completed. */
    tcpHalfOpen: number;
    /** After FIN from both sides or an RST: how long to keep the flow for late packets. */
    tcpClosed: number;
    udp: number;
    icmp: number;
    other: number;
  };
  /** Long flows export an interim record after this many seconds and keep counting. */
  activeTimeout: number;
  /** Ordered TCP payload delivered to dissectors per direction, bytes; 0 disables reassembly. */
  reassemblyBytes: number;
  /** Out-of-order bytes buffered per direction while waiting for a gap to fill. */
  reassemblyPendingBytes: number;
}

export const DEFAULT_FLOW_CONFIG: FlowConfig = {
  maxFlows: 262_144,
  // Zeek-like defaults: tcp 5 min, udp/icmp 1 min, close/reset delay 5 s.
  idleTimeout: { tcp: 300, tcpHalfOpen: 30, tcpClosed: 5, udp: 60, icmp: 60, other: 60 },
  activeTimeout: 1800,
  reassemblyBytes: 32 * 1024,
  reassemblyPendingBytes: 64 * 1024,
};

/** Overlays a partial config (e.g. from YAML) on the defaults. */
export function flowConfig(partial: Partial<Omit<FlowConfig, 'idleTimeout'>> & { idleTimeout?: Partial<FlowConfig['idleTimeout']> } = {}): FlowConfig {
  return {
    ...DEFAULT_FLOW_CONFIG,
    ...partial,
    idleTimeout: { ...DEFAULT_FLOW_CONFIG.idleTimeout, ...partial.idleTimeout },
  };
}
