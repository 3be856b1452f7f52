/** TLS/SSL protocol versions by wire code (RFC 8446 §4.2.1, RFC 6101, draft-ietf-tls-tls13). */

/** ECS-style split: `tls.version_protocol` ("tls"/"ssl"/"dtls") and `tls.version` ("1.2"). */
export interface VersionName {
  protocol: 'tls' | 'ssl' | 'dtls';
  version: string;
}

/** Name of a version code, or undefined when it is none we know. */
export function versionName(v: number): VersionName | undefined {
  switch (v) {
    case 0x0002: return { protocol: 'ssl', version: '2.0' };
    case 0x0300: return { protocol: 'ssl', version: '3.0' };
    case 0x0301: return { protocol: 'tls', version: '1.0' };
    case 0x0302: return { protocol: 'tls', version: '1.1' };
    case 0x0303: return { protocol: 'tls', version: '1.2' };
    case 0x0304: return { protocol: 'tls', version: '1.3' };
    case 0xfeff: return { protocol: 'dtls', version: '1.0' };
    case 0xfefd: return { protocol: 'dtls', version: '1.2' };
    case 0xfefc: return { protocol: 'dtls', version: '1.3' };
  }
  // TLS 1.3 drafts were 0x7fNN (draft NN); Facebook's Fizz used 0xfb1a-style experimental codes.
  if (v >> 8 === 0x7f) return { protocol: 'tls', version: `1.3-draft${v & 0xff}` };
  return undefined;
}

/** Short display form, e.g. "TLSv1.3", "SSLv3.0", or "0xNNNN" when unknown. */
export function versionLabel(v: number): string {
  const n = versionName(v);
  return n ? `${n.protocol.toUpperCase()}v${n.version}` : `0x${v.toString(16).padStart(4, '0')}`;
}
