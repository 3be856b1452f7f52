/**
 * The TLS ≤ 1.2 Certificate handshake message (RFC 5246 §7.4.2): a uint24-length list of
 * uint24-length DER certificates, leaf first. (TLS 1.3's form is always encrypted on the wire.)
 */
import { ByteReader } from '../../util/byte-reader.js';
import type { TlsCertificate } from './meta.js';
import { parseCertificate } from './x509.js';

export interface ChainResult {
  certificates: TlsCertificate[];
  /** Counter kinds: `malformed.<reason>` / `limit.<name>`. */
  problems: string[];
}

/** Parses up to `max` certificates of a Certificate message body. Never throws. */
export function parseCertificateChain(body: Uint8Array, max: number): ChainResult {
  const out: ChainResult = { certificates: [], problems: [] };
  const r = new ByteReader(body);
  const listLen = r.u24();
  if (r.failed || listLen > r.remaining) {
    out.problems.push('malformed.certificate.list_length');
    return out;
  }
  const list = r.sub(listLen);
  let entries = 0;
  // Bounded by listLen (each entry consumes ≥ 3 bytes) and by `max` entries.
  while (list.remaining > 0) {
    const len = list.u24();
    const der = list.bytes(len);
    if (list.failed) {
      out.problems.push('malformed.certificate.entry_length');
      break;
    }
    if (entries++ >= max) {
      out.problems.push('limit.certificates');
      break;
    }
    const c = parseCertificate(der, out.certificates.length === 0);
    if (!c.ok) {
      out.problems.push(`malformed.${c.reason}`);
      continue;
    }
    const x = c.value;
    if (x.partial) out.problems.push('malformed.x509.partial');
    const cert: TlsCertificate = {
      subject: x.subject.dn,
      issuer: x.issuer.dn,
      san: [...x.sanDns, ...x.sanIp],
      selfSigned: x.selfSigned,
      sha256: x.sha256,
      sha1: x.sha1,
      serial: x.serial,
      subjectO: x.subject.attrs['O'] ?? [],
      issuerO: x.issuer.attrs['O'] ?? [],
      partial: x.partial,
    };
    const scn = x.subject.attrs['CN']?.[0];
    const icn = x.issuer.attrs['CN']?.[0];
    if (scn !== undefined) cert.subjectCN = scn;
    if (icn !== undefined) cert.issuerCN = icn;
    if (x.notBeforeUs !== undefined) cert.notBeforeUs = x.notBeforeUs;
    if (x.notAfterUs !== undefined) cert.notAfterUs = x.notAfterUs;
    out.certificates.push(cert);
  }
  return out;
}
