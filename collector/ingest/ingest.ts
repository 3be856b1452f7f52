/**
 * From broker bytes to stored rows: decode (never throws, size-capped), sanitize, store, and
 * tell listeners (the live stream) what changed. Counts every outcome and every rejection by
 * reason, for GET /api/health.
 */
import { decodeAlert } from '../../agent/sink/wire/alert-wire.js';
import { decodeStatus } from '../../agent/sink/wire/status-wire.js';
import type { AlertStore, UpsertOutcome } from '../store/alert-store.js';
import type { AlertSummary } from '../store/rows.js';
import { newSanitizeCounters, sanitizeAlert, type SanitizeCounters } from './sanitize.js';

export interface IngestCounters {
  alertMessages: number;
  inserted: number;
  updated: number;
  duplicates: number;
  statusMessages: number;
  /** Messages that could not be used, by reason (`alert.protobuf`, `status.state`, `topic`, `store.SQLITE_FULL`, ...). */
  rejected: Record<string, number>;
  sanitized: SanitizeCounters;
}

export interface IngestListener {
  alert(outcome: UpsertOutcome, alert: AlertSummary): void;
  sensor(site: string, sensorId: string): void;
}

export interface IngestLog {
  error(msg: string): void;
}

/** Distinct rejection reasons kept at most (a reason is a fixed label, this is a guard). */
const MAX_REASONS = 64;

export class Ingest {
  readonly counters: IngestCounters = {
    alertMessages: 0,
    inserted: 0,
    updated: 0,
    duplicates: 0,
    statusMessages: 0,
    rejected: {},
    sanitized: newSanitizeCounters(),
  };
  private storeErrorLogged = '';

  constructor(
    private readonly store: AlertStore,
    private readonly listener: IngestListener,
    private readonly log: IngestLog,
  ) {}

  private reject(reason: string): void {
    const r = this.counters.rejected;
    if (r[reason] === undefined && Object.keys(r).length >= MAX_REASONS) reason = 'other';
    r[reason] = (r[reason] ?? 0) + 1;
  }

  alert(site: string, sensorId: string, payload: Buffer): void {
    this.counters.alertMessages++;
    const d = decodeAlert(payload);
    if (!d.ok) {
      this.reject(d.reason);
      return;
    }
    const a = sanitizeAlert(d.value, site, sensorId, this.counters.sanitized);
    let outcome: UpsertOutcome;
    let row: AlertSummary;
    try {
      ({ outcome, alert: row } = this.store.upsert(a, payload.length));
    } catch (err) {
      this.storeFailed(err);
      return;
    }
    if (outcome === 'inserted') this.counters.inserted++;
    else if (outcome === 'updated') this.counters.updated++;
    else this.counters.duplicates++;
    if (outcome !== 'duplicate') this.listener.alert(outcome, row);
  }

  status(site: string, sensorId: string, payload: Buffer, retained: boolean): void {
    this.counters.statusMessages++;
    // An empty retained message clears the topic (e.g. a decommissioned sensor); nothing to store.
    if (payload.length === 0) {
      this.reject('status.empty');
      return;
    }
    const d = decodeStatus(payload);
    if (!d.ok) {
      this.reject(d.reason);
      return;
    }
    try {
      this.store.noteStatus(site, sensorId, d.value, retained);
    } catch (err) {
      this.storeFailed(err);
      return;
    }
    this.listener.sensor(site, sensorId);
  }

  unexpected(): void {
    this.reject('topic');
  }

  private storeFailed(err: unknown): void {
    const e = err as { code?: string; message?: string };
    const code = e.code ?? 'error';
    this.reject(`store.${code}`);
    // The message is acknowledged anyway (a full disk must not stall the broker session);
    // say so once per kind of failure.
    if (this.storeErrorLogged !== code) {
      this.storeErrorLogged = code;
      this.log.error(`cannot write to the database (${code}: ${e.message ?? ''}): alerts are being lost; free disk space or lower --max-db-mb`);
    }
  }
}
