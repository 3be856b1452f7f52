import type { AnyDetectorFactory } from './detector.js';
import { portScan } from './detectors/port-scan.js';
import { ddos } from './detectors/ddos.js';

/**
 * Every detector, in the order they run on each record. Add one with one line here; anomaly and
 * host-baseline detectors go last, so `ctx.flowAlerted(uid)` already knows whether a behavioural
 * detector explained the flow.
 */
export const DETECTORS: readonly AnyDetectorFactory[] = [
  portScan,
  ddos,
];
