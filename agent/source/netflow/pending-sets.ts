import type { ExporterSession } from './session.js';

/** The header values a data set needs to be decoded later (times are relative to them). */
export interface ExportContext {
  version: 5 | 9 | 10;
  /** Export time from the message header, ms since the epoch. */
  exportMs: number;
  /** v5/v9 header sysUptime (ms); -1 for IPFIX. */
  sysUptimeMs: number;
}

/** A data set that arrived before its template. */
export interface PendingSet {
  session: ExporterSession;
  templateId: number;
  /** Copy of the set body (records + padding). */
  body: Uint8Array;
  ctx: ExportContext;
  arrivedMs: number;
}

/** Bounds of the pending buffer. */
export interface PendingLimits {
  maxPendingSets: number;
  maxPendingBytes: number;
  pendingTimeoutMs: number;
}

/**
 * Holds data sets whose template has not arrived yet (exporters send templates periodically, and
 * a collector that starts mid-stream sees data first). Bounded in sets, bytes and time; the
 * caller counts what is refused or expires.
 */
export class PendingSets {
  private entries: PendingSet[] = [];
  private bytes = 0;

  constructor(private readonly limits: PendingLimits) {}

  get size(): number {
    return this.entries.length;
  }

  get byteSize(): number {
    return this.bytes;
  }

  /** Buffers a copy of `body`; false when a limit refuses it. */
  add(session: ExporterSession, templateId: number, body: Uint8Array, ctx: ExportContext, nowMs: number): boolean {
    const l = this.limits;
    if (l.maxPendingSets <= 0 || this.entries.length >= l.maxPendingSets || this.bytes + body.length > l.maxPendingBytes) return false;
    this.entries.push({ session, templateId, body: body.slice(), ctx: { ...ctx }, arrivedMs: nowMs });
    this.bytes += body.length;
    return true;
  }

  /** Removes and returns the sets waiting for `templateId` in `session`, oldest first. */
  take(session: ExporterSession, templateId: number): PendingSet[] {
    if (this.entries.length === 0) return [];
    const out: PendingSet[] = [];
    const keep: PendingSet[] = [];
    for (const e of this.entries) {
      if (e.session === session && e.templateId === templateId) out.push(e);
      else keep.push(e);
    }
    if (out.length > 0) {
      this.entries = keep;
      for (const e of out) this.bytes -= e.body.length;
    }
    return out;
  }

  /** Drops sets older than the timeout; returns how many. */
  expire(nowMs: number): number {
    const limit = this.limits.pendingTimeoutMs;
    const keep = this.entries.filter((e) => nowMs - e.arrivedMs <= limit);
    const dropped = this.entries.length - keep.length;
    if (dropped > 0) {
      this.entries = keep;
      this.bytes = keep.reduce((n, e) => n + e.body.length, 0);
    }
    return dropped;
  }

  /** Drops every set of a session (session removed). Returns how many. */
  dropSession(session: ExporterSession): number {
    const keep = this.entries.filter((e) => e.session !== session);
    const dropped = this.entries.length - keep.length;
    if (dropped > 0) {
      this.entries = keep;
      this.bytes = keep.reduce((n, e) => n + e.body.length, 0);
    }
    return dropped;
  }
}
