/**
 * ≥ 1 M fuzz cases for the HTTP dissector (random, synthetic, mutated and re-chunked flows;
 * never throws, never exceeds its limits, same result whatever the chunking).
 * Run from the project root: npx tsc -p tsconfig.json && node dist/bench/fuzz-http.js [cases] [seed]
 */
import { mainReport } from './fuzz-http-kit.js';
import { httpTarget } from './fuzz-http-targets.js';

process.exitCode = mainReport('http', await httpTarget(), 1_000_000);
