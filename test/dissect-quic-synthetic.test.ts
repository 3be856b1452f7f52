/**
 * QUIC cases no public capture holds, built packet by packet (test/helpers/quic-packets.ts) and
 * run through the real pipeline: Retry then a re-sent Initial, Version Negotiation, CRYPTO frames
 * out of order across coalesced packets, versions without captures (mvfst, drafts, Q050), limits,
 * and traffic that must not be taken for QUIC.
 */
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { writePcap, type FrameAt } from './helpers/pcap-writer.js';
import { udpFrame } from './helpers/frames.js';
import { runCapture } from './helpers/run-capture.js';
import { clientHello, concat, cryptoFrame, hexBytes, longPacket, retryPacket, shortPacket, vnPacket } from './helpers/quic-packets.js';
import { createQuicDissector, type QuicDissectorOptions, type QuicMeta } from '../agent/dissect/quic/index.js';

const dir = mkdtempSync(`${tmpdir()}/quic-syn-`);
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

const C = { ip: '10.3.0.1', port: 50000 };
const S = { ip: '10.3.0.2', port: 443 };
let seq = 0;

interface Dgram {
  from: 'c' | 's';
  payload: Uint8Array;
  client?: { ip: string; port: number };
  /** Seconds since the first packet. */
  at?: number;
}

async function run(name: string, dgrams: Dgram[], opts: QuicDissectorOptions = {}) {
  const frames: FrameAt[] = dgrams.map((d, i) => {
    const c = d.client ?? C;
    const f = d.from === 'c'
      ? udpFrame({ src: c.ip, dst: S.ip, sport: c.port, dport: S.port, payload: d.payload })
      : udpFrame({ src: S.ip, dst: c.ip, sport: S.port, dport: c.port, payload: d.payload });
    return { tsUs: 1.7e15 + (d.at ?? i * 0.001) * 1e6, frame: f };
  });
  const path = `${dir}/${name}-${seq++}.pcap`;
  writePcap(path, frames);
  const d = createQuicDissector(opts);
  const r = await runCapture(path, { dissectors: [d] });
  // Records in flow start order (export order at end of input is not).
  const records = r.records.slice().sort((x, y) => x.startUs - y.startUs);
  const metas = records.map((x) => x.app.quic as QuicMeta | undefined);
  return { ...r, records, metas, d };
}

const DCID = hexBytes('0011223344556677');
const SCID_C = hexBytes('c0c1c2c3');
const SCID_S = hexBytes('5a5b5c5d5e5f6061');
const RETRY_SCID = hexBytes('7172737475767778797a');

t.test('Retry, re-sent Initial, CRYPTO out of order over coalesced packets, 0-RTT', async (t) => {
  const ch = clientHello({ sni: 'retry.example', alpn: ['h3', 'h3-29'], padTo: 1500 });
  const half = 700;
  const first = longPacket({ version: 1, type: 'initial', dcid: DCID, scid: SCID_C, payload: concat(cryptoFrame(0, ch.subarray(0, half)), new Uint8Array(400)) });
  const retry = retryPacket(1, SCID_C, RETRY_SCID, hexBytes('deadbeef'));
  // After the Retry: the second half first (alone), then the first half coalesced with a 0-RTT packet.
  const part2 = longPacket({ version: 1, type: 'initial', dcid: RETRY_SCID, scid: SCID_C, token: hexBytes('deadbeef'), pn: 1, payload: cryptoFrame(half, ch.subarray(half)) });
  const part1 = longPacket({ version: 1, type: 'initial', dcid: RETRY_SCID, scid: SCID_C, token: hexBytes('deadbeef'), pn: 2, payload: cryptoFrame(0, ch.subarray(0, half)) });
  const zeroRtt = longPacket({ version: 1, type: '0rtt', dcid: RETRY_SCID, scid: SCID_C, payload: new Uint8Array(40).fill(9), plain: true });
  const serverInitial = longPacket({ version: 1, type: 'initial', dcid: SCID_C, scid: SCID_S, payload: new Uint8Array(30), plain: true });
  const r = await run('retry', [
    { from: 'c', payload: first },
    { from: 's', payload: retry },
    { from: 'c', payload: part2 },
    { from: 'c', payload: concat(part1, zeroRtt) },
    { from: 's', payload: serverInitial },
    { from: 'c', payload: shortPacket(SCID_S, 40) },
  ]);
  const m = r.metas[0]!;
  t.ok(m);
  t.equal(m.sni, 'retry.example');
  t.same(m.alpn, ['h3', 'h3-29']);
  t.match(m.ja4, /^q13d\d{4}h3_/);
  t.equal(m.retry, 1);
  t.equal(m.retryFollowed, true);
  t.equal(m.zeroRtt, 1);
  t.equal(m.coalesced, 1);
  t.equal(m.initialPackets, 3);
  t.equal(m.dcid, '0011223344556677');
  t.equal(m.scid, 'c0c1c2c3');
  t.equal(m.serverCid, '5a5b5c5d5e5f6061');
  t.equal(m.versionName, 'v1');
  t.equal(m.clientHelloBytes, ch.length - 4);
  t.ok(r.events.some((e) => e.type === 'quic.retry'));
  const hello = r.events.filter((e) => e.type === 'quic.client_hello');
  t.equal(hello.length, 1, 'one client_hello event');
  t.match(hello[0]?.data, { sni: 'retry.example', version: '0x00000001', alpn: ['h3', 'h3-29'] });
});

t.test('Version Negotiation: first version kept, the new one reported', async (t) => {
  const ch = clientHello({ sni: 'vn.example', alpn: ['h3'] });
  const r = await run('vn', [
    { from: 'c', payload: longPacket({ version: 0xff00001d, type: 'initial', dcid: DCID, scid: SCID_C, payload: concat(cryptoFrame(0, ch), new Uint8Array(900)) }) },
    { from: 's', payload: vnPacket(SCID_C, DCID, [0x6b3343cf, 0x00000001, 0x1a2a3a4a]) },
    { from: 'c', payload: longPacket({ version: 1, type: 'initial', dcid: DCID, scid: SCID_C, payload: concat(cryptoFrame(0, ch), new Uint8Array(900)) }) },
  ]);
  const m = r.metas[0]!;
  t.equal(m.version, '0xff00001d');
  t.equal(m.versionName, 'draft-29');
  t.equal(m.finalVersion, '0x00000001');
  t.same(m.versionNegotiation, ['0x6b3343cf', '0x00000001', '0x1a2a3a4a']);
  t.equal(m.sni, 'vn.example');
});

t.test('versions without public captures decrypt end to end', async (t) => {
  for (const v of [0xfaceb001, 0xfaceb002, 0xfaceb003, 0xfaceb00e, 0xff000017, 0xff00001c, 0xff000020, 0xff000021, 0x6b3343cf, 0x54303531]) {
    const ch = clientHello({ sni: `v${v.toString(16)}.example`, alpn: ['h3'] });
    const payload = v === 0x54303531 ? Uint8Array.from([0x08, 0, 0x40 | (ch.length >> 8), ch.length & 0xff, ...ch]) : cryptoFrame(0, ch);
    const r = await run('ver', [{ from: 'c', payload: longPacket({ version: v, type: 'initial', dcid: DCID, scid: SCID_C, payload }) }]);
    t.equal(r.metas[0]?.sni, `v${v.toString(16)}.example`, `0x${v.toString(16)} decrypts`);
    t.equal(r.metas[0]?.packetsDecrypted, 1);
  }
  // Q050: a gQUIC CHLO inside encrypted CRYPTO frames (gQUIC frame numbering).
  const chlo = Uint8Array.from([...Buffer.from('CHLO'), 2, 0, 0, 0, ...Buffer.from('SNI\0'), 11, 0, 0, 0, ...Buffer.from('UAID'), 17, 0, 0, 0, ...Buffer.from('q50.example'), ...Buffer.from('Chrome'), 0]);
  const q50 = await run('q50', [{ from: 'c', payload: longPacket({ version: 0x51303530, type: 'initial', dcid: DCID, scid: hexBytes(''), payload: Uint8Array.from([0x08, 0, chlo.length, ...chlo, 0, 0]) }) }]);
  t.equal(q50.metas[0]?.versionName, 'Q050');
  t.equal(q50.metas[0]?.sni, 'q50.example');
  t.equal(q50.metas[0]?.userAgent, 'Chrome');
});

t.test('migration: the server CID on a new 5-tuple links the flows', async (t) => {
  const ch = clientHello({ sni: 'move.example', alpn: ['h3'] });
  const moved = { ip: '10.3.9.9', port: 61000 };
  const base: Dgram[] = [
    { from: 'c', payload: longPacket({ version: 1, type: 'initial', dcid: DCID, scid: hexBytes(''), payload: concat(cryptoFrame(0, ch), new Uint8Array(900)) }) },
    { from: 's', payload: longPacket({ version: 1, type: 'handshake', dcid: hexBytes(''), scid: SCID_S, payload: new Uint8Array(50), plain: true }) },
    { from: 'c', payload: shortPacket(SCID_S, 30, 1) },
  ];
  const r = await run('mig', [...base, { from: 'c', payload: shortPacket(SCID_S, 30, 2), client: moved }, { from: 's', payload: shortPacket(hexBytes(''), 30, 3), client: moved }]);
  t.equal(r.records.length, 2);
  const [a, b] = r.metas;
  t.equal(b?.detection, 'migration');
  t.equal(b?.migrations?.count, 1);
  t.same(b?.migrations?.from[0], { uid: r.records[0]!.uid, clientPort: 50000, serverPort: 443, clientIp: '10.3.0.1', serverIp: '10.3.0.2' });
  t.equal(b?.sni, 'move.example', 'the connection SNI is carried over');
  t.equal(b?.versionName, 'v1');
  t.same(a?.migratedTo, [r.records[1]!.uid]);
  t.ok(r.events.some((e) => e.type === 'quic.migration' && e.flowUid === r.records[1]!.uid));
  // Greased fixed bit (RFC 9287) on the new path still links.
  const greased = shortPacket(SCID_S, 30, 4);
  greased[0] = greased[0]! & ~0x40;
  const g = await run('mig-grease', [...base, { from: 'c', payload: greased, client: moved }]);
  t.equal(g.metas[1]?.detection, 'migration');
  // Too old: an idle CID does not link (and port 61000 is not 443: not QUIC at all).
  const old = await run('mig-idle', [...base, { from: 'c', payload: shortPacket(SCID_S, 30, 2), client: moved, at: 3600 }]);
  t.equal(old.records.length, 2);
  t.equal(old.metas[1], undefined);
  // LRU limit: with room for one CID, a second connection evicts the first.
  const other = hexBytes('9999999999999999');
  const lru = await run('mig-lru', [
    ...base,
    { from: 'c', payload: longPacket({ version: 1, type: 'initial', dcid: DCID, scid: hexBytes(''), payload: concat(cryptoFrame(0, ch), new Uint8Array(900)) }), client: { ip: '10.3.0.7', port: 50001 } },
    { from: 's', payload: longPacket({ version: 1, type: 'handshake', dcid: hexBytes(''), scid: other, payload: new Uint8Array(50), plain: true }), client: { ip: '10.3.0.7', port: 50001 } },
    { from: 'c', payload: shortPacket(SCID_S, 30, 2), client: moved },
  ], { limits: { cidTableEntries: 1 } });
  t.equal(lru.metas.find((m) => m?.detection === 'migration'), undefined, 'evicted CID no longer links');
  t.ok((lru.dissect.counters.get('quic.limit.cid_table') ?? 0) >= 1, 'eviction counted');
  // CIDs shorter than 4 bytes never link.
  const shortCid = hexBytes('abcd');
  const s4 = await run('mig-short', [
    base[0]!,
    { from: 's', payload: longPacket({ version: 1, type: 'handshake', dcid: hexBytes(''), scid: shortCid.subarray(0, 2), payload: new Uint8Array(50), plain: true }) },
    { from: 'c', payload: shortPacket(shortCid.subarray(0, 2), 30, 2), client: moved },
  ]);
  t.equal(s4.metas[1], undefined);
});

t.test('limits and hostile packets', async (t) => {
  const ch = clientHello({ sni: 'x.example' });
  // CRYPTO data beyond the 64 KiB buffer, and a ClientHello that claims to be bigger than it.
  const far = await run('far', [{ from: 'c', payload: longPacket({ version: 1, type: 'initial', dcid: DCID, scid: SCID_C, payload: cryptoFrame(70_000, ch) }) }]);
  t.equal(far.dissect.counters.get('quic.limit.crypto_bytes'), 1);
  const huge = Uint8Array.from(ch);
  huge[1] = 0x02; // u24 length ≥ 128 KiB
  const big = await run('big', [{ from: 'c', payload: longPacket({ version: 1, type: 'initial', dcid: DCID, scid: SCID_C, payload: cryptoFrame(0, huge) }) }]);
  t.equal(big.dissect.counters.get('quic.limit.client_hello_bytes'), 1);
  t.equal(big.metas[0]?.sni, undefined);
  // Not a ClientHello in the CRYPTO stream.
  const notCh = await run('notch', [{ from: 'c', payload: longPacket({ version: 1, type: 'initial', dcid: DCID, scid: SCID_C, payload: cryptoFrame(0, Uint8Array.from([2, 0, 0, 4, 1, 2, 3, 4])) }) }]);
  t.equal(notCh.dissect.counters.get('quic.malformed.crypto_not_client_hello'), 1);
  // A malformed ClientHello body.
  const badBody = Uint8Array.from([1, 0, 0, 36, 3, 3, ...new Array<number>(32).fill(0), 33, 0]);
  const bad = await run('badch', [{ from: 'c', payload: longPacket({ version: 1, type: 'initial', dcid: DCID, scid: SCID_C, payload: cryptoFrame(0, badBody) }) }]);
  t.ok([...bad.dissect.counters.keys()].some((k) => k.startsWith('quic.malformed.client_hello')));
  // Too many packets in one datagram, and too many datagrams.
  const tiny = longPacket({ version: 1, type: '0rtt', dcid: DCID, scid: SCID_C, payload: new Uint8Array(20), plain: true });
  const many = await run('many', [{ from: 'c', payload: concat(...new Array<Uint8Array>(10).fill(tiny)) }]);
  t.equal(many.dissect.counters.get('quic.limit.packets_per_datagram'), 1);
  t.equal(many.metas[0]?.zeroRtt, 8);
  const flood = await run('flood', new Array<Dgram>(40).fill({ from: 'c', payload: tiny }), { limits: { packetsPerFlow: 10 } });
  t.equal(flood.dissect.counters.get('quic.limit.packets_per_flow'), 1);
  t.equal(flood.metas[0]?.zeroRtt, 10);
  // Too many key sets: Initials with ever new DCIDs that do not decrypt.
  const dcids = [1, 2, 3, 4, 5].map((i) => hexBytes(`0${i}0${i}0${i}0${i}0${i}0${i}0${i}0${i}`));
  const keysets = await run('keys', dcids.map((d) => ({ from: 'c' as const, payload: longPacket({ version: 1, type: 'initial', dcid: d, scid: SCID_C, payload: cryptoFrame(0, ch), keyDcid: hexBytes('ffffffffffffffff') }) })));
  t.ok((keysets.dissect.counters.get('quic.limit.key_sets') ?? 0) >= 1);
  t.ok((keysets.dissect.counters.get('quic.malformed.decrypt.aead') ?? 0) >= 1);
  // Truncated long header mid-datagram; unknown version after a valid packet.
  const trunc = await run('trunc', [{ from: 'c', payload: concat(tiny, Uint8Array.from([0xc0, 0, 0, 0, 1, 8, 1, 2])) }]);
  t.ok([...trunc.dissect.counters.keys()].some((k) => k.startsWith('quic.malformed.header')));
  const unk = await run('unk', [{ from: 'c', payload: concat(tiny, Uint8Array.from([0xc0, 0x12, 0x34, 0x56, 0x78, 0, 0, 0, 0, 0])) }]);
  t.equal(unk.dissect.counters.get('quic.malformed.unknown_version'), 1);
  // CONNECTION_CLOSE inside an Initial is reported.
  const closing = await run('close', [{ from: 'c', payload: longPacket({ version: 1, type: 'initial', dcid: DCID, scid: SCID_C, payload: Uint8Array.from([0x1c, 0x0a, 0x00, 0x04, ...Buffer.from('oops'), 0x1c, 0, 0, 1, 0x07]) }) }]);
  t.same(closing.metas[0]?.close, { errorCode: 10, frameType: 0, reason: 'oops' }, 'the first CONNECTION_CLOSE is kept');
});

t.test('not QUIC', async (t) => {
  // DNS-like datagrams with a high first bit, unknown versions, implausible VN, random short headers.
  const dns = await run('dns', [{ from: 'c', payload: Uint8Array.from([0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0, 3, 0x61, 0x62, 0x63, 0]) }]);
  t.equal(dns.metas[0], undefined);
  const vn = await run('vn0', [{ from: 's', payload: Uint8Array.from([0x87, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]) }]);
  t.equal(vn.metas[0], undefined, 'version 0 with only zero versions is not Version Negotiation');
  // Short headers to 443 whose DCID prefix changes: rejected by the heuristic.
  const rnd = await run('rnd', [1, 2, 3, 4].map((i) => ({ from: 'c' as const, payload: shortPacket(hexBytes(`${i}${i}${i}${i}${i}${i}${i}${i}`), 40, i) })));
  t.equal(rnd.metas[0], undefined);
  // Same prefix but retransmission-like identical last byte: rejected too.
  const same = shortPacket(SCID_S, 40, 1);
  const rep = await run('rep', [{ from: 'c', payload: same }, { from: 'c', payload: same }, { from: 'c', payload: same }]);
  t.equal(rep.metas[0], undefined);
  // …and the heuristic's positive case: three client short headers with one DCID.
  const sh = await run('sh', [1, 2, 3].map((i) => ({ from: 'c' as const, payload: shortPacket(SCID_S, 40, i) })));
  t.equal(sh.metas[0]?.detection, 'short_header_heuristic');
  t.equal(sh.metas[0]?.version, 'unknown');
});
