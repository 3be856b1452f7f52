import t, { type Test } from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { openCapture, CaptureOpenError } from '../agent/source/capture-file/open-capture.js';
import { RawPacket } from '../agent/source/raw-packet.js';
import { FileSource } from '../agent/source/file-source.js';
import { writePcapng } from './helpers/pcapng-writer.js';
import { writePcap } from './helpers/pcap-writer.js';
import { tcpFrame, udpFrame } from './helpers/frames.js';

const C = '../shared/corpora';
const tmp = mkdtempSync(join(tmpdir(), 'picket-capture-'));

interface Pkt {
  tsUs: number;
  capLen: number;
  wireLen: number;
  linkType: number;
  ifIndex: number;
  firstByte: number;
  lastByte: number;
}

function readAll(path: string, chunkBytes?: number): { packets: Pkt[]; errors: Map<string, number>; format: string } {
  const r = openCapture(path, chunkBytes);
  const p = new RawPacket();
  const packets: Pkt[] = [];
  while (r.next(p)) {
    packets.push({
      tsUs: p.tsUs,
      capLen: p.capLen,
      wireLen: p.wireLen,
      linkType: p.linkType,
      ifIndex: p.ifIndex,
      firstByte: p.buf[p.off] ?? -1,
      lastByte: p.buf[p.off + p.capLen - 1] ?? -1,
    });
  }
  r.close();
  return { packets, errors: r.errors, format: r.format };
}

/** tshark's view of the same file: epoch time (ns digits), captured and wire length. */
function tsharkFrames(path: string): Array<{ ns: bigint; cap: number; len: number }> {
  const out = execFileSync('tshark', ['-r', path, '-T', 'fields', '-e', 'frame.time_epoch', '-e', 'frame.cap_len', '-e', 'frame.len'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  return out
    .trim()
    .split('\n')
    .filter((line) => /^\d/.test(line)) // custom/statistics blocks show up as rows without a time
    .map((line) => {
      const [time = '0', cap = '0', len = '0'] = line.split('\t');
      const [sec = '0', frac = ''] = time.split('.');
      return { ns: BigInt(sec) * 1_000_000_000n + BigInt(frac.padEnd(9, '0').slice(0, 9)), cap: Number(cap), len: Number(len) };
    });
}

function sameAsTshark(t: Test, path: string, format: RegExp): void {
  const ours = readAll(path);
  t.match(ours.format, format, `${path} format`);
  const theirs = tsharkFrames(path);
  t.equal(ours.packets.length, theirs.length, `${path}: packet count equals tshark's`);
  let timeOk = 0;
  let lenOk = 0;
  ours.packets.forEach((p, i) => {
    const w = theirs[i];
    if (!w) return;
    // Our float µs keeps ≈0.25 µs at today's epoch; compare at 1 µs.
    if (Math.abs(p.tsUs - Number(w.ns / 1000n) - Number(w.ns % 1000n) / 1000) < 1) timeOk++;
    if (p.capLen === w.cap && p.wireLen === w.len) lenOk++;
  });
  t.equal(timeOk, theirs.length, `${path}: every timestamp matches tshark`);
  t.equal(lenOk, theirs.length, `${path}: every captured/wire length matches tshark`);
}

t.test('classic pcap in both byte orders and resolutions matches tshark', async (t) => {
  sameAsTshark(t, `${C}/ja4/pcap/tls12.pcap`, /pcap \(µs, little-endian\)/);
  sameAsTshark(t, `${C}/tcpdump/tests/pptp.pcap`, /pcap \(µs, big-endian\)/);
  sameAsTshark(t, `${C}/tcpdump/tests/tcp-handshake-nano.pcap`, /pcap \(ns, little-endian\)/);
  sameAsTshark(t, `${C}/ndpi/pcap/someip_sd_sample.pcap`, /pcap \(ns/);
});

t.test('pcapng with many interfaces matches tshark', async (t) => {
  sameAsTshark(t, `${C}/ndpi/pcap/sites.pcapng`, /pcapng/);
  sameAsTshark(t, `${C}/ndpi/pcap/gre.pcapng`, /pcapng/);
  sameAsTshark(t, `${C}/ja4/pcap/tls-handshake.pcapng`, /pcapng/);
});

t.test('pcapng: interfaces with different link types and resolutions, SPB, unknown blocks, both byte orders', async (t) => {
  const eth = tcpFrame({ src: '10.0.0.1', dst: '10.0.0.2', sport: 1000, dport: 80, flags: 'S' });
  const raw = eth.subarray(14); // the same packet as raw IPv4
  for (const little of [true, false]) {
    const path = join(tmp, `multi-${little ? 'le' : 'be'}.pcapng`);
    writePcapng(
      path,
      [
        { kind: 'idb', linkType: 1 }, // default resolution: µs
        { kind: 'idb', linkType: 101, tsresol: 9 }, // raw IP, nanoseconds
        { kind: 'idb', linkType: 1, tsresol: 0x80 | 20, tsoffset: 100 }, // 2^-20 s units, +100 s offset
        { kind: 'raw', type: 5, body: new Uint8Array(20) }, // interface statistics block: skipped
        { kind: 'epb', ifIndex: 0, ts: 1_700_000_000_123_456n, frame: eth },
        { kind: 'raw', type: 0x40000bad, body: new Uint8Array(12) }, // custom block: skipped
        { kind: 'epb', ifIndex: 1, ts: 1_700_000_000_123_456_789n, frame: raw },
        { kind: 'epb', ifIndex: 2, ts: 3n << 20n, frame: eth, wireLen: 1500 },
        { kind: 'spb', frame: eth },
      ],
      little,
    );
    const { packets, errors } = readAll(path);
    t.equal(packets.length, 4, `${little ? 'LE' : 'BE'}: four packets delivered`);
    t.same(packets.map((p) => p.linkType), [1, 101, 1, 1], 'link type per interface');
    t.same(packets.map((p) => p.ifIndex), [0, 1, 2, 0], 'interface index (SPB is interface 0)');
    t.equal(packets[0]!.tsUs, 1_700_000_000_123_456, 'µs resolution');
    t.ok(Math.abs(packets[1]!.tsUs - 1_700_000_000_123_456.789) < 0.5, 'ns resolution keeps sub-µs digits');
    t.equal(packets[2]!.tsUs, 103e6, 'binary resolution and if_tsoffset');
    t.equal(packets[2]!.wireLen, 1500, 'wire length kept when larger than captured');
    t.equal(packets[3]!.tsUs, packets[2]!.tsUs, 'SPB reuses the previous timestamp');
    t.equal(errors.size, 0, 'skipped blocks are not errors');
    const theirs = tsharkFrames(path);
    t.equal(theirs.length, 3, 'tshark reads the same timestamped packets (it shows the SPB without a time)');
    t.equal(theirs[1]!.ns, 1_700_000_000_123_456_789n, 'and agrees on the ns timestamp');
    // A packet on an interface no IDB declared is counted and skipped (tshark gives up on the file).
    const bad = join(tmp, `bad-if-${little ? 'le' : 'be'}.pcapng`);
    writePcapng(bad, [{ kind: 'idb', linkType: 1 }, { kind: 'epb', ifIndex: 7, ts: 1n, frame: eth }, { kind: 'epb', ifIndex: 0, ts: 2n, frame: eth }], little);
    const r = readAll(bad);
    t.equal(r.packets.length, 1);
    t.equal(r.errors.get('pcapng.unknown_interface'), 1, 'packet on an undeclared interface is counted');
  }
});

t.test('records cut at the end of the file are counted, not fatal', async (t) => {
  const full = readFileSync(`${C}/ja4/pcap/tls12.pcap`);
  const path = join(tmp, 'truncated.pcap');
  writeFileSync(path, full.subarray(0, full.length - 10));
  const { packets, errors } = readAll(path);
  t.equal(packets.length, readAll(`${C}/ja4/pcap/tls12.pcap`).packets.length - 1, 'all complete records are read');
  t.equal(errors.get('pcap.truncated_record'), 1);
  const ng = readFileSync(`${C}/ja4/pcap/tls-handshake.pcapng`);
  const ngPath = join(tmp, 'truncated.pcapng');
  writeFileSync(ngPath, ng.subarray(0, ng.length - 7));
  t.equal(readAll(ngPath).errors.get('pcapng.truncated_block'), 1);
});

t.test('a corrupt record length stops that file with a named error', async (t) => {
  const path = join(tmp, 'huge-record.pcap');
  writePcap(path, [{ tsUs: 1e15, frame: udpFrame({ src: '10.0.0.1', dst: '10.0.0.2', sport: 1, dport: 2 }) }]);
  const b = readFileSync(path);
  b.writeUInt32LE(0x7fffffff, 24 + 8); // incl_len
  writeFileSync(path, b);
  const { packets, errors } = readAll(path);
  t.equal(packets.length, 0);
  t.equal(errors.get('pcap.record_too_large'), 1);
});

t.test('files that are not captures give one line saying why', async (t) => {
  const text = join(tmp, 'notes.txt');
  writeFileSync(text, 'hello world, not a capture');
  t.throws(() => openCapture(text), new CaptureOpenError(`${text}: not a pcap or pcapng file (magic 0x68656c6c)`));
  const gz = join(tmp, 'x.pcap.gz');
  writeFileSync(gz, gzipSync(readFileSync(`${C}/ja4/pcap/tls12.pcap`)));
  t.throws(() => openCapture(gz), /gzip-compressed: gunzip it first/);
  t.throws(() => openCapture(join(tmp, 'missing.pcap')), /missing\.pcap: cannot open \(no such file\)/);
  t.throws(() => openCapture(tmp), /is a directory/);
  const empty = join(tmp, 'empty.pcap');
  writeFileSync(empty, '');
  t.throws(() => openCapture(empty), /empty or too short/);
});

t.test('a small read buffer gives the same packets (records across chunk boundaries)', async (t) => {
  const path = `${C}/ndpi/pcap/sites.pcapng`;
  const big = readAll(path);
  const small = readAll(path, 70 * 1024);
  t.same(small.packets, big.packets);
  const classic = `${C}/ja4/pcap/tls12.pcap`;
  t.same(readAll(classic, 300 * 1024).packets, readAll(classic).packets);
});

t.test('several files are read in order as one stream; unreadable ones are reported', async (t) => {
  const files = [`${C}/ja4/pcap/tls12.pcap`, join(tmp, 'missing.pcap'), `${C}/ja4/pcap/tls-handshake.pcapng`];
  const seen: number[] = [];
  const failed: string[] = [];
  const src = new FileSource(files, { onFileError: (_p, m) => failed.push(m) });
  const stats = await src.run({ packet: (p) => void seen.push(p.tsUs) });
  const expected = readAll(files[0]!).packets.length + readAll(files[2]!).packets.length;
  t.equal(stats.packets, expected);
  t.equal(seen.length, expected);
  t.equal(failed.length, 1);
  t.match(failed[0], /missing\.pcap: cannot open/);
  t.same(src.failedFiles.map((f) => f.path), [files[1]]);
  t.ok(src.bytesRead() > 0);
});

t.test('replay pacing follows packet timestamps', async (t) => {
  const path = join(tmp, 'paced.pcap');
  const f = udpFrame({ src: '10.0.0.1', dst: '10.0.0.2', sport: 1, dport: 2 });
  // 1 second of traffic replayed at 10x: about 100 ms.
  writePcap(path, [0, 250e3, 500e3, 1e6].map((dt) => ({ tsUs: 1.7e15 + dt, frame: f })));
  const started = performance.now();
  const src = new FileSource([path], { speed: 10 });
  await src.run({ packet: () => {} });
  const took = performance.now() - started;
  t.ok(took >= 90 && took < 1000, `took ${took.toFixed(0)} ms`);
});
