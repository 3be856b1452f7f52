/**
 * TLS parser units against the specs: JA4 (FoxIO JA4.md examples), JA3, GREASE (RFC 8701),
 * ClientHello/ServerHello edge cases, the DER reader and X.509 times, tunnel preambles.
 */
import t from 'tap';
import { createHash } from 'node:crypto';
import { parseClientHello, parseClientHelloMessage, ja3, ja4, CLIENT_HELLO_LIMITS } from '../agent/dissect/tls/client-hello.js';
import { ja4Alpn, ja4Version } from '../agent/dissect/tls/ja4.js';
import { ja3s } from '../agent/dissect/tls/ja3.js';
import { isGrease } from '../agent/dissect/tls/grease.js';
import { parseServerHello, negotiatedVersion } from '../agent/dissect/tls/server-hello.js';
import { readTlv, oidString, children } from '../agent/dissect/tls/der.js';
import { parseTime, parseCertificate } from '../agent/dissect/tls/x509.js';
import { tunnelPreamble, HelloScanner } from '../agent/dissect/tls/tunnel.js';
import { versionName, versionLabel } from '../agent/dissect/tls/versions.js';
import { alertName, alertLevel } from '../agent/dissect/tls/alerts.js';
import { cipherName } from '../agent/dissect/tls/cipher-names.js';
import { printable } from '../agent/dissect/tls/text.js';
import { looksLikeTlsRecord } from '../agent/dissect/tls/index.js';

const u16 = (v: number): number[] => [v >> 8, v & 0xff];
const u24 = (v: number): number[] => [v >> 16, (v >> 8) & 0xff, v & 0xff];
const ext = (type: number, data: number[]): number[] => [...u16(type), ...u16(data.length), ...data];
const list16 = (vals: number[]): number[] => [...u16(vals.length * 2), ...vals.flatMap(u16)];
const bytes = (s: string): number[] => [...Buffer.from(s, 'latin1')];

interface HelloSpec {
  version?: number;
  ciphers: number[];
  extensions: Array<[number, number[]]>;
  sessionId?: number[];
}

/** A ClientHello body (after the handshake header). */
function clientHello(h: HelloSpec): Uint8Array {
  const sid = h.sessionId ?? [];
  const exts = h.extensions.flatMap(([type, data]) => ext(type, data));
  return Uint8Array.from([
    ...u16(h.version ?? 0x0303),
    ...new Array<number>(32).fill(7),
    sid.length,
    ...sid,
    ...list16(h.ciphers),
    1,
    0,
    ...u16(exts.length),
    ...exts,
  ]);
}

const sni = (name: string): number[] => [...u16(name.length + 3), 0, ...u16(name.length), ...bytes(name)];
const alpn = (...names: Array<string | number[]>): number[] => {
  const body = names.flatMap((n) => {
    const b = typeof n === 'string' ? bytes(n) : n;
    return [b.length, ...b];
  });
  return [...u16(body.length), ...body];
};

// The JA4.md example: ciphers, extensions (wire order), signature algorithms.
const SPEC_CIPHERS = [0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013, 0xc014, 0x009c, 0x009d, 0x002f, 0x0035];
const SPEC_EXTS = [0x001b, 0x0000, 0x0033, 0x0010, 0x4469, 0x0017, 0x002d, 0x000d, 0x0005, 0x0023, 0x0012, 0x002b, 0xff01, 0x000b, 0x000a, 0x0015];
const SPEC_SIGS = [0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601];

function specHello(opts: { grease?: boolean; sigs?: boolean; alpnNames?: Array<string | number[]> } = {}): Uint8Array {
  const exts: Array<[number, number[]]> = SPEC_EXTS.map((type): [number, number[]] => {
    switch (type) {
      case 0x0000: return [type, sni('example.com')];
      case 0x0010: return [type, alpn(...(opts.alpnNames ?? ['h2', 'http/1.1']))];
      case 0x000d: return [type, opts.sigs === false ? u16(0) : list16(SPEC_SIGS)];
      case 0x002b: return [type, [4, ...u16(0x0304), ...u16(0x0303)]];
      case 0x000a: return [type, list16([0x001d, 0x0017, 0x0018])];
      case 0x000b: return [type, [1, 0]];
      default: return [type, []];
    }
  });
  if (opts.grease) {
    exts.unshift([0x2a2a, []]);
    exts.push([0xfafa, [0]]);
  }
  return clientHello({ ciphers: opts.grease ? [0x0a0a, ...SPEC_CIPHERS] : SPEC_CIPHERS, extensions: exts });
}

t.test('JA4 of the specification example', async (t) => {
  const r = parseClientHello(specHello());
  t.ok(r.ok);
  if (!r.ok) return;
  const j = ja4(r.value, 't');
  t.equal(j.ja4, 't13d1516h2_8daaf6152771_e5627efa2ab1');
  t.equal(
    j.ja4_r,
    't13d1516h2_002f,0035,009c,009d,1301,1302,1303,c013,c014,c02b,c02c,c02f,c030,cca8,cca9_0005,000a,000b,000d,0012,0015,0017,001b,0023,002b,002d,0033,4469,ff01_0403,0804,0401,0503,0805,0501,0806,0601',
  );
  t.equal(ja4(r.value, 'q').ja4.slice(0, 1), 'q');
  t.equal(ja4(r.value, 'd').ja4.slice(0, 1), 'd');
  // GREASE anywhere changes nothing.
  const g = parseClientHello(specHello({ grease: true }));
  t.ok(g.ok && ja4(g.value, 't').ja4 === j.ja4, 'GREASE ignored in counts and lists');
  // No signature algorithms: the string ends without the underscore (spec: 6d807ffa2a79).
  const n = parseClientHello(specHello({ sigs: false }));
  t.ok(n.ok);
  if (n.ok) t.equal(ja4(n.value, 't').ja4.split('_')[2], '6d807ffa2a79');
});

t.test('JA4 ALPN characters follow the spec', async (t) => {
  const b = (...v: number[]): Uint8Array => Uint8Array.from(v);
  t.equal(ja4Alpn(undefined), '00');
  t.equal(ja4Alpn(b()), '00');
  t.equal(ja4Alpn(Uint8Array.from(bytes('h2'))), 'h2');
  t.equal(ja4Alpn(Uint8Array.from(bytes('http/1.1'))), 'h1');
  t.equal(ja4Alpn(Uint8Array.from(bytes('x'))), 'xx', 'a single character is first and last');
  // The spec's own examples of non-alphanumeric bytes.
  t.equal(ja4Alpn(b(0xab)), 'ab');
  t.equal(ja4Alpn(b(0xab, 0xcd)), 'ad');
  t.equal(ja4Alpn(b(0x30, 0xab)), '3b');
  t.equal(ja4Alpn(b(0x30, 0x31, 0xab, 0xcd)), '3d');
  t.equal(ja4Alpn(b(0x30, 0xab, 0xcd, 0x31)), '01');
  const r = parseClientHello(specHello({ alpnNames: [[0xba, 0xad], 'http/1.1'] }));
  t.ok(r.ok && ja4(r.value, 't').ja4.startsWith('t13d1516bd_'));
});

t.test('JA4 version, SNI and empty cases', async (t) => {
  t.equal(ja4Version(0x0304), '13');
  t.equal(ja4Version(0x0300), 's3');
  t.equal(ja4Version(0x0002), 's2');
  t.equal(ja4Version(0xfefd), 'd2');
  t.equal(ja4Version(0xfefc), 'd3');
  t.equal(ja4Version(0xfeff), 'd1');
  t.equal(ja4Version(0x1234), '00');
  // No extensions at all: legacy version, "i", both extension parts zero.
  const bare = Uint8Array.from([...u16(0x0301), ...new Array<number>(32).fill(1), 0, ...list16([0x002f]), 1, 0]);
  const r = parseClientHello(bare);
  t.ok(r.ok);
  if (r.ok) {
    t.equal(r.value.hasExtensionsBlock, false);
    t.equal(ja4(r.value, 't').ja4, `t10i010000_${createHash('sha256').update('002f').digest('hex').slice(0, 12)}_000000000000`);
    t.equal(ja3(r.value).string, '769,47,,,');
  }
  // No cipher suites → 000000000000; supported_versions with only GREASE → "00".
  const odd = parseClientHello(clientHello({ ciphers: [], extensions: [[0x002b, [2, 0x3a, 0x3a]]] }));
  t.ok(odd.ok && ja4(odd.value, 't').ja4 === 't00i000100_000000000000_' + createHash('sha256').update('002b').digest('hex').slice(0, 12));
  // > 99 ciphers counts as 99.
  const many = parseClientHello(clientHello({ ciphers: Array.from({ length: 120 }, (_, i) => i + 1), extensions: [] }));
  t.ok(many.ok && ja4(many.value, 't').ja4.startsWith('t12i9900'));
});

t.test('JA3 and JA3S strings drop GREASE', async (t) => {
  const r = parseClientHello(specHello({ grease: true }));
  t.ok(r.ok);
  if (!r.ok) return;
  const j = ja3(r.value);
  t.equal(j.string, `771,${SPEC_CIPHERS.join('-')},${SPEC_EXTS.join('-')},29-23-24,0`);
  t.equal(j.md5, createHash('md5').update(j.string).digest('hex'));
  const s = ja3s({ legacyVersion: 0x0303, cipherSuite: 0xc02f, extensions: [{ type: 0xff01 }, { type: 0x0a0a }, { type: 0x0010 }] });
  t.equal(s.string, '771,49199,65281-16');
});

t.test('GREASE values (RFC 8701)', async (t) => {
  for (let i = 0; i < 16; i++) t.ok(isGrease(((i << 4) | 0xa) * 0x101), `0x${(((i << 4) | 0xa) * 0x101).toString(16)}`);
  t.notOk(isGrease(0x0a1a));
  t.notOk(isGrease(0x0a0b));
  t.notOk(isGrease(0x1301));
});

t.test('ClientHello fields and malformed input', async (t) => {
  const r = parseClientHello(specHello());
  t.ok(r.ok);
  if (r.ok) {
    t.equal(r.value.sni, 'example.com');
    t.same(r.value.alpn, ['h2', 'http/1.1']);
    t.same(r.value.supportedVersions, [0x0304, 0x0303]);
    t.same(r.value.supportedGroups, [0x1d, 0x17, 0x18]);
    t.same(r.value.ecPointFormats, [0]);
    t.same(r.value.signatureAlgorithms, SPEC_SIGS);
    t.equal(r.value.extensions.length, 16);
  }
  const full = Uint8Array.from([1, ...u24(r.ok ? specHello().length : 0), ...specHello()]);
  t.ok(parseClientHelloMessage(full).ok, 'with the handshake header');
  t.match(parseClientHelloMessage(Uint8Array.from([2, 0, 0, 0])), { ok: false, kind: 'malformed' });
  t.match(parseClientHelloMessage(full.subarray(0, 50)), { ok: false, kind: 'incomplete' });
  t.match(parseClientHello(Uint8Array.from([3, 3])), { ok: false, kind: 'incomplete' });
  const bad = specHello();
  bad[34] = 33; // session id length > 32
  t.match(parseClientHello(bad), { ok: false, reason: 'client_hello.session_id_length' });
  const oddCiphers = Uint8Array.from([...u16(0x0303), ...new Array<number>(32).fill(0), 0, 0, 3, 0, 1, 2, 1, 0]);
  t.match(parseClientHello(oddCiphers), { ok: false, reason: 'client_hello.cipher_suites_length' });
  const noComp = Uint8Array.from([...u16(0x0303), ...new Array<number>(32).fill(0), 0, ...list16([1]), 0]);
  t.match(parseClientHello(noComp), { ok: false, reason: 'client_hello.no_compression_methods' });
  // An extension whose length runs past the block: the ones before it are kept and it is flagged.
  const overrun = clientHello({ ciphers: [1], extensions: [[0x0000, sni('a.b')], [0x0017, []]] });
  overrun[overrun.length - 1] = 0x7f;
  const o = parseClientHello(overrun);
  t.ok(o.ok && o.value.extensionsOverrun && o.value.sni === 'a.b' && o.value.extensions.length === 1);
  // The extensions block itself longer than the message: incomplete.
  const short = clientHello({ ciphers: [1], extensions: [[0x0017, []]] });
  t.match(parseClientHello(short.subarray(0, short.length - 2)), { ok: false, kind: 'incomplete' });
  // A malformed ALPN inside a sound extension block is reported, the rest still parses.
  const badAlpn = parseClientHello(clientHello({ ciphers: [1], extensions: [[0x0010, [0, 9, 5, 1]], [0x0000, sni('ok.test')]] }));
  t.ok(badAlpn.ok);
  if (badAlpn.ok) {
    t.same(badAlpn.value.malformedExtensions, [0x0010]);
    t.equal(badAlpn.value.sni, 'ok.test');
  }
  // Non-printable SNI bytes are escaped.
  const weird = parseClientHello(clientHello({ ciphers: [1], extensions: [[0, sni('a\nb\\')]] }));
  t.ok(weird.ok && weird.value.sni === 'a\\x0ab\\x5c');
});

t.test('ClientHello limits cap what is kept and say so', async (t) => {
  const r = parseClientHello(clientHello({ ciphers: Array.from({ length: 2000 }, (_, i) => i + 1), extensions: [] }));
  t.ok(r.ok);
  if (r.ok) {
    t.equal(r.value.cipherSuites.length, CLIENT_HELLO_LIMITS.maxCipherSuites);
    t.same(r.value.limitsHit, ['maxCipherSuites']);
  }
  const exts: Array<[number, number[]]> = Array.from({ length: 300 }, (_, i) => [0x1000 + i, []]);
  exts.push([0x0010, alpn(...Array.from({ length: 40 }, (_, i) => `p${i}`))]);
  const e = parseClientHello(clientHello({ ciphers: [1], extensions: [[0x0010, alpn(...Array.from({ length: 40 }, (_, i) => `p${i}`))], ...exts] }));
  t.ok(e.ok);
  if (e.ok) {
    t.equal(e.value.extensions.length, CLIENT_HELLO_LIMITS.maxExtensions);
    t.equal(e.value.alpn.length, CLIENT_HELLO_LIMITS.maxAlpn);
    t.same(e.value.limitsHit.sort(), ['maxAlpn', 'maxExtensions']);
  }
  const longSni = parseClientHello(clientHello({ ciphers: [1], extensions: [[0, sni('a'.repeat(300))]] }));
  t.ok(longSni.ok && longSni.value.sni?.length === CLIENT_HELLO_LIMITS.maxSniBytes && longSni.value.limitsHit.includes('maxSniBytes'));
});

t.test('ServerHello: version, ALPN, HelloRetryRequest', async (t) => {
  const hrrRandom = createHash('sha256').update('HelloRetryRequest').digest();
  const sh = (random: Uint8Array, extensions: number[]): Uint8Array =>
    Uint8Array.from([...u16(0x0303), ...random, 0, ...u16(0x1301), 0, ...u16(extensions.length), ...extensions]);
  const exts = [...ext(0x002b, u16(0x0304)), ...ext(0x0010, alpn('h2'))];
  const r = parseServerHello(sh(new Uint8Array(32).fill(9), exts));
  t.ok(r.ok);
  if (r.ok) {
    t.equal(negotiatedVersion(r.value), 0x0304);
    t.equal(r.value.alpn, 'h2');
    t.equal(r.value.helloRetryRequest, false);
    t.equal(ja3s(r.value).string, '771,4865,43-16');
  }
  const h = parseServerHello(sh(hrrRandom, exts));
  t.ok(h.ok && h.value.helloRetryRequest);
  t.match(parseServerHello(Uint8Array.from([3, 3, 1])), { ok: false, kind: 'incomplete' });
  const noExt = parseServerHello(Uint8Array.from([...u16(0x0301), ...new Array<number>(32).fill(0), 0, 0, 5, 0]));
  t.ok(noExt.ok && negotiatedVersion(noExt.value) === 0x0301 && noExt.value.extensions.length === 0);
  const overrun = sh(new Uint8Array(32), [0, 1, 0, 9, 1]);
  t.match(parseServerHello(overrun), { ok: false, kind: 'malformed' });
});

t.test('DER reader bounds', async (t) => {
  t.same(readTlv(Uint8Array.from([0x30, 0x03, 1, 2, 3]), 0, 5), { tag: 0x30, at: 0, start: 2, end: 5 });
  t.same(readTlv(Uint8Array.from([0x04, 0x82, 0x00, 0x01, 9]), 0, 5), { tag: 4, at: 0, start: 4, end: 5 }, 'long form');
  t.equal(readTlv(Uint8Array.from([0x30, 0x80, 0, 0]), 0, 4), undefined, 'indefinite length is not DER');
  t.equal(readTlv(Uint8Array.from([0x1f, 0x01, 0]), 0, 3), undefined, 'high tag number form');
  t.equal(readTlv(Uint8Array.from([0x30, 0x05, 0]), 0, 3), undefined, 'content past the parent');
  t.equal(readTlv(Uint8Array.from([0x30, 0x85, 1, 1, 1, 1, 1]), 0, 7), undefined, '5 length octets');
  t.equal(oidString(Uint8Array.from([0x55, 0x1d, 0x11]), 0, 3), '2.5.29.17');
  t.equal(oidString(Uint8Array.from([0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d]), 0, 6), '1.2.840.113549');
  t.equal(oidString(Uint8Array.from([0x55, 0x81]), 0, 2), undefined, 'unterminated sub-identifier');
  const seq = Uint8Array.from([0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x02]);
  t.equal(children(seq, readTlv(seq, 0, 8)!, 1).ok, false, 'child count bound');
  t.equal(children(seq, readTlv(seq, 0, 8)!, 4).items.length, 2);
});

t.test('X.509 times', async (t) => {
  const time = (tag: number, s: string): number | undefined => {
    const b = Uint8Array.from([tag, s.length, ...bytes(s)]);
    return parseTime(b, readTlv(b, 0, b.length)!);
  };
  t.equal(time(0x17, '491231235959Z'), Date.UTC(2049, 11, 31, 23, 59, 59) * 1000, 'UTCTime 49 → 2049');
  t.equal(time(0x17, '500101000000Z'), Date.UTC(1950, 0, 1) * 1000, 'UTCTime 50 → 1950');
  t.equal(time(0x18, '20991231120000Z'), Date.UTC(2099, 11, 31, 12) * 1000);
  t.equal(time(0x17, '20010112Z'), undefined, 'too short');
  t.equal(time(0x17, '2001011230Z'), Date.UTC(2020, 0, 1, 12, 30) * 1000, 'BER form without seconds');
  t.equal(time(0x17, '201301000000Z'), undefined, 'month 13');
  t.equal(time(0x17, '20010A000000Z'), undefined, 'not digits');
  t.equal(time(0x04, '200101000000Z'), undefined, 'not a time');
});

t.test('X.509 rejects what is not a certificate', async (t) => {
  t.match(parseCertificate(Uint8Array.from([0x30])), { ok: false });
  t.match(parseCertificate(Uint8Array.from([0x31, 0x00])), { ok: false, reason: 'x509.outer' });
  t.match(parseCertificate(Uint8Array.from([0x30, 0x02, 0x04, 0x00])), { ok: false, reason: 'x509.tbs' });
  t.match(parseCertificate(Uint8Array.from([0x30, 0x04, 0x30, 0x02, 0x02, 0x00])), { ok: false, reason: 'x509.tbs_fields' });
});

t.test('tunnel preambles and the hello scanner', async (t) => {
  const b = (s: string | number[]): Uint8Array => Uint8Array.from(typeof s === 'string' ? bytes(s) : s);
  const pre = (s: string | number[], dir: 0 | 1 = 0): string | undefined => {
    const x = b(s);
    return tunnelPreamble(x, 0, x.length, dir);
  };
  t.equal(pre('CONNECT example.com:443 HTTP/1.1\r\n\r\n'), 'http-connect');
  t.equal(pre([4, 1, 1, 187, 93, 184, 216, 34, 0]), 'socks4');
  t.equal(pre([5, 1, 0]), 'socks5');
  t.equal(pre([5, 2, 0, 2, 5, 1, 0]), 'socks5');
  t.equal(pre([5, 1, 0, 9]), undefined);
  t.equal(pre('220 mail.example ESMTP\r\n', 1), 'starttls');
  t.equal(pre('+OK POP3 ready\r\n', 1), 'starttls');
  t.equal(pre('* OK IMAP4rev1\r\n', 1), 'starttls');
  t.equal(pre('220 mail', 0), undefined, 'a greeting only counts from the server');
  t.equal(pre('GET / HTTP/1.1\r\n'), undefined);
  const sc = new HelloScanner(0, 64);
  const stream = b([...bytes('HTTP/1.1 200 OK\r\n\r\n'), 0x16, 3, 1, 0, 0x40, 1, 0, 0]);
  // Fed one byte at a time, the header is still found across the cuts.
  let found = -1;
  for (let i = 0; i < stream.length && found < 0; i++) found = sc.scan(stream, i, 1);
  t.equal(found, 24);
  t.same([...sc.header()], [0x16, 3, 1, 0, 0x40]);
  const lim = new HelloScanner(1, 10);
  t.equal(lim.scan(new Uint8Array(20), 0, 20), -1);
  t.ok(lim.exhausted);
});

t.test('record probe, names', async (t) => {
  const p = (v: number[], dir: 0 | 1 = 0): boolean => looksLikeTlsRecord(Uint8Array.from(v), 0, v.length, dir);
  t.ok(p([0x16, 3, 1, 0, 200, 1]));
  t.notOk(p([0x16, 3, 1, 0, 200, 2]), 'a ServerHello does not open the client side');
  t.ok(p([0x16, 3, 3, 0, 90, 2], 1));
  t.ok(p([0x17, 3, 3, 0, 0]));
  t.notOk(p([0x16, 3, 1, 0x50, 0]), 'record longer than TLS allows');
  t.notOk(p([0x16, 2, 0]));
  t.notOk(p([0x47, 0x45, 0x54]));
  t.notOk(p([]));
  t.same(versionName(0x0303), { protocol: 'tls', version: '1.2' });
  t.same(versionName(0x7f1c), { protocol: 'tls', version: '1.3-draft28' });
  t.equal(versionName(0x1234), undefined);
  t.equal(versionLabel(0x0300), 'SSLv3.0');
  t.equal(versionLabel(0x1234), '0x1234');
  t.equal(alertName(40), 'handshake_failure');
  t.equal(alertName(250), 'alert_250');
  t.equal(alertLevel(2), 'fatal');
  t.equal(alertLevel(1), 'warning');
  t.equal(alertLevel(7), 'level_7');
  t.equal(cipherName(0x1301), 'TLS_AES_128_GCM_SHA256');
  t.equal(cipherName(0xeeee), '0xeeee');
  t.equal(printable(Uint8Array.from([0x41, 0x00, 0x7f])), 'A\\x00\\x7f');
});
