import t from 'tap';
import { spawnSync } from 'node:child_process';
import { CsvParser, type CsvRecord } from '../agent/detect/table/csv-parser.js';

function parse(chunks: readonly string[], limits = {}): CsvRecord[] {
  const out: CsvRecord[] = [];
  const p = new CsvParser((r) => out.push(r), limits);
  for (const c of chunks) p.push(c);
  p.end();
  return out;
}
const fields = (recs: CsvRecord[]): (string[] | string)[] => recs.map((r) => r.fields ?? `ERROR ${r.error}`);

t.test('plain records, LF, CRLF, lone CR, no final newline', async (t) => {
  t.same(fields(parse(['a,b,c\n1,2,3\n'])), [['a', 'b', 'c'], ['1', '2', '3']]);
  t.same(fields(parse(['a,b\r\n1,2\r\n3,4'])), [['a', 'b'], ['1', '2'], ['3', '4']]);
  t.same(fields(parse(['a,b\r1,2\r'])), [['a', 'b'], ['1', '2']]);
});

t.test('quotes: commas, doubled quotes, newlines and CRLF inside, empty quoted', async (t) => {
  const text = 'name,note\r\n"Smith, J","said ""hi"""\r\n"multi\r\nline",""\r\nx,"a,b\nc"\n';
  t.same(fields(parse([text])), [
    ['name', 'note'],
    ['Smith, J', 'said "hi"'],
    ['multi\r\nline', ''],
    ['x', 'a,b\nc'],
  ]);
});

t.test('empty fields, trailing comma, blank lines skipped, BOM removed', async (t) => {
  t.same(fields(parse(['\ufeffa,b,c\n,,\n\n1,,3\n\r\n4,5,\n6,7,'])), [
    ['a', 'b', 'c'],
    ['', '', ''],
    ['1', '', '3'],
    ['4', '5', ''],
    ['6', '7', ''],
  ]);
});

t.test('lenient on stray quotes, strict on an unterminated quote', async (t) => {
  t.same(fields(parse(['"ab"c,d\ne"f,g\n'])), [['abc', 'd'], ['e"f', 'g']]);
  t.same(fields(parse(['a,b\n"open,2\n3,4\n'])), [['a', 'b'], 'ERROR unterminated quoted field at end of input']);
  t.same(fields(parse(['"x"'])), [['x']]);
});

t.test('every chunk split gives the same records as one chunk', async (t) => {
  const text = '\ufeffh1,"h,2"\r\n"a""b",\r\n"c\r\nd","e"\r\n\r\nf,g\rh,"i"';
  const whole = fields(parse([text]));
  t.same(whole, [['h1', 'h,2'], ['a"b', ''], ['c\r\nd', 'e'], ['f', 'g'], ['h', 'i']]);
  let mismatches = 0;
  for (let i = 0; i <= text.length; i++) {
    for (let j = i; j <= text.length; j += 3) {
      if (JSON.stringify(fields(parse([text.slice(0, i), text.slice(i, j), text.slice(j)]))) !== JSON.stringify(whole)) mismatches++;
    }
  }
  t.equal(mismatches, 0, 'three-chunk splits at every position');
  t.same(fields(parse([...text])), whole, 'one character per chunk');
});

t.test('limits: an oversize field or too many fields drops that record only', async (t) => {
  const long = 'x'.repeat(50);
  t.same(fields(parse([`a,b\n${long},1\n"${long}",2\n3,4\n`], { maxFieldChars: 40 })), [
    ['a', 'b'],
    'ERROR field longer than 40 characters',
    'ERROR field longer than 40 characters',
    ['3', '4'],
  ]);
  t.same(fields(parse(['1,2,3,4,5\n6,7\n1,2,3,4,5,'], { maxFields: 4 })), ['ERROR more than 4 fields', ['6', '7'], 'ERROR more than 4 fields']);
});

// Cross-check with a real CSV writer: Python's csv module (QUOTE_MINIMAL, the Excel dialect).
const py = spawnSync('python3', ['-c', 'import csv,sys'], { encoding: 'utf8' });
t.test('records written by Python csv.writer read back identically', { skip: py.status !== 0 && 'python3 not found' }, async (t) => {
  const rows = [
    ['src', 'bytes', 'note'],
    ['10.0.0.1', '1200', 'plain'],
    ['10.0.0.2', '', 'has, comma'],
    ['10.0.0.3', '7', 'has "quotes"'],
    ['10.0.0.4', '8', 'line\nbreak'],
    ['10.0.0.5', '9', ' spaces '],
    ['10.0.0.6', '1e3', 'ünïcödé ✓'],
  ];
  const script = 'import csv,sys,json\nw=csv.writer(sys.stdout)\nfor r in json.load(sys.stdin): w.writerow(r)\n';
  const out = spawnSync('python3', ['-c', script], { input: JSON.stringify(rows), encoding: 'utf8' });
  t.equal(out.status, 0, out.stderr);
  t.match(out.stdout, /\r\n/, 'Python writes CRLF line ends');
  t.same(fields(parse([out.stdout])), rows);
});
