import { createCipheriv, createHmac, type Cipher } from 'node:crypto';
import type { QuicVersionInfo } from './versions.js';

/**
 * Client Initial packet protection keys (RFC 9001 §5.2, RFC 9369 §3.3.1–3.3.2):
 *   initial_secret = HKDF-Extract(salt, client's first DCID)
 *   client_secret  = HKDF-Expand-Label(initial_secret, "client in", "", 32)
 *   key/iv/hp      = HKDF-Expand-Label(client_secret, "<prefix>key|iv|hp", "", 16|12|16)
 * with HKDF-SHA256 and the TLS 1.3 label form ("tls13 " + label).
 */
export interface InitialKeys {
  readonly key: Buffer;
  readonly iv: Buffer;
  /** AES-128-ECB over the header-protection sample (a reusable streaming cipher, no padding). */
  readonly hp: Cipher;
  /** Hex of the DCID the keys were derived from (cache key). */
  readonly dcidHex: string;
  readonly version: number;
}

/** HKDF-Expand (RFC 5869) for outputs of at most one SHA-256 block, which is all QUIC needs here. */
function expandLabel(secret: Uint8Array, label: string, length: number): Buffer {
  const full = `tls13 ${label}`;
  const info = Buffer.alloc(2 + 1 + full.length + 1 + 1);
  info.writeUInt16BE(length, 0);
  info[2] = full.length;
  info.write(full, 3, 'latin1');
  info[3 + full.length] = 0; // empty context
  info[4 + full.length] = 1; // T(1) counter
  return createHmac('sha256', secret).update(info).digest().subarray(0, length);
}

/** The client's Initial traffic secret (exported for the RFC test vectors). */
export function clientInitialSecret(salt: Uint8Array, dcid: Uint8Array): Buffer {
  const prk = createHmac('sha256', salt).update(dcid).digest();
  return expandLabel(prk, 'client in', 32);
}

/** Derives the client Initial keys of `dcid` for a version that has a salt; undefined otherwise. */
export function deriveClientInitialKeys(info: QuicVersionInfo, dcid: Uint8Array, dcidHex: string): InitialKeys | undefined {
  if (!info.salt) return undefined;
  const secret = clientInitialSecret(info.salt, dcid);
  const hpKey = expandLabel(secret, `${info.labelPrefix}hp`, 16);
  const hp = createCipheriv('aes-128-ecb', hpKey, null);
  hp.setAutoPadding(false);
  return {
    key: expandLabel(secret, `${info.labelPrefix}key`, 16),
    iv: expandLabel(secret, `${info.labelPrefix}iv`, 12),
    hp,
    dcidHex,
    version: info.wire,
  };
}

/** Exposed for tests: the raw hp key bytes of a derivation. */
export function deriveHpKey(info: QuicVersionInfo, dcid: Uint8Array): Buffer | undefined {
  if (!info.salt) return undefined;
  return expandLabel(clientInitialSecret(info.salt, dcid), `${info.labelPrefix}hp`, 16);
}
