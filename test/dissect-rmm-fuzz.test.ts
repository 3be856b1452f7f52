import t from 'tap';
import { fuzz } from '../bench/fuzz-dissector.js';
import { corpora, rmmTarget } from '../bench/fuzz-targets.js';

// Short version of bench/fuzz-rmm.ts (which runs 1 M cases): random bytes, mutated real
// payloads from the corpora and random re-chunking of TCP streams.
t.test('rmm dissector survives hostile input within its limits', async (t) => {
  const target = await rmmTarget(corpora());
  t.ok(target.seeds.length > 0, `${target.seeds.length} seed flows from the corpora`);
  const r = fuzz({ ...target, cases: 3000, seed: 7 });
  t.comment(JSON.stringify(r));
  t.equal(r.throws, 0, 'never throws');
  t.equal(r.limitViolations, 0, 'never exceeds its declared limits');
  t.ok(r.rechunkCases > 0, 're-chunked cases ran');
  t.equal(r.rechunkMismatches, 0, 'any chunking of a TCP stream gives the same result');
});
