/**
 * HPACK (RFC 7541): the Appendix C examples (integers, literals, three requests and three
 * responses on one connection each, with and without Huffman, the dynamic table after every
 * block), the Huffman code derived from its lengths, and bad or hostile blocks that must end in
 * a counted failure or a declared limit — never in unbounded work or memory.
 */
import t from 'tap';
import { HpackDecoder, HpackStatus, HPACK_LIMITS } from '../agent/dissect/http2/hpack.js';
import { CODES, CODE_LENGTHS, EOS, huffmanDecode } from '../agent/dissect/http2/huffman.js';
import { STATIC_TABLE } from '../agent/dissect/http2/hpack-static.js';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));

function decode(d: HpackDecoder, block: string): { status: number; headers: Array<[string, string]> } {
  const b = hex(block);
  const headers: Array<[string, string]> = [];
  const status = d.decode(b, 0, b.length, (n, v) => headers.push([n, v]));
  return { status, headers };
}

function table(d: HpackDecoder): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (let i = 0; i < d.length; i++) out.push([...d.entry(i)!] as [string, string]);
  return out;
}

t.test('Huffman code: derived canonical codes match Appendix B', async (t) => {
  t.equal(CODE_LENGTHS.length, 257);
  t.equal(CODE_LENGTHS.reduce((s, l) => s + 2 ** -l, 0), 1, 'Kraft sum 1: a complete prefix code');
  // Rows printed in RFC 7541 Appendix B (symbol: code as hex, length).
  for (const [sym, code, len] of [
    [0, 0x1ff8, 13],
    [32, 0x14, 6],
    [48, 0x0, 5],
    [97, 0x3, 5],
    [255, 0x3ffffee, 26],
    [EOS, 0x3fffffff, 30],
    [36, 0x1ff9, 13],
    [127, 0xffffffc, 28],
  ] as const) {
    t.equal(CODES[sym], code, `symbol ${sym}`);
    t.equal(CODE_LENGTHS[sym], len);
  }
  t.equal(STATIC_TABLE.length, 62);
  t.same(STATIC_TABLE[61], ['www-authenticate', '']);
});

t.test('C.1: integers (via size updates with a 5-bit prefix)', async (t) => {
  const d = new HpackDecoder();
  t.equal(decode(d, '2a').status, HpackStatus.Ok); // 001 01010: C.1.1, value 10
  t.equal(d.maxSize, 10);
  t.equal(decode(d, '3f 9a 0a').status, HpackStatus.Ok); // C.1.2: 1337
  t.equal(d.maxSize, 1337);
  t.equal(decode(d, '3f e1 1f').status, HpackStatus.Ok, '31 + 4065 = 4096');
  t.equal(d.maxSize, 4096);
});

t.test('C.2: literal and indexed representations', async (t) => {
  const d1 = new HpackDecoder();
  t.same(decode(d1, '400a637573746f6d2d6b65790d637573746f6d2d686561646572').headers, [['custom-key', 'custom-header']]);
  t.equal(d1.size, 55);
  const d2 = new HpackDecoder();
  t.same(decode(d2, '040c2f73616d706c652f70617468').headers, [[':path', '/sample/path']]);
  t.equal(d2.length, 0, 'without indexing');
  const d3 = new HpackDecoder();
  t.same(decode(d3, '100870617373776f726406736563726574').headers, [['password', 'secret']]);
  t.equal(d3.length, 0, 'never indexed');
  const d4 = new HpackDecoder();
  t.same(decode(d4, '82').headers, [[':method', 'GET']]);
});

const REQUESTS = [
  [[':method', 'GET'], [':scheme', 'http'], [':path', '/'], [':authority', 'www.example.com']],
  [[':method', 'GET'], [':scheme', 'http'], [':path', '/'], [':authority', 'www.example.com'], ['cache-control', 'no-cache']],
  [[':method', 'GET'], [':scheme', 'https'], [':path', '/index.html'], [':authority', 'www.example.com'], ['custom-key', 'custom-value']],
];
const REQUEST_TABLES = [
  { size: 57, entries: [[':authority', 'www.example.com']] },
  { size: 110, entries: [['cache-control', 'no-cache'], [':authority', 'www.example.com']] },
  { size: 164, entries: [['custom-key', 'custom-value'], ['cache-control', 'no-cache'], [':authority', 'www.example.com']] },
];

for (const [name, blocks] of [
  ['C.3 requests without Huffman', ['828684410f7777772e6578616d706c652e636f6d', '828684be58086e6f2d6361636865', '828785bf400a637573746f6d2d6b65790c637573746f6d2d76616c7565']],
  ['C.4 requests with Huffman', ['828684418cf1e3c2e5f23a6ba0ab90f4ff', '828684be5886a8eb10649cbf', '828785bf408825a849e95ba97d7f8925a849e95bb8e8b4bf']],
] as const) {
  t.test(name, async (t) => {
    const d = new HpackDecoder();
    blocks.forEach((b, i) => {
      const r = decode(d, b);
      t.equal(r.status, HpackStatus.Ok);
      t.same(r.headers, REQUESTS[i], `request ${i + 1}`);
      t.equal(d.size, REQUEST_TABLES[i]!.size, `table size after request ${i + 1}`);
      t.same(table(d), REQUEST_TABLES[i]!.entries);
    });
  });
}

const DATE1 = 'Mon, 21 Oct 2013 20:13:21 GMT';
const RESPONSES = [
  [[':status', '302'], ['cache-control', 'private'], ['date', DATE1], ['location', 'https://www.example.com']],
  [[':status', '307'], ['cache-control', 'private'], ['date', DATE1], ['location', 'https://www.example.com']],
  [[':status', '200'], ['cache-control', 'private'], ['date', 'Mon, 21 Oct 2013 20:13:22 GMT'], ['location', 'https://www.example.com'], ['content-encoding', 'gzip'], ['set-cookie', 'foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1']],
];

for (const [name, blocks] of [
  ['C.5 responses without Huffman (table of 256: evictions)', ['4803333032580770726976617465611d4d6f6e2c203231204f637420323031332032303a31333a323120474d546e1768747470733a2f2f7777772e6578616d706c652e636f6d', '4803333037c1c0bf', '88c1611d4d6f6e2c203231204f637420323031332032303a31333a323220474d54c05a04677a69707738666f6f3d4153444a4b48514b425a584f5157454f50495541585157454f49553b206d61782d6167653d333630303b2076657273696f6e3d31']],
  ['C.6 responses with Huffman (table of 256: evictions)', ['488264025885aec3771a4b6196d07abe941054d444a8200595040b8166e082a62d1bff6e919d29ad171863c78f0b97c8e9ae82ae43d3', '4883640effc1c0bf', '88c16196d07abe941054d444a8200595040b8166e084a62d1bffc05a839bd9ab77ad94e7821dd7f2e6c7b335dfdfcd5b3960d5af27087f3672c1ab270fb5291f9587316065c003ed4ee5b1063d5007']],
] as const) {
  t.test(name, async (t) => {
    const d = new HpackDecoder(HPACK_LIMITS, 256);
    const sizes = [222, 222, 215];
    blocks.forEach((b, i) => {
      const r = decode(d, b);
      t.equal(r.status, HpackStatus.Ok);
      t.same(r.headers, RESPONSES[i], `response ${i + 1}`);
      t.equal(d.size, sizes[i], `table size after response ${i + 1}`);
    });
    t.same(table(d), [
      ['set-cookie', 'foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1'],
      ['content-encoding', 'gzip'],
      ['date', 'Mon, 21 Oct 2013 20:13:22 GMT'],
    ]);
  });
}

t.test('bad blocks fail with a reason', async (t) => {
  for (const [block, reason] of [
    ['80', 'index'], // index 0
    ['be', 'index'], // 62 with an empty dynamic table
    ['ff ff ff ff ff ff 7f', 'integer'], // more than 5 continuation bytes
    ['ff 80', 'integer'], // cut short
    ['41 85 ffffffff', 'string_length'], // string longer than the block
    ['41 84 ffffffff', 'huffman_eos'], // EOS (30 ones) inside the string
    ['41 82 1fff', 'huffman_padding'], // 'a' then 11 bits of padding
    ['41 81 18', 'huffman_padding'], // 'a' then padding that is not all ones
    ['82 20', 'size_update_position'], // size update after a field
    ['3fe21f', 'size_update_above_settings'], // 4097 > SETTINGS_HEADER_TABLE_SIZE 4096
  ] as const) {
    const d = new HpackDecoder();
    const r = decode(d, block);
    t.equal(r.status, HpackStatus.Malformed, block);
    t.equal(d.error, reason, `${block} → ${reason}`);
  }
});

t.test('bombs hit declared limits, with bounded work and memory', async (t) => {
  // A peer that advertises a huge table and then uses it: beyond what we mirror.
  const d = new HpackDecoder();
  d.setSettingsMax(2 ** 30);
  t.equal(decode(d, '3f e1 ff ff 03').status, HpackStatus.TableLimit);
  t.equal(d.error, 'table_bytes');

  // One 4000-byte header inserted once, then referenced 20000 times (1 byte each): an 80 MB header list.
  const big = 'v'.repeat(4000);
  const ins = Buffer.concat([hex('40 01 78 7f a1 1e'), Buffer.from(big)]); // literal, name "x", value length 4000 (127 + 3873)
  const refs = Buffer.alloc(20000, 0xbe);
  const block = Buffer.concat([ins, refs]);
  const seen: number[] = [];
  const d2 = new HpackDecoder();
  const t0 = performance.now();
  const status = d2.decode(block, 0, block.length, (_n, v) => seen.push(v.length));
  const ms = performance.now() - t0;
  t.equal(status, HpackStatus.ListLimit);
  t.equal(d2.error, 'header_list_bytes');
  t.ok(seen.length <= Math.ceil(HPACK_LIMITS.headerListBytes / 4033), `headers reported up to the budget: ${seen.length}`);
  t.ok(ms < 200, `decoded in ${ms.toFixed(1)} ms`);
  t.equal(d2.size, 4033, 'table holds the one entry');

  // A Huffman string that expands (5-bit codes): output cut at stringBytes, table size uses the full length.
  const zeros = Buffer.alloc(10000, 0); // '0' is 00000: 8 symbols per 5 bytes
  const len = [0x7f, ...(() => { let v = zeros.length - 127; const o: number[] = []; while (v >= 128) { o.push((v % 128) + 128); v = Math.floor(v / 128); } o.push(v); return o; })()];
  const hblock = Buffer.concat([Buffer.from([0x40, 0x01, 0x79]), Buffer.from([len[0]! | 0x80, ...len.slice(1)]), zeros]);
  const d3 = new HpackDecoder({ ...HPACK_LIMITS, tableBytes: 65536 });
  d3.setSettingsMax(65536);
  let valueLen = 0;
  t.equal(d3.decode(Buffer.concat([hex('3f e1 ff 03'), hblock]), 0, hblock.length + 4, (_n, v) => (valueLen = v.length)), HpackStatus.Ok);
  t.equal(valueLen, HPACK_LIMITS.stringBytes, 'kept value is cut');
  t.equal(d3.size, 1 + 16000 + 32, 'table accounts the full decoded length');
});

t.test('huffman decoder keeps at most the output buffer', async (t) => {
  const out = new Uint8Array(3);
  const r = huffmanDecode(hex('f1e3c2e5f23a6ba0ab90f4ff'), 0, 12, out, { length: 0, written: 0, error: '' });
  t.same([r.length, r.written, r.error, Buffer.from(out).toString()], [15, 3, '', 'www']);
});
