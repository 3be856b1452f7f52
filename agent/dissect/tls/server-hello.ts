/**
 * TLS ServerHello parser (RFC 8446 §4.1.3, RFC 5246 §7.4.1.3). Input is the handshake body (after
 * the 4-byte handshake header). Views in the result alias the input.
 */
import { ByteReader } from '../../util/byte-reader.js';
import { incomplete, malformed, ok, type ParseResult } from '../../util/result.js';
import { EXT, type TlsExtension } from './client-hello.js';
import { printable } from './text.js';

/** Extensions kept from one ServerHello. */
const MAX_SERVER_EXTENSIONS = 64;

/** SHA-256("HelloRetryRequest"): a ServerHello with this random is a HelloRetryRequest (RFC 8446 §4.1.3). */
const HRR_RANDOM = [
  0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91, 0xc2, 0xa2, 0x11, 0x16,
  0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
];

export interface ServerHello {
  legacyVersion: number;
  random: Uint8Array;
  sessionId: Uint8Array;
  cipherSuite: number;
  compressionMethod: number;
  extensions: TlsExtension[];
  /** supported_versions selected_version (TLS 1.3), when present. */
  selectedVersion?: number;
  /** The ALPN protocol the server chose, printable form. */
  alpn?: string;
  /** A HelloRetryRequest: the client will send a second ClientHello. */
  helloRetryRequest: boolean;
  /** True when more extensions were sent than kept. */
  extensionsTruncated: boolean;
}

/** The version the server negotiated: supported_versions if present, else legacy_version. */
export function negotiatedVersion(sh: ServerHello): number {
  return sh.selectedVersion ?? sh.legacyVersion;
}

/** Parses a ServerHello body. Never throws. */
export function parseServerHello(body: Uint8Array): ParseResult<ServerHello> {
  const r = new ByteReader(body);
  const legacyVersion = r.u16();
  const random = r.bytes(32);
  const sidLen = r.u8();
  if (r.failed) return incomplete('server_hello.short');
  if (sidLen > 32) return malformed('server_hello.session_id_length');
  const sessionId = r.bytes(sidLen);
  const cipherSuite = r.u16();
  const compressionMethod = r.u8();
  if (r.failed) return incomplete('server_hello.short');
  let hrr = true;
  for (let i = 0; i < 32; i++) if (random[i] !== HRR_RANDOM[i]) hrr = false;
  const sh: ServerHello = {
    legacyVersion,
    random,
    sessionId,
    cipherSuite,
    compressionMethod,
    extensions: [],
    helloRetryRequest: hrr,
    extensionsTruncated: false,
  };
  if (r.remaining === 0) return ok(sh);
  const extLen = r.u16();
  if (r.failed) return malformed('server_hello.extensions_length');
  if (!r.has(extLen)) return incomplete('server_hello.extensions');
  const ext = r.sub(extLen);
  // Bounded by extLen: each iteration consumes at least 4 bytes.
  while (ext.remaining > 0) {
    const type = ext.u16();
    const len = ext.u16();
    const data = ext.bytes(len);
    if (ext.failed) return malformed('server_hello.extension_overrun');
    if (sh.extensions.length >= MAX_SERVER_EXTENSIONS) {
      sh.extensionsTruncated = true;
      continue;
    }
    sh.extensions.push({ type, data });
    if (type === EXT.supportedVersions && data.length === 2) {
      sh.selectedVersion = (data[0]! << 8) | data[1]!;
    } else if (type === EXT.alpn && data.length >= 3) {
      // protocol_name_list with exactly one name (RFC 7301 §3.1).
      const n = data[2]!;
      if (3 + n <= data.length) sh.alpn = printable(data, 3, 3 + n);
    }
  }
  return ok(sh);
}
