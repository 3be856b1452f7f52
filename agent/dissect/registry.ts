import type { AnyDissector } from './dissector.js';
import { tlsDissector } from './tls/index.js';
import { quicDissector } from './quic/index.js';
import { dnsDissector } from './dns/index.js';
import { sshDissector } from './ssh/index.js';
import { stratumDissector } from './stratum/index.js';
import { httpDissector } from './http/index.js';
import { websocketDissector } from './websocket/index.js';
import { http2Dissector } from './http2/index.js';
import { rmmDissector } from './rmm/index.js';

/**
 * Every dissector, in the order they run. Order matters only in finish(): a later dissector sees
 * the metadata of earlier ones in record.app (the RMM classifier goes last for that reason).
 * Add a protocol with one line here.
 */
export const DISSECTORS: readonly AnyDissector[] = [
  tlsDissector,
  quicDissector,
  dnsDissector,
  sshDissector,
  stratumDissector,
  httpDissector,
  websocketDissector, // after http: a 101 upgrade turns network.protocol into websocket
  http2Dissector, // after http: h2c upgrades and gRPC override http
  rmmDissector, // keep last: it reads the metadata of the dissectors above
];
