/**
 * Fuzzes the QUIC dissector with real QUIC flows from the corpora and with random datagrams:
 *  - recoalesce: the long-header packets of real flows regrouped into datagrams at random (split
 *    apart, or merged with their neighbours, as coalescing allows) must give the same SNI, ALPN,
 *    JA4, JA3, version and CIDs as the captured grouping (the UDP counterpart of re-chunking a
 *    TCP stream);
 *  - mutate: bit flips, boundary bytes, inserts, deletes, truncation, datagram drops and swaps in
 *    real flows (encrypted Initials, gQUIC clear text, short headers);
 *  - random: random bytes behind plausible first bytes (long header of every known version,
 *    short header, gQUIC public header) and plain random datagrams.
 * Every case must not throw and must stay within the declared limits (datagrams per flow, CRYPTO
 * buffer, VN list, migrations per connection, CID table size).
 *
 *   npx tsc -p tsconfig.json && node dist/bench/fuzz-quic.js [cases=1000000] [seed=1]
 *
 * The functions are exported for the short version in test/dissect-quic-fuzz.test.ts.
 */
import { pathToFileURL } from 'node:url';
import { Verdict, type DissectContext, type Dissector } from '../agent/dissect/dissector.js';
import type { FlowRecord } from '../agent/flow/flow-record.js';
import { createQuicDissector, QUIC_LIMITS, type QuicDissector, type QuicMeta, type QuicState } from '../agent/dissect/quic/index.js';
import { PacketHeader, parseLongHeader } from '../agent/dissect/quic/header.js';
import { collectRecorded, prng } from './fuzz-common.js';

/** One datagram of a recorded flow. */
export interface Datagram {
  dir: 0 | 1;
  bytes: Uint8Array;
}

export interface RecordedFlow {
  clientPort: number;
  serverPort: number;
  datagrams: Datagram[];
}

const MAX_DATAGRAMS = 48;

/** Records the datagrams of every flow the QUIC probe claims (bounded per flow). */
function recorder(probeWith: QuicDissector): Dissector<Datagram[], RecordedFlow> {
  return {
    name: 'quicrec',
    transports: ['udp'],
    limits: { datagrams: MAX_DATAGRAMS },
    probe: (buf, off, len, dir, ctx) => probeWith.probe(buf, off, len, dir, ctx),
    create: () => [],
    payload(s, dir, buf, off, len) {
      s.push({ dir, bytes: Uint8Array.from(buf.subarray(off, off + len)) });
      return s.length >= MAX_DATAGRAMS ? Verdict.Done : Verdict.More;
    },
    finish: (s, r) => (s.length ? { clientPort: r.client.port, serverPort: r.server.port, datagrams: s } : undefined),
    ecs: () => ({}),
  };
}

/** The datagrams of the QUIC flows of some captures. */
export async function collectFlows(paths: readonly string[], maxFlows = 2000): Promise<RecordedFlow[]> {
  return collectRecorded<RecordedFlow>(paths, recorder(createQuicDissector()), maxFlows);
}

/** The fuzzers' PRNG (tests seed their own cases with it). */
export { prng };

export interface RunResult {
  meta: QuicMeta | undefined;
  counters: Map<string, number>;
  /** payload() calls made while the dissector still wanted more. */
  calls: number;
  /** Largest CRYPTO buffer seen. */
  cryptoCapacity: number;
  threw: string | undefined;
}

let uidSeq = 0;

/** Drives one flow through a dissector the way DissectStage does (probe per direction, then payload). */
export function runFlow(d: QuicDissector, flow: RecordedFlow): RunResult {
  const counters = new Map<string, number>();
  const ctx: DissectContext = {
    flow: { uid: `F${uidSeq++}`, protocol: 17, ipVersion: 4, clientPort: flow.clientPort, serverPort: flow.serverPort },
    count: (k) => counters.set(k, (counters.get(k) ?? 0) + 1),
    emit: () => undefined,
  };
  const res: RunResult = { meta: undefined, counters, calls: 0, cryptoCapacity: 0, threw: undefined };
  let state: QuicState | undefined;
  const probed = [false, false];
  let finished = false;
  try {
    for (const g of flow.datagrams) {
      if (finished) break;
      if (!probed[g.dir]) {
        probed[g.dir] = true;
        if (!state && d.probe(g.bytes, 0, g.bytes.length, g.dir, ctx)) state = d.create(ctx);
      }
      if (!state) continue;
      res.calls++;
      const v = d.payload(state, g.dir, g.bytes, 0, g.bytes.length, 1.7e15 + res.calls * 1000, ctx);
      res.cryptoCapacity = Math.max(res.cryptoCapacity, state.crypto?.capacity ?? 0);
      if (v !== Verdict.More) finished = true;
      if (v === Verdict.Reject) state = undefined;
    }
    if (state) {
      const record = { client: { ip: '10.0.0.1', port: flow.clientPort }, server: { ip: '10.0.0.2', port: flow.serverPort } } as FlowRecord;
      res.meta = d.finish(state, record, ctx);
    }
  } catch (err) {
    res.threw = err instanceof Error ? `${err.message}\n${err.stack ?? ''}` : String(err);
  }
  return res;
}

/** A declared limit the run exceeded, or undefined. */
export function limitViolation(d: QuicDissector, r: RunResult): string | undefined {
  const L = d.limits as typeof QUIC_LIMITS;
  if (r.calls > L.packetsPerFlow + 1) return `datagrams inspected ${r.calls} > ${L.packetsPerFlow}`;
  if (r.cryptoCapacity > L.cryptoBytes) return `CRYPTO buffer ${r.cryptoCapacity} > ${L.cryptoBytes}`;
  if (d.cids.size > L.cidTableEntries) return `CID table ${d.cids.size} > ${L.cidTableEntries}`;
  const m = r.meta;
  if (!m) return undefined;
  if ((m.versionNegotiation?.length ?? 0) > L.vnVersions) return 'VN list';
  if ((m.migrations?.from.length ?? 0) > L.flowsPerConnection) return 'migrations per connection';
  if (m.alpn.length > 32) return 'ALPN entries';
  if ((m.sni?.length ?? 0) > 4 * 255) return 'SNI bytes';
  if ((m.userAgent?.length ?? 0) > L.gquicValueBytes) return 'gQUIC UAID bytes';
  if ((m.close?.reason.length ?? 0) > L.closeReasonBytes) return 'close reason bytes';
  return undefined;
}

/** What must not change when only the datagram grouping changes. */
export function fingerprintOf(m: QuicMeta | undefined): string {
  if (!m) return '-';
  return JSON.stringify([m.version, m.versionName, m.sni, m.alpn, m.ja4, m.ja3, m.userAgent, m.dcid, m.scid, m.serverCid, m.retry]);
}

const header = new PacketHeader();

/** Splits datagrams into their QUIC packets and regroups consecutive same-direction packets at random. */
export function recoalesce(flow: RecordedFlow, rand: () => number): RecordedFlow {
  const packets: Datagram[] = [];
  for (const g of flow.datagrams) {
    let p = 0;
    // Long-header packets carry their length; whatever follows the last one stays with it.
    for (let n = 0; n < 16 && p < g.bytes.length; n++) {
      if ((g.bytes[p]! & 0x80) === 0 || parseLongHeader(g.bytes, p, g.bytes.length, header, 4096) || header.end >= g.bytes.length) {
        packets.push({ dir: g.dir, bytes: g.bytes.subarray(p) });
        p = g.bytes.length;
        break;
      }
      packets.push({ dir: g.dir, bytes: g.bytes.subarray(p, header.end) });
      p = header.end;
    }
  }
  const out: Datagram[] = [];
  for (const pkt of packets) {
    const last = out[out.length - 1];
    // A short header must end its datagram, so only a long-header packet may be followed.
    const canJoin = last && last.dir === pkt.dir && (last.bytes[0]! & 0x80) !== 0 && lastIsLong(last.bytes);
    if (canJoin && rand() < 0.5) out[out.length - 1] = { dir: pkt.dir, bytes: Uint8Array.from(Buffer.concat([last.bytes, pkt.bytes])) };
    else out.push(pkt);
  }
  return { ...flow, datagrams: out };
}

/** True when every packet of the datagram is a complete long-header packet (something may follow). */
function lastIsLong(b: Uint8Array): boolean {
  let p = 0;
  for (let n = 0; n < 16 && p < b.length; n++) {
    if ((b[p]! & 0x80) === 0 || parseLongHeader(b, p, b.length, header, 4096) || header.type === 3 || header.info.layout !== 0) return false;
    p = header.end;
  }
  return p === b.length;
}

function mutateBytes(b: Uint8Array, rand: () => number): Uint8Array {
  const n = b.length;
  const r = rand();
  if (n === 0) return Uint8Array.from([Math.floor(rand() * 256)]);
  if (r < 0.35) {
    const c = Uint8Array.from(b);
    const flips = 1 + Math.floor(rand() * 4);
    // Bias towards the header, where the parsing decisions are.
    for (let i = 0; i < flips; i++) {
      const at = rand() < 0.7 ? Math.floor(rand() * Math.min(n, 64)) : Math.floor(rand() * n);
      c[at] = c[at]! ^ (1 << Math.floor(rand() * 8));
    }
    return c;
  }
  if (r < 0.55) {
    const c = Uint8Array.from(b);
    const at = Math.floor(rand() * Math.min(n, 48));
    c[at] = [0x00, 0xff, 0x7f, 0x80, 0x40, 0x3f, 0x14, 0x15][Math.floor(rand() * 8)]!;
    return c;
  }
  if (r < 0.7) return b.subarray(0, Math.floor(rand() * n));
  if (r < 0.85) {
    const at = Math.floor(rand() * n);
    const ins = Uint8Array.from({ length: 1 + Math.floor(rand() * 8) }, () => Math.floor(rand() * 256));
    return Uint8Array.from(Buffer.concat([b.subarray(0, at), ins, b.subarray(at)]));
  }
  const at = Math.floor(rand() * n);
  return Uint8Array.from(Buffer.concat([b.subarray(0, at), b.subarray(Math.min(n, at + 1 + Math.floor(rand() * 16)))]));
}

function mutateFlow(flow: RecordedFlow, rand: () => number): RecordedFlow {
  const g = flow.datagrams.slice(0, 1 + Math.floor(rand() * Math.min(flow.datagrams.length, 12)));
  const edits = 1 + Math.floor(rand() * 3);
  for (let i = 0; i < edits && g.length > 0; i++) {
    const k = Math.floor(rand() * g.length);
    const r = rand();
    if (r < 0.8) g[k] = { dir: g[k]!.dir, bytes: mutateBytes(g[k]!.bytes, rand) };
    else if (r < 0.9) g.splice(k, 1);
    else if (k + 1 < g.length) [g[k], g[k + 1]] = [g[k + 1]!, g[k]!];
  }
  return { ...flow, datagrams: g };
}

const FIRST_BYTES = [0xc0, 0xc3, 0xd0, 0xe0, 0xf0, 0x80, 0x40, 0x41, 0x5f, 0x08, 0x09, 0x0d, 0x0c, 0x00];
const VERSIONS = [0x00000001, 0x6b3343cf, 0xff00001d, 0xff000017, 0xff000022, 0xfaceb002, 0xfaceb001, 0x51303530, 0x54303530, 0x51303436, 0x51303433, 0x0a0a0a0a, 0, 0x12345678];

function randomDatagram(rand: () => number): Uint8Array {
  const len = Math.floor(rand() * (rand() < 0.3 ? 64 : 1400));
  const b = Uint8Array.from({ length: len }, () => Math.floor(rand() * 256));
  if (len === 0 || rand() < 0.2) return b;
  b[0] = FIRST_BYTES[Math.floor(rand() * FIRST_BYTES.length)]!;
  if (len >= 5 && (b[0]! & 0x80) !== 0) {
    const v = VERSIONS[Math.floor(rand() * VERSIONS.length)]!;
    b[1] = v >>> 24;
    b[2] = (v >> 16) & 0xff;
    b[3] = (v >> 8) & 0xff;
    b[4] = v & 0xff;
    if (len > 6 && rand() < 0.7) b[5] = Math.floor(rand() * 22);
  } else if (len >= 13 && (b[0]! & 0x01) !== 0 && rand() < 0.5) {
    b.set([0x51, 0x30, 0x34, 0x33], 9);
  }
  return b;
}

function randomFlow(rand: () => number): RecordedFlow {
  const n = 1 + Math.floor(rand() * 4);
  const datagrams: Datagram[] = [];
  for (let i = 0; i < n; i++) datagrams.push({ dir: rand() < 0.7 ? 0 : 1, bytes: randomDatagram(rand) });
  return { clientPort: 40000 + Math.floor(rand() * 1000), serverPort: rand() < 0.6 ? 443 : Math.floor(rand() * 65536), datagrams };
}

export interface FuzzReport {
  cases: number;
  byMode: Record<string, number>;
  failures: string[];
  ms: number;
}

/**
 * Runs `cases` cases (45 % mutate, 45 % random, 10 % recoalesce) over `flows`. One dissector with
 * a small CID table serves all mutate/random cases, so the shared table is fuzzed too; recoalesce
 * compares fresh dissectors.
 */
export function fuzz(flows: readonly RecordedFlow[], cases: number, seed: number): FuzzReport {
  const rand = prng(seed);
  const shared = createQuicDissector({ limits: { cidTableEntries: 512 } });
  const report: FuzzReport = { cases: 0, byMode: { mutate: 0, random: 0, recoalesce: 0 }, failures: [], ms: 0 };
  const t0 = performance.now();
  const fail = (what: string): void => {
    if (report.failures.length < 20) report.failures.push(what);
  };
  const baseline = new Map<RecordedFlow, string>();
  for (let i = 0; i < cases; i++) {
    const r = rand();
    const mode = flows.length === 0 || r < 0.45 ? 'random' : r < 0.9 ? 'mutate' : 'recoalesce';
    report.byMode[mode]!++;
    report.cases++;
    if (mode === 'recoalesce') {
      const f = flows[Math.floor(rand() * flows.length)]!;
      let want = baseline.get(f);
      if (want === undefined) {
        want = fingerprintOf(runFlow(createQuicDissector(), f).meta);
        baseline.set(f, want);
      }
      const d = createQuicDissector();
      const res = runFlow(d, recoalesce(f, rand));
      if (res.threw) fail(`recoalesce threw: ${res.threw}`);
      const got = fingerprintOf(res.meta);
      if (got !== want) fail(`recoalesce changed the result: ${want} → ${got}`);
      continue;
    }
    const flow = mode === 'random' ? randomFlow(rand) : mutateFlow(flows[Math.floor(rand() * flows.length)]!, rand);
    const res = runFlow(shared, flow);
    if (res.threw) fail(`${mode} threw: ${res.threw}`);
    const v = limitViolation(shared, res);
    if (v) fail(`${mode} exceeded a limit: ${v}`);
  }
  report.ms = performance.now() - t0;
  return report;
}

/** QUIC captures of the corpora (the nDPI QUIC category, the JA4 QUIC captures and the migration capture). */
export function corpusPaths(shared: string): string[] {
  const n = `${shared}/corpora/ndpi/pcap/`;
  const j = `${shared}/corpora/ja4/pcap/`;
  return [
    ...['doq_adguard.pcapng', 'gquic_only_from_server.pcap', 'quic-23.pcap', 'quic-24.pcap', 'quic-28.pcap', 'quic-29.pcap', 'quic-33.pcapng', 'quic-34.pcap', 'quic-v2.pcapng', 'quic.pcap', 'quic046.pcap', 'quic_0RTT.pcap', 'quic_frags_ch_in_multiple_packets.pcapng', 'quic_frags_ch_out_of_order_same_packet_craziness.pcapng', 'quic_frags_different_dcid.pcapng', 'quic_interop_V.pcapng', 'quic_q39.pcap', 'quic_q43.pcap', 'quic_sh.pcap', 'quic_t50.pcap', 'sites.pcapng', 'telegram.pcap'].map((f) => n + f),
    ...['chrome-cloudflare-quic-with-secrets.pcapng', 'quic-tls-handshake.pcapng', 'quic-with-several-tls-frames.pcapng', 'tls3.pcapng'].map((f) => j + f),
  ];
}

async function main(): Promise<void> {
  const cases = Number(process.argv[2] ?? 1_000_000);
  const seed = Number(process.argv[3] ?? 1);
  // dist/bench/fuzz-quic.js → the repository root is two levels up; shared/ sits beside it.
  const shared = new URL('../../../shared', import.meta.url).pathname;
  const flows = await collectFlows(corpusPaths(shared));
  process.stdout.write(`fuzz-quic: ${flows.length} real QUIC flows, ${cases} cases, seed ${seed}\n`);
  const r = fuzz(flows, cases, seed);
  process.stdout.write(
    `fuzz-quic: ${r.cases} cases (${Object.entries(r.byMode).map(([k, v]) => `${k} ${v}`).join(', ')}) in ${(r.ms / 1000).toFixed(1)} s = ` +
      `${Math.round(r.cases / (r.ms / 1000))} cases/s, ${r.failures.length} failures\n`,
  );
  for (const f of r.failures) process.stdout.write(`  ${f}\n`);
  process.exitCode = r.failures.length ? 1 : 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
