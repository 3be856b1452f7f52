import t from 'tap';
import { JsonlParser, type JsonlRecord } from '../agent/detect/table/jsonl-parser.js';

function parse(chunks: readonly string[], limits = {}): (Record<string, unknown> | string)[] {
  const out: JsonlRecord[] = [];
  const p = new JsonlParser((r) => out.push(r), limits);
  for (const c of chunks) p.push(c);
  p.end();
  return out.map((r) => (r.values ? Object.fromEntries(r.values) : `ERROR ${r.error}`));
}

t.test('objects per line, nested objects flattened with dots, arrays skipped', async (t) => {
  const text = '{"a":1,"tls":{"ja4":"t13d","cert":{"self_signed":true}},"ports":[1,2],"n":null}\n{"a":2.5}\n';
  t.same(parse([text]), [{ a: 1, 'tls.ja4': 't13d', 'tls.cert.self_signed': true, n: null }, { a: 2.5 }]);
});

t.test('CRLF, blank lines, last line without newline, chunk splits', async (t) => {
  const text = '{"x":1}\r\n\r\n  \n{"x":"2"}\r\n{"x":true}';
  const whole = parse([text]);
  t.same(whole, [{ x: 1 }, { x: '2' }, { x: true }]);
  let bad = 0;
  for (let i = 0; i <= text.length; i++) if (JSON.stringify(parse([text.slice(0, i), text.slice(i)])) !== JSON.stringify(whole)) bad++;
  t.equal(bad, 0);
});

t.test('bad lines become error records and parsing continues', async (t) => {
  const out = parse(['{"x":1}\n{"x":\n[1,2]\n"str"\n{"x":3}\n']);
  t.equal(out.length, 5);
  t.match(out[1], /^ERROR invalid JSON/);
  t.equal(out[2], 'ERROR line is not a JSON object');
  t.equal(out[3], 'ERROR line is not a JSON object');
  t.same(out[4], { x: 3 });
});

t.test('limits: long line, deep nesting, many keys', async (t) => {
  t.same(parse([`{"x":"${'y'.repeat(100)}"}\n{"x":1}\n`], { maxLineChars: 50 }), ['ERROR line longer than 50 characters', { x: 1 }]);
  const deep = '{"a":'.repeat(5) + '1' + '}'.repeat(5);
  t.same(parse([deep], { maxDepth: 4 }), ['ERROR objects nested deeper than 4']);
  t.same(parse([deep], { maxDepth: 5 }), [{ 'a.a.a.a.a': 1 }]);
  t.same(parse(['{"a":1,"b":2,"c":3}'], { maxKeys: 2 }), ['ERROR more than 2 keys']);
  t.same(parse(['{"__proto__":{"polluted":1},"constructor":2}']), [{ '__proto__.polluted': 1, constructor: 2 }]);
  t.equal(({} as Record<string, unknown>)['polluted'], undefined, 'no prototype pollution');
});
