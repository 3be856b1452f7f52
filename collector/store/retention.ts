/**
 * Retention: alerts older than the age limit (by arrival time at this collector, so a replayed
 * old capture is not deleted on arrival) are deleted, then, while the database uses more than the
 * size limit, the oldest arrivals are deleted in batches until it uses at most 90 % of it. Free
 * pages go back to the file system with an incremental vacuum (the schema enables it).
 */
import type { AlertStore } from './alert-store.js';

export interface RetentionLimits {
  /** Keep alerts that arrived within this many µs; 0 = no age limit. */
  maxAgeUs: number;
  /** Keep the database below this many bytes; 0 = no size limit. */
  maxBytes: number;
}

export interface RetentionResult {
  byAge: number;
  bySize: number;
  sensorEvents: number;
  usedBytes: number;
}

/** Rows deleted per statement: short write transactions keep readers and the subscriber responsive. */
const BATCH = 2000;
/** Bound on size-driven batches per run (2000 × 500 = 1 M alerts); the next run continues. */
const MAX_SIZE_BATCHES = 500;

export function applyRetention(store: AlertStore, limits: RetentionLimits, nowUs: number): RetentionResult {
  const db = store.db;
  const st = store.statements();
  let byAge = 0;
  let sensorEvents = 0;
  if (limits.maxAgeUs > 0) {
    const cutoff = nowUs - limits.maxAgeUs;
    const del = st.get(`DELETE FROM alerts WHERE rowid IN (SELECT rowid FROM alerts WHERE received_us < ? LIMIT ${BATCH})`);
    for (let i = 0; i < 10_000; i++) {
      const n = del.run(cutoff).changes;
      byAge += n;
      if (n < BATCH) break;
    }
    // Old transitions go, but each sensor keeps its latest one (its current state).
    sensorEvents = st
      .get(
        `DELETE FROM sensor_events WHERE time_us < ? AND rowid NOT IN (SELECT MAX(rowid) FROM sensor_events GROUP BY site, sensor_id)`,
      )
      .run(cutoff).changes;
  }
  let bySize = 0;
  if (limits.maxBytes > 0 && store.usedBytes() > limits.maxBytes) {
    const target = limits.maxBytes * 0.9;
    const del = st.get('DELETE FROM alerts WHERE rowid IN (SELECT rowid FROM alerts ORDER BY received_us ASC LIMIT ?)');
    const count = st.get('SELECT COUNT(*) AS n FROM alerts');
    for (let i = 0; i < MAX_SIZE_BATCHES; i++) {
      const used = store.usedBytes();
      if (used <= target) break;
      // Delete the share of rows that should free the excess (rows are similar in size), in
      // bounded batches, so the last batch does not overshoot far below the target.
      const rows = (count.get() as { n: number }).n;
      const want = Math.ceil((rows * (used - target)) / used);
      const n = del.run(Math.max(50, Math.min(BATCH, want))).changes;
      bySize += n;
      if (n === 0) break;
    }
  }
  if (byAge + bySize + sensorEvents > 0) {
    db.pragma('incremental_vacuum');
    try {
      db.pragma('wal_checkpoint(PASSIVE)');
    } catch {
      // Checkpointing is an optimisation here.
    }
  }
  return { byAge, bySize, sensorEvents, usedBytes: store.usedBytes() };
}
