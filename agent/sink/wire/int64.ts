/**
 * protobufjs decodes 64-bit fields as Long objects (the `long` package is installed); the
 * sensor's types use plain numbers (exact below 2^53, which covers µs timestamps and counters).
 */

/** The subset of a Long this module reads. */
interface LongLike {
  low: number;
  high: number;
  unsigned: boolean;
  toNumber(): number;
}

/** A 64-bit protobuf value as a number; 0 for anything unexpected. */
export function int64ToNumber(v: number | LongLike | null | undefined): number {
  if (typeof v === 'number') return v;
  if (v && typeof v.toNumber === 'function') return v.toNumber();
  return 0;
}

/** A number for a 64-bit field: truncated to an integer, NaN/±∞ as 0 (the encoder would reject them). */
export function numberToInt64(v: number): number {
  return Number.isFinite(v) ? Math.trunc(v) : 0;
}

/** A number for an unsigned field: integer ≥ 0, clamped to the safe range. */
export function numberToUint(v: number, max = Number.MAX_SAFE_INTEGER): number {
  if (!Number.isFinite(v) || v <= 0) return 0;
  return Math.min(Math.trunc(v), max);
}
