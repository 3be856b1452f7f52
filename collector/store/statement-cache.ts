/**
 * Prepared statements keyed by SQL text. Filters combine into a bounded number of distinct
 * statements (each filter field is either present or not), so the cache is bounded too; the cap
 * is a guard, not a working limit.
 */
import type { Database, Statement } from 'better-sqlite3';

const MAX_STATEMENTS = 512;

export class StatementCache {
  private readonly map = new Map<string, Statement>();

  constructor(private readonly db: Database) {}

  get(sql: string): Statement {
    let st = this.map.get(sql);
    if (!st) {
      if (this.map.size >= MAX_STATEMENTS) this.map.clear();
      st = this.db.prepare(sql);
      this.map.set(sql, st);
    }
    return st;
  }
}
