import t from 'tap';
import { Prng } from '../agent/detect/iforest/prng.js';
import { RowReservoir } from '../agent/detect/iforest/reservoir.js';

t.test('memory stays bounded: never more than capacity rows, uniformly sampled', async (t) => {
  const r = new RowReservoir(2, 1000, 3);
  const row = new Float64Array(2);
  for (let i = 0; i < 100_000; i++) {
    row[0] = i;
    row[1] = -i;
    r.add(row);
  }
  t.equal(r.size, 1000);
  t.equal(r.seen, 100_000);
  const snap = r.snapshot();
  t.equal(snap.nRows, 1000);
  t.equal(snap.data.length, 2000);
  // Algorithm R keeps a uniform sample: the kept row numbers should spread over all 100 k.
  const deciles = new Array<number>(10).fill(0);
  for (let k = 0; k < snap.nRows; k++) {
    t.equal(snap.data[2 * k + 1], -snap.data[2 * k]!, 'row kept whole');
    deciles[Math.floor(snap.data[2 * k]! / 10_000)]!++;
  }
  for (const d of deciles) t.ok(d > 60 && d < 140, `decile holds ${d} ≈ 100 rows`);
  t.ok((r as unknown as { data: Float64Array }).data.length <= 2000, 'storage is capacity × features values');
});

t.test('storage grows with the rows actually held', async (t) => {
  const r = new RowReservoir(4, 30_000);
  t.equal((r as unknown as { data: Float64Array }).data.length, 1024 * 4, 'starts with 1024 rows of room');
  for (let i = 0; i < 3000; i++) r.add([i, i, i, i]);
  t.equal((r as unknown as { data: Float64Array }).data.length, 4096 * 4);
  t.equal(r.snapshot().data[4 * 2999], 2999);
});

t.test('rows from alerting flows are left out of (re)training', async (t) => {
  // Learning period: 600 benign flows, and a beacon that produced 150 near-identical flows.
  const rng = new Prng(4);
  const r = new RowReservoir(2, 10_000);
  const benign = (): number[] => [rng.nextFloat() + rng.nextFloat(), rng.nextFloat() + rng.nextFloat()];
  for (let i = 0; i < 750; i++) {
    const beacon = i % 5 === 0;
    r.add(beacon ? [4 + rng.nextFloat() * 0.01, 4 + rng.nextFloat() * 0.01] : benign(), 7000 + i);
  }
  t.equal(r.exclude(7000), true, 'held id');
  t.equal(r.exclude(1), false, 'unknown id');
  const snap = r.snapshot((id) => id === 7005);
  t.equal(snap.nRows, 748);
  t.equal(snap.skipped, 2);
  const poisoned = r.build(['x', 'y'], { seed: 1 });
  const clean = r.build(['x', 'y'], { seed: 1 }, (_id, row) => row[0]! > 3.5);
  t.equal(poisoned.trainingRows, 749, 'only the excluded id left out');
  t.equal(clean.trainingRows, 600, 'every beacon row left out by the predicate');
  const beaconRow = Float64Array.of(4.005, 4.005);
  const sp = poisoned.scoreRow(beaconRow);
  const sc = clean.scoreRow(beaconRow);
  t.notOk(poisoned.isAnomaly(sp), `poisoned baseline: the beacon looks normal (${sp.toFixed(3)} < ${poisoned.threshold.toFixed(3)})`);
  t.ok(clean.isAnomaly(sc), `clean baseline: the beacon is an anomaly (${sc.toFixed(3)} ≥ ${clean.threshold.toFixed(3)})`);
});

t.test('ids stay consistent when rows are replaced, also with duplicate ids', async (t) => {
  const r = new RowReservoir(1, 2, 1);
  r.add([1], 1);
  r.add([2], 1); // same id twice: the newest holder wins
  for (let i = 0; i < 200; i++) r.add([100 + i], 100 + i);
  t.equal(r.size, 2);
  t.equal(r.exclude(1), false, 'both rows of id 1 were replaced long ago');
  r.clear();
  t.equal(r.size, 0);
  t.equal(r.seen, 0);
  r.add([5], 5);
  t.equal(r.exclude(5), true);
  t.throws(() => r.build(['x']), /at least 2 rows/);
});

t.test('bad arguments are programmer errors', async (t) => {
  t.throws(() => new RowReservoir(0), /at least 1 feature/);
  t.throws(() => new RowReservoir(3, 1), /capacity/);
  t.throws(() => new RowReservoir(1000, 1e6), /capacity/);
  const r = new RowReservoir(2, 10);
  t.throws(() => r.add([1]), /1 values, expected 2/);
  r.add([1, 2]);
  r.add([3, 4]);
  t.throws(() => r.build(['a', 'b', 'c']), /schema has 3 features/);
});
