/**
 * Sensors as the collector knows them: from the retained status each sensor publishes (on
 * connect, periodically, and as its MQTT Will with state offline) and from the alerts it sends.
 * A sensor is identified by the site and sensor levels of its topic (which the broker's ACL ties
 * to the sensor's login), not by the ids inside the payload.
 *
 * Health, for the dashboard: `online` (status online and heard from recently), `stale` (status
 * online but silent for longer than staleAfter: a hung process or a cut network before the
 * broker noticed), `offline` (Will or clean shutdown), `unknown` (alerts but no status yet).
 * Problems a person should look at are listed per sensor (drops, queue backlog, queue drops,
 * recent error).
 */
import type { Database, Statement } from 'better-sqlite3';
import type { SensorStatusInfo } from '../../agent/sink/wire/status-wire.js';
import { isoFromUs } from './rows.js';

export type SensorHealth = 'online' | 'stale' | 'offline' | 'unknown';

/** A sensor as the dashboard shows it: the counters of its last status, and what the collector saw. */
export interface SensorView extends Omit<SensorStatusInfo, 'state' | 'timeUs'> {
  health: SensorHealth;
  /** State of the last status message. */
  state: 'online' | 'offline' | 'unknown';
  /** When the collector last heard from it (status or alert), µs, and as ISO 8601. */
  seenUs: number;
  seen: string;
  /** The sensor's own time stamp of its last status (µs). */
  statusUs: number;
  lastAlertUs: number;
  /** Short lines for a person, e.g. "dropping packets: 1.2 %". Empty when healthy. */
  problems: string[];
}

interface SensorRow {
  site: string;
  sensor_id: string;
  state: string;
  seen_us: number;
  status_us: number;
  last_alert_us: number;
  version: string;
  started_us: number;
  uptime_s: number;
  packets: number;
  drops: number;
  flows: number;
  queue_depth: number;
  queue_bytes: number;
  queue_dropped: number;
  alerts_low: number;
  alerts_medium: number;
  alerts_high: number;
  alerts_critical: number;
  last_error: string;
  last_error_us: number;
}

/** Thresholds for the problems list. */
export const SENSOR_LIMITS = {
  /** Drops above this share of packets are a problem. */
  dropRatio: 0.001,
  /** Alerts waiting in the sensor's queue above this mean it cannot deliver. */
  queueDepth: 1000,
  /** An error reported within this many µs is shown. */
  recentErrorUs: 15 * 60 * 1_000_000,
} as const;

export class SensorTable {
  private readonly upsertStatus: Statement;
  private readonly touchAlert: Statement;
  private readonly stateOf: Statement;
  private readonly addEvent: Statement;
  private readonly all: Statement;
  private readonly onlineAt: Statement;

  constructor(
    private readonly db: Database,
    private readonly now: () => number,
  ) {
    this.upsertStatus = db.prepare(`
      INSERT INTO sensors (site, sensor_id, state, seen_us, status_us, version, started_us, uptime_s, packets, drops, flows,
        queue_depth, queue_bytes, queue_dropped, alerts_low, alerts_medium, alerts_high, alerts_critical, last_error, last_error_us)
      VALUES (@site, @sensor_id, @state, @seen_us, @status_us, @version, @started_us, @uptime_s, @packets, @drops, @flows,
        @queue_depth, @queue_bytes, @queue_dropped, @alerts_low, @alerts_medium, @alerts_high, @alerts_critical, @last_error, @last_error_us)
      ON CONFLICT(site, sensor_id) DO UPDATE SET state = excluded.state, seen_us = MAX(sensors.seen_us, excluded.seen_us),
        status_us = excluded.status_us, version = excluded.version, started_us = excluded.started_us, uptime_s = excluded.uptime_s,
        packets = excluded.packets, drops = excluded.drops, flows = excluded.flows, queue_depth = excluded.queue_depth,
        queue_bytes = excluded.queue_bytes, queue_dropped = excluded.queue_dropped, alerts_low = excluded.alerts_low,
        alerts_medium = excluded.alerts_medium, alerts_high = excluded.alerts_high, alerts_critical = excluded.alerts_critical,
        last_error = excluded.last_error, last_error_us = excluded.last_error_us`);
    this.touchAlert = db.prepare(`
      INSERT INTO sensors (site, sensor_id, state, seen_us, last_alert_us) VALUES (?, ?, 'unknown', ?, ?)
      ON CONFLICT(site, sensor_id) DO UPDATE SET seen_us = MAX(seen_us, excluded.seen_us), last_alert_us = excluded.last_alert_us`);
    this.stateOf = db.prepare('SELECT state FROM sensors WHERE site = ? AND sensor_id = ?');
    this.addEvent = db.prepare('INSERT INTO sensor_events (site, sensor_id, time_us, state) VALUES (?, ?, ?, ?)');
    this.all = db.prepare('SELECT * FROM sensors ORDER BY site, sensor_id LIMIT 10000');
    // Bare column `state` comes from the row holding MAX(time_us) (documented SQLite behaviour).
    this.onlineAt = db.prepare(`
      SELECT COUNT(*) AS n FROM (SELECT state, MAX(time_us) FROM sensor_events WHERE time_us <= ? GROUP BY site, sensor_id)
      WHERE state = 'online'`);
  }

  /** An alert arrived from this sensor (inside the alert's transaction). */
  noteAlert(site: string, sensorId: string, nowUs: number): void {
    this.touchAlert.run(site, sensorId, nowUs, nowUs);
  }

  /**
   * A status arrived. A retained one is as old as the sensor's own time stamp says (the sensor
   * may have gone long ago), a live one is heard now.
   */
  noteStatus(site: string, sensorId: string, s: SensorStatusInfo, retained: boolean): void {
    const nowUs = this.now() * 1000;
    const seenUs = retained && s.timeUs > 0 ? Math.min(s.timeUs, nowUs) : nowUs;
    this.db.transaction(() => {
      const before = (this.stateOf.get(site, sensorId) as { state: string } | undefined)?.state;
      this.upsertStatus.run({
        site,
        sensor_id: sensorId,
        state: s.state,
        seen_us: seenUs,
        status_us: s.timeUs,
        version: s.version.slice(0, 64),
        started_us: s.startedUs,
        uptime_s: s.uptimeS,
        packets: s.packets,
        drops: s.drops,
        flows: s.flows,
        queue_depth: s.queueDepth,
        queue_bytes: s.queueBytes,
        queue_dropped: s.queueDropped,
        alerts_low: s.alerts.low,
        alerts_medium: s.alerts.medium,
        alerts_high: s.alerts.high,
        alerts_critical: s.alerts.critical,
        last_error: s.lastError.slice(0, 1024),
        last_error_us: s.lastErrorUs,
      });
      if (before !== s.state) this.addEvent.run(site, sensorId, seenUs, s.state);
    })();
  }

  /** Every sensor with its health judged at the current time. */
  list(staleAfterUs: number): SensorView[] {
    const nowUs = this.now() * 1000;
    return (this.all.all() as SensorRow[]).map((r) => view(r, nowUs, staleAfterUs));
  }

  /** Sensors whose last recorded state at `timeUs` was online. */
  onlineAtUs(timeUs: number): number {
    return (this.onlineAt.get(timeUs) as { n: number }).n;
  }
}

function view(r: SensorRow, nowUs: number, staleAfterUs: number): SensorView {
  const state = r.state === 'online' || r.state === 'offline' ? r.state : 'unknown';
  let health: SensorHealth = state;
  if (state === 'online' && nowUs - r.seen_us > staleAfterUs) health = 'stale';
  const problems: string[] = [];
  if (health === 'offline') problems.push('offline');
  if (health === 'stale') problems.push(`silent for ${Math.round((nowUs - r.seen_us) / 1e6)} s`);
  if (r.packets > 0 && r.drops / (r.packets + r.drops) > SENSOR_LIMITS.dropRatio) {
    problems.push(`dropping packets: ${((100 * r.drops) / (r.packets + r.drops)).toFixed(1)} %`);
  }
  if (r.queue_depth > SENSOR_LIMITS.queueDepth) problems.push(`${r.queue_depth} alerts waiting in its queue`);
  if (r.queue_dropped > 0) problems.push(`queue dropped ${r.queue_dropped} alerts`);
  // A zero time means "current problem" (the publisher reports its live connection problem that way).
  if (r.last_error && (r.last_error_us === 0 || nowUs - r.last_error_us < SENSOR_LIMITS.recentErrorUs)) problems.push(`error: ${r.last_error}`);
  return {
    site: r.site,
    sensorId: r.sensor_id,
    health,
    state,
    seenUs: r.seen_us,
    seen: isoFromUs(r.seen_us),
    statusUs: r.status_us,
    lastAlertUs: r.last_alert_us,
    version: r.version,
    startedUs: r.started_us,
    uptimeS: r.uptime_s,
    packets: r.packets,
    drops: r.drops,
    flows: r.flows,
    queueDepth: r.queue_depth,
    queueBytes: r.queue_bytes,
    queueDropped: r.queue_dropped,
    alerts: { low: r.alerts_low, medium: r.alerts_medium, high: r.alerts_high, critical: r.alerts_critical },
    lastError: r.last_error,
    lastErrorUs: r.last_error_us,
    problems,
  };
}
