/**
 * NetFlow v5 / v9 / IPFIX collection: a UDP collector and the decoder behind it, both producing
 * the shared FlowRecord (origin 'netflow'). See README.md in this folder.
 */
export { NetflowCollector, type NetflowCollectorOptions, type NetflowCollectorStats, type NetflowListening } from './netflow-collector.js';
export { NetflowDecoder, DEFAULT_DECODER_OPTIONS, type NetflowDecoderOptions } from './netflow-decoder.js';
export { NetflowError, type NetflowCounters } from './counters.js';
export type { NetflowAppInfo } from './to-flow-record.js';
export { udpSocketDrops } from './udp-drops.js';
