/**
 * TLS ClientHello parser (RFC 8446 §4.1.2, RFC 5246 §7.4.1.2) shared by the TLS-over-TCP
 * dissector and the QUIC dissector (whose CRYPTO frames carry the same handshake message).
 *
 * Input is the handshake message BODY: the bytes after the 4-byte handshake header
 * (msg_type 1 + uint24 length). Use `parseClientHelloMessage` for a full handshake message.
 *
 * Views in the result (`random`, `sessionId`, `extensions[].data`, `quicTransportParameters`)
 * alias the input buffer: copy them if the buffer is reused after the call.
 */
import { ByteReader } from '../../util/byte-reader.js';
import { incomplete, malformed, ok, type ParseResult } from '../../util/result.js';
import { printable } from './text.js';

export { ja4, type Ja4 } from './ja4.js';
export { ja3, type Ja3 } from './ja3.js';

/** Caps on what one ClientHello may make us store (the handshake size cap bounds the rest). */
export const CLIENT_HELLO_LIMITS = {
  /** Cipher suites kept (a u16 list can hold 32767; real clients send < 100). */
  maxCipherSuites: 1024,
  /** Extensions kept. */
  maxExtensions: 256,
  /** Entries kept per inner list (groups, signature algorithms, versions, point formats). */
  maxListEntries: 512,
  /** ALPN protocol names kept. */
  maxAlpn: 32,
  /** SNI bytes kept (DNS names are ≤ 253; RFC 6066 allows up to 2^16-1). */
  maxSniBytes: 255,
} as const;

export const EXT = {
  serverName: 0x0000,
  supportedGroups: 0x000a,
  ecPointFormats: 0x000b,
  signatureAlgorithms: 0x000d,
  alpn: 0x0010,
  supportedVersions: 0x002b,
  quicTransportParameters: 0x0039,
  /** Pre-RFC 9000 QUIC drafts used 0xffa5 for transport parameters. */
  quicTransportParametersDraft: 0xffa5,
} as const;

/** One extension in wire order. `data` is a view of the extension_data bytes. */
export interface TlsExtension {
  readonly type: number;
  readonly data: Uint8Array;
}

/** A parsed ClientHello. Lists keep wire order and GREASE values (fingerprints filter them). */
export interface ClientHello {
  /** legacy_version (0x0303 for TLS 1.2 and 1.3). */
  legacyVersion: number;
  random: Uint8Array;
  sessionId: Uint8Array;
  cipherSuites: number[];
  compressionMethods: number[];
  /** False when the message ended after compression_methods (SSL 3.0 / early TLS clients). */
  hasExtensionsBlock: boolean;
  extensions: TlsExtension[];
  /** First host_name of server_name, printable (non-printable bytes as `\xNN`). */
  sni?: string;
  /** ALPN protocol names offered, printable form (non-printable bytes as `\xNN`). */
  alpn: string[];
  /** ALPN protocol names as sent (JA4 looks at raw bytes). Views into the input. */
  alpnRaw: Uint8Array[];
  supportedVersions: number[];
  supportedGroups: number[];
  ecPointFormats: number[];
  signatureAlgorithms: number[];
  /** quic_transport_parameters (0x39, or draft 0xffa5) extension data, raw. */
  quicTransportParameters?: Uint8Array;
  /** An extension's length ran past the extensions block; the extensions before it are kept. */
  extensionsOverrun: boolean;
  /** Extensions whose inner structure did not parse (kept in `extensions`, fields left empty). */
  malformedExtensions: number[];
  /** Names of CLIENT_HELLO_LIMITS that hit (lists were truncated). */
  limitsHit: string[];
}

type U16Field = 'cipherSuites' | 'supportedVersions' | 'supportedGroups' | 'signatureAlgorithms';

/**
 * Reads a u16 list into `ch[field]`, keeping at most `cap` entries in all. The first list of a
 * field is stored as an exact-size array (pushing ~30 ciphers into `[]` reallocates several
 * times per hello); a repeated extension appends to it as before.
 */
function u16List(r: ByteReader, bytes: number, cap: number, field: U16Field, ch: ClientHello, limitName: string): boolean {
  if (bytes % 2 !== 0 || !r.has(bytes)) return false;
  const n = bytes / 2;
  const out = ch[field];
  if (out.length === 0) {
    const keep = Math.min(n, cap);
    const list = new Array<number>(keep);
    for (let i = 0; i < keep; i++) list[i] = r.u16();
    for (let i = keep; i < n; i++) r.u16();
    if (n > cap) ch.limitsHit.push(limitName);
    ch[field] = list;
    return true;
  }
  let dropped = false;
  for (let i = 0; i < n; i++) {
    const v = r.u16();
    if (out.length < cap) out.push(v);
    else dropped = true;
  }
  if (dropped) ch.limitsHit.push(limitName);
  return true;
}

/** Parses the inner structure of the extensions we report; returns false if it is malformed. */
function parseExtension(ch: ClientHello, type: number, data: Uint8Array): boolean {
  const r = new ByteReader(data);
  const L = CLIENT_HELLO_LIMITS;
  switch (type) {
    case EXT.serverName: {
      if (data.length === 0) return true; // empty server_name is legal in a ServerHello echo
      const listLen = r.u16();
      if (r.failed || listLen > r.remaining) return false;
      const list = r.sub(listLen);
      // Bounded by the list length: each entry consumes at least 3 bytes.
      while (list.remaining > 0) {
        const nameType = list.u8();
        const len = list.u16();
        const at = list.offset;
        if (!list.skip(len)) return false;
        if (nameType === 0 && ch.sni === undefined) {
          const end = at + Math.min(len, L.maxSniBytes);
          if (len > L.maxSniBytes) ch.limitsHit.push('maxSniBytes');
          ch.sni = printable(data, at, end);
        }
      }
      return true;
    }
    case EXT.alpn: {
      let dropped = false;
      const listLen = r.u16();
      if (r.failed || listLen !== r.remaining) return false;
      while (r.remaining > 0) {
        const len = r.u8();
        const name = r.bytes(len);
        if (r.failed) return false;
        if (ch.alpnRaw.length < L.maxAlpn) {
          ch.alpnRaw.push(name);
          ch.alpn.push(printable(name));
        } else dropped = true;
      }
      if (dropped) ch.limitsHit.push('maxAlpn');
      return true;
    }
    case EXT.supportedVersions: {
      const len = r.u8();
      if (r.failed || len > r.remaining) return false;
      return u16List(r, len, L.maxListEntries, 'supportedVersions', ch, 'maxListEntries');
    }
    case EXT.supportedGroups: {
      const len = r.u16();
      if (r.failed || len > r.remaining) return false;
      return u16List(r, len, L.maxListEntries, 'supportedGroups', ch, 'maxListEntries');
    }
    case EXT.signatureAlgorithms: {
      const len = r.u16();
      if (r.failed || len > r.remaining) return false;
      return u16List(r, len, L.maxListEntries, 'signatureAlgorithms', ch, 'maxListEntries');
    }
    case EXT.ecPointFormats: {
      const len = r.u8();
      if (r.failed || len > r.remaining) return false;
      for (let i = 0; i < len; i++) {
        const v = r.u8();
            if (ch.ecPointFormats.length < L.maxListEntries) ch.ecPointFormats.push(v);
      }
      return true;
    }
    case EXT.quicTransportParameters:
    case EXT.quicTransportParametersDraft:
      if (ch.quicTransportParameters === undefined) ch.quicTransportParameters = data;
      return true;
    default:
      return true;
  }
}

/**
 * Parses a ClientHello handshake body (after the 4-byte handshake header). Never throws.
 * `incomplete` means the body is shorter than its own length fields say.
 */
export function parseClientHello(body: Uint8Array): ParseResult<ClientHello> {
  const r = new ByteReader(body);
  const L = CLIENT_HELLO_LIMITS;
  const legacyVersion = r.u16();
  const random = r.bytes(32);
  const sidLen = r.u8();
  if (r.failed) return incomplete('client_hello.short');
  if (sidLen > 32) return malformed('client_hello.session_id_length');
  const sessionId = r.bytes(sidLen);
  const csLen = r.u16();
  if (r.failed) return incomplete('client_hello.short');
  if (csLen % 2 !== 0) return malformed('client_hello.cipher_suites_length');
  if (!r.has(csLen)) return incomplete('client_hello.cipher_suites');
  const ch: ClientHello = {
    legacyVersion,
    random,
    sessionId,
    cipherSuites: [],
    compressionMethods: [],
    hasExtensionsBlock: false,
    extensions: [],
    alpn: [],
    alpnRaw: [],
    supportedVersions: [],
    supportedGroups: [],
    ecPointFormats: [],
    signatureAlgorithms: [],
    extensionsOverrun: false,
    malformedExtensions: [],
    limitsHit: [],
  };
  u16List(r, csLen, L.maxCipherSuites, 'cipherSuites', ch, 'maxCipherSuites');
  const cmLen = r.u8();
  if (r.failed) return incomplete('client_hello.short');
  if (cmLen === 0) return malformed('client_hello.no_compression_methods');
  if (!r.has(cmLen)) return incomplete('client_hello.compression_methods');
  for (let i = 0; i < cmLen; i++) {
    const v = r.u8();
    if (ch.compressionMethods.length < L.maxListEntries) ch.compressionMethods.push(v);
  }
  if (r.remaining === 0) return ok(ch);
  const extLen = r.u16();
  if (r.failed) return malformed('client_hello.extensions_length');
  if (!r.has(extLen)) return incomplete('client_hello.extensions');
  ch.hasExtensionsBlock = true;
  const ext = r.sub(extLen);
  let extDropped = false;
  // Bounded by extLen: every iteration consumes at least 4 bytes.
  while (ext.remaining > 0) {
    const type = ext.u16();
    const len = ext.u16();
    const data = ext.bytes(len);
    if (ext.failed) {
      // An extension runs past the block (corrupt or fuzzed hello): keep the ones before it, as
      // nDPI and Wireshark do, so the flow still gets SNI and fingerprints; say so.
      ch.extensionsOverrun = true;
      break;
    }
    if (ch.extensions.length >= L.maxExtensions) {
      extDropped = true;
      continue;
    }
    ch.extensions.push({ type, data });
    if (!parseExtension(ch, type, data)) ch.malformedExtensions.push(type);
  }
  if (extDropped) ch.limitsHit.push('maxExtensions');
  return ok(ch);
}

/**
 * Parses a full ClientHello handshake message (4-byte header included). Trailing bytes past the
 * declared length are ignored (they belong to the next message).
 */
export function parseClientHelloMessage(msg: Uint8Array): ParseResult<ClientHello> {
  if (msg.length < 4) return incomplete('handshake.short');
  if (msg[0] !== 1) return malformed('handshake.not_client_hello');
  const len = (msg[1]! << 16) | (msg[2]! << 8) | msg[3]!;
  if (msg.length < 4 + len) return incomplete('handshake.short');
  return parseClientHello(msg.subarray(4, 4 + len));
}
