/**
 * The short version of bench/fuzz-{dns,ssh,rmm}.ts (which run 1 M cases): 3000 cases of random
 * bytes, mutated real payloads from the corpora and random re-chunking of TCP streams, seed 7.
 */
import type { Test } from 'tap';
import { fuzz, type FuzzReport } from '../../bench/fuzz-dissector.js';
import { corpora, type Target } from '../../bench/fuzz-targets.js';

/**
 * Fuzzes the target and asserts what holds for every dissector: seeds were found, nothing threw,
 * no declared limit was exceeded, re-chunked cases ran. Returns the report for the re-chunking
 * verdict, which the caller asserts.
 */
export async function shortFuzz(t: Test, makeTarget: (corporaRoot: string) => Promise<Target>): Promise<FuzzReport> {
  const target = await makeTarget(corpora());
  t.ok(target.seeds.length > 0, `${target.seeds.length} seed flows from the corpora`);
  const r = fuzz({ ...target, cases: 3000, seed: 7 });
  t.comment(JSON.stringify(r));
  t.equal(r.throws, 0, 'never throws');
  t.equal(r.limitViolations, 0, 'never exceeds its declared limits');
  t.ok(r.rechunkCases > 0, 're-chunked cases ran');
  return r;
}
