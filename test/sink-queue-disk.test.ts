/**
 * Disk-only behaviour of the durable queue: restart and replay, crash without close, torn tail,
 * corruption in the middle, the size bound on disk, fsync policies and the directory lock.
 */
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { recordSize, type SeverityRank } from '../agent/sink/queue/alert-queue.js';
import { DiskQueue, type DiskQueueOptions } from '../agent/sink/queue/disk-queue.js';
import { scanSegment, writeRecord } from '../agent/sink/queue/segment-format.js';
import { readJournal } from '../agent/sink/queue/state-journal.js';

function tempDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'pk-queue-disk-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function payload(i: number, len = 100): Uint8Array {
  const b = new Uint8Array(len);
  for (let k = 0; k < len; k++) b[k] = (i * 131 + k * 7) & 0xff;
  return b;
}
const id = (i: number): string => `01JDX3Q8K4M2V7R9T0B5N6${String(i).padStart(4, '0')}`;
const segFiles = (dir: string): string[] => readdirSync(dir).filter((f) => f.startsWith('seg-')).sort();
const dirBytes = (dir: string): number => segFiles(dir).reduce((n, f) => n + statSync(join(dir, f)).size, 0);

function open(dir: string, extra: Partial<DiskQueueOptions> = {}): DiskQueue {
  return new DiskQueue({ dir, segmentBytes: 4096, fsync: 'batch', fsyncEveryMs: 20, ...extra });
}

function drain(q: DiskQueue): { ids: string[]; payloads: number[][] } {
  const recs = q.next(1_000_000);
  for (const r of recs) q.ack(r.seq);
  return { ids: recs.map((r) => r.id), payloads: recs.map((r) => [...r.payload]) };
}

t.test('restart replays unacknowledged records in order with their payloads', async (t) => {
  const dir = tempDir(t);
  const q = open(dir);
  for (let i = 0; i < 100; i++) q.append(payload(i), ((i % 4) + 1) as SeverityRank, id(i));
  t.ok(segFiles(dir).length > 1, 'spans several segments');
  const sent = q.next(50);
  for (const r of sent.slice(0, 40)) q.ack(r.seq); // 40 acked, 10 in flight
  q.close();
  t.notOk(readdirSync(dir).includes('queue.lock'), 'lock released on close');

  const r = open(dir);
  t.equal(r.depth, 60, 'in-flight ones come back (at-least-once), acked ones do not');
  t.equal(r.counters().recovered, 60);
  const { ids, payloads } = drain(r);
  t.same(ids, Array.from({ length: 60 }, (_, k) => id(k + 40)));
  t.same(payloads, Array.from({ length: 60 }, (_, k) => [...payload(k + 40)]));
  r.close();
  const again = open(dir);
  t.equal(again.depth, 0, 'acks of the replayed records were persisted');
  t.ok(segFiles(dir).length <= 1, 'fully acknowledged segments are deleted');
  // Sequence numbers keep increasing across restarts.
  const seq = again.append(payload(1), 1, id(1));
  t.ok(seq > 100, `seq ${seq} continues after 100`);
  again.close();
});

t.test('a crash without close loses nothing appended; acks older than the state interval stay acked', async (t) => {
  const dir = tempDir(t);
  const q = open(dir, { fsyncEveryMs: 5 });
  for (let i = 0; i < 30; i++) q.append(payload(i), 2, id(i));
  for (const r of q.next(10)) q.ack(r.seq);
  await new Promise((r) => setTimeout(r, 50)); // state timer writes the floor
  for (let i = 30; i < 35; i++) q.append(payload(i), 2, id(i));
  q.crashForTest();
  const r = open(dir);
  t.equal(r.depth, 25);
  t.same(drain(r).ids, Array.from({ length: 25 }, (_, k) => id(k + 10)));
  r.close();
});

t.test('acks within the last state interval are re-sent after a crash (at-least-once)', async (t) => {
  const dir = tempDir(t);
  const q = open(dir, { fsyncEveryMs: 60_000 });
  for (let i = 0; i < 10; i++) q.append(payload(i), 2, id(i));
  for (const r of q.next(5)) q.ack(r.seq);
  q.crashForTest();
  const r = open(dir);
  t.equal(r.depth, 10, 'nothing lost; the 5 acknowledged may come again');
  r.close();
});

t.test('out-of-order acks and drops persist across restart', async (t) => {
  const dir = tempDir(t);
  const size = recordSize(26, 100);
  const q = open(dir, { maxBytes: 10 * size });
  for (let i = 0; i < 10; i++) q.append(payload(i), i === 3 ? 1 : 3, id(i));
  const sent = q.next(10);
  q.requeueInflight();
  q.ack(sent[5]!.seq); // id 5 acked out of order
  q.append(payload(10), 3, id(10)); // fits in the room id 5 left
  q.append(payload(11), 3, id(11)); // bound: id 3 (the only low) is dropped
  t.equal(q.counters().dropped, 1);
  q.close();
  const r = open(dir, { maxBytes: 10 * size });
  t.same(drain(r).ids, [0, 1, 2, 4, 6, 7, 8, 9, 10, 11].map(id));
  r.close();
});

t.test('the ack-state journal is rewritten when it grows, keeping drops and out-of-order acks', async (t) => {
  const dir = tempDir(t);
  const size = recordSize(26, 100);
  const opts = { maxBytes: 20 * size, journalCompactBytes: 256, fsyncEveryMs: 60_000 };
  const q = open(dir, opts);
  const kept: number[] = [];
  for (let i = 0; i < 200; i++) {
    q.append(payload(i), i % 10 === 0 ? 4 : 1, id(i));
    if (i % 10 === 0) kept.push(i);
    if (i % 7 === 0) q.sync(); // writes the dead seqs of the drops so far
  }
  q.close();
  const r = open(dir, opts);
  t.equal(r.counters().dropped, 0, 'drops were persisted: none resurrected and dropped again');
  const { ids } = drain(r);
  t.equal(ids.length, 20);
  for (const k of kept) t.ok(ids.includes(id(k)), `critical ${k} kept`);
  r.close();
  t.ok(statSync(join(dir, 'state.log')).size <= 256, 'once everything is acknowledged the journal shrinks to its floor');
  const again = open(dir, opts);
  t.equal(again.depth, 0);
  again.close();
});

t.test('a torn tail write is cut, counted once, and the queue keeps working', async (t) => {
  const dir = tempDir(t);
  const q = open(dir, { segmentBytes: 1 << 20 });
  for (let i = 0; i < 5; i++) q.append(payload(i), 2, id(i));
  q.close();
  const seg = join(dir, segFiles(dir).at(-1)!);
  const good = statSync(seg).size;
  // Half of a sixth record, as if power failed mid-write.
  const rec = Buffer.alloc(200);
  const n = writeRecord(rec, 0, 6, 2, Buffer.from(id(5)), payload(5));
  appendFileSync(seg, rec.subarray(0, Math.floor(n / 2)));
  const r = open(dir, { segmentBytes: 1 << 20 });
  t.equal(r.counters().torn, 1);
  t.equal(r.counters().corrupt, 0);
  t.equal(statSync(seg).size, good, 'truncated back to the last whole record');
  t.equal(r.depth, 5);
  r.append(payload(9), 4, id(9));
  r.close();
  const r2 = open(dir, { segmentBytes: 1 << 20 });
  t.equal(r2.counters().torn, 0, 'counted once, not on every start');
  t.same(drain(r2).ids, [0, 1, 2, 3, 4, 9].map(id));
  r2.close();
});

t.test('a corrupt record in the middle is skipped and counted; its neighbours survive', async (t) => {
  const dir = tempDir(t);
  const q = open(dir, { segmentBytes: 1 << 20 });
  for (let i = 0; i < 9; i++) q.append(payload(i), 2, id(i));
  q.close();
  const seg = join(dir, segFiles(dir)[0]!);
  const buf = readFileSync(seg);
  const recs = scanSegment(buf).records;
  t.equal(recs.length, 9);
  buf[recs[3]!.off + 60]! ^= 0xff; // payload byte of record 3: checksum mismatch
  buf.writeUInt32LE(0x7fffffff, recs[6]!.off + 4); // length of record 6: framing damage
  writeFileSync(seg, buf);
  const r = open(dir, { segmentBytes: 1 << 20 });
  t.equal(r.counters().corrupt, 2);
  t.equal(r.counters().torn, 0);
  t.same(drain(r).ids, [0, 1, 2, 4, 5, 7, 8].map(id));
  r.close();
});

t.test('garbage files and a damaged journal do not stop the queue', async (t) => {
  const dir = tempDir(t);
  const q = open(dir, { segmentBytes: 1 << 20 });
  for (let i = 0; i < 4; i++) q.append(payload(i), 2, id(i));
  for (const r of q.next(2)) q.ack(r.seq);
  q.close();
  appendFileSync(join(dir, 'state.log'), Buffer.from([1, 2, 3, 4, 5])); // torn journal entry
  writeFileSync(join(dir, 'notes.txt'), 'not a segment');
  writeFileSync(join(dir, 'seg-000000000099.log'), Buffer.alloc(300, 0x41)); // random bytes, last segment
  const r = open(dir, { segmentBytes: 1 << 20 });
  t.equal(r.depth, 2);
  t.equal(r.counters().torn, 1, 'the all-garbage last segment is a torn tail');
  t.same(drain(r).ids, [2, 3].map(id));
  r.close();
  t.ok(readJournal(join(dir, 'state.log')).floor >= 4);
});

t.test('disk use stays within the bound while low alerts are dropped around high ones', async (t) => {
  const dir = tempDir(t);
  const size = recordSize(26, 100);
  const maxBytes = 40 * size;
  const segmentBytes = 4096;
  const q = open(dir, { maxBytes, segmentBytes, fsync: 'none' });
  let maxDisk = 0;
  // Broker down: one critical alert per 30 lows, for a long time.
  for (let i = 0; i < 3000; i++) {
    q.append(payload(i), i % 30 === 0 ? 4 : 1, id(i));
    maxDisk = Math.max(maxDisk, dirBytes(dir));
  }
  t.ok(maxDisk <= maxBytes + 3 * segmentBytes, `disk max ${maxDisk} ≤ bound ${maxBytes} + slack`);
  t.ok(q.counters().compactions > 0, `${q.counters().compactions} compactions`);
  t.ok(q.bytes <= maxBytes);
  const criticals = Array.from({ length: 100 }, (_, k) => id(k * 30)).slice(-40);
  q.close();
  const r = open(dir, { maxBytes, segmentBytes });
  const { ids } = drain(r);
  t.same(ids.filter((x) => criticals.includes(x)), criticals, 'the newest criticals that fit all survive, in order');
  t.same(ids, [...ids].sort(), 'in order after relocation');
  r.close();
});

t.test('reopening with a smaller bound applies the drop policy to what was recovered', async (t) => {
  const dir = tempDir(t);
  const size = recordSize(26, 100);
  const q = open(dir);
  for (let i = 0; i < 10; i++) q.append(payload(i), i < 5 ? 1 : 3, id(i));
  q.close();
  const r = open(dir, { maxBytes: 6 * size });
  t.equal(r.depth, 6);
  t.same(r.counters().droppedBySeverity, [4, 0, 0, 0]);
  t.same(drain(r).ids, [4, 5, 6, 7, 8, 9].map(id));
  r.close();
});

t.test('fsync policies', async (t) => {
  const always = open(tempDir(t), { fsync: 'always' });
  for (let i = 0; i < 5; i++) always.append(payload(i), 1, id(i));
  t.ok(always.counters().fsyncs >= 5, 'always: one per record');
  always.close();

  const batch = open(tempDir(t), { fsync: 'batch', fsyncEveryRecords: 10, fsyncEveryMs: 60_000, segmentBytes: 1 << 20 });
  for (let i = 0; i < 9; i++) batch.append(payload(i), 1, id(i));
  await new Promise((r) => setTimeout(r, 30));
  t.equal(batch.counters().fsyncs, 0, 'batch: nothing before N records');
  for (let i = 9; i < 35; i++) batch.append(payload(i), 1, id(i));
  t.equal(batch.counters().fsyncs, 0, 'batch: the fsync runs in the background, append does not wait');
  for (let i = 0; i < 100 && batch.counters().fsyncs < 2; i++) await new Promise((r) => setTimeout(r, 10));
  const bg = batch.counters().fsyncs;
  t.ok(bg >= 2 && bg <= 3, `batch: ${bg} background fsyncs for 35 records (requests while busy are folded)`);
  batch.append(payload(99), 1, id(99));
  batch.sync();
  t.equal(batch.counters().fsyncs, bg + 1, 'sync(): the unsynced record (no ack state to write yet)');
  for (const r of batch.next(3)) batch.ack(r.seq);
  batch.sync();
  t.equal(batch.counters().fsyncs, bg + 2, 'sync(): the ack state');
  batch.close();

  const timed = open(tempDir(t), { fsync: 'batch', fsyncEveryRecords: 1000, fsyncEveryMs: 10, segmentBytes: 1 << 20 });
  timed.append(payload(1), 1, id(1));
  t.equal(timed.counters().fsyncs, 0);
  await new Promise((r) => setTimeout(r, 60));
  t.ok(timed.counters().fsyncs >= 1, 'batch: within fsyncEveryMs');
  timed.close();

  const none = open(tempDir(t), { fsync: 'none', fsyncEveryMs: 5 });
  for (let i = 0; i < 50; i++) none.append(payload(i), 1, id(i));
  await new Promise((r) => setTimeout(r, 30));
  t.equal(none.counters().fsyncs, 0, 'none: never');
  none.close();
});

t.test('reading back from disk when the cache is off, with verification', async (t) => {
  const dir = tempDir(t);
  const q = open(dir, { cacheBytes: 0, segmentBytes: 1 << 20 });
  for (let i = 0; i < 6; i++) q.append(payload(i, 300), 2, id(i));
  q.sync();
  // Damage record 2 on disk after it was written and indexed.
  const seg = join(dir, segFiles(dir)[0]!);
  const buf = readFileSync(seg);
  const recs = scanSegment(buf).records;
  buf[recs[2]!.off + 100]! ^= 0x55;
  writeFileSync(seg, buf);
  const got = q.next(10);
  t.same(got.map((r) => r.id), [0, 1, 3, 4, 5].map(id));
  t.same(got.map((r) => [...r.payload]), [0, 1, 3, 4, 5].map((i) => [...payload(i, 300)]));
  t.equal(q.counters().corrupt, 1);
  t.equal(q.depth, 5, 'the unreadable record is gone');
  q.close();
});

t.test('one process per queue directory', async (t) => {
  const dir = tempDir(t);
  const q = open(dir);
  t.throws(() => open(dir), /already open in this process/);
  q.close();
  // A lock left by a process that no longer exists is taken over.
  writeFileSync(join(dir, 'queue.lock'), '999999999\n');
  const r = open(dir);
  r.close();
  // A lock held by a live process (pid 1) is refused with a one-line reason.
  writeFileSync(join(dir, 'queue.lock'), '1\n');
  t.throws(() => open(dir), /in use by process 1; stop it or use another --queue-dir/);
  rmSync(join(dir, 'queue.lock'));
});

t.test('an unusable directory fails at open with the OS reason', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'file');
  writeFileSync(file, 'x');
  t.throws(() => open(join(file, 'q')), /ENOTDIR|EEXIST/);
});

t.test('a full disk: writes fail, records stay in memory, nothing is lost or reordered', async (t) => {
  const dir = tempDir(t);
  // A file size limit makes every write past 8 KiB fail with EFBIG, like a full file system. It is
  // set on the running child (prlimit --pid) once its TypeScript loader has done its own writes.
  const main = new URL('./helpers/queue-write-error-main.ts', import.meta.url).pathname;
  const loader = process.execArgv.filter((a) => !a.includes('@tapjs/processinfo'));
  const env = { ...process.env };
  delete env.NODE_V8_COVERAGE;
  const child = spawn(process.execPath, [...loader, main, dir, '200'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  await new Promise<void>((resolve) =>
    child.stdout.on('data', (b: Buffer) => {
      stdout += b.toString();
      if (stdout.includes('ready\n')) resolve();
    }),
  );
  const lim = spawnSync('prlimit', ['--pid', String(child.pid), '--fsize=8192:8192'], { encoding: 'utf8' });
  t.equal(lim.status, 0, lim.stderr);
  child.stdin.write('go\n');
  const status = await new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const r = { status, stdout: stdout.replace('ready\n', ''), stderr };
  t.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { handedOut: number; intact: boolean; ids: string[]; writeErrors: number; firstError: string; depth: number };
  t.ok(out.writeErrors > 100, `${out.writeErrors} failed writes`);
  t.match(out.firstError, /EFBIG|too large/i);
  t.equal(out.handedOut, 200, 'every record handed out');
  t.ok(out.intact, 'payloads intact');
  t.same(out.ids, Array.from({ length: 200 }, (_, i) => `id-${i}`), 'in order');
  t.equal(out.depth, 0);
});
