import t from 'tap';
import { CellKind, isDecimal, jsonToNumber, textToNumber, type CellValue } from '../agent/detect/table/value.js';

const cell = (): CellValue => ({ value: 0, kind: CellKind.Number });
const text = (s: string): [number, CellKind] => {
  const c = textToNumber(s, cell());
  return [c.value, c.kind];
};
const json = (v: unknown): [number, CellKind] => {
  const c = jsonToNumber(v, cell());
  return [c.value, c.kind];
};

t.test('decimal syntax: what Number() would misread is refused', async (t) => {
  for (const s of ['0', '-1', '+2.5', '.5', '7.', '1e3', '1E-3', '-0.25e+10', '00012']) t.ok(isDecimal(s), s);
  for (const s of ['', '-', '.', 'e3', '1e', '1e+', '0x1f', '0b11', '0o7', '1_000', '1 2', '1.2.3', '--1', 'Infinity', '1e3.5']) t.notOk(isDecimal(s), JSON.stringify(s));
});

t.test('text cells: numbers, booleans, missing, infinities, junk', async (t) => {
  t.same(text('42'), [42, CellKind.Number]);
  t.same(text(' -1.5e2 '), [-150, CellKind.Number], 'surrounding spaces trimmed');
  t.same(text('TRUE'), [1, CellKind.Number]);
  t.same(text('false'), [0, CellKind.Number]);
  t.same(text('-inf'), [-Infinity, CellKind.Number]);
  t.same(text('Infinity'), [Infinity, CellKind.Number]);
  for (const s of ['', '  ', 'NaN', 'null', 'NA', 'None']) t.same(text(s), [NaN, CellKind.Missing], JSON.stringify(s));
  for (const s of ['0x10', 'abc', '1,5', 'yes']) t.same(text(s), [NaN, CellKind.NonNumeric], s);
});

t.test('JSON values', async (t) => {
  t.same(json(3.5), [3.5, CellKind.Number]);
  t.same(json(true), [1, CellKind.Number]);
  t.same(json(false), [0, CellKind.Number]);
  t.same(json(null), [NaN, CellKind.Missing]);
  t.same(json(undefined), [NaN, CellKind.Missing]);
  t.same(json('12'), [12, CellKind.Number]);
  t.same(json({}), [NaN, CellKind.NonNumeric]);
});
