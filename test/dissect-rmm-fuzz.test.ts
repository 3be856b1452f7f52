import t from 'tap';
import { rmmTarget } from '../bench/fuzz-targets.js';
import { shortFuzz } from './helpers/short-fuzz.js';

// Short version of bench/fuzz-rmm.ts: see test/helpers/short-fuzz.ts.
t.test('rmm dissector survives hostile input within its limits', async (t) => {
  const r = await shortFuzz(t, rmmTarget);
  t.equal(r.rechunkMismatches, 0, 'any chunking of a TCP stream gives the same result');
});
