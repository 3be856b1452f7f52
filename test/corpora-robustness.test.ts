import t from 'tap';
import { readdirSync, statSync, readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { spawnSync } from 'node:child_process';
import { runCapture } from './helpers/run-capture.js';

const ROOT = '../shared/corpora';
const CLI = 'dist/agent/cli/main.js';

function captures(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) captures(p, out);
    else if (/\.(pcap|pcapng|cap)$/.test(name)) out.push(p);
  }
  return out;
}

const files = captures(ROOT).sort();

t.test('picket inspect reads every capture in the corpora: exit 0, errors counted', async (t) => {
  t.ok(files.length > 1000, `${files.length} captures`);
  const started = Date.now();
  const r = spawnSync('node', [CLI, 'inspect', '--no-records', ...files], { encoding: 'utf8', maxBuffer: 64 << 20, timeout: 300_000 });
  t.equal(r.status, 0, 'exit status 0');
  t.match(r.stderr, new RegExp(`from ${files.length} files`));
  t.match(r.stderr, /errors: \d+ \(/, 'errors are counted by kind');
  t.notMatch(r.stderr, /internal error|TypeError|RangeError/);
  t.ok(Date.now() - started < 120_000, 'well within two minutes');
});

t.test('every capture, one by one in-process: no throw, bounded time and memory', async (t) => {
  const slow: string[] = [];
  const failed: string[] = [];
  let packets = 0;
  for (const f of files) {
    const t0 = performance.now();
    try {
      const run = await runCapture(f);
      packets += run.source.packets;
      const counted = run.records.reduce((n, r) => n + r.c2s.packets + r.s2c.packets, 0);
      // Every decoded IP packet of a flow lands in exactly one record.
      if (counted !== run.table.stats.packets) failed.push(`${f}: ${counted} packets in records, ${run.table.stats.packets} in the table`);
    } catch (err) {
      failed.push(`${f}: ${String(err)}`);
    }
    if (performance.now() - t0 > 10_000) slow.push(f);
  }
  t.same(failed, [], 'no capture makes the pipeline throw or lose packets');
  t.same(slow, [], 'no capture takes more than 10 s');
  t.ok(packets > 100_000);
  t.ok(process.memoryUsage().heapUsed < 400e6, `heap ${(process.memoryUsage().heapUsed / 1e6).toFixed(0)} MB after all files`);
});

t.test('mutated and truncated captures never crash the reader, decoder, flows or dissectors', async (t) => {
  const tmp = mkdtempSync(join(tmpdir(), 'picket-mutate-'));
  let seed = 99;
  const rnd = (n: number): number => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) % n);
  const picks = files.filter((_, i) => i % 9 === 0).slice(0, 120);
  let cases = 0;
  const failures: string[] = [];
  for (const f of picks) {
    const orig = readFileSync(f);
    for (let k = 0; k < 3; k++) {
      const b = Buffer.from(orig);
      // Flip bytes after the file header, then maybe cut the file.
      const flips = 1 + rnd(20);
      for (let i = 0; i < flips && b.length > 32; i++) b[24 + rnd(b.length - 24)] = rnd(256);
      const cut = rnd(3) === 0 ? b.subarray(0, 24 + rnd(Math.max(1, b.length - 24))) : b;
      const p = join(tmp, `m${cases++}.pcap`);
      writeFileSync(p, cut);
      try {
        await runCapture(p);
      } catch (err) {
        failures.push(`${f} variant ${k}: ${String(err)}`);
      }
    }
  }
  t.same(failures, [], `${cases} mutated captures`);
});
