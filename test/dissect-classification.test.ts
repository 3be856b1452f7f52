import t from 'tap';
import { readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { readNdpiOut, type NdpiFlow } from './helpers/ndpi-out.js';
import { runCapture } from './helpers/run-capture.js';
import { ipToBytes } from '../agent/flow/community-id.js';

/**
 * Protocol classification against nDPI 4.11's per-flow results for every capture in the nDPI
 * corpus: for the protocols Picket dissects, among flows nDPI classified by payload (Confidence:
 * DPI), how many Picket labels the same. Prints the confusion table.
 */
const PCAPS = '../shared/corpora/ndpi/pcap';
const RESULTS = '../shared/corpora/ndpi/result';

/** nDPI master protocol → Picket's network.protocol. */
const MAP: Record<string, string[]> = {
  TLS: ['tls'],
  QUIC: ['quic'],
  DNS: ['dns'],
  HTTP: ['http', 'websocket'],
  SSH: ['ssh'],
  WebSocket: ['websocket'],
  RDP: ['rdp'],
  VNC: ['vnc'],
};

function norm(ip: string): string {
  const b = ipToBytes(ip);
  return b ? [...b].join('.') : ip;
}

function key(transport: string, a: { ip: string; port: number }, b: { ip: string; port: number }): string {
  const x = `${norm(a.ip)}|${a.port}`;
  const y = `${norm(b.ip)}|${b.port}`;
  return `${transport.toLowerCase()}|${x < y ? `${x}|${y}` : `${y}|${x}`}`;
}

t.test('network.protocol agrees with nDPI for ≥ 95 % of flows of the dissected protocols', async (t) => {
  const confusion = new Map<string, Map<string, number>>();
  const agree = new Map<string, number>();
  const total = new Map<string, number>();
  let captures = 0;
  for (const name of readdirSync(PCAPS).sort()) {
    const out = join(RESULTS, `${name}.out`);
    if (!existsSync(out)) continue;
    const ndpi = readNdpiOut(out).filter((f: NdpiFlow) => /\[Confidence: DPI/.test(f.raw) && MAP[f.master]);
    if (ndpi.length === 0) continue;
    captures++;
    const run = await runCapture(join(PCAPS, name));
    // A 5-tuple can recur (port reuse): keep every protocol we gave it.
    const ours = new Map<string, Set<string>>();
    for (const r of run.records) {
      const k = key(r.transport, r.client, r.server);
      const set = ours.get(k) ?? new Set<string>();
      set.add(r.appProtocol ?? 'unknown');
      ours.set(k, set);
    }
    for (const f of ndpi) {
      const want = MAP[f.master]!;
      const got = ours.get(key(f.transport, f.a, f.b)) ?? new Set(['(no flow)']);
      const hit = want.find((w) => got.has(w));
      const label = hit ?? [...got].join('+');
      total.set(f.master, (total.get(f.master) ?? 0) + 1);
      if (hit) agree.set(f.master, (agree.get(f.master) ?? 0) + 1);
      const row = confusion.get(f.master) ?? new Map<string, number>();
      row.set(label, (row.get(label) ?? 0) + 1);
      confusion.set(f.master, row);
    }
  }
  const lines = ['nDPI (DPI) → Picket network.protocol'];
  for (const [master, row] of [...confusion].sort()) {
    const n = total.get(master)!;
    const ok = agree.get(master) ?? 0;
    lines.push(`${master.padEnd(10)} ${String(ok).padStart(5)}/${String(n).padEnd(5)} ${((100 * ok) / n).toFixed(1).padStart(5)} %  ${[...row].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k}:${v}`).join(' ')}`);
  }
  t.comment(`${captures} captures\n` + lines.join('\n'));
  for (const [master, n] of total) {
    if (n < 5) continue; // too few flows to state a rate
    const ok = agree.get(master) ?? 0;
    t.ok(ok / n >= 0.95, `${master}: ${ok}/${n} agree`);
  }
  t.ok((total.get('TLS') ?? 0) > 300 && (total.get('DNS') ?? 0) > 200 && (total.get('HTTP') ?? 0) > 100, 'the corpus has the protocols in number');
});
