/** `node dist/bench/fuzz-ssh.js [cases]`: fuzzes the SSH dissector (default 1 M cases). */
import { fuzz } from './fuzz-dissector.js';
import { corpora, sshTarget } from './fuzz-targets.js';

const cases = Number(process.argv[2] ?? 1_000_000);
const target = await sshTarget(corpora());
const r = fuzz({ ...target, cases });
console.log(JSON.stringify({ dissector: 'ssh', seeds: target.seeds.length, ...r }));
process.exitCode = r.throws + r.limitViolations + r.rechunkMismatches > 0 ? 1 : 0;
