/** `node dist/bench/fuzz-dns.js [cases]`: fuzzes the DNS dissector (default 1 M cases). */
import { fuzz } from './fuzz-dissector.js';
import { corpora, dnsTarget } from './fuzz-targets.js';

const cases = Number(process.argv[2] ?? 1_000_000);
const target = await dnsTarget(corpora());
const r = fuzz({ ...target, cases });
console.log(JSON.stringify({ dissector: 'dns', seeds: target.seeds.length, ...r }));
process.exitCode = r.throws + r.limitViolations + r.rechunkMismatches > 0 ? 1 : 0;
