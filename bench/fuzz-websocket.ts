/**
 * ≥ 1 M fuzz cases for the WebSocket dissector (random, synthetic, mutated and re-chunked flows;
 * never throws, never exceeds its limits, same result whatever the chunking).
 * Run from the project root: npx tsc -p tsconfig.json && node dist/bench/fuzz-websocket.js [cases] [seed]
 */
import { mainReport } from './fuzz-http-kit.js';
import { websocketTarget } from './fuzz-http-targets.js';

process.exitCode = mainReport('websocket', await websocketTarget(), 1_000_000);
