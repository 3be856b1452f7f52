/**
 * The AlertQueue contract, run against both implementations: ordering, in-flight window, acks,
 * requeue after a lost connection, the drop policy and its counters, payload integrity.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { recordSize, type AlertQueue, type SeverityRank } from '../agent/sink/queue/alert-queue.js';
import { DiskQueue } from '../agent/sink/queue/disk-queue.js';
import { MemoryQueue } from '../agent/sink/queue/memory-queue.js';

type Factory = (t: Test, opts?: { maxBytes?: number; onDrop?: (r: { seq: number; severity: SeverityRank }) => void }) => AlertQueue;

const implementations: [string, Factory][] = [
  ['memory', (_t, opts = {}) => new MemoryQueue(opts)],
  [
    'disk',
    (t, opts = {}) => {
      const dir = mkdtempSync(join(tmpdir(), 'pk-queue-'));
      // Small segments so the suite crosses segment boundaries; no fsync to keep it fast.
      const q = new DiskQueue({ dir, segmentBytes: 8192, fsync: 'none', cacheBytes: 2048, ...opts });
      t.teardown(() => {
        try {
          q.close();
        } catch {
          // closed by the test
        }
        rmSync(dir, { recursive: true, force: true });
      });
      return q;
    },
  ],
];

/** A payload whose bytes identify it. */
function payload(i: number, len = 40): Uint8Array {
  const b = new Uint8Array(len);
  for (let k = 0; k < len; k++) b[k] = (i * 31 + k) & 0xff;
  return b;
}
const id = (i: number): string => `01JDX3Q8K4M2V7R9T0B5N6${String(i).padStart(4, '0')}`;
const size1 = recordSize(26, 40);

for (const [name, make] of implementations) {
  t.test(`${name}: append/next/ack in order`, async (t) => {
    const q = make(t);
    const seqs = [1, 2, 3, 4, 5].map((i) => q.append(payload(i), 2, id(i)));
    t.same(seqs, [...seqs].sort((a, b) => a - b), 'seqs increase');
    t.equal(new Set(seqs).size, 5);
    t.equal(q.depth, 5);
    t.equal(q.bytes, 5 * size1);
    t.equal(q.pending, 5);
    const a = q.next(2);
    t.same(a.map((r) => r.id), [id(1), id(2)]);
    t.same(a.map((r) => [...r.payload]), [[...payload(1)], [...payload(2)]]);
    t.equal(a[0]!.severity, 2);
    t.equal(q.inflight, 2);
    t.equal(q.pending, 3);
    const b = q.next(10);
    t.same(b.map((r) => r.id), [id(3), id(4), id(5)]);
    t.same(q.next(10), [], 'nothing left to hand out');
    t.ok(q.ack(a[0]!.seq));
    t.notOk(q.ack(a[0]!.seq), 'second ack of the same seq');
    t.notOk(q.ack(999_999), 'unknown seq');
    for (const r of [...a.slice(1), ...b]) t.ok(q.ack(r.seq));
    t.equal(q.depth, 0);
    t.equal(q.bytes, 0);
    t.equal(q.inflight, 0);
    const c = q.counters();
    t.equal(c.appended, 5);
    t.equal(c.acked, 5);
    t.equal(c.handedOut, 5);
    t.equal(c.dropped, 0);
  });

  t.test(`${name}: out-of-order acks and requeue keep sequence order`, async (t) => {
    const q = make(t);
    for (let i = 0; i < 6; i++) q.append(payload(i), 1, id(i));
    const sent = q.next(4);
    t.ok(q.ack(sent[2]!.seq));
    t.ok(q.ack(sent[0]!.seq));
    t.equal(q.requeueInflight(), 2, 'two were still in flight');
    t.equal(q.inflight, 0);
    const again = q.next(10);
    t.same(again.map((r) => r.id), [id(1), id(3), id(4), id(5)], 'unacked ones first, in order');
    t.same(again.map((r) => [...r.payload]), [1, 3, 4, 5].map((i) => [...payload(i)]));
    t.equal(q.counters().requeued, 2);
    t.equal(q.counters().handedOut, 8);
    // An ack for a record requeued and re-sent still works.
    for (const r of again) t.ok(q.ack(r.seq));
    t.equal(q.depth, 0);
  });

  t.test(`${name}: the payload is copied at append`, async (t) => {
    const q = make(t);
    const p = payload(7);
    q.append(p, 3, id(7));
    p.fill(0);
    t.same([...q.next(1)[0]!.payload], [...payload(7)]);
  });

  t.test(`${name}: drop policy is oldest lowest-severity first, counted`, async (t) => {
    const drops: number[] = [];
    const q = make(t, { maxBytes: 6 * size1, onDrop: (r) => drops.push(r.severity) });
    // 6 records fill the bound exactly: severities 3,1,2,1,4,2 (ids 0..5).
    const sev: SeverityRank[] = [3, 1, 2, 1, 4, 2];
    sev.forEach((s, i) => q.append(payload(i), s, id(i)));
    t.equal(q.depth, 6);
    t.equal(q.counters().dropped, 0);
    q.append(payload(6), 2, id(6)); // drops id 1 (oldest low)
    q.append(payload(7), 2, id(7)); // drops id 3 (next low)
    q.append(payload(8), 2, id(8)); // no low left: drops id 2 (oldest medium)
    q.append(payload(9), 1, id(9)); // new low, nothing lower queued: the new one goes
    t.equal(q.depth, 6);
    t.ok(q.bytes <= 6 * size1);
    const c = q.counters();
    t.equal(c.dropped, 4);
    t.same(c.droppedBySeverity, [3, 1, 0, 0]);
    t.same(drops, [1, 1, 2, 1]);
    t.equal(c.appended, 10);
    t.same(q.next(10).map((r) => r.id), [0, 4, 5, 6, 7, 8].map(id));
  });

  t.test(`${name}: in-flight records are never dropped`, async (t) => {
    const q = make(t, { maxBytes: 3 * size1 });
    for (let i = 0; i < 3; i++) q.append(payload(i), 1, id(i));
    const sent = q.next(2); // ids 0,1 in flight
    q.append(payload(3), 4, id(3)); // only id 2 is droppable
    q.append(payload(4), 4, id(4)); // equal severity: the older queued one (id 3) goes
    t.same(q.counters().droppedBySeverity, [1, 0, 0, 1]);
    q.next(1); // id 4 in flight too: nothing is droppable now
    q.append(payload(5), 4, id(5));
    t.same(q.counters().droppedBySeverity, [1, 0, 0, 2], 'the new record goes when everything is in flight');
    t.equal(q.inflight, 3);
    for (const r of sent) t.ok(q.ack(r.seq), 'acks of in-flight records still work');
    q.requeueInflight();
    t.same(q.next(10).map((r) => r.id), [id(4)]);
  });

  t.test(`${name}: a record bigger than the bound is dropped, not stored`, async (t) => {
    const q = make(t, { maxBytes: 1000 });
    q.append(new Uint8Array(2000), 4, id(1));
    t.equal(q.depth, 0);
    t.equal(q.counters().dropped, 1);
    t.same(q.counters().droppedBySeverity, [0, 0, 0, 1]);
  });

  t.test(`${name}: long ids are cut, payload kept whole`, async (t) => {
    const q = make(t);
    const long = 'x'.repeat(300);
    q.append(payload(1, 5000), 2, long);
    const r = q.next(1)[0]!;
    t.equal(r.id, 'x'.repeat(255));
    t.equal(r.payload.length, 5000);
    t.equal(q.bytes, recordSize(255, 5000));
  });

  t.test(`${name}: a long random run keeps its accounting`, async (t) => {
    const q = make(t, { maxBytes: 200 * size1 });
    let seed = 99;
    const rnd = (n: number): number => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) % n;
    const inflight: number[] = [];
    const acked = new Set<number>();
    let lastHanded = 0;
    for (let step = 0; step < 20_000; step++) {
      const op = rnd(10);
      if (op < 5) q.append(payload(step), (1 + rnd(4)) as SeverityRank, id(step % 10000));
      else if (op < 7) {
        for (const r of q.next(1 + rnd(8))) {
          inflight.push(r.seq);
          if (r.seq <= lastHanded && !q.counters().requeued) t.fail('order');
          lastHanded = r.seq;
        }
      } else if (op < 9 && inflight.length > 0) {
        const s = inflight.splice(rnd(inflight.length), 1)[0]!;
        if (q.ack(s)) acked.add(s);
      } else if (op === 9 && rnd(20) === 0) {
        q.requeueInflight();
        inflight.length = 0;
      }
    }
    const c = q.counters();
    t.equal(c.appended - c.acked - c.dropped, q.depth, 'appended = acked + dropped + live');
    t.equal(c.acked, acked.size);
    t.ok(q.bytes <= 200 * size1);
    t.ok(c.dropped > 0, `policy exercised (${c.dropped} drops)`);
    q.requeueInflight();
    const rest = q.next(1_000_000);
    t.equal(rest.length, q.depth);
    t.same(rest.map((r) => r.seq), [...rest.map((r) => r.seq)].sort((a, b) => a - b), 'remaining come out in order');
    for (const r of rest) q.ack(r.seq);
    t.equal(q.depth, 0);
    t.equal(q.bytes, 0);
  });

  t.test(`${name}: use after close is a programmer error`, async (t) => {
    const q = make(t);
    q.append(payload(1), 1, id(1));
    q.sync();
    q.close();
    t.throws(() => q.append(payload(2), 1, id(2)), /after close/);
    t.throws(() => q.next(1), /after close/);
  });
}
