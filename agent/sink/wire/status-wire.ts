/**
 * SensorStatus ⇄ protobuf bytes (proto/picket/v1/sensor_status.proto). Decoding never throws.
 */
import { limitHit, malformed, ok, type ParseResult } from '../../util/result.js';
import { picket } from '../generated/picket.js';
import { int64ToNumber, numberToInt64, numberToUint } from './int64.js';

const pb = picket.v1;

/** Largest status message accepted by decodeStatus. */
export const MAX_STATUS_BYTES = 64 * 1024;

export type SensorState = 'online' | 'offline';

export interface AlertCountsBySeverity {
  low: number;
  medium: number;
  high: number;
  critical: number;
}

/** Sensor health as published on the retained `…/status` topic. */
export interface SensorStatusInfo {
  sensorId: string;
  site: string;
  state: SensorState;
  /** µs since the epoch when produced. */
  timeUs: number;
  version: string;
  startedUs: number;
  uptimeS: number;
  packets: number;
  drops: number;
  flows: number;
  queueDepth: number;
  queueBytes: number;
  queueDropped: number;
  alerts: AlertCountsBySeverity;
  /** Empty when none. */
  lastError: string;
  lastErrorUs: number;
}

const STATE_TO_PB: Readonly<Record<SensorState, picket.v1.SensorState>> = {
  online: pb.SensorState.SENSOR_STATE_ONLINE,
  offline: pb.SensorState.SENSOR_STATE_OFFLINE,
};

export function encodeStatus(s: SensorStatusInfo): Uint8Array {
  return pb.SensorStatus.encode({
    sensorId: s.sensorId,
    site: s.site,
    state: STATE_TO_PB[s.state] ?? pb.SensorState.SENSOR_STATE_UNSPECIFIED,
    timeUs: numberToInt64(s.timeUs),
    version: s.version,
    startedUs: numberToInt64(s.startedUs),
    uptimeS: numberToUint(s.uptimeS),
    packets: numberToUint(s.packets),
    drops: numberToUint(s.drops),
    flows: numberToUint(s.flows),
    queueDepth: numberToUint(s.queueDepth),
    queueBytes: numberToUint(s.queueBytes),
    queueDropped: numberToUint(s.queueDropped),
    alerts: {
      low: numberToUint(s.alerts.low),
      medium: numberToUint(s.alerts.medium),
      high: numberToUint(s.alerts.high),
      critical: numberToUint(s.alerts.critical),
    },
    lastError: s.lastError,
    lastErrorUs: numberToInt64(s.lastErrorUs),
  }).finish();
}

export function decodeStatus(bytes: Uint8Array, maxBytes = MAX_STATUS_BYTES): ParseResult<SensorStatusInfo> {
  if (bytes.length > maxBytes) return limitHit('status.too_large');
  let m: picket.v1.SensorStatus;
  try {
    m = pb.SensorStatus.decode(bytes);
  } catch {
    return malformed('status.protobuf');
  }
  let state: SensorState;
  if (m.state === pb.SensorState.SENSOR_STATE_ONLINE) state = 'online';
  else if (m.state === pb.SensorState.SENSOR_STATE_OFFLINE) state = 'offline';
  else return malformed('status.state');
  const a = m.alerts;
  return ok({
    sensorId: m.sensorId,
    site: m.site,
    state,
    timeUs: int64ToNumber(m.timeUs),
    version: m.version,
    startedUs: int64ToNumber(m.startedUs),
    uptimeS: int64ToNumber(m.uptimeS),
    packets: int64ToNumber(m.packets),
    drops: int64ToNumber(m.drops),
    flows: int64ToNumber(m.flows),
    queueDepth: int64ToNumber(m.queueDepth),
    queueBytes: int64ToNumber(m.queueBytes),
    queueDropped: int64ToNumber(m.queueDropped),
    alerts: {
      low: int64ToNumber(a?.low),
      medium: int64ToNumber(a?.medium),
      high: int64ToNumber(a?.high),
      critical: int64ToNumber(a?.critical),
    },
    lastError: m.lastError,
    lastErrorUs: int64ToNumber(m.lastErrorUs),
  });
}
