/**
 * Short version of bench/fuzz-tls.ts (which runs ≥ 1 M cases), plus one stream built to hit each
 * declared limit: the dissector never throws, counts the limit, and keeps within it.
 */
import t from 'tap';
import { collectStreams, fuzz, fingerprintOf, runEvents, limitViolation, FUZZ_CAPTURES, type StreamEvent } from '../bench/fuzz-tls.js';
import { TLS_LIMITS } from '../agent/dissect/tls/index.js';

const record = (type: number, body: number[]): number[] => [type, 3, 3, body.length >> 8, body.length & 0xff, ...body];
const u24 = (v: number): number[] => [v >> 16, (v >> 8) & 0xff, v & 0xff];
/** A minimal ClientHello record (so the client side opens like TLS). */
const HELLO = record(22, [1, ...u24(41), 3, 3, ...new Array<number>(32).fill(0), 0, 0, 2, 0, 0x2f, 1, 0]);
const ev = (dir: 0 | 1, b: number[]): StreamEvent => ({ dir, bytes: Uint8Array.from(b) });

t.test('fuzz: rechunked, mutated and random streams', async (t) => {
  const streams = await collectStreams(FUZZ_CAPTURES, 200);
  t.ok(streams.length >= 100, `${streams.length} real TLS flows`);
  // Every byte boundary of the first 600 bytes of each of 12 flows (the hellos live there).
  let diffs = 0;
  let cuts = 0;
  for (const s of streams.slice(0, 12)) {
    const base = fingerprintOf(runEvents(s));
    for (let cut = 1; cut < 600; cut++) {
      cuts++;
      if (fingerprintOf(runEvents(s, (len) => (cut < len ? [cut, len - cut] : [len]))) !== base) diffs++;
    }
  }
  t.equal(diffs, 0, `${cuts} two-piece cuts give the uncut result`);
  const rep = fuzz(streams, 4000, 42);
  t.comment(`${rep.cases} cases in ${rep.ms.toFixed(0)} ms (${Math.round(rep.cases / (rep.ms / 1000))}/s)`);
  t.same(rep.failures, []);
  t.ok(rep.rechunk > 500 && rep.mutated > 1000 && rep.random > 200);
});

t.test('records limit', async (t) => {
  const many: number[] = [...HELLO];
  for (let i = 0; i < TLS_LIMITS.recordsPerDirection + 20; i++) many.push(...record(22, [0]));
  const r = runEvents([ev(0, many)]);
  t.equal(r.counters['limit.records'], 1);
  t.equal(r.state?.streams[0].records, TLS_LIMITS.recordsPerDirection);
  t.equal(limitViolation(r), undefined);
});

t.test('bytes-inspected limit', async (t) => {
  const chunk = record(23, new Array<number>(16000).fill(1));
  const events = [ev(0, HELLO)];
  for (let i = 0; i < 20; i++) events.push(ev(1, chunk));
  const r = runEvents(events);
  t.equal(r.counters['limit.bytes_inspected'], 1);
  t.equal(r.state?.streams[1].bytes, TLS_LIMITS.bytesPerDirection);
});

t.test('handshake message size limit: a huge Certificate is skipped, not buffered', async (t) => {
  const n = TLS_LIMITS.maxHandshakeMessage + 10;
  const msg = [11, ...u24(n), ...new Array<number>(n).fill(0)];
  const server: number[] = [];
  for (let i = 0; i < msg.length; i += 16000) server.push(...record(22, msg.slice(i, i + 16000)));
  server.push(...record(21, [2, 40]));
  const r = runEvents([ev(0, HELLO), ev(1, server)]);
  t.equal(r.counters['limit.handshake_message_size'], 1);
  t.same(r.meta?.serverCertificates, []);
  t.same(r.meta?.alerts, [{ from: 'server', level: 'fatal', description: 'handshake_failure', code: 40, encrypted: false }], 'parsing goes on after it');
});

t.test('certificate count and alert count limits', async (t) => {
  const certs: number[] = [];
  for (let i = 0; i < TLS_LIMITS.maxCertificates + 3; i++) certs.push(...u24(4), 0x30, 0x02, 0x05, 0x00);
  const server = record(22, [11, ...u24(certs.length + 3), ...u24(certs.length), ...certs]);
  const alerts: number[] = [];
  for (let i = 0; i < TLS_LIMITS.maxAlerts + 5; i++) alerts.push(...record(21, [1, 0]));
  const r = runEvents([ev(0, HELLO), ev(1, [...server, ...alerts])]);
  t.equal(r.counters['limit.certificates'], 1);
  t.equal(r.counters['limit.alerts'], 5);
  t.equal(r.meta?.alerts.length, TLS_LIMITS.maxAlerts);
  t.ok((r.counters['malformed.x509.tbs'] ?? 0) >= 1, 'the fake certificates are counted as malformed');
});

t.test('handshake message count limit and malformed records', async (t) => {
  const many: number[] = [];
  for (let i = 0; i < TLS_LIMITS.handshakeMessagesPerDirection + 5; i++) many.push(14, 0, 0, 0); // ServerHelloDone
  const r = runEvents([ev(0, HELLO), ev(1, record(22, many))]);
  t.equal(r.counters['limit.handshake_messages'], 1);
  const bad = runEvents([ev(0, [...HELLO, 0x99, 3, 3, 0, 1, 0])]);
  t.equal(bad.counters['malformed.record_header'], 1);
  const long = runEvents([ev(0, [...HELLO, 23, 3, 3, 0xff, 0xff])]);
  t.equal(long.counters['malformed.record_length'], 1);
  // A first segment that only looked like TLS: the flow is given up.
  const rej = runEvents([ev(0, [0x16, 3, 1, 0xff, 0xff, 1])]);
  t.equal(rej.meta, undefined);
});

t.test('a capture gap stops the direction', async (t) => {
  const r = runEvents([ev(0, HELLO), { dir: 1, bytes: new Uint8Array(0), gap: true }, ev(1, record(21, [2, 40]))]);
  t.equal(r.counters['gap'], 1);
  t.same(r.meta?.alerts, [], 'bytes after the hole are not parsed');
  t.ok(r.meta?.ja4);
});
