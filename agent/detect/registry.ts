import type { AnyDetectorFactory } from './detector.js';
import { portScan } from './detectors/port-scan.js';
import { ddos } from './detectors/ddos.js';
import { bruteForce } from './detectors/brute-force.js';
import { beacon } from './detectors/beacon.js';
import { dnsTunnel } from './detectors/dns-tunnel.js';
import { dga } from './detectors/dga.js';
import { exfiltration } from './detectors/exfiltration.js';
import { lateralMovement } from './detectors/lateral-movement.js';
import { cryptoMining } from './detectors/crypto-mining.js';
import { rmmAbuse } from './detectors/rmm-abuse.js';
import { quicTunnel } from './detectors/quic-tunnel.js';
import { websocketC2 } from './detectors/websocket-c2.js';
import { grpcAbuse } from './detectors/grpc-abuse.js';
import { hostBaseline } from './baseline/host-baseline-detector.js';
import { anomaly } from './anomaly/anomaly-detector.js';

/**
 * Every detector, in the order they run on each record. Add one with one line here; anomaly and
 * host-baseline detectors go last, so `ctx.flowAlerted(uid)` already knows whether a behavioural
 * detector explained the flow.
 */
export const DETECTORS: readonly AnyDetectorFactory[] = [
  portScan,
  ddos,
  bruteForce,
  beacon,
  dnsTunnel,
  dga,
  exfiltration,
  lateralMovement,
  cryptoMining,
  rmmAbuse,
  quicTunnel,
  websocketC2,
  grpcAbuse,
  hostBaseline,
  anomaly, // keep after the behavioural detectors: it scores only flows they did not explain
];
