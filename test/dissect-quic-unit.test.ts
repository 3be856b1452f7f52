import t from 'tap';
import { clientInitialSecret, deriveClientInitialKeys, deriveHpKey } from '../agent/dissect/quic/initial-keys.js';
import { quicVersion, versionHex, longPacketType, gquicNumber, isForcingVn, Layout, PT_INITIAL, PT_0RTT, PT_HANDSHAKE, PT_RETRY } from '../agent/dissect/quic/versions.js';
import { PacketHeader, parseLongHeader, parseLegacyGquicHeader, Form } from '../agent/dissect/quic/header.js';
import { decodePacketNumber, decryptLongPacket, MAX_HEADER_COPY } from '../agent/dissect/quic/decrypt.js';
import { walkInitialFrames, type FrameWalk } from '../agent/dissect/quic/frames.js';
import { CryptoStream, AddResult } from '../agent/dissect/quic/crypto-stream.js';
import { findTag, parseGquicMessage, TAG_CHLO } from '../agent/dissect/quic/gquic-crypto.js';
import { CidTable, QuicConnection } from '../agent/dissect/quic/cid-table.js';
import { quicEcs, type QuicMeta } from '../agent/dissect/quic/meta.js';
import { clientHello, concat, cryptoFrame, hexBytes, longPacket, retryPacket, vnPacket, varint } from './helpers/quic-packets.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const DCID = hexBytes('8394c8f03e515708');

t.test('Initial keys: RFC 9001 Appendix A.1 (v1) and RFC 9369 Appendix A.1 (v2)', async (t) => {
  const v1 = quicVersion(0x00000001);
  t.equal(hex(clientInitialSecret(v1.salt!, DCID)), 'c00cf151ca5be075ed0ebfb5c80323c42d6b7db67881289af4008f1f6c357aea');
  const k1 = deriveClientInitialKeys(v1, DCID, 'x')!;
  t.equal(hex(k1.key), '1f369613dd76d5467730efcbe3b1a22d');
  t.equal(hex(k1.iv), 'fa044b2f42a3fd3b46fb255c');
  t.equal(hex(deriveHpKey(v1, DCID)!), '9f50449e04a0e810283a1e9933adedd2');
  // RFC 9001 A.2: header protection sample and mask of the client Initial.
  const mask = k1.hp.update(hexBytes('d1b1c98dd7689fb8ec11d242b123dc9b'));
  t.equal(hex(mask.subarray(0, 5)), '437b9aec36');
  const v2 = quicVersion(0x6b3343cf);
  const k2 = deriveClientInitialKeys(v2, DCID, 'x')!;
  t.equal(hex(k2.key), '8b1a0bc121284290a29e0971b5cd045d');
  t.equal(hex(k2.iv), '91f73e2351d8fa91660e909f');
  t.equal(hex(deriveHpKey(v2, DCID)!), '45b95e15235d6f45a6b19cbcb0294ba9');
  t.equal(deriveClientInitialKeys(quicVersion(0x51303433), DCID, 'x'), undefined, 'Q043 has no salt');
  t.equal(deriveHpKey(quicVersion(0x0a0a0a0a), DCID), undefined);
});

t.test('version table', async (t) => {
  const cases: Array<[number, string, boolean]> = [
    [0x00000001, 'v1', true],
    [0x6b3343cf, 'v2', true],
    [0xff000017, 'draft-23', true],
    [0xff00001d, 'draft-29', true],
    [0xff000022, 'draft-34', true],
    [0xff000010, 'draft-16', false],
    [0xfaceb001, 'mvfst-faceb001', true],
    [0xfaceb002, 'mvfst-faceb002', true],
    [0xfaceb003, 'mvfst-faceb003', true],
    [0xfaceb00e, 'mvfst-faceb00e', true],
    [0xfaceb00f, 'mvfst-faceb00f', false],
    [0x51303530, 'Q050', true],
    [0x54303530, 'T050', true],
    [0x54303531, 'T051', true],
    [0x51303436, 'Q046', false],
    [0x0a1a2a3a, 'forcing-vn', false],
    [0x12345678, 'unknown', false],
  ];
  for (const [v, name, salt] of cases) {
    const info = quicVersion(v);
    t.equal(info.name, name, versionHex(v));
    t.equal(info.salt !== undefined, salt, `${name} salt`);
  }
  // Salts by draft range (draft-ietf-quic-tls-NN §5.2; drafts 33–34 use the v1 salt).
  t.same(quicVersion(0xff000021).salt, quicVersion(1).salt);
  t.same(quicVersion(0xff00001c).salt, quicVersion(0xff000017).salt);
  t.notSame(quicVersion(0xff00001d).salt, quicVersion(0xff00001c).salt);
  t.same(quicVersion(0xfaceb001).salt, quicVersion(0xff000016).salt);
  t.same(quicVersion(0xfaceb002).salt, quicVersion(0xff00001b).salt);
  t.equal(quicVersion(0x6b3343cf).labelPrefix, 'quicv2 ');
  t.equal(quicVersion(0x51303433).layout, Layout.LegacyGquic);
  t.equal(quicVersion(0x51303436).layout, Layout.Q046);
  t.equal(quicVersion(0x51303530).gquicFrames, true);
  t.equal(gquicNumber(0x51303433), 43);
  t.equal(gquicNumber(0x12345678), -1);
  t.ok(isForcingVn(0x1a2a3a4a));
  t.equal(quicVersion(0x0a0a0a0a), quicVersion(0x0a0a0a0a), 'unknown entries cached');
  for (let i = 0; i < 300; i++) quicVersion(0x77000000 + i); // bounded cache keeps working
  t.equal(quicVersion(0x77000001).name, 'unknown');
  // v2 packet types (RFC 9369 §3.2) normalise to v1 numbering.
  const v2 = quicVersion(0x6b3343cf);
  t.equal(longPacketType(0xd0, v2), PT_INITIAL);
  t.equal(longPacketType(0xe0, v2), PT_0RTT);
  t.equal(longPacketType(0xf0, v2), PT_HANDSHAKE);
  t.equal(longPacketType(0xc0, v2), PT_RETRY);
  t.equal(longPacketType(0xc0, quicVersion(1)), PT_INITIAL);
});

t.test('packet numbers: RFC 9000 Appendix A.3 example', async (t) => {
  t.equal(decodePacketNumber(0xa82f30ea, 0x9b32, 16), 0xa82f9b32);
  t.equal(decodePacketNumber(-1, 0, 8), 0);
  t.equal(decodePacketNumber(255, 1, 8), 257);
  t.equal(decodePacketNumber(300, 0xff, 8), 255);
});

t.test('long header parser', async (t) => {
  const h = new PacketHeader();
  const ch = clientHello({ sni: 'a.example', alpn: ['h3'] });
  const pkt = longPacket({ version: 1, type: 'initial', dcid: DCID, scid: hexBytes('aabbccdd'), token: hexBytes('0102'), payload: cryptoFrame(0, ch), pn: 2 });
  t.equal(parseLongHeader(pkt, 0, pkt.length, h, 1024), undefined);
  t.equal(h.form, Form.Long);
  t.equal(h.type, PT_INITIAL);
  t.equal(h.dcidLen, 8);
  t.equal(h.scidLen, 4);
  t.equal(h.tokenLen, 2);
  t.equal(h.end, pkt.length);
  // Decrypts with the DCID's keys, fails with another DCID's.
  const scratch = Buffer.alloc(MAX_HEADER_COPY);
  const keys = deriveClientInitialKeys(quicVersion(1), DCID, 'd')!;
  const r = decryptLongPacket(pkt, 0, h, keys, -1, scratch);
  t.ok(r.ok);
  if (r.ok) {
    t.equal(r.value.packetNumber, 2);
    t.equal(r.value.payload[0], 0x06);
  }
  const wrong = decryptLongPacket(pkt, 0, h, deriveClientInitialKeys(quicVersion(1), hexBytes('0000000000000000'), 'w')!, -1, scratch);
  t.same(wrong, { ok: false, kind: 'malformed', reason: 'decrypt.aead' });
  t.equal(pkt[0]! & 0x0f, pkt[0]! & 0x0f, 'input not modified by decryption');
  const again = decryptLongPacket(pkt, 0, h, keys, -1, scratch);
  t.ok(again.ok, 'the same bytes decrypt twice (caller buffer untouched)');
  const tiny = Buffer.alloc(8);
  t.match(decryptLongPacket(pkt, 0, h, keys, -1, tiny), { ok: false, kind: 'limit' });
  // Hostile lengths.
  t.match(parseLongHeader(pkt, 0, 5, h, 1024), { reason: 'header.short' });
  const badCid = Uint8Array.from(pkt);
  badCid[5] = 21;
  t.match(parseLongHeader(badCid, 0, badCid.length, h, 1024), { reason: 'header.cid_length' });
  t.match(parseLongHeader(pkt, 0, 20, h, 1024), { ok: false });
  t.match(parseLongHeader(pkt, 0, pkt.length, h, 1), { reason: 'header.token_length' });
  const longLen = Uint8Array.from(pkt);
  const lenAt = 1 + 4 + 1 + 8 + 1 + 4 + 1 + 2;
  longLen[lenAt] = 0x7f;
  t.match(parseLongHeader(longLen, 0, longLen.length, h, 1024), { reason: 'header.length' });
  // Retry, VN, Q046, unknown version.
  const retry = retryPacket(1, hexBytes('01020304'), hexBytes('0506070809'), hexBytes('cafe'));
  t.equal(parseLongHeader(retry, 0, retry.length, h, 1024), undefined);
  t.equal(h.type, PT_RETRY);
  t.equal(h.tokenLen, 2);
  const vn = vnPacket(hexBytes('01020304'), hexBytes(''), [1, 0xff00001d]);
  t.equal(parseLongHeader(vn, 0, vn.length, h, 1024), undefined);
  t.equal(h.vnCount, 2);
  const q46 = Uint8Array.from([0xc3, 0x51, 0x30, 0x34, 0x36, 0x50, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 1]);
  t.equal(parseLongHeader(q46, 0, q46.length, h, 1024), undefined);
  t.equal(h.dcidLen, 8);
  t.equal(h.pnOffset, 14);
  t.match(parseLongHeader(q46, 0, 10, h, 1024), { reason: 'header.truncated' });
  const unknown = Uint8Array.from([0xc0, 0x12, 0x34, 0x56, 0x78, 30, ...new Array<number>(30).fill(1), 0]);
  t.equal(parseLongHeader(unknown, 0, unknown.length, h, 1024), undefined, 'unknown versions may use 255-byte CIDs');
  // gQUIC public header.
  const legacy = Uint8Array.from([0x0d, 1, 2, 3, 4, 5, 6, 7, 8, 0x51, 0x30, 0x34, 0x33, 1, 0, 0]);
  t.equal(parseLegacyGquicHeader(legacy, 0, legacy.length, h), undefined);
  t.equal(h.info.name, 'Q043');
  t.equal(h.pnOffset, 13);
  t.match(parseLegacyGquicHeader(Uint8Array.from([0x80, 0]), 0, 2, h), { reason: 'header.gquic_flags' });
  t.match(parseLegacyGquicHeader(legacy, 0, 11, h), { reason: 'header.truncated' });
  t.match(parseLegacyGquicHeader(legacy, 0, 1, h), { reason: 'header.short' });
});

t.test('Initial frame walk', async (t) => {
  const crypto: Array<[number, number]> = [];
  let close: [number, number, string] | undefined;
  const sink = {
    crypto: (o: number, _b: Uint8Array, _off: number, len: number) => crypto.push([o, len]),
    close: (c: number, ft: number, r: Uint8Array) => (close = [c, ft, Buffer.from(r).toString()]),
  };
  const out: FrameWalk = { frames: 0, cryptoFrames: 0, ping: 0, ack: 0, stop: '' };
  const payload = concat(
    Uint8Array.from([0x01, 0x00, 0x00, 0x00]),
    Uint8Array.from([0x02, ...varint(10), 0, 1, 0, 1, 2]),
    Uint8Array.from([0x03, 5, 0, 0, 0, 1, 2, 3]),
    cryptoFrame(100, new Uint8Array(5)),
    Uint8Array.from([0x1c, 0x0a, 0x06, 0x03, ...Buffer.from('bad')]),
    Uint8Array.from([0x1d, 0x01, 0x00]),
  );
  walkInitialFrames(payload, sink, 100, 16, out);
  t.equal(out.stop, '');
  t.equal(out.ping, 1);
  t.equal(out.ack, 2);
  t.same(crypto, [[100, 5]]);
  t.same(close, [1, -1, '']);
  t.equal(walkInitialFrames(Uint8Array.from([0x1e]), sink, 100, 16, out).stop, 'frame.unknown_type');
  t.equal(walkInitialFrames(Uint8Array.from([0x06, 0x40]), sink, 100, 16, out).stop, 'frame.truncated');
  t.equal(walkInitialFrames(Uint8Array.from([0x06, 0, 9, 1]), sink, 100, 16, out).stop, 'frame.truncated');
  t.equal(walkInitialFrames(Uint8Array.from([0x02, 1, 0, 60, 0]), sink, 100, 16, out).stop, 'limit.ack_ranges');
  t.equal(walkInitialFrames(Uint8Array.from([0x02, 1, 0, 1, 0, 0]), sink, 100, 16, out).stop, 'frame.truncated');
  t.equal(walkInitialFrames(Uint8Array.from([0x1c, 0x0a, 0x06, 0x09]), sink, 100, 16, out).stop, 'frame.truncated');
  t.equal(walkInitialFrames(Uint8Array.from([1, 1, 1, 1]), sink, 2, 16, out).stop, 'limit.frames');
  // gQUIC numbering (Q050/T05x): CRYPTO 0x08, PING 0x07, PADDING to the end.
  crypto.length = 0;
  walkInitialFrames(Uint8Array.from([0x07, 0x08, 0, 2, 9, 9, 0, 0x42, 0x42]), sink, 100, 16, out, true);
  t.same(crypto, [[0, 2]]);
  t.equal(out.stop, '');
  t.equal(walkInitialFrames(Uint8Array.from([0x40, 1]), sink, 100, 16, out, true).stop, 'frame.gquic_unsupported');
});

t.test('CRYPTO stream reassembly', async (t) => {
  const data = Uint8Array.from({ length: 300 }, (_, i) => i & 0xff);
  const s = new CryptoStream(1024, 4);
  t.equal(s.add(200, data, 200, 100), AddResult.Ok);
  t.equal(s.contiguous, 0);
  t.equal(s.add(100, data, 100, 50), AddResult.Ok);
  t.equal(s.rangeCount, 2);
  t.equal(s.add(0, data, 0, 120), AddResult.Ok, 'overlap at the front');
  t.equal(s.contiguous, 150);
  t.equal(s.add(140, data, 140, 70), AddResult.Ok, 'fills the gap and overlaps both sides');
  t.equal(s.contiguous, 300);
  t.same(s.view(300), data);
  t.equal(s.add(0, data, 0, 0), AddResult.Ok);
  // First copy wins on overlap.
  const other = new Uint8Array(300).fill(0xee);
  s.add(0, other, 0, 300);
  t.same(s.view(300), data);
  // Limits.
  const small = new CryptoStream(100, 2);
  t.equal(small.add(90, data, 0, 20), AddResult.BeyondLimit);
  t.equal(small.add(150, data, 0, 5), AddResult.BeyondLimit);
  t.equal(small.add(10, data, 0, 5), AddResult.Ok);
  t.equal(small.add(50, data, 0, 5), AddResult.TooManyRanges);
  t.equal(small.add(15, data, 0, 5), AddResult.Ok, 'adjacent ranges merge');
  small.release();
  t.equal(small.contiguous, 0);
  t.equal(small.view(10).length, 0);
  // Large stream grows by doubling (and stays capped).
  const big = new CryptoStream(5000, 8);
  const blob = new Uint8Array(4000).fill(3);
  t.equal(big.add(0, blob, 0, 4000), AddResult.Ok);
  t.equal(big.contiguous, 4000);
});

t.test('gQUIC tag-value messages', async (t) => {
  const tags: Array<[string, string]> = [['PAD\0', '----'], ['SNI\0', 'www.example.com'], ['VER\0', 'Q043'], ['UAID', 'Chrome/1.0 Linux']];
  const entries: number[] = [];
  let end = 0;
  for (const [tag, v] of tags) {
    end += v.length;
    entries.push(...Buffer.from(tag, 'latin1'), end & 0xff, end >> 8, 0, 0);
  }
  const msg = Uint8Array.from([...Buffer.from('CHLO'), tags.length, 0, 0, 0, ...entries, ...Buffer.from(tags.map((x) => x[1]).join(''))]);
  const pkt = concat(new Uint8Array(30).fill(0x11), msg);
  t.equal(findTag(pkt, 0, pkt.length, TAG_CHLO, 64), 30);
  t.equal(findTag(pkt, 0, pkt.length, TAG_CHLO, 20), -1, 'bounded window');
  const r = parseGquicMessage(pkt, 30, pkt.length, 128, 256);
  t.ok(r.ok);
  if (r.ok) {
    t.equal(r.value.sni, 'www.example.com');
    t.equal(r.value.userAgent, 'Chrome/1.0 Linux');
    t.equal(r.value.ver, 'Q043');
    t.equal(r.value.truncated, false);
  }
  const cut = parseGquicMessage(pkt, 30, pkt.length - 10, 128, 256);
  t.match(cut, { ok: true, value: { sni: 'www.example.com', truncated: true } });
  t.match(parseGquicMessage(pkt, 30, 30 + 10 + 8, 128, 256), { ok: true, value: { truncated: true } });
  t.match(parseGquicMessage(pkt, 30, pkt.length, 2, 256), { ok: false, kind: 'limit' });
  t.match(parseGquicMessage(pkt, 30, 34, 128, 256), { ok: false, kind: 'incomplete' });
  const bad = Uint8Array.from(msg);
  bad[12] = 0xff; // first end offset larger than the second
  t.match(parseGquicMessage(bad, 0, bad.length, 128, 256), { ok: false, reason: 'gquic.offsets' });
  const binary = Uint8Array.from(msg);
  binary[8 + 32 + 4] = 0x01; // SNI value byte → not text
  t.equal((parseGquicMessage(binary, 0, binary.length, 128, 256) as { value: { sni?: string } }).value.sni, undefined);
});

t.test('CID table: lengths, LRU, idle expiry', async (t) => {
  const table = new CidTable({ maxEntries: 3, minLinkLength: 4, idleUs: 1000 });
  const a = new QuicConnection(2);
  const b = new QuicConnection(2);
  t.equal(table.register(hexBytes('010203'), 0, 3, a, 0), false, 'too short to link');
  t.equal(table.size, 0);
  table.register(hexBytes('0102030405060708'), 0, 8, a, 0);
  table.register(hexBytes('1111111111111111111111111111111111111111'), 0, 20, b, 0);
  const pkt = concat(Uint8Array.from([0x41]), hexBytes('0102030405060708'), new Uint8Array(30));
  t.ok(table.knowsShort(pkt, 1, pkt.length));
  t.equal(table.lookupShort(pkt, 1, pkt.length, 10)?.conn, a, 'found by trying the 8-byte length');
  t.equal(table.lookupShort(pkt, 1, pkt.length, 5000), undefined, 'idle entries do not link');
  table.register(hexBytes('0102030405060708'), 0, 8, a, 6000); // refresh
  table.register(hexBytes('2222222222'), 0, 5, b, 6000);
  table.register(hexBytes('3333333333'), 0, 5, b, 6000);
  t.equal(table.size, 3);
  t.equal(table.evictions, 1, 'oldest (the 20-byte CID) evicted');
  const p20 = concat(Uint8Array.from([0x41]), hexBytes('1111111111111111111111111111111111111111'));
  t.notOk(table.knowsShort(p20, 1, p20.length));
  t.ok(table.lookupShort(pkt, 1, pkt.length, 6001));
  t.notOk(table.knowsShort(pkt, 1, 5), 'DCID longer than the packet is not read');
  t.ok(a.addFlow({ uid: 'x', clientPort: 1, serverPort: 2 }));
  t.ok(a.addFlow({ uid: 'x', clientPort: 1, serverPort: 2 }), 'same flow twice is fine');
  t.ok(a.addFlow({ uid: 'y', clientPort: 1, serverPort: 2 }));
  t.notOk(a.addFlow({ uid: 'z', clientPort: 1, serverPort: 2 }), 'bounded');
  table.clear();
  t.equal(table.size, 0);
  t.notOk(table.knowsShort(pkt, 1, pkt.length));
});

t.test('ECS mapping', async (t) => {
  const m: QuicMeta = {
    version: '0x00000001', versionName: 'v1', finalVersion: '0xff00001d', detection: 'migration', sni: 's', alpn: ['h3'],
    ja4: 'q', ja4r: 'r', ja3: 'j', ja3String: 'js', userAgent: 'ua', dcid: 'd', scid: 'c', serverCid: 'sc',
    initialPackets: 1, packetsDecrypted: 1, coalesced: 0, zeroRtt: 0, retry: 1, retryFollowed: true,
    versionNegotiation: ['0x00000001'], clientHelloBytes: 10, cryptoFrames: 1, close: { errorCode: 1, frameType: 6, reason: 'x' },
    migrations: { count: 1, from: [{ uid: 'u', clientPort: 1, serverPort: 2 }, { uid: 'v', clientPort: 1, serverPort: 2, clientIp: '1.1.1.1', serverIp: '2.2.2.2' }] },
    migratedTo: ['w'],
  };
  const e = quicEcs(m) as { tls: unknown; user_agent: unknown; picket: { quic: Record<string, unknown> } };
  t.same(e.tls, { client: { server_name: 's', ja4: 'q', ja3: 'j' } });
  t.same(e.user_agent, { original: 'ua' });
  t.match(e.picket.quic, { version: '0x00000001', version_name: 'v1', final_version: '0xff00001d', retry_followed: true, migrated_to: ['w'] });
  t.same((e.picket.quic.migrations as { from: unknown[] }).from[1], { uid: 'v', client: { ip: '1.1.1.1', port: 1 }, server: { ip: '2.2.2.2', port: 2 } });
  const bare = quicEcs({ version: 'unknown', versionName: 'unknown', detection: 'gquic_rej', alpn: [], initialPackets: 0, packetsDecrypted: 0, coalesced: 0, zeroRtt: 0, retry: 0, retryFollowed: false, cryptoFrames: 0 });
  t.notOk('tls' in bare);
});
