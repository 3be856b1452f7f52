/**
 * The flow feature schema: every feature Picket computes per flow, in vector order, with its
 * meaning and range. This list is the single source: the extractor writes slots by these
 * indices, models record the names (and refuse to load when they differ), `picket score` maps
 * table columns by them, and docs/features.md is generated from it (a test checks the file).
 *
 * Rules for changing it: append or remove features freely (models trained on another list are
 * refused with a message naming the differences); when a feature's *meaning* changes, give it a
 * new name, so an old model cannot silently read a different quantity under the same name.
 */

/** Feature families, in the order they appear in the vector. */
export type FeatureFamily = 'l4' | 'http' | 'dns' | 'tls' | 'quic' | 'grpc' | 'websocket' | 'rmm' | 'zone' | 'host';

export interface FeatureSpec {
  readonly name: string;
  readonly family: FeatureFamily;
  /** One line: what the number is and when it is missing (NaN). */
  readonly meaning: string;
  /** Range of values, e.g. `0/1`, `[0, 1]`, `[0, 45]`. */
  readonly range: string;
}

/** Bumped when the list changes; recorded for people (models compare the names themselves). */
export const FEATURE_SET_VERSION = 1;

const L4 = 'l4' as const;
const f = (family: FeatureFamily, name: string, range: string, meaning: string): FeatureSpec => ({ name, family, meaning, range });

/** Missing-L7 wording shared by the L7 families. */
const NAN_HTTP = 'NaN without HTTP metadata';
const NAN_DNS = 'NaN without DNS metadata';
const NAN_TLS = 'NaN without TLS metadata';
const NAN_CERT = 'NaN without a clear-text server certificate (TLS 1.3 hides it)';
const NAN_QUIC = 'NaN without QUIC metadata';
const NAN_GRPC = 'NaN without gRPC calls';
const NAN_WS = 'NaN without WebSocket metadata';
const NAN_RMM = 'NaN unless an RMM tool was recognised';

/** Every feature, in vector order. */
export const FEATURE_SPECS: readonly FeatureSpec[] = Object.freeze([
  // L3/L4 — from the flow record itself, NetFlow included (sizes/IATs are NaN for NetFlow).
  f(L4, 'bytes_out_log', '[0, 45]', 'ln(1 + IP bytes client → server)'),
  f(L4, 'bytes_in_log', '[0, 45]', 'ln(1 + IP bytes server → client)'),
  f(L4, 'packets_out_log', '[0, 45]', 'ln(1 + packets client → server)'),
  f(L4, 'packets_in_log', '[0, 45]', 'ln(1 + packets server → client)'),
  f(L4, 'duration_log', '[0, 25]', 'ln(1 + flow duration in ms)'),
  f(L4, 'bytes_per_s_log', '[0, 45]', 'ln(1 + bytes/s both ways), duration floored at 1 ms'),
  f(L4, 'packets_per_s_log', '[0, 30]', 'ln(1 + packets/s both ways), duration floored at 1 ms'),
  f(L4, 'bytes_per_packet_out', '[0, 65535]', 'mean IP packet size client → server; 0 without packets'),
  f(L4, 'bytes_per_packet_in', '[0, 65535]', 'mean IP packet size server → client; 0 without packets'),
  f(L4, 'sent_byte_share', '[0, 1]', 'client → server share of the bytes (1 = upload only)'),
  f(L4, 'sent_packet_share', '[0, 1]', 'client → server share of the packets'),
  f(L4, 'bytes_ratio_log', '[-45, 45]', 'ln((1 + bytes out) / (1 + bytes in)): sent/received ratio'),
  f(L4, 'one_way', '0/1', '1 when the server never answered (no packet server → client)'),
  f(L4, 'dst_port_well_known', '0/1', '1 when the server port is < 1024'),
  f(L4, 'dst_port_suspicious', '0/1', '1 when the server port is on the suspicious-port list (backdoor, IRC, Tor, mining; configurable)'),
  f(L4, 'dst_port_high', '0/1', '1 when the server port is ≥ 49152 (dynamic range)'),
  f(L4, 'src_port_low', '0/1', '1 when the client port is < 1024 (unusual for a client)'),
  f(L4, 'proto_tcp', '0/1', '1 for TCP'),
  f(L4, 'proto_udp', '0/1', '1 for UDP'),
  f(L4, 'proto_icmp', '0/1', '1 for ICMP / ICMPv6'),
  f(L4, 'tcp_handshake', '0/1', '1 when the three-way handshake completed; NaN for non-TCP'),
  f(L4, 'tcp_rst', '0/1', '1 when either side sent a RST; NaN for non-TCP'),
  f(L4, 'tcp_retransmit_share', '[0, 1]', 'retransmitted segments / packets; NaN for non-TCP or NetFlow'),
  f(L4, 'iat_mean_out_log', '[0, 25]', 'ln(1 + mean inter-arrival time client → server in ms); NaN with < 2 packets or NetFlow'),
  f(L4, 'pkt_size_std_out', '[0, 32768]', 'standard deviation of IP packet sizes client → server; NaN for NetFlow'),

  // HTTP/1.x (first transactions) and HTTP/2 requests.
  f('http', 'http.ua_missing', '0/1', `1 when the first request has no User-Agent; ${NAN_HTTP}`),
  f('http', 'http.ua_script', '0/1', `1 for a tool/script/scanner User-Agent (curl, python, Go, PowerShell, nmap…); ${NAN_HTTP}`),
  f('http', 'http.ua_browser', '0/1', `1 for a browser User-Agent (Mozilla/…, not a bot); ${NAN_HTTP}`),
  f('http', 'http.method_get', '0/1', `1 when the first request is GET or HEAD; ${NAN_HTTP}`),
  f('http', 'http.method_post', '0/1', `1 when the first request is POST; ${NAN_HTTP}`),
  f('http', 'http.method_rare', '0/1', `1 when any kept request uses a method other than GET/HEAD/POST/OPTIONS; ${NAN_HTTP}`),
  f('http', 'http.status_class', '0..5', `status class of the first response (2 = 2xx…), 0 without a response; ${NAN_HTTP}`),
  f('http', 'http.error_share', '[0, 1]', `responses with status ≥ 400 / responses; ${NAN_HTTP}`),
  f('http', 'http.risky_content_type', '0/1', `1 when a response declares an executable/script/archive content type; ${NAN_HTTP}`),
  f('http', 'http.requests_log', '[0, 7]', `ln(1 + requests on the connection); ${NAN_HTTP}`),

  // DNS (all distinct query names of the flow).
  f('dns', 'dns.qtype_address', '0/1', `1 when the first question asks for A or AAAA; ${NAN_DNS}`),
  f('dns', 'dns.qtype_tunnel', '0/1', `1 when any question asks for TXT, NULL, ANY or an unassigned type; ${NAN_DNS}`),
  f('dns', 'dns.name_entropy', '[0, 6]', `highest Shannon entropy (bits/char, dots excluded) of the query names; ${NAN_DNS}`),
  f('dns', 'dns.label_count', '[0, 127]', `most labels in a query name; ${NAN_DNS}`),
  f('dns', 'dns.name_length', '[0, 253]', `longest query name, characters; ${NAN_DNS}`),
  f('dns', 'dns.digit_ratio', '[0, 1]', `highest share of digits in a query name; ${NAN_DNS}`),
  f('dns', 'dns.response_size_log', '[0, 11]', `ln(1 + largest DNS message in bytes) when a response was seen, else 0; ${NAN_DNS}`),
  f('dns', 'dns.nxdomain_share', '[0, 1]', `NXDOMAIN responses / responses (0 without responses); ${NAN_DNS}`),
  f('dns', 'dns.txt_bytes_log', '[0, 15]', `ln(1 + TXT answer bytes); ${NAN_DNS}`),
  f('dns', 'dns.queries_log', '[0, 12]', `ln(1 + queries in the flow); ${NAN_DNS}`),
  f('dns', 'dns.distinct_names_log', '[0, 6]', `ln(1 + distinct query names kept); ${NAN_DNS}`),

  // TLS (clear-text handshake; certificates only up to TLS 1.2).
  f('tls', 'tls.version', '{3, 10, 11, 12, 13}', `negotiated version: 3 = SSL 3.0, 10..13 = TLS 1.0..1.3; NaN when not negotiated or ${NAN_TLS}`),
  f('tls', 'tls.sni_missing', '0/1', `1 when the ClientHello carried no SNI; ${NAN_TLS}`),
  f('tls', 'tls.fp_known_bad', '0/1', `1 when the JA3 or JA4 is on the known-bad list (configurable); ${NAN_TLS}`),
  f('tls', 'tls.fp_unseen', '0/1', `1 when this JA4 (else JA3) was not seen before by this sensor (bounded memory of recent fingerprints); ${NAN_TLS}`),
  f('tls', 'tls.cert_valid', '0/1', `1 when the leaf certificate is within its validity, not self-signed and matches the SNI; ${NAN_CERT}`),
  f('tls', 'tls.cert_self_signed', '0/1', `1 when the leaf certificate's subject equals its issuer; ${NAN_CERT}`),
  f('tls', 'tls.cert_expired', '0/1', `1 when the flow started after notAfter or before notBefore; ${NAN_CERT}`),
  f('tls', 'tls.cert_age_days_log', '[0, 11]', `ln(1 + days from notBefore to the flow start), 0 when negative; ${NAN_CERT}`),
  f('tls', 'tls.cert_validity_days_log', '[0, 11]', `ln(1 + validity period in days); ${NAN_CERT}`),
  f('tls', 'tls.sni_mismatch', '0/1', `1 when no SAN/CN of the leaf certificate matches the SNI (wildcards one label deep); NaN without SNI or ${NAN_CERT}`),
  f('tls', 'tls.fatal_alert', '0/1', `1 when a fatal alert was seen in clear; ${NAN_TLS}`),

  // QUIC.
  f('quic', 'quic.version_standard', '0/1', `1 for QUIC v1 or v2 (RFC 9000 / 9369); ${NAN_QUIC}`),
  f('quic', 'quic.version_gquic', '0/1', `1 for Google QUIC (Q0xx, T0xx); ${NAN_QUIC}`),
  f('quic', 'quic.zero_rtt_log', '[0, 10]', `ln(1 + 0-RTT packets from the client); ${NAN_QUIC}`),
  f('quic', 'quic.migrations', '[0, 64]', `earlier flows of this connection (connection migration); ${NAN_QUIC}`),
  f('quic', 'quic.sni_missing', '0/1', `1 when no SNI was decrypted from the Initial; ${NAN_QUIC}`),

  // gRPC (over HTTP/2).
  f('grpc', 'grpc.call_type', '0..3', `most streaming call type: 0 unary, 1 server-, 2 client-streaming, 3 bidirectional; ${NAN_GRPC}`),
  f('grpc', 'grpc.error_share', '[0, 1]', `calls with grpc-status ≠ 0 or reset / calls; ${NAN_GRPC}`),
  f('grpc', 'grpc.calls_log', '[0, 7]', `ln(1 + gRPC calls on the connection); ${NAN_GRPC}`),
  f('grpc', 'grpc.max_message_log', '[0, 22]', `ln(1 + largest gRPC message in bytes); ${NAN_GRPC}`),
  f('grpc', 'grpc.message_size_ratio_log', '[0, 22]', `log2 of largest / median message size: one outsized message stands out; ${NAN_GRPC}`),

  // WebSocket.
  f('websocket', 'ws.frame_rate_log', '[0, 12]', `ln(1 + frames per second); ${NAN_WS}`),
  f('websocket', 'ws.payload_entropy', '[0, 8]', `highest sampled payload entropy of either side, bits/byte; ${NAN_WS}`),
  f('websocket', 'ws.binary_ratio', '[0, 1]', `binary data frames / data frames; ${NAN_WS}`),
  f('websocket', 'ws.frames_log', '[0, 12]', `ln(1 + frames); ${NAN_WS}`),

  // Remote monitoring and management tools.
  f('rmm', 'rmm.tool', '0/1', '1 when the RMM classifier recognised a tool, 0 when it ran and did not; NaN for NetFlow'),
  f('rmm', 'rmm.duration_risk', '[0, 1]', `session duration / 8 h, capped at 1 (very long remote sessions); ${NAN_RMM}`),
  f('rmm', 'rmm.zone_anomaly', '0/1', `1 when the RMM client is in the untrust or guest zone; ${NAN_RMM}`),
  f('rmm', 'rmm.multi_target_log', '[0, 12]', `ln(1 + distinct RMM servers this client reached in the host window); ${NAN_RMM}`),

  // Zones (configured CIDRs; default RFC 1918 & co = trust, the rest untrust).
  f('zone', 'zone.src_internal', '0/1', '1 when the client is in an internal zone (anything but untrust)'),
  f('zone', 'zone.dst_internal', '0/1', '1 when the server is in an internal zone'),
  f('zone', 'zone.src_guest', '0/1', '1 when the client is in the guest zone'),
  f('zone', 'zone.transition', '0/1', '1 when client and server are in different zones'),
  f('zone', 'zone.external_inbound', '0/1', '1 for untrust → internal (inbound from outside)'),
  f('zone', 'zone.internal_lateral', '0/1', '1 for internal → internal (east-west)'),
  f('zone', 'zone.outbound', '0/1', '1 for internal → untrust'),

  // Host context over a sliding window (two epochs of `hostWindowSec`; HyperLogLog per host, LRU of hosts).
  f('host', 'host.src_distinct_dsts_log', '[0, 15]', 'ln(1 + distinct servers this client reached in the window)'),
  f('host', 'host.src_distinct_ports_log', '[0, 12]', 'ln(1 + distinct server ports/protocols this client reached in the window)'),
  f('host', 'host.dst_distinct_srcs_log', '[0, 15]', 'ln(1 + distinct clients that reached this server in the window)'),
  f('host', 'host.src_flows_log', '[0, 15]', 'ln(1 + flows from this client in the window)'),
]);

/** Feature names in vector order (the schema models are trained on). */
export const FEATURE_NAMES: readonly string[] = Object.freeze(FEATURE_SPECS.map((s) => s.name));

/** Number of features per row. */
export const FEATURE_COUNT = FEATURE_NAMES.length;

/** Index of each feature by name. */
export const FEATURE_INDEX: ReadonlyMap<string, number> = new Map(FEATURE_NAMES.map((n, i) => [n, i]));

/** Index of a feature; throws on an unknown name (a programmer error: names come from this file). */
export function featureIndex(name: string): number {
  const i = FEATURE_INDEX.get(name);
  if (i === undefined) throw new RangeError(`unknown feature ${name}`);
  return i;
}

/** The family a feature belongs to (`l4` for unknown names). */
export function featureFamily(name: string): FeatureFamily {
  const i = FEATURE_INDEX.get(name);
  return i === undefined ? 'l4' : FEATURE_SPECS[i]!.family;
}
