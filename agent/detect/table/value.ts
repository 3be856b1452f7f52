/**
 * Conversion of table cells (CSV text or JSON values) to feature numbers. NaN means "missing";
 * the Isolation Forest treats it as below every split (see iforest/forest.ts).
 */

/** Decimal number with optional sign, fraction and exponent; no hex/binary/octal, no spaces inside. */
const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** Outcome of converting one cell: the value, and whether it was absent/empty or unparseable. */
export const enum CellKind {
  Number = 0,
  Missing = 1,
  NonNumeric = 2,
}

/** Scratch result to avoid allocating per cell. */
export interface CellValue {
  value: number;
  kind: CellKind;
}

/**
 * Text → number. Empty, `NaN`, `null`, `NA` → missing; `true`/`false` → 1/0; decimals and
 * `inf`/`infinity` (signed) → numbers; anything else → NaN counted as non-numeric.
 */
export function textToNumber(text: string, out: CellValue): CellValue {
  const s = text.trim();
  if (s.length === 0) return set(out, NaN, CellKind.Missing);
  if (DECIMAL.test(s)) return set(out, Number(s), CellKind.Number);
  switch (s.toLowerCase()) {
    case 'true':
      return set(out, 1, CellKind.Number);
    case 'false':
      return set(out, 0, CellKind.Number);
    case 'nan':
    case 'null':
    case 'na':
    case 'none':
      return set(out, NaN, CellKind.Missing);
    case 'inf':
    case '+inf':
    case 'infinity':
    case '+infinity':
      return set(out, Infinity, CellKind.Number);
    case '-inf':
    case '-infinity':
      return set(out, -Infinity, CellKind.Number);
    default:
      return set(out, NaN, CellKind.NonNumeric);
  }
}

/** JSON value → number: numbers as is, booleans 0/1, null missing, strings as {@link textToNumber}, others non-numeric. */
export function jsonToNumber(v: unknown, out: CellValue): CellValue {
  switch (typeof v) {
    case 'number':
      return set(out, v, CellKind.Number);
    case 'boolean':
      return set(out, v ? 1 : 0, CellKind.Number);
    case 'string':
      return textToNumber(v, out);
    case 'undefined':
      return set(out, NaN, CellKind.Missing);
    default:
      return v === null ? set(out, NaN, CellKind.Missing) : set(out, NaN, CellKind.NonNumeric);
  }
}

function set(out: CellValue, value: number, kind: CellKind): CellValue {
  out.value = value;
  out.kind = kind;
  return out;
}
