/**
 * Alert filters (the HTTP API's query parameters, already validated) → a parameterized SQL
 * WHERE clause. Values are always bound parameters, never spliced into SQL text; only the fixed
 * column names below appear in the text.
 */
import type { Severity } from '../../agent/alert/alert.js';
import { SEVERITY_RANK } from '../../agent/alert/alert.js';

export interface AlertFilter {
  /** Alert time (last seen, µs) at or after. */
  fromUs?: number;
  /** Alert time (last seen, µs) before. */
  toUs?: number;
  severities?: readonly Severity[];
  site?: string;
  sensor?: string;
  sourceIp?: string;
  destinationIp?: string;
  destinationPort?: number;
  category?: string;
  technique?: string;
  protocol?: string;
  /** Country code of the source (`internal` for private ranges). */
  country?: string;
  /** Case-insensitive substring of reason, names, addresses and evidence. */
  text?: string;
}

export type SortKey = 'score' | 'time' | 'count' | 'severity';
export type SortOrder = 'asc' | 'desc';

export interface Where {
  sql: string;
  params: (string | number)[];
}

export function whereClause(f: AlertFilter): Where {
  const parts: string[] = [];
  const params: (string | number)[] = [];
  const eq = (col: string, v: string | number | undefined): void => {
    if (v === undefined) return;
    parts.push(`${col} = ?`);
    params.push(v);
  };
  if (f.fromUs !== undefined) {
    parts.push('last_us >= ?');
    params.push(f.fromUs);
  }
  if (f.toUs !== undefined) {
    parts.push('last_us < ?');
    params.push(f.toUs);
  }
  if (f.severities && f.severities.length > 0 && f.severities.length < 4) {
    parts.push(`severity IN (${f.severities.map(() => '?').join(', ')})`);
    for (const s of f.severities) params.push(SEVERITY_RANK[s]);
  }
  eq('site', f.site);
  eq('sensor_id', f.sensor);
  eq('src_ip', f.sourceIp);
  eq('dst_ip', f.destinationIp);
  eq('dst_port', f.destinationPort);
  eq('category', f.category);
  eq('technique', f.technique);
  eq('protocol', f.protocol);
  eq('src_country', f.country);
  if (f.text !== undefined && f.text !== '') {
    // instr(), not LIKE: the search text needs no escaping of % and _.
    parts.push('instr(search, ?) > 0');
    params.push(f.text.toLowerCase());
  }
  return { sql: parts.length > 0 ? `WHERE ${parts.join(' AND ')}` : '', params };
}

const ORDER: Readonly<Record<SortKey, string>> = {
  score: 'score',
  time: 'last_us',
  count: 'count',
  severity: 'severity',
};

/** ORDER BY for a sort key; ties broken by time then id so paging is stable. */
export function orderClause(sort: SortKey, order: SortOrder): string {
  const dir = order === 'asc' ? 'ASC' : 'DESC';
  const col = ORDER[sort];
  return sort === 'time' ? `ORDER BY last_us ${dir}, id ${dir}` : `ORDER BY ${col} ${dir}, last_us DESC, id DESC`;
}
