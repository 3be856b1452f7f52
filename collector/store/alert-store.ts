/**
 * The collector's SQLite store (better-sqlite3, synchronous: each call is one short transaction
 * on the collector's thread). Alerts are de-duplicated by id: a redelivered alert (MQTT QoS 1 is
 * at-least-once) changes nothing, and an update of an alert (same id, later last-seen or higher
 * count) replaces the stored row — whichever arrives last, the latest version is kept.
 */
import Database from 'better-sqlite3';
import type { Database as Db } from 'better-sqlite3';
import { SEVERITY_RANK, type Alert } from '../../agent/alert/alert.js';
import type { SensorStatusInfo } from '../../agent/sink/wire/status-wire.js';
import type { CountryLookup } from '../geo/geoip.js';
import { orderClause, whereClause, type AlertFilter, type SortKey, type SortOrder } from './alert-filter.js';
import { SUMMARY_COLUMNS, toDetail, toSummary, type AlertDetail, type AlertDetailRow, type AlertRow, type AlertSummary } from './rows.js';
import { applySchema } from './schema.js';
import { SensorTable } from './sensor-table.js';
import { StatementCache } from './statement-cache.js';

export type UpsertOutcome = 'inserted' | 'updated' | 'duplicate';

export interface UpsertResult {
  outcome: UpsertOutcome;
  /** The stored row after the call (also for duplicates). */
  alert: AlertSummary;
}

export interface AlertPage {
  sort: SortKey;
  order: SortOrder;
  limit: number;
  offset: number;
}

export interface StoreOptions {
  geo: CountryLookup;
  /** Milliseconds since the epoch (tests). */
  now?: () => number;
}

const UPSERT = `
INSERT INTO alerts (id, site, sensor_id, first_us, last_us, severity, score, category, detector, technique, tactic,
  src_ip, src_port, src_zone, src_country, dst_ip, dst_port, dst_zone, dst_country, protocol, reason, count,
  model_version, evidence, search, received_us, updated_us, updates, bytes)
VALUES (@id, @site, @sensor_id, @first_us, @last_us, @severity, @score, @category, @detector, @technique, @tactic,
  @src_ip, @src_port, @src_zone, @src_country, @dst_ip, @dst_port, @dst_zone, @dst_country, @protocol, @reason, @count,
  @model_version, @evidence, @search, @now_us, @now_us, 0, @bytes)
ON CONFLICT(id) DO UPDATE SET
  site = excluded.site, sensor_id = excluded.sensor_id, first_us = excluded.first_us, last_us = excluded.last_us,
  severity = excluded.severity, score = excluded.score, category = excluded.category, detector = excluded.detector,
  technique = excluded.technique, tactic = excluded.tactic, src_ip = excluded.src_ip, src_port = excluded.src_port,
  src_zone = excluded.src_zone, src_country = excluded.src_country, dst_ip = excluded.dst_ip, dst_port = excluded.dst_port,
  dst_zone = excluded.dst_zone, dst_country = excluded.dst_country, protocol = excluded.protocol, reason = excluded.reason,
  count = excluded.count, model_version = excluded.model_version, evidence = excluded.evidence, search = excluded.search,
  updated_us = excluded.updated_us, updates = alerts.updates + 1, bytes = excluded.bytes
WHERE excluded.last_us > alerts.last_us OR (excluded.last_us = alerts.last_us AND excluded.count > alerts.count)
RETURNING updates, received_us`;

/** Parameters of the upsert; also the stored row (minus received_us and updates). */
type UpsertRow = Omit<AlertRow, 'received_us' | 'updates'> & { model_version: string; evidence: string; search: string; now_us: number; bytes: number };

/** Fixed per-row overhead added to the payload size when estimating a row's bytes. */
const ROW_OVERHEAD = 200;

function searchText(a: Alert): string {
  const e = a.evidence;
  const parts = [a.reason, a.detector, a.category, a.technique, a.tactic, a.source.ip, a.destination.ip, a.appProtocol ?? '', a.sensorId ?? '', a.site ?? ''];
  for (const v of [e.sni, e.httpHost, e.userAgent, e.dnsName, e.rmmTool, e.ja3, e.ja4]) if (v) parts.push(v);
  if (e.values) for (const [k, v] of Object.entries(e.values)) parts.push(`${k}=${v}`);
  return parts.join('\n').toLowerCase();
}

export class AlertStore {
  readonly db: Db;
  readonly sensors: SensorTable;
  private readonly st: StatementCache;
  private readonly geo: CountryLookup;
  private readonly now: () => number;
  private readonly upsertSt;
  private readonly getSt;
  private readonly summarySt;
  private closed = false;
  private readonly sensorAlertWritten = new Map<string, number>();

  /** Opens (creating when missing) the database file; throws a one-line Error when it cannot. */
  constructor(readonly path: string, options: StoreOptions) {
    this.geo = options.geo;
    this.now = options.now ?? Date.now;
    let db: Db;
    try {
      db = new Database(path, { timeout: 5000 });
    } catch (err) {
      throw new Error(`cannot open --db ${path}: ${(err as Error).message}; check the path and its permissions`);
    }
    try {
      applySchema(db);
    } catch (err) {
      db.close();
      const e = err as { code?: string; message: string };
      throw new Error(e.code === 'SQLITE_NOTADB' ? `--db ${path} is not an SQLite database: give a new file name` : `--db ${path}: ${e.message}`);
    }
    this.db = db;
    this.st = new StatementCache(db);
    this.upsertSt = db.prepare(UPSERT);
    this.getSt = db.prepare(`SELECT ${SUMMARY_COLUMNS}, evidence, model_version, updated_us FROM alerts WHERE id = ?`);
    this.summarySt = db.prepare(`SELECT ${SUMMARY_COLUMNS} FROM alerts WHERE id = ?`);
    this.sensors = new SensorTable(db, this.now);
  }

  /** Stores a sanitized alert (site and sensor set from its topic). `bytes`: size of its payload. */
  upsert(a: Alert, bytes: number): UpsertResult {
    const nowUs = this.now() * 1000;
    const row: UpsertRow = {
      id: a.id,
      site: a.site ?? '',
      sensor_id: a.sensorId ?? '',
      first_us: a.firstUs,
      last_us: a.lastUs,
      severity: SEVERITY_RANK[a.severity],
      score: a.score,
      category: a.category,
      detector: a.detector,
      technique: a.technique,
      tactic: a.tactic,
      src_ip: a.source.ip,
      src_port: a.source.port ?? null,
      src_zone: a.source.zone,
      src_country: this.geo.country(a.source.ip),
      dst_ip: a.destination.ip,
      dst_port: a.destination.port ?? null,
      dst_zone: a.destination.zone,
      dst_country: this.geo.country(a.destination.ip),
      protocol: a.appProtocol ?? '',
      reason: a.reason,
      count: a.count,
      model_version: a.modelVersion ?? '',
      evidence: JSON.stringify(a.evidence),
      search: searchText(a),
      now_us: nowUs,
      bytes: bytes + ROW_OVERHEAD,
    };
    return this.upsertTx(row, a.id);
  }

  /**
   * One transaction (one commit) per alert: the row and the sensor's last-alert time. The stored
   * row is rebuilt from what was written (RETURNING gives the fields the upsert keeps), not read back.
   */
  private readonly upsertTx = (row: UpsertRow, id: string): UpsertResult =>
    this.db.transaction((): UpsertResult => {
      const ret = this.upsertSt.get(row) as { updates: number; received_us: number } | undefined;
      if (ret === undefined) return { outcome: 'duplicate', alert: toSummary(this.summarySt.get(id) as AlertRow) };
      this.noteSensorAlert(row.site, row.sensor_id, row.now_us);
      const outcome: UpsertOutcome = ret.updates === 0 ? 'inserted' : 'updated';
      return { outcome, alert: toSummary({ ...row, received_us: ret.received_us, updates: ret.updates }) };
    })();

  /** The sensor's last-alert time, written at most once per second per sensor (it only feeds the sensor list). */
  private noteSensorAlert(site: string, sensorId: string, nowUs: number): void {
    const key = `${site}\u0000${sensorId}`;
    const last = this.sensorAlertWritten.get(key) ?? 0;
    if (nowUs - last < 1e6) return;
    if (this.sensorAlertWritten.size > 10_000) this.sensorAlertWritten.clear();
    this.sensorAlertWritten.set(key, nowUs);
    this.sensors.noteAlert(site, sensorId, nowUs);
  }

  /** Records a status message (or Will) for the sensor of its topic. */
  noteStatus(site: string, sensorId: string, s: SensorStatusInfo, retained: boolean): void {
    this.sensors.noteStatus(site, sensorId, s, retained);
  }

  get(id: string): AlertDetail | undefined {
    const r = this.getSt.get(id) as AlertDetailRow | undefined;
    return r ? toDetail(r) : undefined;
  }

  list(filter: AlertFilter, page: AlertPage): { alerts: AlertSummary[]; total: number } {
    const w = whereClause(filter);
    const total = (this.st.get(`SELECT COUNT(*) AS n FROM alerts ${w.sql}`).get(...w.params) as { n: number }).n;
    const rows = this.st
      .get(`SELECT ${SUMMARY_COLUMNS} FROM alerts ${w.sql} ${orderClause(page.sort, page.order)} LIMIT ? OFFSET ?`)
      .all(...w.params, page.limit, page.offset) as AlertRow[];
    return { alerts: rows.map(toSummary), total };
  }

  /** Oldest and newest alert time (last seen, µs) and the number of alerts; zeros when empty. */
  bounds(): { oldestUs: number; newestUs: number; alerts: number } {
    const r = this.st.get('SELECT MIN(last_us) AS lo, MAX(last_us) AS hi, COUNT(*) AS n FROM alerts').get() as { lo: number | null; hi: number | null; n: number };
    return { oldestUs: r.lo ?? 0, newestUs: r.hi ?? 0, alerts: r.n };
  }

  /** Bytes the database uses (pages in use, free pages excluded). */
  usedBytes(): number {
    const pageSize = this.db.pragma('page_size', { simple: true }) as number;
    const pages = this.db.pragma('page_count', { simple: true }) as number;
    const free = this.db.pragma('freelist_count', { simple: true }) as number;
    return (pages - free) * pageSize;
  }

  /** Statement cache for the aggregate queries. */
  statements(): StatementCache {
    return this.st;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.db.pragma('wal_checkpoint(TRUNCATE)');
    } catch {
      // Another process may hold the WAL; SQLite checkpoints on its own later.
    }
    this.db.close();
  }
}
