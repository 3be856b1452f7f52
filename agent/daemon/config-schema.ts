/**
 * The schema of picket.yaml: every key, its type, bounds, default and one line of documentation.
 * The loader (config-loader.ts) validates a YAML document against it and reports each problem
 * with the file, line and dotted key; config/picket.example.yaml documents the same keys (a test
 * holds the two together).
 *
 * Units: durations are seconds (fractions allowed), sizes are bytes. An empty value (`key:`)
 * means "the default".
 */
import { parseCidr } from '../util/zones.js';

/** A leaf's validator: undefined when fine, else what it must be ("a CIDR such as 10.0.0.0/8"). */
export type Check = (value: string) => string | undefined;

interface Base {
  doc: string;
}

export interface NumberSpec extends Base {
  type: 'number';
  default: number;
  min: number;
  max: number;
  /** Whole numbers only. */
  integer?: boolean;
  /** Allow 0 even when min > 0 (0 = off). */
  zeroOff?: boolean;
  /** Unit word for messages ("seconds", "bytes"). */
  unit?: string;
}

export interface BooleanSpec extends Base {
  type: 'boolean';
  default: boolean;
}

export interface StringSpec extends Base {
  type: 'string';
  default: string;
  /** Allowed values; numbers in YAML (`version: 5`) are compared by their text. */
  choices?: readonly string[];
  check?: Check;
}

export interface ListSpec extends Base {
  type: 'list';
  default: readonly string[];
  maxItems: number;
  check?: Check;
}

/** `name: [items]` with names chosen by the user (zones). */
export interface ListMapSpec extends Base {
  type: 'list-map';
  default: Readonly<Record<string, readonly string[]>>;
  maxKeys: number;
  maxItems: number;
  check?: Check;
}

/** Detector thresholds: validated against the detector registry the loader is given. */
export interface DetectorsSpec extends Base {
  type: 'detectors';
}

export interface SectionSpec extends Base {
  type: 'section';
  fields: Readonly<Record<string, Spec>>;
}

export type Spec = NumberSpec | BooleanSpec | StringSpec | ListSpec | ListMapSpec | DetectorsSpec | SectionSpec;

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;
const DAY = 86_400;

function num(def: number, doc: string, o: Omit<NumberSpec, 'type' | 'default' | 'doc'>): NumberSpec {
  return { type: 'number', default: def, doc, ...o };
}
function seconds(def: number, doc: string, min = 0.001, max = 30 * DAY): NumberSpec {
  return num(def, doc, { min, max, unit: 'seconds' });
}
function bytes(def: number, doc: string, min: number, max: number): NumberSpec {
  return num(def, doc, { min, max, integer: true, unit: 'bytes' });
}
function bool(def: boolean, doc: string): BooleanSpec {
  return { type: 'boolean', default: def, doc };
}
function str(def: string, doc: string, extra: Partial<Pick<StringSpec, 'choices' | 'check'>> = {}): StringSpec {
  return { type: 'string', default: def, doc, ...extra };
}
function list(def: readonly string[], doc: string, maxItems: number, check?: Check): ListSpec {
  return check ? { type: 'list', default: def, doc, maxItems, check } : { type: 'list', default: def, doc, maxItems };
}
function section(doc: string, fields: Record<string, Spec>): SectionSpec {
  return { type: 'section', doc, fields };
}

/** `HOST:PORT` with a port 0-65535 (`[::1]:9470` for IPv6); '' means off where the key allows it. */
export function parseHostPort(text: string): { host: string; port: number } | undefined {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^\s:[\]]+)):(\d{1,5})$/.exec(text);
  if (!m) return undefined;
  const port = Number(m[3]);
  if (port > 65535) return undefined;
  return { host: (m[1] ?? m[2])!, port };
}

const hostPortOrOff: Check = (v) => (v === '' || parseHostPort(v) ? undefined : 'HOST:PORT (e.g. 127.0.0.1:9470) or "" for off');
const cidr: Check = (v) => (parseCidr(v) ? undefined : 'an address or CIDR such as 10.0.0.0/8 or fd00::/8');
const interfaceName: Check = (v) => (/^[^\s/:]{1,15}$/.test(v) ? undefined : 'an interface name (1-15 characters, no spaces, / or :)');
const topicLevel: Check = (v) => (v === '' || (v.length <= 128 && !/[/+#\u0000]/.test(v)) ? undefined : 'an MQTT topic level: 1-128 characters without / + # or NUL');
const domain: Check = (v) => (/^(\*\.)?[A-Za-z0-9_.-]{1,253}$/.test(v) ? undefined : 'a domain name such as example.com');
const ja4: Check = (v) => (/^[a-z0-9_]{10,64}$/i.test(v) ? undefined : 'a JA4 fingerprint such as t13d1516h2_8daaf6152771_e5627efa2ab1');

/** RFC 1918, loopback, link-local and ULA: the default trusted ranges (zones.trust). */
export const DEFAULT_TRUST: readonly string[] = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '127.0.0.0/8', '169.254.0.0/16', 'fc00::/7', 'fe80::/10', '::1/128'];

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

/** The whole picket.yaml. */
export const CONFIG_SCHEMA: SectionSpec = section('picket run configuration', {
  capture: section('live capture (libpcap, native addon)', {
    interfaces: list([], 'interfaces to capture on; several are merged into one flow table', 16, interfaceName),
    filter: str('', 'BPF filter in tcpdump syntax on every interface ("" = everything); reloaded on SIGHUP'),
    snaplen: num(262144, 'bytes kept per frame', { min: 64, max: 262144, integer: true, unit: 'bytes' }),
    promiscuous: bool(true, 'promiscuous mode (a sensor on a mirror port wants it)'),
    buffer_bytes: bytes(32 * MiB, 'kernel ring per interface; a Pi with little memory can use 8 MiB', 64 * KiB, GiB),
    immediate: bool(false, 'deliver each packet at once instead of per kernel block (more CPU)'),
    timeout_ms: num(100, 'longest delay before a partly filled kernel block is delivered', { min: 1, max: 60000, integer: true, unit: 'milliseconds' }),
    batch_bytes: bytes(2 * MiB, 'batch buffer shared with the addon per interface', 64 * KiB, 64 * MiB),
    stats_interval: seconds(5, 'how often kernel drop counters (pcap_stats) are read', 0.1, 3600),
    reopen_min: seconds(0.5, 'first reopen delay after an interface goes down; doubles per failure', 0.01, 3600),
    reopen_max: seconds(30, 'longest reopen delay', 0.01, 3600),
  }),
  netflow: section('NetFlow v5/v9/IPFIX collector', {
    listen: str('', 'UDP HOST:PORT to collect on, e.g. 0.0.0.0:2055 ("" = off)', { check: hostPortOrOff }),
    rcvbuf_bytes: bytes(8 * MiB, 'UDP receive buffer asked for (capped by net.core.rmem_max; the kernel default loses bursts)', 64 * KiB, GiB),
    template_timeout: seconds(1800, 'templates not refreshed for this long are dropped', 1, DAY),
    pending_timeout: seconds(10, 'how long data waits for its template', 0, 3600),
    template_scope: str('exporter', 'templates belong to the exporter address (exporter) or address and UDP port (exporter-port)', { choices: ['exporter', 'exporter-port'] }),
    default_sampling_interval: num(1, 'sampling interval applied when the exporter says nothing', { min: 1, max: 1_000_000, integer: true }),
  }),
  flows: section('flow table', {
    max: num(262144, 'hard maximum of tracked flows; the least recently seen is evicted beyond it (~1.2 KB each)', { min: 16, max: 16_777_216, integer: true, unit: 'flows' }),
    idle_timeout: section('idle timeouts per protocol class', {
      tcp: seconds(300, 'established TCP'),
      tcp_half_open: seconds(30, 'SYN seen, handshake not completed'),
      tcp_closed: seconds(5, 'after FIN from both sides or an RST (late packets)'),
      udp: seconds(60, 'UDP flows'),
      icmp: seconds(60, 'ICMP and ICMPv6'),
      other: seconds(60, 'other IP protocols'),
    }),
    active_timeout: seconds(1800, 'long flows export an interim record this often and keep counting'),
    reassembly_bytes: num(32 * KiB, 'ordered TCP payload given to dissectors per direction (0 = none)', { min: 0, max: 16 * MiB, integer: true, unit: 'bytes' }),
    reassembly_pending_bytes: num(64 * KiB, 'out-of-order TCP bytes buffered per direction', { min: 0, max: 16 * MiB, integer: true, unit: 'bytes' }),
    jsonl: str('', 'append every flow record as a JSON line to this file (the picket inspect format; "" = off)'),
  }),
  broker: section('MQTT broker for alerts (protobuf, QoS 1, durable queue)', {
    url: str('', 'mqtt://HOST:PORT or mqtts://HOST:PORT ("" = no broker)'),
    site: str('default', 'site name: a topic level', { check: topicLevel }),
    sensor: str('', 'sensor id: topic level and MQTT client id ("" = host name)', { check: topicLevel }),
    version: str('5', 'MQTT protocol version', { choices: ['5', '3.1.1'] }),
    topic_prefix: str('picket/v1', 'topics are PREFIX/SITE/SENSOR/alert and .../status'),
    username: str('', 'broker user name (PICKET_BROKER_USER overrides)'),
    password_file: str('', 'file holding the broker password (PICKET_BROKER_PASSWORD, or a systemd credential named broker-password, override it)'),
    ca_file: str('', 'PEM CA certificate to trust for mqtts://'),
    cert_file: str('', 'PEM client certificate for mutual TLS'),
    key_file: str('', 'PEM private key of cert_file'),
    queue_dir: str('', 'durable alert queue directory; "" keeps alerts in memory only'),
    queue_max_bytes: bytes(256 * MiB, 'bound of the alert queue; beyond it the oldest lowest-severity alerts are dropped', 64 * KiB, 64 * GiB),
    fsync: str('batch', 'queue durability: always (each alert), batch (every fsync_every_records or fsync_interval), none', { choices: ['always', 'batch', 'none'] }),
    fsync_every_records: num(512, 'batch fsync after this many alerts', { min: 1, max: 1_000_000, integer: true }),
    fsync_interval: seconds(0.2, 'batch fsync at most this long after an alert', 0.001, 60),
    status_interval: seconds(30, 'retained status message period', 1, DAY),
    inflight: num(256, 'unacknowledged alerts at most', { min: 1, max: 65535, integer: true }),
    keepalive: seconds(30, 'MQTT keepalive', 1, 65535),
    flush_timeout: seconds(3, 'at shutdown, wait this long for acknowledgements (the rest stays queued)', 0, 60),
  }),
  metrics: section('Prometheus metrics', {
    listen: str('127.0.0.1:9470', 'HOST:PORT of the /metrics endpoint ("" = off); keep it on loopback', { check: hostPortOrOff }),
  }),
  logging: section('JSON logs on stdout (journald)', {
    level: str('info', 'least severe level written; reloaded on SIGHUP', { choices: LOG_LEVELS }),
  }),
  model: section('anomaly model (Isolation Forest)', {
    path: str('', 'model file; learned here after learning_period when it does not exist ("" = no anomaly model)'),
    learning_period: seconds(7 * DAY, 'traffic observed before the first model is trained', 60, 365 * DAY),
  }),
  zones: {
    type: 'list-map',
    doc: 'network zones by CIDR, longest prefix wins; trust and guest are known names, others are free; unmatched = untrust',
    default: { trust: DEFAULT_TRUST, guest: [] },
    maxKeys: 64,
    maxItems: 4096,
    check: cidr,
  },
  allow: section('allow-lists: matching alerts are never raised; reloaded on SIGHUP', {
    hosts: list([], 'addresses or CIDRs (source or destination)', 65536, cidr),
    domains: list([], 'domain suffixes matched against SNI, HTTP host and DNS name', 65536, domain),
    ja4: list([], 'JA4 fingerprints', 65536, ja4),
    detectors: list([], 'detector names whose alerts are dropped', 256),
  }),
  alerts: section('alert aggregation and output', {
    window: seconds(900, 'an alert stays open while occurrences come within this long of its last one', 1, DAY),
    update_interval: seconds(30, 'minimum time between two updates of one alert (severity rises go at once)', 0, DAY),
    max_open: num(10000, 'open alerts kept; beyond it the least recently active is closed', { min: 1, max: 1_000_000, integer: true }),
    jsonl: str('', 'append every alert (new and updates) as a JSON line to this file ("" = off)'),
  }),
  detectors: {
    type: 'detectors',
    doc: 'per detector: false disables it, a mapping overlays its thresholds on the defaults; reloaded on SIGHUP',
  },
});

/** Detector settings as given: name → false | { setting: value }. */
export type DetectorSettings = Record<string, false | Record<string, unknown>>;

/** The validated configuration, defaults filled in (keys as in YAML). */
export interface PicketConfig {
  capture: {
    interfaces: string[];
    filter: string;
    snaplen: number;
    promiscuous: boolean;
    buffer_bytes: number;
    immediate: boolean;
    timeout_ms: number;
    batch_bytes: number;
    stats_interval: number;
    reopen_min: number;
    reopen_max: number;
  };
  netflow: {
    listen: string;
    rcvbuf_bytes: number;
    template_timeout: number;
    pending_timeout: number;
    template_scope: 'exporter' | 'exporter-port';
    default_sampling_interval: number;
  };
  flows: {
    max: number;
    idle_timeout: { tcp: number; tcp_half_open: number; tcp_closed: number; udp: number; icmp: number; other: number };
    active_timeout: number;
    reassembly_bytes: number;
    reassembly_pending_bytes: number;
    jsonl: string;
  };
  broker: {
    url: string;
    site: string;
    sensor: string;
    version: '5' | '3.1.1';
    topic_prefix: string;
    username: string;
    password_file: string;
    ca_file: string;
    cert_file: string;
    key_file: string;
    queue_dir: string;
    queue_max_bytes: number;
    fsync: 'always' | 'batch' | 'none';
    fsync_every_records: number;
    fsync_interval: number;
    status_interval: number;
    inflight: number;
    keepalive: number;
    flush_timeout: number;
  };
  metrics: { listen: string };
  logging: { level: (typeof LOG_LEVELS)[number] };
  model: { path: string; learning_period: number };
  zones: Record<string, string[]>;
  allow: { hosts: string[]; domains: string[]; ja4: string[]; detectors: string[] };
  alerts: { window: number; update_interval: number; max_open: number; jsonl: string };
  detectors: DetectorSettings;
}

/** Every leaf key path of the schema (`flows.idle_timeout.tcp`...), in schema order. */
export function schemaKeys(spec: SectionSpec = CONFIG_SCHEMA, prefix = ''): string[] {
  const out: string[] = [];
  for (const [k, s] of Object.entries(spec.fields)) {
    const path = prefix ? `${prefix}.${k}` : k;
    if (s.type === 'section') out.push(...schemaKeys(s, path));
    else out.push(path);
  }
  return out;
}
