/**
 * Real TLS handshakes between Node's TLS client and server (OpenSSL underneath), joined by an
 * in-memory pipe that records what each side writes, fed to the TLS dissector. The certificate
 * is made by openssl here, and its fields are checked against what `openssl x509` prints.
 * Needs the Debian package `openssl`.
 */
import t from 'tap';
import tls from 'node:tls';
import { Duplex } from 'node:stream';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runEvents, randomSplit, prng, fingerprintOf, type StreamEvent } from '../bench/fuzz-tls.js';

const dir = mkdtempSync(join(tmpdir(), 'picket-tls-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

const DAYS = 30;
execFileSync(
  'openssl',
  ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', '/C=DE/O=Picket, Test/CN=picket.test',
    '-addext', 'subjectAltName=DNS:picket.test,DNS:*.picket.test,IP:127.0.0.1,IP:2001:db8::1', '-days', String(DAYS), '-keyout', 'k.pem', '-out', 'c.pem'],
  { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] },
);
const key = readFileSync(join(dir, 'k.pem'));
const cert = readFileSync(join(dir, 'c.pem'));
const info = Object.fromEntries(
  execFileSync('openssl', ['x509', '-in', 'c.pem', '-noout', '-serial', '-fingerprint', '-sha256', '-startdate', '-enddate', '-subject', '-nameopt', 'RFC2253'], { cwd: dir, encoding: 'utf8' })
    .trim()
    .split('\n')
    .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
);

class Side extends Duplex {
  other!: Side;
  constructor(
    private readonly dir: 0 | 1,
    private readonly log: StreamEvent[],
  ) {
    super();
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.log.push({ dir: this.dir, bytes: Uint8Array.from(chunk) });
    this.other.push(chunk);
    cb();
  }
  override _read(): void {}
}

interface Session {
  events: StreamEvent[];
  clientError?: string;
}

/** One client/server exchange ("ping" → "pong") over the recording pipe. */
function session(opts: { maxVersion: tls.SecureVersion; clientAlpn: string[]; serverAlpn: string[] }): Promise<Session> {
  const events: StreamEvent[] = [];
  const a = new Side(0, events);
  const b = new Side(1, events);
  a.other = b;
  b.other = a;
  return new Promise((resolve) => {
    const out: Session = { events };
    const done = (): void => {
      setTimeout(() => resolve(out), 20);
    };
    const server = new tls.TLSSocket(b, { isServer: true, key, cert, ALPNProtocols: opts.serverAlpn });
    server.on('error', () => undefined);
    server.on('data', () => server.write('pong'));
    const client = tls.connect({
      socket: a,
      servername: 'picket.test',
      ALPNProtocols: opts.clientAlpn,
      rejectUnauthorized: false,
      maxVersion: opts.maxVersion,
    });
    client.on('error', (e: NodeJS.ErrnoException) => {
      out.clientError = e.code ?? String(e);
      done();
    });
    client.on('secureConnect', () => client.write('ping'));
    client.on('data', () => done());
  });
}

t.test('TLS 1.2: version, cipher, ALPN, certificate as openssl sees it', async (t) => {
  const s = await session({ maxVersion: 'TLSv1.2', clientAlpn: ['h2', 'http/1.1'], serverAlpn: ['h2'] });
  const now = Date.now() * 1000;
  const r = runEvents(s.events, undefined, now);
  const m = r.meta;
  t.ok(m, 'metadata');
  if (!m) return;
  t.equal(m.version, '1.2');
  t.equal(m.versionProtocol, 'tls');
  t.match(m.cipher, /^TLS_ECDHE_ECDSA_WITH_/);
  t.equal(m.sni, 'picket.test');
  t.same(m.alpn, ['h2', 'http/1.1']);
  t.equal(m.nextProtocol, 'h2');
  t.equal(m.established, true);
  t.match(m.ja4, /^t12d\d{4}h2_[0-9a-f]{12}_[0-9a-f]{12}$/);
  t.match(m.ja3, /^[0-9a-f]{32}$/);
  const c = m.serverCertificates[0];
  t.ok(c, 'leaf certificate');
  if (!c) return;
  t.equal(c.serial, info['serial']);
  t.equal(c.sha256, info['sha256 Fingerprint']!.replace(/:/g, ''));
  // openssl's RFC 2253 form is in reverse order.
  t.equal(c.subject, info['subject']!.split(/(?<!\\),/).reverse().join(', '));
  t.equal(c.subject, 'C=DE, O=Picket\\, Test, CN=picket.test');
  t.equal(c.subjectCN, 'picket.test');
  t.equal(c.issuer, c.subject);
  t.same(c.san, ['picket.test', '*.picket.test', '127.0.0.1', '2001:db8::1']);
  t.equal(c.notBeforeUs, Date.parse(info['notBefore']!) * 1000);
  t.equal(c.notAfterUs, Date.parse(info['notAfter']!) * 1000);
  t.equal(c.selfSigned, true);
  t.equal(m.selfSigned, true);
  t.equal(m.expired, false);
  t.equal(m.validityDays, DAYS);
  // The same bytes seen 40 days later: the certificate has expired by then.
  const later = runEvents(s.events, undefined, now + (DAYS + 10) * 86_400e6);
  t.equal(later.meta?.expired, true);
  // Cut at random points: the same result.
  const rand = prng(3);
  for (let i = 0; i < 50; i++) t.equal(fingerprintOf(runEvents(s.events, randomSplit(rand), now)), fingerprintOf(r));
});

t.test('TLS 1.3: version from supported_versions, encrypted certificate, established', async (t) => {
  const s = await session({ maxVersion: 'TLSv1.3', clientAlpn: ['http/1.1'], serverAlpn: ['http/1.1'] });
  const m = runEvents(s.events).meta;
  t.ok(m);
  if (!m) return;
  t.equal(m.version, '1.3');
  t.match(m.cipher, /^TLS_AES_|^TLS_CHACHA20/);
  t.equal(m.nextProtocol, undefined, 'ALPN travels in EncryptedExtensions in TLS 1.3');
  t.same(m.serverCertificates, [], 'the certificate is encrypted');
  t.equal(m.established, true);
  t.match(m.ja4, /^t13d\d{4}h1_/);
});

t.test('a fatal alert in clear: no common ALPN', async (t) => {
  const s = await session({ maxVersion: 'TLSv1.2', clientAlpn: ['spdy/1'], serverAlpn: ['h2'] });
  t.equal(s.clientError, 'ERR_SSL_TLSV1_ALERT_NO_APPLICATION_PROTOCOL');
  const m = runEvents(s.events).meta;
  t.ok(m);
  t.same(m?.alerts, [{ from: 'server', level: 'fatal', description: 'no_application_protocol', code: 120, encrypted: false }]);
  t.equal(m?.established, false);
});
