/**
 * Child-process entry for the disk-full test. Prints "ready" once loaded; the test then lowers
 * this process's file size limit (`prlimit --pid PID --fsize=BYTES`) so segment writes fail with
 * EFBIG past that size, and writes a line to stdin. Appends records, then reports (one JSON
 * line) what the queue kept and handed out. Usage: queue-write-error-main.ts DIR COUNT
 */
import { DiskQueue } from '../../agent/sink/queue/disk-queue.js';

// Past the limit the kernel sends SIGXFSZ, which kills by default; with a handler the write just
// fails with EFBIG, which is the condition under test.
process.on('SIGXFSZ', () => {});

await new Promise<void>((resolve) => {
  process.stdin.once('data', () => resolve());
  process.stdout.write('ready\n');
});
process.stdin.pause();
const [dir, countText] = process.argv.slice(2);
const count = Number(countText ?? 100);
const errors: string[] = [];
const q = new DiskQueue({ dir: dir!, segmentBytes: 1 << 20, fsync: 'batch', onWriteError: (m) => errors.push(m) });
for (let i = 0; i < count; i++) q.append(new Uint8Array(100).fill(i & 0xff), 2, `id-${i}`);
const out = q.next(count);
const intact = out.every((r) => r.payload.length === 100 && r.payload.every((b) => b === (Number(r.id.slice(3)) & 0xff)));
for (const r of out) q.ack(r.seq);
const c = q.counters();
q.close();
process.stdout.write(
  JSON.stringify({ handedOut: out.length, intact, ids: out.map((r) => r.id), writeErrors: c.writeErrors, firstError: errors[0] ?? '', depth: q.depth }) + '\n',
);
