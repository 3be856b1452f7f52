import { createDecipheriv } from 'node:crypto';
import { limitHit, malformed, ok, type ParseResult } from '../../util/result.js';
import type { InitialKeys } from './initial-keys.js';
import type { PacketHeader } from './header.js';

const TAG_LEN = 16;
const SAMPLE_LEN = 16;

/** Largest header (through the packet number) we copy to unprotect: 1+4+1+20+1+20+8+token+8+4. */
export const MAX_HEADER_COPY = 2048;

const F_SHORT = malformed('decrypt.too_short');
const F_AEAD = malformed('decrypt.aead');
const F_HEADER = limitHit('decrypt.header_bytes');

/** What a successful decryption yields. `payload` is a fresh buffer owned by the caller. */
export interface Decrypted {
  payload: Buffer;
  packetNumber: number;
}

/**
 * Packet numbers are sent truncated (RFC 9000 §17.1, Appendix A.3): rebuilds the full number
 * closest to `largest + 1`. Exact below 2^53, which a capture never reaches.
 */
export function decodePacketNumber(largest: number, truncated: number, pnBits: number): number {
  const expected = largest + 1;
  const win = 2 ** pnBits;
  const half = win / 2;
  const candidate = Math.floor(expected / win) * win + truncated;
  if (candidate <= expected - half && candidate < 2 ** 62 - win) return candidate + win;
  if (candidate > expected + half && candidate >= win) return candidate - win;
  return candidate;
}

/**
 * Removes header protection (RFC 9001 §5.4: AES-128-ECB mask over a 16-byte sample taken 4 bytes
 * after the packet number offset) and decrypts the payload with AES-128-GCM (§5.3: nonce = iv XOR
 * packet number, AAD = the unprotected header). Works on a private copy of the header: the caller's
 * buffer is never modified (other dissectors see the same bytes). Never throws.
 */
export function decryptLongPacket(
  buf: Uint8Array,
  start: number,
  h: PacketHeader,
  keys: InitialKeys,
  largestPn: number,
  scratch: Buffer,
): ParseResult<Decrypted> {
  const pnOff = h.pnOffset;
  if (pnOff < 0 || pnOff + 4 + SAMPLE_LEN > h.end) return F_SHORT;
  const mask = keys.hp.update(buf.subarray(pnOff + 4, pnOff + 4 + SAMPLE_LEN));
  if (mask.length < 5) return F_SHORT;
  const first = buf[start]! ^ (mask[0]! & 0x0f);
  const pnLen = (first & 3) + 1;
  const hdrLen = pnOff + pnLen - start;
  if (hdrLen > scratch.length) return F_HEADER;
  if (pnOff + pnLen + TAG_LEN > h.end) return F_SHORT;
  scratch.set(buf.subarray(start, pnOff + pnLen), 0);
  scratch[0] = first;
  let truncated = 0;
  for (let i = 0; i < pnLen; i++) {
    const b = buf[pnOff + i]! ^ mask[1 + i]!;
    scratch[pnOff - start + i] = b;
    truncated = truncated * 256 + b;
  }
  const pn = decodePacketNumber(largestPn, truncated, pnLen * 8);
  const nonce = Buffer.from(keys.iv);
  // XOR the 62-bit packet number into the last 8 bytes of the IV (big-endian).
  let rest = pn;
  for (let i = 11; i >= 4 && rest > 0; i--) {
    nonce[i] = nonce[i]! ^ rest % 256;
    rest = Math.floor(rest / 256);
  }
  const ctEnd = h.end - TAG_LEN;
  try {
    const d = createDecipheriv('aes-128-gcm', keys.key, nonce);
    d.setAAD(scratch.subarray(0, hdrLen));
    d.setAuthTag(buf.subarray(ctEnd, h.end));
    const out = d.update(buf.subarray(pnOff + pnLen, ctEnd));
    d.final(); // throws when the tag does not verify
    return ok({ payload: out, packetNumber: pn });
  } catch {
    // Wrong keys (not an Initial of this DCID, unknown salt) or corrupted bytes.
    return F_AEAD;
  }
}
