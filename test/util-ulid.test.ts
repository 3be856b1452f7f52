import t from 'tap';
import { UlidGenerator, isUlid, ulid, ulidTime } from '../agent/util/ulid.js';

const zeros = (b: Uint8Array): void => void b.fill(0);

t.test('encodes the time like the ULID spec example', async (t) => {
  // Spec README: ulid(1469918176385) starts with 01ARYZ6S41.
  const g = new UlidGenerator({ now: () => 1469918176385, random: zeros });
  const id = g.next();
  t.equal(id, '01ARYZ6S41' + '0'.repeat(16));
  t.equal(ulidTime(id), 1469918176385);
  t.ok(isUlid(id));
});

t.test('uses all 80 random bits from the random source (5 bits per character)', async (t) => {
  const g = new UlidGenerator({ now: () => 0, random: (b) => void b.fill(0xff) });
  t.equal(g.next(), '0000000000' + 'Z'.repeat(16));
  const g2 = new UlidGenerator({ now: () => 0, random: (b) => b.forEach((_, i) => (b[i] = i)) });
  t.equal(g2.next().slice(10), '0123456789ABCDEF');
});

t.test('is monotonic within one millisecond: random part + 1', async (t) => {
  const g = new UlidGenerator({ now: () => 1000, random: zeros });
  const a = g.next();
  const b = g.next();
  const c = g.next();
  t.equal(a.slice(-2), '00');
  t.equal(b.slice(-2), '01');
  t.equal(c.slice(-2), '02');
  t.equal(a.slice(0, 10), c.slice(0, 10));
});

t.test('carries across digits and moves time forward on overflow', async (t) => {
  const g = new UlidGenerator({ now: () => 5000, random: (b) => void b.fill(31) });
  const a = g.next();
  t.equal(a.slice(10), 'Z'.repeat(16));
  const b = g.next();
  t.equal(ulidTime(b), 5001, 'overflow bumps the time by one ms');
  t.ok(b > a);
  const carry = new UlidGenerator({ now: () => 7, random: (buf) => buf.forEach((_, i) => (buf[i] = i === 15 ? 31 : 0)) });
  const c1 = carry.next();
  const c2 = carry.next();
  t.equal(c1.slice(-2), '0Z');
  t.equal(c2.slice(-2), '10');
});

t.test('stays increasing when the clock goes backwards', async (t) => {
  let now = 10_000;
  const g = new UlidGenerator({ now: () => now });
  const a = g.next();
  now = 9_000;
  const b = g.next();
  t.ok(b > a);
  t.equal(ulidTime(b), 10_000);
  now = 20_000;
  t.equal(ulidTime(g.next()), 20_000);
});

t.test('clamps impossible times', async (t) => {
  t.equal(ulidTime(new UlidGenerator({ now: () => -5 }).next()), 0);
  t.equal(ulidTime(new UlidGenerator({ now: () => Number.NaN }).next()), 0);
  t.equal(ulidTime(new UlidGenerator({ now: () => 2 ** 60 }).next()), 2 ** 48 - 1);
});

t.test('many ids in a burst are unique and sort in creation order', async (t) => {
  const ids: string[] = [];
  for (let i = 0; i < 20_000; i++) ids.push(ulid());
  t.equal(new Set(ids).size, ids.length);
  const sorted = [...ids].sort();
  t.same(sorted, ids);
  t.ok(Math.abs(ulidTime(ids[0]!) - Date.now()) < 60_000);
});

t.test('isUlid rejects wrong length, alphabet and time overflow', async (t) => {
  t.notOk(isUlid(''));
  t.notOk(isUlid('01ARYZ6S41TSV4RRFFQ69G5FA'));
  t.notOk(isUlid('01ARYZ6S41TSV4RRFFQ69G5FAU'), 'U is not Crockford');
  t.notOk(isUlid('01ARYZ6S41TSV4RRFFQ69G5FAé'));
  t.notOk(isUlid('81ARYZ6S41TSV4RRFFQ69G5FAV'), 'first char > 7 overflows 48 bits');
  t.ok(isUlid('01aryz6s41tsv4rrffq69g5fav'), 'lower case is accepted');
  t.equal(ulidTime('nope'), -1);
});
