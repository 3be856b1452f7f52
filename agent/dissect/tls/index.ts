/**
 * TLS over TCP: ClientHello (SNI, ALPN, JA3, JA4), ServerHello (version, cipher, ALPN, JA3S),
 * server certificates in clear (TLS ≤ 1.2), alerts, and whether the handshake reached
 * encrypted application data. QUIC carries its own ClientHello: see ../quic/.
 */
import type { Direction } from '../../flow/flow-observer.js';
import type { FlowRecord } from '../../flow/flow-record.js';
import { Verdict, type DissectContext, type Dissector } from '../dissector.js';
import { alertLevel, alertName } from './alerts.js';
import { cachedCertificateChain } from './chain-cache.js';
import { cipherName } from './cipher-names.js';
import { CLIENT_HELLO_LIMITS, parseClientHello, type ClientHello } from './client-hello.js';
import { cachedJa3s, helloPrints } from './fingerprint-cache.js';
import { X509_LIMITS } from './x509.js';
import { emptyMeta, tlsEcs, type TlsMeta } from './meta.js';
import { CONTENT, MAX_RECORD_LENGTH, RecordStream, type RecordLimits, type RecordSink } from './record-stream.js';
import { negotiatedVersion, parseServerHello } from './server-hello.js';
import { versionName } from './versions.js';
import { HelloScanner, tunnelPreamble, type TunnelKind } from './tunnel.js';

export type { TlsMeta, TlsCertificate, TlsAlert } from './meta.js';

const HS_CLIENT_HELLO = 1;
const HS_SERVER_HELLO = 2;
const HS_CERTIFICATE = 11;
const TLS13 = 0x0304;

/** TLS 1.3 or one of its drafts (0x7fNN). */
function isTls13(v: number): boolean {
  return v === TLS13 || v >> 8 === 0x7f;
}

/** Declared budgets (per flow unless said otherwise). */
export const TLS_LIMITS = {
  /** Stream bytes inspected per direction. */
  bytesPerDirection: 256 * 1024,
  /** Records parsed per direction. */
  recordsPerDirection: 128,
  /** Largest handshake message buffered (a certificate chain). */
  maxHandshakeMessage: 64 * 1024,
  /** Handshake messages parsed per direction. */
  handshakeMessagesPerDirection: 32,
  /** Certificates read from one Certificate message. */
  maxCertificates: 8,
  /** Alerts kept per flow. */
  maxAlerts: 16,
  /** Bytes scanned per direction for the hello after a CONNECT/SOCKS preamble. */
  tunnelPreambleBytes: 4096,
} as const;

const RECORD_LIMITS: RecordLimits = {
  maxRecords: TLS_LIMITS.recordsPerDirection,
  maxBytes: TLS_LIMITS.bytesPerDirection,
  maxHandshakeMessage: TLS_LIMITS.maxHandshakeMessage,
  maxHandshakeMessages: TLS_LIMITS.handshakeMessagesPerDirection,
};

/** Per-flow state. */
export interface TlsState {
  readonly streams: [RecordStream, RecordStream];
  readonly meta: TlsMeta;
  ctx: DissectContext;
  clientHello: boolean;
  serverHello: boolean;
  certificates: boolean;
  clientCertificates: boolean;
  /** Version the server picked (0 until ServerHello). */
  version: number;
  clientSessionId: string;
  appData: [boolean, boolean];
  ccs: [boolean, boolean];
  /** How the flow starts: undecided, TLS records at once, or a proxy preamble first. */
  mode: 'unknown' | 'direct' | 'tunnel';
  /** Per direction while a tunnel preamble is being skipped. */
  scanners: [HelloScanner | undefined, HelloScanner | undefined];
}

/**
 * Receives one direction's records. A class rather than an object of closures: every TLS flow
 * has two, and methods on the prototype cost nothing per flow.
 */
class SideSink implements RecordSink {
  private readonly from: 'client' | 'server';

  constructor(
    private readonly s: TlsState,
    private readonly dir: Direction,
  ) {
    this.from = dir === 0 ? 'client' : 'server';
  }

  wantHandshake(type: number): boolean {
    const s = this.s;
    // TLS ≤ 1.2 client certificates (mutual TLS) travel in clear too.
    if (this.dir === 0) return (type === HS_CLIENT_HELLO && !s.clientHello) || (type === HS_CERTIFICATE && !s.clientCertificates);
    if (type === HS_SERVER_HELLO) return true;
    // TLS 1.3 certificates are encrypted; a 1.3 stream is marked encrypted before they come.
    return type === HS_CERTIFICATE && !s.certificates;
  }

  handshake(type: number, body: Uint8Array, tsUs: number): void {
    const s = this.s;
    if (type === HS_CLIENT_HELLO) onClientHello(s, body, tsUs);
    else if (type === HS_SERVER_HELLO) onServerHello(s, body, tsUs);
    else if (type === HS_CERTIFICATE && this.dir === 1) onCertificate(s, body, tsUs);
    else if (type === HS_CERTIFICATE) onClientCertificate(s, body);
  }

  alert(level: number, code: number, tsUs: number): void {
    const s = this.s;
    if (s.meta.alerts.length >= TLS_LIMITS.maxAlerts) return s.ctx.count('limit.alerts');
    const from = this.from;
    const a = { from, level: alertLevel(level), description: alertName(code), code, encrypted: false } as const;
    s.meta.alerts.push(a);
    if (s.ctx.wantsEvents !== false) s.ctx.emit('tls.alert', tsUs, { from, level: a.level, description: a.description });
  }

  encryptedAlert(tsUs: number): void {
    const s = this.s;
    if (s.meta.alerts.length >= TLS_LIMITS.maxAlerts) return s.ctx.count('limit.alerts');
    s.meta.alerts.push({ from: this.from, encrypted: true });
    if (s.ctx.wantsEvents !== false) s.ctx.emit('tls.alert', tsUs, { from: this.from, encrypted: true });
  }

  changeCipherSpec(): void {
    const s = this.s;
    s.ccs[this.dir] = true;
    // TLS ≤ 1.2: what follows CCS is encrypted. TLS 1.3 CCS is a middlebox-compatibility dummy
    // (RFC 8446 §D.4), e.g. right after a HelloRetryRequest, before the real ServerHello.
    if (s.version !== 0 && !isTls13(s.version) && !s.meta.helloRetryRequest) s.streams[this.dir].encrypted = true;
  }

  applicationData(): void {
    this.s.appData[this.dir] = true;
  }

  checkpoint(): void {
    const s = this.s;
    // Stop at the record where the flow is done, not at the end of the segment that holds it.
    if (verdict(s) === Verdict.Done) {
      s.streams[0].halt();
      s.streams[1].halt();
    }
  }

  problem(kind: string): void {
    this.s.ctx.count(kind);
  }
}

const latin1Slice = (Buffer.prototype as unknown as { latin1Slice(this: Uint8Array, start: number, end: number): string }).latin1Slice;

/**
 * The bytes as a string, one character per byte: only compared for equality (resumption), so
 * the cheapest exact form, no hex conversion.
 */
function bytesKey(b: Uint8Array): string {
  return latin1Slice.call(b, 0, b.length);
}

function onClientHello(s: TlsState, body: Uint8Array, tsUs: number): void {
  s.clientHello = true;
  const r = parseClientHello(body);
  if (!r.ok) {
    s.ctx.count(`malformed.${r.reason}`);
    return;
  }
  const ch: ClientHello = r.value;
  const m = s.meta;
  for (const lim of ch.limitsHit) s.ctx.count(`limit.client_hello.${lim}`);
  if (ch.malformedExtensions.length) s.ctx.count('malformed.client_hello.extension');
  if (ch.extensionsOverrun) s.ctx.count('malformed.client_hello.extension_overrun');
  if (ch.sni !== undefined) m.sni = ch.sni;
  m.alpn = ch.alpn;
  const prints = helloPrints(ch, 't');
  m.ja3 = prints.ja3.md5;
  m.ja3String = prints.ja3.string;
  m.ja4 = prints.ja4.ja4;
  m.ja4_r = prints.ja4.ja4_r;
  m.clientVersionCode = prints.clientVersion;
  m.supportedCiphers = prints.ciphers.slice();
  m.extensions = ch.extensions.map((e) => e.type);
  m.groups = ch.supportedGroups;
  m.signatureAlgorithms = ch.signatureAlgorithms;
  m.supportedVersions = ch.supportedVersions;
  m.ecPointFormats = ch.ecPointFormats;
  s.clientSessionId = bytesKey(ch.sessionId);
  if (s.ctx.wantsEvents !== false) s.ctx.emit('tls.client_hello', tsUs, { sni: m.sni, alpn: m.alpn, ja3: m.ja3, ja4: m.ja4 });
}

function onServerHello(s: TlsState, body: Uint8Array, tsUs: number): void {
  const r = parseServerHello(body);
  if (!r.ok) {
    s.ctx.count(`malformed.${r.reason}`);
    return;
  }
  const sh = r.value;
  const m = s.meta;
  if (m.ja3s === undefined) {
    // JA3S of the first ServerHello, a HelloRetryRequest included (as nDPI and tshark's first
    // value; JA3 likewise takes the first ClientHello).
    const j = cachedJa3s(sh);
    m.ja3s = j.md5;
    m.ja3sString = j.string;
  }
  if (sh.helloRetryRequest) {
    // The real ServerHello follows the client's second ClientHello; keep parsing in clear.
    m.helloRetryRequest = true;
    return;
  }
  if (s.serverHello) return;
  s.serverHello = true;
  const v = negotiatedVersion(sh);
  s.version = v;
  const name = versionName(v);
  m.versionCode = v;
  if (name) {
    m.version = name.version;
    m.versionProtocol = name.protocol;
  }
  m.cipherCode = sh.cipherSuite;
  m.cipher = cipherName(sh.cipherSuite);
  if (sh.alpn !== undefined) m.nextProtocol = sh.alpn;
  m.serverExtensions = sh.extensions.map((e) => e.type);
  if (!isTls13(v) && sh.sessionId.length > 0) {
    m.resumed = bytesKey(sh.sessionId) === s.clientSessionId;
  }
  // TLS 1.3: everything the server sends after ServerHello is encrypted (RFC 8446 §2).
  if (isTls13(v)) s.streams[1].encrypted = true;
  if (s.ctx.wantsEvents !== false) s.ctx.emit('tls.server_hello', tsUs, { version: m.version, cipher: m.cipher, alpn: m.nextProtocol, ja3s: m.ja3s });
}

function onCertificate(s: TlsState, body: Uint8Array, tsUs: number): void {
  s.certificates = true;
  const chain = cachedCertificateChain(body, TLS_LIMITS.maxCertificates);
  for (const c of chain.problems) s.ctx.count(c);
  const m = s.meta;
  m.serverCertificates = chain.certificates;
  const leaf = chain.certificates[0];
  if (!leaf) return;
  m.selfSigned = leaf.selfSigned;
  if (leaf.notAfterUs !== undefined) m.expired = tsUs > leaf.notAfterUs;
  if (leaf.notBeforeUs !== undefined) m.notYetValid = tsUs < leaf.notBeforeUs;
  if (leaf.notAfterUs !== undefined && leaf.notBeforeUs !== undefined) {
    m.validityDays = Math.round(((leaf.notAfterUs - leaf.notBeforeUs) / 86_400e6) * 1000) / 1000;
  }
  if (s.ctx.wantsEvents !== false) s.ctx.emit('tls.certificate', tsUs, {
    subject: leaf.subject,
    issuer: leaf.issuer,
    selfSigned: leaf.selfSigned,
    expired: m.expired,
    sha256: leaf.sha256,
  });
}

function onClientCertificate(s: TlsState, body: Uint8Array): void {
  s.clientCertificates = true;
  const chain = cachedCertificateChain(body, TLS_LIMITS.maxCertificates);
  for (const c of chain.problems) s.ctx.count(c);
  s.meta.clientCertificates = chain.certificates;
}

/** Could these bytes start a TLS record? (Also matches a first segment shorter than a header.) */
export function looksLikeTlsRecord(buf: Uint8Array, off: number, len: number, dir: Direction): boolean {
  if (len < 1) return false;
  const type = buf[off]!;
  if (type < CONTENT.changeCipherSpec || type > CONTENT.applicationData) return false;
  if (len >= 2 && buf[off + 1] !== 3) return false;
  if (len >= 3 && buf[off + 2]! > 4) return false;
  if (len >= 5) {
    const rl = (buf[off + 3]! << 8) | buf[off + 4]!;
    if (rl === 0 && type !== CONTENT.applicationData) return false;
    if (rl > MAX_RECORD_LENGTH) return false;
  }
  // A handshake record opening a direction holds the hello of that side.
  if (type === CONTENT.handshake && len >= 6) {
    const hs = buf[off + 5]!;
    return dir === 0 ? hs === HS_CLIENT_HELLO : hs === HS_SERVER_HELLO || hs === 0; // 0: HelloRequest
  }
  return true;
}

/** The preamble kind from the first byte of a segment that probe() accepted as a preamble. */
function preambleKind(b0: number, dir: Direction): TunnelKind {
  if (dir === 1) return 'starttls';
  return b0 === 3 ? 'rdp' : b0 === 4 ? 'socks4' : b0 === 5 ? 'socks5' : b0 === 0x43 ? 'http-connect' : 'starttls';
}

/** Done when both directions stopped, or both reached encrypted application data. */
function verdict(s: TlsState): Verdict {
  const [c, sv] = s.streams;
  const cDone = !c.active || (s.appData[0] && c.encrypted);
  const sDone = !sv.active || (s.appData[1] && sv.encrypted);
  return cDone && sDone ? Verdict.Done : Verdict.More;
}

function isEstablished(s: TlsState): boolean {
  if (!s.serverHello) return false;
  if (s.meta.alerts.some((a) => a.level === 'fatal')) return false;
  // TLS 1.3 sends CCS only for middlebox compatibility; application data both ways is the proof.
  if (isTls13(s.version)) return s.appData[0] && s.appData[1];
  return (s.ccs[0] && s.ccs[1]) || (s.appData[0] && s.appData[1]);
}

/** The TLS-over-TCP dissector. */
export const tlsDissector: Dissector<TlsState, TlsMeta> = {
  name: 'tls',
  transports: ['tcp'],
  // Every budget, also those of the ClientHello and X.509 parsers (names are unique).
  limits: { ...TLS_LIMITS, ...CLIENT_HELLO_LIMITS, ...X509_LIMITS },
  probe(buf, off, len, dir) {
    return looksLikeTlsRecord(buf, off, len, dir) || tunnelPreamble(buf, off, len, dir) !== undefined;
  },
  create(ctx) {
    const s = {
      meta: emptyMeta(),
      ctx,
      clientHello: false,
      serverHello: false,
      certificates: false,
      clientCertificates: false,
      version: 0,
      clientSessionId: '',
      appData: [false, false],
      ccs: [false, false],
      mode: 'unknown',
      scanners: [undefined, undefined],
    } as Omit<TlsState, 'streams'> as TlsState;
    (s as { streams: TlsState['streams'] }).streams = [new RecordStream(RECORD_LIMITS, new SideSink(s, 0)), new RecordStream(RECORD_LIMITS, new SideSink(s, 1))];
    return s;
  },
  payload(s, dir, buf, off, len, tsUs, ctx) {
    s.ctx = ctx;
    if (s.mode === 'unknown') {
      // probe() accepted the direction's first segment either as a TLS record or as a preamble;
      // decide from the first byte alone so the outcome does not depend on segment sizes.
      const b0 = len > 0 ? buf[off]! : 0;
      const tunnel = b0 >= CONTENT.changeCipherSpec && b0 <= CONTENT.applicationData ? undefined : preambleKind(b0, dir);
      if (tunnel) {
        s.meta.tunnel = tunnel;
        s.mode = 'tunnel';
        s.scanners = [new HelloScanner(0, TLS_LIMITS.tunnelPreambleBytes), new HelloScanner(1, TLS_LIMITS.tunnelPreambleBytes)];
      } else s.mode = 'direct';
    }
    const st = s.streams[dir];
    const scanner = s.scanners[dir];
    if (scanner) {
      const at = scanner.scan(buf, off, len);
      if (at < 0) {
        if (!scanner.exhausted) return Verdict.More;
        ctx.count('limit.tunnel_preamble_bytes');
        s.scanners[dir] = undefined;
        st.gap(); // nothing of this direction will be parsed
        return verdict(s);
      }
      s.scanners[dir] = undefined;
      st.feed(scanner.header(), 0, 5, tsUs);
      st.feed(buf, at, off + len - at, tsUs);
      return verdict(s);
    }
    st.feed(buf, off, len, tsUs);
    // The client's first byte is not TLS after all (the probe saw only a prefix): give the flow up.
    if (st.stopped === 'malformed' && st.records === 0 && !s.clientHello && !s.serverHello) return Verdict.Reject;
    return verdict(s);
  },
  gap(s, dir, ctx) {
    s.ctx = ctx;
    s.streams[dir].gap();
    ctx.count('gap');
    return verdict(s);
  },
  finish(s, record) {
    // Without a hello (mid-stream capture): two records in a row, or one record that ended
    // exactly where the direction's bytes did, with nothing malformed after.
    const framed = (st: RecordStream): boolean => st.records >= 2 || (st.completeRecords >= 1 && st.stopped !== 'malformed');
    const recognised = s.clientHello || s.serverHello || framed(s.streams[0]) || framed(s.streams[1]);
    if (!recognised) return undefined;
    // A copy for an interim record (the flow goes on and must not change it); the final record
    // takes the state's own metadata, as nothing follows.
    const m: TlsMeta = record.partial ? { ...s.meta, alerts: [...s.meta.alerts] } : s.meta;
    m.records = [s.streams[0].records, s.streams[1].records];
    m.established = isEstablished(s);
    return m;
  },
  appProtocol() {
    return 'tls';
  },
  ecs: tlsEcs,
};

/** For the record: fields of `record.app.tls` others may read. */
export function tlsMetaOf(record: FlowRecord): TlsMeta | undefined {
  return record.app['tls'] as TlsMeta | undefined;
}
