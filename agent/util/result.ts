/**
 * Typed outcomes for parsers of hostile input. Parsers return one of these instead of throwing:
 * throwing is reserved for programmer errors (a broken invariant), never for bad bytes.
 */
export type ParseFailure = {
  readonly ok: false;
  /** `incomplete`: more bytes may complete it; `malformed`: these bytes can never parse; `limit`: a declared budget was hit. */
  readonly kind: 'incomplete' | 'malformed' | 'limit';
  /** Short machine-friendly reason, e.g. `name.pointer_loop`; used as a counter label. */
  readonly reason: string;
};

export type ParseResult<T> = { readonly ok: true; readonly value: T } | ParseFailure;

export function ok<T>(value: T): { readonly ok: true; readonly value: T } {
  return { ok: true, value };
}

export function incomplete(reason: string): ParseFailure {
  return { ok: false, kind: 'incomplete', reason };
}

export function malformed(reason: string): ParseFailure {
  return { ok: false, kind: 'malformed', reason };
}

export function limitHit(reason: string): ParseFailure {
  return { ok: false, kind: 'limit', reason };
}
