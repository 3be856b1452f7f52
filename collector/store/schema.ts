/**
 * The collector's SQLite schema. One file, WAL mode (readers — the HTTP API — never block the
 * writer — the MQTT subscriber), incremental auto-vacuum so size-based retention can give pages
 * back to the file system. Times are µs since the epoch (INTEGER), like the wire.
 *
 * alerts         one row per alert id (ULID); updates of an alert replace the row (upsert)
 * sensors        one row per (site, sensor id) from status messages, Wills and alerts
 * sensor_events  online/offline transitions, to know how many sensors were online at a past time
 */
import type { Database } from 'better-sqlite3';

export const SCHEMA_VERSION = 1;

const DDL = `
CREATE TABLE IF NOT EXISTS alerts (
  id            TEXT PRIMARY KEY,
  site          TEXT NOT NULL,
  sensor_id     TEXT NOT NULL,
  first_us      INTEGER NOT NULL,
  last_us       INTEGER NOT NULL,
  severity      INTEGER NOT NULL,
  score         REAL NOT NULL,
  category      TEXT NOT NULL,
  detector      TEXT NOT NULL,
  technique     TEXT NOT NULL,
  tactic        TEXT NOT NULL,
  src_ip        TEXT NOT NULL,
  src_port      INTEGER,
  src_zone      TEXT NOT NULL,
  src_country   TEXT NOT NULL,
  dst_ip        TEXT NOT NULL,
  dst_port      INTEGER,
  dst_zone      TEXT NOT NULL,
  dst_country   TEXT NOT NULL,
  protocol      TEXT NOT NULL,
  reason        TEXT NOT NULL,
  count         INTEGER NOT NULL,
  model_version TEXT NOT NULL,
  evidence      TEXT NOT NULL,
  search        TEXT NOT NULL,
  received_us   INTEGER NOT NULL,
  updated_us    INTEGER NOT NULL,
  updates       INTEGER NOT NULL DEFAULT 0,
  bytes         INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS alerts_last ON alerts(last_us);
CREATE INDEX IF NOT EXISTS alerts_score ON alerts(score, last_us);
CREATE INDEX IF NOT EXISTS alerts_src ON alerts(src_ip, last_us);
CREATE INDEX IF NOT EXISTS alerts_sensor ON alerts(sensor_id, last_us);
CREATE INDEX IF NOT EXISTS alerts_received ON alerts(received_us);

CREATE TABLE IF NOT EXISTS sensors (
  site           TEXT NOT NULL,
  sensor_id      TEXT NOT NULL,
  state          TEXT NOT NULL,
  seen_us        INTEGER NOT NULL,
  status_us      INTEGER NOT NULL DEFAULT 0,
  last_alert_us  INTEGER NOT NULL DEFAULT 0,
  version        TEXT NOT NULL DEFAULT '',
  started_us     INTEGER NOT NULL DEFAULT 0,
  uptime_s       INTEGER NOT NULL DEFAULT 0,
  packets        INTEGER NOT NULL DEFAULT 0,
  drops          INTEGER NOT NULL DEFAULT 0,
  flows          INTEGER NOT NULL DEFAULT 0,
  queue_depth    INTEGER NOT NULL DEFAULT 0,
  queue_bytes    INTEGER NOT NULL DEFAULT 0,
  queue_dropped  INTEGER NOT NULL DEFAULT 0,
  alerts_low     INTEGER NOT NULL DEFAULT 0,
  alerts_medium  INTEGER NOT NULL DEFAULT 0,
  alerts_high    INTEGER NOT NULL DEFAULT 0,
  alerts_critical INTEGER NOT NULL DEFAULT 0,
  last_error     TEXT NOT NULL DEFAULT '',
  last_error_us  INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (site, sensor_id)
);

CREATE TABLE IF NOT EXISTS sensor_events (
  site      TEXT NOT NULL,
  sensor_id TEXT NOT NULL,
  time_us   INTEGER NOT NULL,
  state     TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS sensor_events_time ON sensor_events(time_us);
`;

/** Sets the connection pragmas and creates the tables; throws a one-line Error for a foreign file. */
export function applySchema(db: Database): void {
  // Must precede the first table: it decides the file layout.
  db.pragma('auto_vacuum = INCREMENTAL');
  db.pragma('journal_mode = WAL');
  // WAL + NORMAL: a committed alert survives a process crash; only a power loss may lose the last commits.
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  db.pragma('journal_size_limit = 67108864');
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version !== 0 && version !== SCHEMA_VERSION) {
    throw new Error(`database schema version ${version} is not ${SCHEMA_VERSION}: use a new --db file or a matching picket version`);
  }
  db.exec(DDL);
  db.pragma(`user_version = ${SCHEMA_VERSION}`);
}
