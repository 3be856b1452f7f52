/** `node dist/bench/fuzz-rmm.js [cases]`: fuzzes the RMM classifier (default 1 M cases). */
import { fuzz } from './fuzz-dissector.js';
import { corpora, rmmTarget } from './fuzz-targets.js';

const cases = Number(process.argv[2] ?? 1_000_000);
const target = await rmmTarget(corpora());
const r = fuzz({ ...target, cases });
console.log(JSON.stringify({ dissector: 'rmm', seeds: target.seeds.length, ...r }));
process.exitCode = r.throws + r.limitViolations + r.rechunkMismatches > 0 ? 1 : 0;
