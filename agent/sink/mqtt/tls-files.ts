/**
 * The PEM files behind --broker-ca, --broker-cert and --broker-key, read and checked once at
 * start so a wrong file is one clear configuration error instead of a failed TLS handshake
 * on every retry.
 */
import { X509Certificate } from 'node:crypto';
import { createSecureContext } from 'node:tls';
import { BrokerConfigError, readPem, type BrokerOptions } from './broker-options.js';

export interface TlsMaterial {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

/** Reads and checks the TLS files of `o`; throws BrokerConfigError for unusable ones. */
export function loadTlsFiles(o: Pick<BrokerOptions, 'caFile' | 'certFile' | 'keyFile'>): TlsMaterial {
  const tls: TlsMaterial = {};
  if (o.caFile) tls.ca = readPem(o.caFile, 'broker-ca');
  if (o.certFile) tls.cert = readPem(o.certFile, 'broker-cert');
  if (o.keyFile) tls.key = readPem(o.keyFile, 'broker-key');
  if (tls.ca) {
    try {
      // createSecureContext accepts a CA file without any certificate in it; parsing does not.
      new X509Certificate(tls.ca);
    } catch (err) {
      throw new BrokerConfigError(`--broker-ca ${o.caFile ?? ''} is not a usable PEM CA certificate (${(err as Error).message}): give the CA certificate in PEM form`);
    }
  }
  if (tls.cert) {
    try {
      createSecureContext({ cert: tls.cert, ...(tls.key ? { key: tls.key } : {}) });
    } catch (err) {
      throw new BrokerConfigError(
        `--broker-cert ${o.certFile ?? ''} / --broker-key ${o.keyFile ?? ''} are not a usable PEM certificate and matching key (${(err as Error).message})`,
      );
    }
  }
  return tls;
}
