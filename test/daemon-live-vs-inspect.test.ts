/**
 * Live equals offline: real captures from the corpora are replayed with tcpreplay onto a veth
 * pair (pk-dmn-b, no addresses, so the kernel adds nothing) while `picket run --interface
 * --flows-jsonl` captures them; its flows must be those of `picket inspect` on the same files:
 * same 5-tuples, packets and bytes per direction, same TCP states.
 *
 * Needs root, iproute2 and tcpreplay.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { inspectCommand } from '../agent/cli/inspect.js';
import { createVeth, deleteVeth, fetchText, metric, PicketProcess, sleep } from './daemon-process.js';

const CORPORA = new URL('../../shared/corpora/ndpi/pcap/', import.meta.url).pathname;
// Ethernet, full frames (no snap length cut), a few seconds long: no idle timeout differs
// between the capture's own clock and a fast replay.
const CAPTURES = ['ethereum.pcap', '443-firefox.pcap', 'WebattackRCE.pcap'].map((f) => join(CORPORA, f));

type Flow = Record<string, any>;

/** key → per-direction counters and state, for comparison. */
function summary(flows: Flow[]): Map<string, string> {
  const m = new Map<string, string>();
  for (const f of flows) {
    const key = `${f.network.transport} ${f.source.ip}:${f.source.port} > ${f.destination.ip}:${f.destination.port}`;
    const v = `${f.source.packets}/${f.source.bytes} ${f.destination.packets}/${f.destination.bytes} ${f.picket.flow.state}`;
    // A 4-tuple reused after a close is a second flow: keep them apart by order.
    let k = key;
    for (let i = 2; m.has(k); i++) k = `${key} #${i}`;
    m.set(k, v);
  }
  return m;
}

async function inspect(files: string[]): Promise<Flow[]> {
  let out = '';
  const stdout = new Writable({
    write(chunk: Buffer, _enc, cb) {
      out += chunk.toString();
      cb();
    },
  });
  const stderr = new Writable({ write: (_c, _e, cb) => cb() });
  const code = await inspectCommand.run([...files, '--quiet'], { stdout, stderr });
  if (code !== 0) throw new Error(`picket inspect exited ${code}`);
  return out.trim().split('\n').map((l) => JSON.parse(l) as Flow);
}

const haveTcpreplay = spawnSync('tcpreplay', ['--version']).error === undefined;

t.test('flows captured live equal picket inspect of the same captures', { skip: process.getuid?.() !== 0 ? 'needs root' : haveTcpreplay ? false : 'tcpreplay not installed' }, async (t) => {
  const v = createVeth('b', 2, { addresses: false });
  t.teardown(() => deleteVeth(v));
  const dir = mkdtempSync(join(tmpdir(), 'pk-dmn-lvi-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const flowsPath = join(dir, 'flows.jsonl');
  const picket = new PicketProcess(['run', '--interface', v.hostIf, '--flows-jsonl', flowsPath, '--metrics', '127.0.0.1:0']);
  t.teardown(async () => {
    if (picket.running) await picket.stop(2000);
  });
  const started = await picket.started();
  const url = `http://127.0.0.1:${started.metricsPort as number}/metrics`;

  let sent = 0;
  for (const file of CAPTURES) {
    // Original pacing ×4: the capture's own order and gaps, a few seconds per file.
    const r = spawnSync('ip', ['netns', 'exec', v.ns, 'tcpreplay', '-q', '-x', '4', '-i', v.nsIf, file], { encoding: 'utf8', timeout: 120_000 });
    const ok = /Successful packets:\s+(\d+)/.exec(r.stdout + r.stderr);
    const failed = /Failed packets:\s+(\d+)/.exec(r.stdout + r.stderr);
    t.ok(ok, `tcpreplay ran: ${(r.stdout + r.stderr).slice(-300)}`);
    t.equal(Number(failed?.[1] ?? -1), 0, `${file}: tcpreplay sent every frame`);
    sent += Number(ok?.[1] ?? 0);
  }
  const iface = `interface="${v.hostIf}"`;
  let captured = 0;
  for (let i = 0; i < 100 && captured < sent; i++) {
    captured = metric(await fetchText(url), 'picket_packets_total', iface) ?? 0;
    if (captured < sent) await sleep(100);
  }
  t.equal(captured, sent, `every frame captured (${sent})`);
  t.equal(metric(await fetchText(url), 'picket_drops_total', iface), 0, 'no kernel drops');
  const e = await picket.stop();
  t.equal(e.code, 0);

  const live = readFileSync(flowsPath, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Flow);
  const offline = await inspect(CAPTURES);
  t.ok(offline.length > 100, `${offline.length} flows offline`);
  t.equal(live.length, offline.length, 'same number of flows');
  const a = summary(live);
  const b = summary(offline);
  const diff = [...new Set([...a.keys(), ...b.keys()])].filter((k) => a.get(k) !== b.get(k)).map((k) => `${k}: live ${a.get(k)} offline ${b.get(k)}`);
  t.same(diff.slice(0, 20), [], 'same 5-tuples, packets and bytes each way, same TCP states');
  const sumPkts = (fs: Flow[]): number => fs.reduce((s, f) => s + f.network.packets, 0);
  t.equal(sumPkts(live), sumPkts(offline), 'same packet total');
  // Application metadata comes out the same way too (dissectors run live).
  const apps = (fs: Flow[]): string[] => fs.map((f) => f.network.protocol ?? '').filter((p) => p).sort();
  t.same(apps(live), apps(offline), 'same application protocols recognised');
});
