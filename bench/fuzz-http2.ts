/**
 * ≥ 1 M fuzz cases for the HTTP/2 dissector (random, synthetic, mutated and re-chunked flows;
 * never throws, never exceeds its limits, same result whatever the chunking).
 * Run from the project root: npx tsc -p tsconfig.json && node dist/bench/fuzz-http2.js [cases] [seed]
 */
import { mainReport } from './fuzz-http-kit.js';
import { http2Target } from './fuzz-http-targets.js';

process.exitCode = mainReport('http2', await http2Target(), 1_000_000);
