/**
 * Child process for test/live-source.test.ts (not a test): starts a LiveSource on argv[2] and
 * prints one JSON line with the outcome, so a test can run it as an unprivileged user.
 */
import { LiveSource } from '../agent/source/live/live-source.js';

const iface = process.argv[2] ?? 'lo';
const src = new LiveSource({ interfaces: [iface], logger: { info: () => {}, warn: () => {} } });
const ac = new AbortController();
const timer = setTimeout(() => ac.abort(), 300);
src.run({ packet: () => {} }, ac.signal).then(
  () => console.log(JSON.stringify({ ok: true })),
  (e: unknown) => {
    clearTimeout(timer);
    const err = e as { name?: string; kind?: string; message?: string };
    console.log(JSON.stringify({ ok: false, name: err.name, kind: err.kind, message: err.message }));
  },
);
