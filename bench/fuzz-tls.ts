/**
 * Fuzzes the TLS dissector (record layer, handshake reassembly, ClientHello/ServerHello, X.509,
 * tunnels) with real TLS streams from the corpora:
 *  - rechunk: the same stream cut at random points (and byte by byte) must give the same metadata
 *    and counters as the uncut stream;
 *  - mutate: bit flips, boundary bytes, inserts, deletes, truncation in real payloads;
 *  - random: random bytes, half of them behind a plausible record + handshake header.
 * Every case must not throw and must stay within the declared limits.
 *
 *   npx tsc -p tsconfig.json && node dist/bench/fuzz-tls.js [cases=1000000] [seed=1]
 *   node dist/bench/fuzz-tls.js cost FILE.pcap…     (CPU cost of the dissector on captures)
 *
 * The functions are exported for the short version in test/dissect-tls-fuzz.test.ts.
 */
import { pathToFileURL } from 'node:url';
import { Verdict, type DissectContext, type Dissector } from '../agent/dissect/dissector.js';
import type { FlowRecord } from '../agent/flow/flow-record.js';
import { TLS_LIMITS, tlsDissector, type TlsMeta, type TlsState } from '../agent/dissect/tls/index.js';
import { CLIENT_HELLO_LIMITS } from '../agent/dissect/tls/client-hello.js';
import { collectRecorded, insertBytes, prng } from './fuzz-common.js';

/** One payload delivery (or a capture gap) of a recorded flow. */
export interface StreamEvent {
  dir: 0 | 1;
  bytes: Uint8Array;
  gap?: boolean;
}

const MAX_RECORDED = 96 * 1024;

/** Records the ordered payload of every flow the TLS probe claims (bounded per flow). */
function recorder(): Dissector<{ events: StreamEvent[]; size: number }, StreamEvent[]> {
  return {
    name: 'tlsrec',
    transports: ['tcp'],
    limits: { bytes: MAX_RECORDED },
    probe: (buf, off, len, dir, ctx) => tlsDissector.probe(buf, off, len, dir, ctx),
    create: () => ({ events: [], size: 0 }),
    payload(s, dir, buf, off, len) {
      const n = Math.min(len, MAX_RECORDED - s.size);
      // A copy: buf may be a Buffer, whose slice() is a view into memory the reader reuses.
      if (n > 0) s.events.push({ dir, bytes: Uint8Array.from(buf.subarray(off, off + n)) });
      s.size += n;
      return s.size >= MAX_RECORDED ? Verdict.Done : Verdict.More;
    },
    gap(s, dir) {
      s.events.push({ dir, bytes: new Uint8Array(0), gap: true });
      return Verdict.More;
    },
    finish: (s) => (s.events.length ? s.events : undefined),
    ecs: () => ({}),
  };
}

/** Ordered payload events of the TLS-claimed flows of some captures. */
export async function collectStreams(paths: readonly string[], maxFlows = 2000): Promise<StreamEvent[][]> {
  return collectRecorded<StreamEvent[]>(paths, recorder(), maxFlows);
}

/** The fuzzers' PRNG (tests seed their own cases with it). */
export { prng };

export interface RunResult {
  meta: TlsMeta | undefined;
  counters: Record<string, number>;
  state: TlsState | undefined;
  verdict: Verdict;
}

/** Cuts a payload into pieces: returns the piece lengths. */
export type Splitter = (len: number) => number[];

export const noSplit: Splitter = (len) => [len];

export function randomSplit(rand: () => number, maxPieces = 8): Splitter {
  return (len) => {
    if (len <= 1) return [len];
    const cuts = new Set<number>();
    const n = Math.floor(rand() * maxPieces);
    for (let i = 0; i < n; i++) cuts.add(1 + Math.floor(rand() * (len - 1)));
    const sorted = [...cuts].sort((a, b) => a - b);
    const pieces: number[] = [];
    let prev = 0;
    for (const c of sorted) {
      pieces.push(c - prev);
      prev = c;
    }
    pieces.push(len - prev);
    return pieces;
  };
}

export const byteByByte: Splitter = (len) => Array<number>(len).fill(1);

/**
 * Feeds recorded events to a fresh TLS state the way DissectStage does (probe on the first
 * payload, stop on Done/Reject). probe() sees the whole first payload (protocol detection looks at
 * a first segment by design); payload() then gets the cut pieces.
 */
export function runEvents(events: readonly StreamEvent[], split: Splitter = noSplit, startUs = 1_700_000_000_000_000): RunResult {
  const counters: Record<string, number> = {};
  const ctx: DissectContext = {
    flow: { uid: 'F', protocol: 6, ipVersion: 4, clientPort: 50000, serverPort: 443 },
    count: (k) => {
      counters[k] = (counters[k] ?? 0) + 1;
    },
    emit: () => undefined,
  };
  let state: TlsState | undefined;
  const seen = [false, false];
  let verdict: Verdict = Verdict.More;
  let ts = startUs;
  for (const ev of events) {
    ts += 1000;
    if (ev.gap) {
      if (state) verdict = tlsDissector.gap!(state, ev.dir, ctx);
      if (verdict !== Verdict.More) break;
      continue;
    }
    const first = !seen[ev.dir];
    seen[ev.dir] = true;
    if (!state) {
      if (!first || !tlsDissector.probe(ev.bytes, 0, ev.bytes.length, ev.dir, ctx)) continue;
      state = tlsDissector.create(ctx);
    }
    const pieces = split(ev.bytes.length);
    let off = 0;
    for (const n of pieces) {
      verdict = tlsDissector.payload(state, ev.dir, ev.bytes, off, n, ts, ctx);
      off += n;
      if (verdict !== Verdict.More) break;
    }
    if (verdict !== Verdict.More) break;
  }
  const meta = state && verdict !== Verdict.Reject ? tlsDissector.finish(state, {} as FlowRecord, ctx) : undefined;
  return { meta, counters, state, verdict };
}

/** The declared limit a run exceeded, if any. */
export function limitViolation(r: RunResult): string | undefined {
  const s = r.state;
  if (!s) return undefined;
  for (const st of s.streams) {
    if (st.bytes > TLS_LIMITS.bytesPerDirection) return `bytes ${st.bytes}`;
    if (st.records > TLS_LIMITS.recordsPerDirection) return `records ${st.records}`;
    if (st.handshakeMessages > TLS_LIMITS.handshakeMessagesPerDirection + 1) return `handshake messages ${st.handshakeMessages}`;
  }
  const m = r.meta;
  if (!m) return undefined;
  if (m.alerts.length > TLS_LIMITS.maxAlerts) return `alerts ${m.alerts.length}`;
  if (m.serverCertificates.length > TLS_LIMITS.maxCertificates) return `certificates ${m.serverCertificates.length}`;
  if (m.supportedCiphers.length > CLIENT_HELLO_LIMITS.maxCipherSuites) return 'cipher suites';
  if (m.extensions.length > CLIENT_HELLO_LIMITS.maxExtensions) return 'extensions';
  if (m.alpn.length > CLIENT_HELLO_LIMITS.maxAlpn) return 'alpn';
  if ((m.sni?.length ?? 0) > CLIENT_HELLO_LIMITS.maxSniBytes * 4) return 'sni';
  for (const l of [m.groups, m.signatureAlgorithms, m.supportedVersions, m.ecPointFormats]) {
    if (l.length > CLIENT_HELLO_LIMITS.maxListEntries) return 'list';
  }
  return undefined;
}

/** A stable text of what a run produced, to compare runs. */
export function fingerprintOf(r: RunResult): string {
  return JSON.stringify({ meta: r.meta, counters: Object.entries(r.counters).sort() });
}

function mutate(events: readonly StreamEvent[], rand: () => number): StreamEvent[] {
  const out = events.map((e) => ({ ...e }));
  const idx = out.findIndex((e) => !e.gap && e.bytes.length > 0);
  if (idx < 0) return out;
  // Prefer the early events: that is where the handshake lives.
  let i = idx + Math.floor(rand() * rand() * (out.length - idx));
  if (out[i]!.gap || out[i]!.bytes.length === 0) i = idx;
  const ev = out[i]!;
  let b: Uint8Array = Uint8Array.from(ev.bytes);
  const kind = Math.floor(rand() * 6);
  const at = Math.floor(rand() * b.length);
  switch (kind) {
    case 0: // bit flips
      for (let k = 1 + Math.floor(rand() * 8); k > 0; k--) {
        const p = Math.floor(rand() * b.length);
        b[p] = b[p]! ^ (1 << Math.floor(rand() * 8));
      }
      break;
    case 1: // boundary values
      b[at] = [0, 0xff, 0x7f, 0x80, 1, 0x16, 0x03][Math.floor(rand() * 7)]!;
      break;
    case 2: {
      // insert random bytes
      b = insertBytes(b, at, new Uint8Array(1 + Math.floor(rand() * 16)).map(() => Math.floor(rand() * 256)));
      break;
    }
    case 3: // delete a range
      b = Uint8Array.from([...b.subarray(0, at), ...b.subarray(Math.min(b.length, at + 1 + Math.floor(rand() * 32)))]);
      break;
    case 4: // truncate
      b = b.subarray(0, at);
      break;
    default: // two length bytes set large (record/handshake/extension lengths)
      if (b.length > at + 1) {
        b[at] = 0xff;
        b[at + 1] = Math.floor(rand() * 256);
      }
  }
  out[i] = { dir: ev.dir, bytes: b };
  return out;
}

function randomEvents(rand: () => number): StreamEvent[] {
  const n = 1 + Math.floor(rand() * 4);
  const out: StreamEvent[] = [];
  for (let i = 0; i < n; i++) {
    const len = Math.floor(rand() * 1500);
    const b = new Uint8Array(len).map(() => Math.floor(rand() * 256));
    if (i === 0 && rand() < 0.5 && len >= 9) {
      // A plausible record + handshake header so the random part reaches the parsers.
      const rl = Math.min(len - 5, 16384);
      b.set([0x16, 3, 1 + Math.floor(rand() * 3), rl >> 8, rl & 0xff, 1, 0, (rl - 4) >> 8, (rl - 4) & 0xff]);
    }
    out.push({ dir: (i % 2) as 0 | 1, bytes: b });
  }
  return out;
}

/** Which top-level fields of two fingerprints differ (for failure messages). */
function diffKeys(a: string, b: string): string {
  const A = JSON.parse(a) as { meta?: Record<string, unknown>; counters: unknown };
  const B = JSON.parse(b) as { meta?: Record<string, unknown>; counters: unknown };
  const keys = new Set([...Object.keys(A.meta ?? {}), ...Object.keys(B.meta ?? {})]);
  const d = [...keys].filter((k) => JSON.stringify(A.meta?.[k]) !== JSON.stringify(B.meta?.[k]));
  if (JSON.stringify(A.counters) !== JSON.stringify(B.counters)) d.push(`counters ${JSON.stringify(A.counters)} vs ${JSON.stringify(B.counters)}`);
  return d.join(', ').slice(0, 300);
}

export interface FuzzReport {
  cases: number;
  rechunk: number;
  mutated: number;
  random: number;
  failures: string[];
  ms: number;
}

/** Runs `cases` fuzz cases over `streams`. Failures: throws, limit violations, rechunk differences. */
export function fuzz(streams: readonly StreamEvent[][], cases: number, seed = 1, maxFailures = 20): FuzzReport {
  const rand = prng(seed);
  const rep: FuzzReport = { cases: 0, rechunk: 0, mutated: 0, random: 0, failures: [], ms: 0 };
  const baseline = streams.map((s) => fingerprintOf(runEvents(s)));
  const t0 = performance.now();
  for (let c = 0; c < cases && rep.failures.length < maxFailures; c++) {
    const pick = Math.floor(rand() * streams.length);
    const roll = rand();
    let kind: string;
    try {
      if (roll < 0.3 && streams.length) {
        kind = 'rechunk';
        rep.rechunk++;
        const r = runEvents(streams[pick]!, rand() < 0.02 ? byteByByte : randomSplit(rand));
        const v = limitViolation(r);
        if (v) rep.failures.push(`rechunk flow ${pick}: limit ${v}`);
        else if (fingerprintOf(r) !== baseline[pick]) rep.failures.push(`rechunk flow ${pick}: result differs from the uncut stream: ${diffKeys(baseline[pick]!, fingerprintOf(r))}`);
      } else if (roll < 0.85 && streams.length) {
        kind = 'mutate';
        rep.mutated++;
        const r = runEvents(mutate(streams[pick]!, rand), randomSplit(rand, 3));
        const v = limitViolation(r);
        if (v) rep.failures.push(`mutated flow ${pick}: limit ${v}`);
      } else {
        kind = 'random';
        rep.random++;
        const r = runEvents(randomEvents(rand));
        const v = limitViolation(r);
        if (v) rep.failures.push(`random: limit ${v}`);
      }
    } catch (err) {
      rep.failures.push(`case ${c}: threw ${String((err as Error)?.stack ?? err)}`);
    }
    rep.cases++;
  }
  rep.ms = performance.now() - t0;
  return rep;
}

/** Captures with TLS (relative to the project root). */
export const FUZZ_CAPTURES = [
  '../shared/corpora/ja4/pcap/tls-handshake.pcapng',
  '../shared/corpora/ja4/pcap/browsers-x509.pcapng',
  '../shared/corpora/ja4/pcap/tls12.pcap',
  '../shared/corpora/ja4/pcap/tls3.pcapng',
  '../shared/corpora/ja4/pcap/https-connect.pcap',
  '../shared/corpora/ja4/pcap/socks-https-example.pcap',
  '../shared/corpora/ja4/pcap/badcurveball.pcap',
  '../shared/corpora/ndpi/pcap/443-git.pcap',
  '../shared/corpora/ndpi/pcap/tls-rdn-extract.pcap',
  '../shared/corpora/ndpi/pcap/pop3_stls.pcap',
  '../shared/corpora/ndpi/pcap/ftp-start-tls.pcap',
  '../shared/corpora/ndpi/pcap/webex.pcap',
  '../shared/corpora/ndpi/pcap/forticlient.pcap',
  '../shared/corpora/ndpi/pcap/anydesk.pcapng',
];

/**
 * CPU cost of the TLS dissector on captures: the pipeline without dissectors vs with TLS only
 * (best of `reps`), and DissectStage's own per-dissector timer.
 */
async function cost(paths: readonly string[], reps = 3): Promise<void> {
  const { FileSource } = await import('../agent/source/file-source.js');
  const { PacketPipeline } = await import('../agent/pipeline/packet-pipeline.js');
  const { DissectStage } = await import('../agent/dissect/dissect-stage.js');
  const once = async (dissectors: Dissector[], timing: boolean) => {
    const stage = new DissectStage({ dissectors });
    stage.timing = timing;
    let flows = 0;
    let tls = 0;
    const pipeline = new PacketPipeline({
      observer: stage,
      onRecord: (r) => {
        flows++;
        if (r.app['tls']) tls++;
      },
    });
    const t0 = performance.now();
    const stats = await new FileSource(paths).run(pipeline);
    pipeline.finish();
    return { ms: performance.now() - t0, packets: stats.packets, flows, tls, tlsMs: stage.timeMs.get('tls') ?? 0 };
  };
  let base = Infinity;
  let withTls = Infinity;
  let last = await once([tlsDissector as Dissector], true);
  for (let i = 0; i < reps; i++) {
    base = Math.min(base, (await once([], false)).ms);
    withTls = Math.min(withTls, (await once([tlsDissector as Dissector], false)).ms);
  }
  last = await once([tlsDissector as Dissector], true);
  console.log(`${paths.length} captures, ${last.packets} packets, ${last.flows} flows, ${last.tls} with TLS metadata`);
  console.log(`pipeline without dissectors: ${base.toFixed(0)} ms (${Math.round(last.packets / (base / 1000))} packets/s)`);
  console.log(`pipeline with TLS:           ${withTls.toFixed(0)} ms (${Math.round(last.packets / (withTls / 1000))} packets/s)`);
  console.log(`TLS dissector time (DissectStage timer): ${last.tlsMs.toFixed(1)} ms = ${((last.tlsMs * 1000) / Math.max(1, last.tls)).toFixed(1)} µs per TLS flow`);
}

async function main(): Promise<void> {
  if (process.argv[2] === 'cost') {
    await cost(process.argv.slice(3));
    return;
  }
  const cases = Number(process.argv[2] ?? 1_000_000);
  const seed = Number(process.argv[3] ?? 1);
  const streams = await collectStreams(FUZZ_CAPTURES);
  console.log(`streams: ${streams.length} flows from ${FUZZ_CAPTURES.length} captures`);
  // Every byte boundary: each flow's first segment after the probe, cut into two at every offset.
  let boundary = 0;
  const failures: string[] = [];
  for (let i = 0; i < streams.length; i++) {
    const base = fingerprintOf(runEvents(streams[i]!));
    const maxLen = Math.max(...streams[i]!.map((e) => e.bytes.length));
    for (let cut = 1; cut < Math.min(maxLen, 2048); cut++) {
      const r = runEvents(streams[i]!, (len) => (cut < len ? [cut, len - cut] : [len]));
      boundary++;
      if (fingerprintOf(r) !== base && failures.length < 20) failures.push(`flow ${i}: cut at ${cut} differs`);
    }
  }
  console.log(`every-boundary cuts: ${boundary} cases, ${failures.length} differences`);
  const rep = fuzz(streams, cases, seed);
  console.log(
    `fuzz: ${rep.cases} cases (rechunk ${rep.rechunk}, mutated ${rep.mutated}, random ${rep.random}) in ${(rep.ms / 1000).toFixed(1)} s = ${Math.round(rep.cases / (rep.ms / 1000))} cases/s, failures: ${rep.failures.length}`,
  );
  for (const f of [...failures, ...rep.failures]) console.log(`  ${f}`);
  if (failures.length || rep.failures.length) process.exitCode = 1;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
