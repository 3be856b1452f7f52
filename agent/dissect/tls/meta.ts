/**
 * What the TLS dissector puts on a flow record (`record.app.tls`) and its ECS mapping. Field
 * names marked "read by others" are a contract with the QUIC, RMM and detector code.
 */

/** One certificate of the server's chain (leaf first). */
export interface TlsCertificate {
  /** Distinguished name, certificate order, `, ` separated (ECS/OpenSSL style, RFC 4514 escaping). */
  subject: string;
  subjectCN?: string;
  issuer: string;
  issuerCN?: string;
  /** subjectAltName DNS names and IP addresses. */
  san: string[];
  notBeforeUs?: number;
  notAfterUs?: number;
  /** Subject and issuer Names are byte-equal (no signature check). */
  selfSigned: boolean;
  /** Upper-case hex SHA-256 of the DER. */
  sha256: string;
  /** Upper-case hex SHA-1 of the DER; leaf only ('' for the rest of the chain). */
  sha1: string;
  serial: string;
  /** Organisation names (O) of subject and issuer, for RMM/vendor matching. */
  subjectO: string[];
  issuerO: string[];
  /** The DER did not parse completely; fields hold what did. */
  partial: boolean;
}

/** One alert as seen on the wire. */
export interface TlsAlert {
  /** Who sent it. */
  from: 'client' | 'server';
  /** `warning` / `fatal`, absent when encrypted. */
  level?: string;
  /** RFC name, e.g. `handshake_failure`; absent when encrypted. */
  description?: string;
  code?: number;
  encrypted: boolean;
}

/** TLS metadata of one flow. */
export interface TlsMeta {
  /** SNI host name (read by others). */
  sni?: string;
  /** ALPN protocols offered by the client, in order (read by others). */
  alpn: string[];
  /** JA3 MD5 (read by others) and its clear string. */
  ja3?: string;
  ja3String?: string;
  /** JA4 (read by others) and JA4_r. */
  ja4?: string;
  ja4_r?: string;
  ja3s?: string;
  ja3sString?: string;
  /** Negotiated version, ECS form "1.2"/"1.3"/"3.0" (read by others); with `versionProtocol`. */
  version?: string;
  versionProtocol?: string;
  /** Negotiated version code (0x0303…). */
  versionCode?: number;
  /** Highest version the client offered (supported_versions or legacy_version). */
  clientVersionCode?: number;
  /** Negotiated cipher suite: IANA name and code. */
  cipher?: string;
  cipherCode?: number;
  /** ALPN protocol the server selected. */
  nextProtocol?: string;
  /** Handshake completed into encrypted application data both ways. */
  established: boolean;
  /** Offered cipher suites, IANA names, GREASE removed. */
  supportedCiphers: string[];
  /** Client extension types, wire order (GREASE kept as sent, so it shows). */
  extensions: number[];
  serverExtensions: number[];
  groups: number[];
  signatureAlgorithms: number[];
  supportedVersions: number[];
  ecPointFormats: number[];
  /** Server chain in clear (TLS ≤ 1.2), leaf first (read by others). */
  serverCertificates: TlsCertificate[];
  /** Client chain in clear (TLS ≤ 1.2 mutual TLS), leaf first. */
  clientCertificates: TlsCertificate[];
  /** Leaf certificate facts (read by others). */
  selfSigned?: boolean;
  expired?: boolean;
  notYetValid?: boolean;
  validityDays?: number;
  alerts: TlsAlert[];
  helloRetryRequest: boolean;
  /** A ServerHello echoed the client's non-empty session id (TLS ≤ 1.2 resumption). */
  resumed?: boolean;
  /** The proxy tunnel TLS ran in (`http-connect`, `socks4`, `socks5`), if any. */
  tunnel?: string;
  /** Records parsed per direction [client, server]. */
  records: [number, number];
}

/** An empty metadata object. */
export function emptyMeta(): TlsMeta {
  return {
    alpn: [],
    established: false,
    supportedCiphers: [],
    extensions: [],
    serverExtensions: [],
    groups: [],
    signatureAlgorithms: [],
    supportedVersions: [],
    ecPointFormats: [],
    serverCertificates: [],
    clientCertificates: [],
    alerts: [],
    helloRetryRequest: false,
    records: [0, 0],
  };
}

/** Last texts made per slot: certificate times repeat (one server chain, many flows). */
const ISO_SLOTS = 256;
const isoKeys = new Float64Array(ISO_SLOTS).fill(NaN);
const isoTexts: Array<string | undefined> = new Array<string | undefined>(ISO_SLOTS).fill(undefined);

function iso(us: number | undefined): string | undefined {
  if (us === undefined) return undefined;
  const slot = (us / 1e6) & (ISO_SLOTS - 1);
  if (isoKeys[slot] === us) return isoTexts[slot];
  const d = new Date(us / 1000);
  const text = Number.isNaN(d.getTime()) ? undefined : d.toISOString();
  isoKeys[slot] = us;
  isoTexts[slot] = text;
  return text;
}

/**
 * A copy of `o` without undefined values and without nested objects left empty, so ECS output
 * has no empty keys. Builds new objects (same key order) rather than deleting keys: deletes put
 * objects in V8's slow dictionary mode, and JSON.stringify of this record was then as costly
 * as building it.
 */
function compact(o: Record<string, unknown>): Record<string, unknown> | undefined {
  let out: Record<string, unknown> | undefined;
  for (const k in o) {
    let v = o[k];
    if (v === undefined) continue;
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      v = compact(v as Record<string, unknown>);
      if (v === undefined) continue;
    }
    (out ??= {})[k] = v;
  }
  return out;
}

const HEX4: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

function hexList(values: number[]): string[] {
  const out = new Array<string>(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    // Values are u16; anything wider (never from the parsers) keeps the generic form.
    out[i] = v >= 0 && v <= 0xffff ? `0x${HEX4[v >> 8]}${HEX4[v & 0xff]}` : `0x${v.toString(16).padStart(4, '0')}`;
  }
  return out;
}

/** ECS `x509.*` of one certificate. */
function x509Ecs(leaf: TlsCertificate | undefined): Record<string, unknown> | undefined {
  return leaf
    ? {
        subject: {
          common_name: leaf.subjectCN !== undefined ? [leaf.subjectCN] : undefined,
          distinguished_name: leaf.subject,
          organization: leaf.subjectO.length ? leaf.subjectO : undefined,
        },
        issuer: {
          common_name: leaf.issuerCN !== undefined ? [leaf.issuerCN] : undefined,
          distinguished_name: leaf.issuer,
          organization: leaf.issuerO.length ? leaf.issuerO : undefined,
        },
        not_before: iso(leaf.notBeforeUs),
        not_after: iso(leaf.notAfterUs),
        serial_number: leaf.serial,
        alternative_names: leaf.san.length ? leaf.san : undefined,
      }
    : undefined;
}

/** ECS mapping: `tls.*` where ECS names a field, `picket.tls.*` for the rest. */
export function tlsEcs(m: TlsMeta): Record<string, unknown> {
  const leaf = m.serverCertificates[0];
  const cleaf = m.clientCertificates[0];
  const out = compact({
    tls: {
      version: m.version,
      version_protocol: m.versionProtocol,
      cipher: m.cipher,
      established: m.established,
      next_protocol: m.nextProtocol,
      client: {
        server_name: m.sni,
        ja3: m.ja3,
        ja4: m.ja4,
        supported_ciphers: m.supportedCiphers.length ? m.supportedCiphers : undefined,
        x509: x509Ecs(cleaf),
        hash: cleaf ? { sha256: cleaf.sha256, sha1: cleaf.sha1 } : undefined,
        subject: cleaf?.subject,
        issuer: cleaf?.issuer,
      },
      server: {
        ja3s: m.ja3s,
        x509: x509Ecs(leaf),
        hash: leaf ? { sha256: leaf.sha256, sha1: leaf.sha1 } : undefined,
        not_before: iso(leaf?.notBeforeUs),
        not_after: iso(leaf?.notAfterUs),
        subject: leaf?.subject,
        issuer: leaf?.issuer,
      },
    },
    picket: {
      tls: {
        ja3_string: m.ja3String,
        ja3s_string: m.ja3sString,
        ja4_r: m.ja4_r,
        alpn_offered: m.alpn.length ? m.alpn : undefined,
        client_version: m.clientVersionCode !== undefined ? `0x${m.clientVersionCode.toString(16).padStart(4, '0')}` : undefined,
        extensions: m.extensions.length ? m.extensions : undefined,
        server_extensions: m.serverExtensions.length ? m.serverExtensions : undefined,
        groups: m.groups.length ? hexList(m.groups) : undefined,
        signature_algorithms: m.signatureAlgorithms.length ? hexList(m.signatureAlgorithms) : undefined,
        supported_versions: m.supportedVersions.length ? hexList(m.supportedVersions) : undefined,
        self_signed: m.selfSigned,
        expired: m.expired,
        not_yet_valid: m.notYetValid,
        validity_days: m.validityDays,
        chain_length: m.serverCertificates.length || undefined,
        chain: m.serverCertificates.length > 1 ? m.serverCertificates.slice(1).map((c) => ({ subject: c.subject, issuer: c.issuer, sha256: c.sha256 })) : undefined,
        alerts: m.alerts.length ? m.alerts : undefined,
        hello_retry_request: m.helloRetryRequest || undefined,
        resumed: m.resumed,
        tunnel: m.tunnel,
        records: m.records,
      },
    },
  });
  return out ?? {};
}
