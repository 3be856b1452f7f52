/**
 * One-shot hashing for fingerprints and certificate hashes. `crypto.hash` (Node ≥ 20.12) is ~4×
 * cheaper than createHash().update().digest() for the short inputs hashed here, once per flow.
 */
import { hash } from 'node:crypto';

/** Lower-case hex digest of `data`. */
export function hexDigest(algorithm: 'md5' | 'sha1' | 'sha256', data: string | Uint8Array): string {
  return hash(algorithm, data, 'hex');
}
