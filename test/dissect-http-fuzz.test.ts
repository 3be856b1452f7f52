/**
 * Short fuzz runs (seconds) of the HTTP/1.x, WebSocket and HTTP/2 dissectors: random bytes,
 * synthetic flows, mutated capture payloads and random re-chunking. None may throw, exceed a
 * declared limit, or give a different result when the same bytes arrive in other pieces.
 * The ≥ 1 M-case runs are bench/fuzz-http.ts, bench/fuzz-websocket.ts, bench/fuzz-http2.ts.
 */
import t from 'tap';
import { fuzz } from '../bench/fuzz-http-kit.js';
import { http2Target, httpTarget, websocketTarget } from '../bench/fuzz-http-targets.js';

const CASES = Number(process.env.FUZZ_CASES ?? 3000);

for (const [name, make] of [
  ['http', httpTarget],
  ['websocket', websocketTarget],
  ['http2', http2Target],
] as const) {
  t.test(`${name}: ${CASES} fuzz cases`, async (t) => {
    const target = await make(200);
    t.ok(target.seeds.length > 0, `seeds from captures: ${target.seeds.length}`);
    const r = fuzz(target, CASES, 20261125);
    t.comment(`${name}: ${r.cases} cases, ${r.casesPerSec} cases/s, claimed ${r.claimed}, re-chunk checks ${r.rechunkChecks}`);
    for (const p of r.problems) t.comment(p);
    t.equal(r.throws, 0, 'never throws');
    t.equal(r.limitViolations, 0, 'never exceeds a declared limit');
    t.equal(r.rechunkMismatches, 0, 're-chunked streams give identical results');
    t.ok(r.claimed > CASES / 3, 'most cases reach the parser');
  });
}
