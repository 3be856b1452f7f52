import t from 'tap';
import { dnsTarget } from '../bench/fuzz-targets.js';
import { shortFuzz } from './helpers/short-fuzz.js';

// Short version of bench/fuzz-dns.ts: see test/helpers/short-fuzz.ts.
t.test('dns dissector survives hostile input within its limits', async (t) => {
  const r = await shortFuzz(t, dnsTarget);
  t.equal(r.rechunkMismatches, 0, 'any chunking of a TCP stream gives the same result');
});
