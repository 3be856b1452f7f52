import t from 'tap';
import protobuf from 'protobufjs';
import type { Alert } from '../agent/alert/alert.js';
import type { FlowRecord } from '../agent/flow/flow-record.js';
import { picket } from '../agent/sink/generated/picket.js';
import { decodeAlert, encodeAlert, MAX_ALERT_BYTES } from '../agent/sink/wire/alert-wire.js';
import { decodeFlowRecord, encodeFlowRecord } from '../agent/sink/wire/flow-wire.js';
import { int64ToNumber, numberToInt64, numberToUint } from '../agent/sink/wire/int64.js';
import { decodeStatus, encodeStatus, type SensorStatusInfo } from '../agent/sink/wire/status-wire.js';
import { collectTypes, loadProtoDir } from './helpers/proto-compat.js';

const reflected = loadProtoDir(new URL('../proto/picket/v1/', import.meta.url).pathname);
// Camel-case view of the same schema: the generated code's field names.
const camel = new protobuf.Root().loadSync(
  ['alert.proto', 'sensor_status.proto', 'flow_record.proto'].map((f) => new URL(`../proto/picket/v1/${f}`, import.meta.url).pathname),
);
camel.resolveAll();

/** A value for every field (non-default), choosing oneof member `variant % members`. */
function fill(type: protobuf.Type, variant: number, depth = 0): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of type.fieldsArray) {
    const oneof = f.partOf;
    if (oneof && oneof.fieldsArray.length > 1 && oneof.fieldsArray[variant % oneof.fieldsArray.length] !== f) continue;
    const one = (k: number): unknown => scalar(f, k, variant, depth);
    if (f instanceof protobuf.MapField) out[f.name] = { k1: one(1), k2: one(2) };
    else if (f.repeated) out[f.name] = [one(1), one(2)];
    else out[f.name] = one(1);
  }
  return out;
}

function scalar(f: protobuf.Field, k: number, variant: number, depth: number): unknown {
  const rt = f.resolvedType;
  if (rt instanceof protobuf.Enum) return Math.max(...Object.values(rt.values));
  if (rt instanceof protobuf.Type) return depth > 4 ? {} : fill(rt, variant, depth + 1);
  switch (f.type) {
    case 'string': return `${f.name}-${k}`;
    case 'bool': return true;
    case 'double': return 0.25 + k;
    case 'float': return 0.5 + k;
    case 'bytes': return new Uint8Array([k, 2, 3]);
    case 'int64': case 'sint64': case 'sfixed64': return -1_700_000_000_000_000 - k;
    case 'uint64': case 'fixed64': return 9_007_199_254_740_000 + k;
    case 'int32': case 'sint32': case 'sfixed32': return -1000 - k;
    default: return 4_000_000_000 + k; // uint32 / fixed32
  }
}

t.test('generated code covers every message of the schema, field for field', async (t) => {
  const { messages, enums } = collectTypes(camel);
  t.ok(messages.size >= 13, `${messages.size} messages`);
  const gen = picket.v1 as unknown as Record<string, unknown>;
  for (const [full, type] of messages) {
    const name = full.slice('picket.v1.'.length);
    const cls = gen[name] as { encode(m: unknown): { finish(): Uint8Array }; decode(b: Uint8Array): unknown } | undefined;
    if (!t.ok(cls, `generated class for ${name}`) || !cls) continue;
    const maxOneof = Math.max(1, ...type.oneofsArray.map((o) => o.fieldsArray.length));
    for (let variant = 0; variant < maxOneof; variant++) {
      const obj = fill(type, variant);
      const staticBytes = cls.encode(obj).finish();
      const reflectBytes = type.encode(type.fromObject(obj)).finish();
      t.same(Buffer.from(staticBytes), Buffer.from(reflectBytes), `${name}#${variant}: generated and reflected encoders agree`);
      const back = type.toObject(type.decode(staticBytes), { longs: Number, enums: Number, bytes: Array, defaults: false });
      const expect = JSON.parse(JSON.stringify(obj, (_k, v: unknown) => (v instanceof Uint8Array ? [...v] : v)));
      t.same(back, expect, `${name}#${variant}: all ${Object.keys(obj).length} fields survive`);
      const staticBack = cls.decode(reflectBytes) as Record<string, unknown>;
      for (const key of Object.keys(obj)) t.ok(key in staticBack, `${name}.${key} decoded by the generated code`);
    }
  }
  for (const full of enums.keys()) t.ok((gen as Record<string, unknown>)[full.slice('picket.v1.'.length)], `generated enum ${full}`);
  t.ok(reflected.lookupType('picket.v1.Alert').fields['first_seen_us'], 'snake_case names on the wire schema');
});

const fullAlert: Alert = {
  id: '01JDX3Q8K4M2V7R9T0B5N6C1ZA',
  sensorId: 'edge-7',
  site: 'lab',
  firstUs: 1_764_074_851_204_123,
  lastUs: 1_764_075_182_118_456,
  severity: 'critical',
  score: 0.91,
  category: 'c2',
  detector: 'beacon',
  technique: 'T1071.001',
  tactic: 'command-and-control',
  source: { ip: '10.10.1.13', port: 51514, zone: 'trust' },
  destination: { ip: '2001:db8::66', port: 0, zone: 'untrust' },
  appProtocol: 'tls',
  evidence: {
    sni: 'c2.example',
    ja3: 'e7d705a3286e19ea42f587b344ee6865',
    ja4: 't13d1516h2_8daaf6152771_b186095e22b6',
    httpHost: 'c2.example',
    userAgent: 'Mozilla/5.0',
    dnsName: 'x1.c2.example',
    rmmTool: 'anydesk',
    values: { period_s: 2, jitter: 0.04, size: 412, note: 'steady' },
  },
  reason: '10.10.1.13 → 198.51.100.66:443 every 2.0 s ±4 % for 6 min, 412 B each',
  count: 183,
  modelVersion: 'iforest-2026-11',
};

t.test('Alert round-trips through the wire form with every field set', async (t) => {
  const r = decodeAlert(encodeAlert(fullAlert));
  t.same(r, { ok: true, value: fullAlert });
  // Port 0 is kept (proto3 optional), an absent port stays absent.
  const noPort: Alert = { ...fullAlert, source: { ip: '10.0.0.1', zone: 'trust' }, evidence: {} };
  const b = decodeAlert(encodeAlert(noPort));
  t.ok(b.ok && !('port' in b.value.source));
  t.ok(b.ok && b.value.destination.port === 0);
  t.same(b.ok && b.value.evidence, {});
});

t.test('encodeAlert stamps sensor id and site from the publisher', async (t) => {
  const { sensorId: _s, site: _x, modelVersion: _m, appProtocol: _a, ...bare } = fullAlert;
  const r = decodeAlert(encodeAlert(bare, 'sensor-9', 'branch'));
  t.ok(r.ok);
  if (!r.ok) return;
  t.equal(r.value.sensorId, 'sensor-9');
  t.equal(r.value.site, 'branch');
  t.notOk('modelVersion' in r.value);
  const plain = decodeAlert(encodeAlert(bare));
  t.ok(plain.ok && !('sensorId' in plain.value) && !('appProtocol' in plain.value));
});

t.test('decodeAlert never throws on hostile bytes', async (t) => {
  const good = encodeAlert(fullAlert);
  t.same(decodeAlert(new Uint8Array(MAX_ALERT_BYTES + 1)), { ok: false, kind: 'limit', reason: 'alert.too_large' });
  t.same(decodeAlert(good.subarray(0, good.length - 3)), { ok: false, kind: 'malformed', reason: 'alert.protobuf' });
  t.same(decodeAlert(new Uint8Array([0x0f, 0xff])), { ok: false, kind: 'malformed', reason: 'alert.protobuf' });
  t.same(decodeAlert(new Uint8Array(0)), { ok: false, kind: 'malformed', reason: 'alert.severity' });
  t.same(decodeAlert(picket.v1.Alert.encode({ severity: 3 }).finish()), { ok: false, kind: 'malformed', reason: 'alert.id_missing' });
  t.same(decodeAlert(picket.v1.Alert.encode({ id: "x", severity: 9 as picket.v1.Severity }).finish()), { ok: false, kind: 'malformed', reason: 'alert.severity' });
  // Random mutations of a valid message: each decode returns a result, never throws.
  let seed = 12345;
  const rnd = (): number => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) / 0x1000000;
  let failures = 0;
  for (let i = 0; i < 3000; i++) {
    const m = Uint8Array.from(good);
    for (let j = 0; j < 1 + (i % 4); j++) m[Math.floor(rnd() * m.length)] = Math.floor(rnd() * 256);
    const r = decodeAlert(m.subarray(0, Math.floor(rnd() * m.length) + 1));
    if (!r.ok) failures++;
  }
  t.ok(failures > 100, `${failures} of 3000 mutations rejected without throwing`);
});

const status: SensorStatusInfo = {
  sensorId: 'edge-7',
  site: 'lab',
  state: 'online',
  timeUs: 1_764_075_182_118_456,
  version: '0.1.0',
  startedUs: 1_764_074_000_000_000,
  uptimeS: 1182,
  packets: 12_345_678_901,
  drops: 17,
  flows: 345_678,
  queueDepth: 12,
  queueBytes: 9000,
  queueDropped: 3,
  alerts: { low: 1, medium: 2, high: 3, critical: 4 },
  lastError: 'broker unreachable',
  lastErrorUs: 1_764_075_100_000_000,
};

t.test('SensorStatus round-trips and rejects bad bytes', async (t) => {
  t.same(decodeStatus(encodeStatus(status)), { ok: true, value: status });
  t.same(decodeStatus(encodeStatus({ ...status, state: 'offline' })), { ok: true, value: { ...status, state: 'offline' } });
  t.same(decodeStatus(new Uint8Array(0)), { ok: false, kind: 'malformed', reason: 'status.state' });
  t.same(decodeStatus(new Uint8Array([0x1a, 0x05, 1])), { ok: false, kind: 'malformed', reason: 'status.protobuf' });
  t.same(decodeStatus(new Uint8Array(70_000)), { ok: false, kind: 'limit', reason: 'status.too_large' });
  const r = decodeStatus(picket.v1.SensorStatus.encode({ state: 1 }).finish());
  t.ok(r.ok && r.value.alerts.critical === 0 && r.value.lastError === '');
});

const flow: FlowRecord = {
  uid: 'C1a2b3',
  origin: 'packets',
  startUs: 1_764_074_851_204_123,
  endUs: 1_764_074_852_204_999,
  ipVersion: 6,
  protocol: 6,
  transport: 'tcp',
  client: { ip: '2001:db8::1', port: 51514 },
  server: { ip: '2001:db8::2', port: 443 },
  c2s: {
    packets: 10, bytes: 1500, payloadBytes: 900, firstUs: 1_764_074_851_204_123, lastUs: 1_764_074_852_204_999,
    size: { min: 60, mean: 150, max: 1500, stddev: 12.5 }, iat: { min: 10, mean: 100.5, max: 1000, stddev: 3.25 },
    tcpFlags: { syn: 1, ack: 9, fin: 1, rst: 0, psh: 3, urg: 0, ece: 0, cwr: 0 },
  },
  s2c: { packets: 8, bytes: 9000, payloadBytes: 8000, firstUs: 1_764_074_851_205_000, lastUs: 1_764_074_852_200_000 },
  communityId: '1:LQU9qZlK+B5F3KDmev6m5PMibrg=',
  state: 'closed',
  endReason: 'fin',
  partial: true,
  tcp: {
    syn: true, synAck: true, handshake: true, midstream: false, finClient: true, finServer: true, rstClient: false, rstServer: false,
    clientMss: 1460, serverMss: 1440, clientWindowScale: 7, serverWindowScale: 0, clientWindow: 64240, serverWindow: 65535,
    sackPermitted: true, timestamps: false, retransmits: 2, outOfOrder: 1,
  },
  vlan: [100, 200],
  fragments: 0,
  appProtocol: 'tls',
  app: { tls: { sni: 'example.com', ja4: 't13d1516h2_8daaf6152771_b186095e22b6' } },
  exporter: { ip: '192.0.2.1', samplingInterval: 100, observationDomain: 7 },
};

t.test('FlowRecord round-trips with every field set, and a minimal NetFlow record stays minimal', async (t) => {
  t.same(decodeFlowRecord(encodeFlowRecord(flow)), { ok: true, value: flow });
  const { tcp: _t, vlan: _v, fragments: _f, appProtocol: _a, exporter: _e, ...rest } = flow;
  const minimal: FlowRecord = { ...rest, origin: 'netflow', endReason: 'netflow', state: 'new', app: {}, ipVersion: 4, c2s: flow.s2c };
  t.same(decodeFlowRecord(encodeFlowRecord(minimal)), { ok: true, value: minimal });
});

t.test('FlowRecord encode/decode edge cases never throw', async (t) => {
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  const r = decodeFlowRecord(encodeFlowRecord({ ...flow, app: cyclic }));
  t.same(r.ok && r.value.app, {}, 'unserialisable metadata becomes {}');
  t.same(decodeFlowRecord(picket.v1.FlowRecord.encode({ origin: 1, state: 1, endReason: 1, ipVersion: 5 }).finish()), { ok: false, kind: 'malformed', reason: 'flow.ip_version' });
  t.same(decodeFlowRecord(picket.v1.FlowRecord.encode({ origin: 1, state: 0, endReason: 1, ipVersion: 4 }).finish()), { ok: false, kind: 'malformed', reason: 'flow.enum' });
  const weird = decodeFlowRecord(picket.v1.FlowRecord.encode({ origin: 2, state: 1, endReason: 7, ipVersion: 4, appJson: '[1]' }).finish());
  t.ok(weird.ok && Object.keys(weird.value.app).length === 0 && weird.value.client.ip === '');
  t.same(decodeFlowRecord(picket.v1.FlowRecord.encode({ origin: 2, state: 1, endReason: 7, ipVersion: 4, appJson: '{' }).finish()).ok, true);
  t.same(decodeFlowRecord(new Uint8Array([0xff])), { ok: false, kind: 'malformed', reason: 'flow.protobuf' });
  t.same(decodeFlowRecord(new Uint8Array(10), 5), { ok: false, kind: 'limit', reason: 'flow.too_large' });
});

t.test('64-bit helpers', async (t) => {
  t.equal(int64ToNumber(undefined), 0);
  t.equal(int64ToNumber(42), 42);
  t.equal(numberToInt64(Number.NaN), 0);
  t.equal(numberToInt64(-1.9), -1);
  t.equal(numberToUint(-5), 0);
  t.equal(numberToUint(70_000, 0xffff), 0xffff);
  t.equal(numberToUint(Number.POSITIVE_INFINITY), 0);
});
