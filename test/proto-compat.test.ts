import t from 'tap';
import { checkCompat, checkStyle, loadProtoDir, parseProto } from './helpers/proto-compat.js';

const CURRENT = new URL('../proto/picket/v1/', import.meta.url).pathname;
const RELEASED = new URL('../proto/released/v1/', import.meta.url).pathname;

t.test('the current schema is compatible with the released one', async (t) => {
  const issues = checkCompat(loadProtoDir(RELEASED), loadProtoDir(CURRENT));
  t.same(issues, [], issues.join('\n'));
});

t.test('the current schema follows the house style', async (t) => {
  const root = loadProtoDir(CURRENT);
  t.same(checkStyle(root), []);
  for (const name of ['Alert', 'SensorStatus', 'FlowRecord']) t.ok(root.lookupType(`picket.v1.${name}`), name);
});

// The rules themselves, on small schemas: each mutation must be caught.
const base = `
syntax = "proto3";
package picket.v1;
enum Color { COLOR_UNSPECIFIED = 0; COLOR_RED = 1; COLOR_BLUE = 2; }
message Inner { string a = 1; }
message Msg {
  string name = 1;
  uint64 count = 2;
  Inner inner = 3;
  repeated string tags = 4;
  map<string, Inner> byKey = 5;
  Color color = 6;
  reserved 9;
  reserved "old";
}
`;
const released = parseProto(base);
const check = (text: string): string[] => checkCompat(released, parseProto(text));

t.test('rules: unchanged and additive changes pass', async (t) => {
  t.same(check(base), []);
  t.same(check(base.replace('Color color = 6;', 'Color color = 6; string extra = 7;')), []);
  t.same(check(base.replace('COLOR_BLUE = 2;', 'COLOR_BLUE = 2; COLOR_GREEN = 3;')), []);
  t.same(check(base.replace('string name = 1;', '').replace('reserved 9;', 'reserved 1, 9;').replace('reserved "old";', 'reserved "old", "name";')), []);
  t.same(check(base.replace('uint64 count = 2;', 'optional uint64 count = 2;')), [], 'proto3 optional is wire compatible');
});

t.test('rules: a field number reused with another name', async (t) => {
  const issues = check(base.replace('string name = 1;', 'string title = 1;'));
  t.match(issues.join('\n'), /field 1 was "name", now reused as "title"/);
});

t.test('rules: a field type change', async (t) => {
  t.match(check(base.replace('uint64 count = 2;', 'string count = 2;')).join('\n'), /Msg\.count \(2\): type changed from uint64 to string/);
  t.match(check(base.replace('Inner inner = 3;', 'Msg inner = 3;')).join('\n'), /inner \(3\): type changed/);
  t.match(check(base.replace('repeated string tags = 4;', 'string tags = 4;')).join('\n'), /tags \(4\): type changed from repeated string/);
  t.match(check(base.replace('map<string, Inner> byKey = 5;', 'map<uint32, Inner> byKey = 5;')).join('\n'), /byKey \(5\): type changed/);
});

t.test('rules: a field removed without reserved', async (t) => {
  const issues = check(base.replace('uint64 count = 2;', ''));
  t.match(issues.join('\n'), /count \(2\) was removed without reserving number 2/);
  t.match(issues.join('\n'), /without reserving name "count"/);
  const onlyNumber = check(base.replace('uint64 count = 2;', 'reserved 2;'));
  t.same(onlyNumber.length, 1);
  t.match(onlyNumber[0], /name "count"/);
});

t.test('rules: reservations stay and are never used', async (t) => {
  t.match(check(base.replace('reserved 9;', '')).join('\n'), /reservation 9-9 was dropped/);
  t.match(check(base.replace('reserved 9;', 'string nine = 9;')).join('\n'), /uses number 9, reserved/);
  t.match(check(base.replace('reserved "old";', 'string old = 8;')).join('\n'), /old uses a name reserved/);
});

t.test('rules: enum values renumbered, removed or reused', async (t) => {
  t.match(check(base.replace('COLOR_BLUE = 2;', 'COLOR_BLUE = 3;')).join('\n'), /Color\.COLOR_BLUE was renumbered from 2 to 3/);
  t.match(check(base.replace('COLOR_BLUE = 2;', '')).join('\n'), /COLOR_BLUE \(2\) was removed without reserving 2/);
  t.match(check(base.replace('COLOR_BLUE = 2;', 'COLOR_CYAN = 2;')).join('\n'), /COLOR_BLUE \(2\) was removed and 2 reused by COLOR_CYAN/);
  t.same(check(base.replace('COLOR_BLUE = 2;', 'reserved 2;')), []);
  t.match(
    checkCompat(parseProto(base.replace('COLOR_BLUE = 2;', 'reserved 2;')), parseProto(base)).join('\n'),
    /COLOR_BLUE uses number 2, reserved/,
  );
});

t.test('rules: removed messages and enums', async (t) => {
  const noInner = base.replace('message Inner { string a = 1; }', '').replace('Inner inner = 3;', 'reserved 3; reserved "inner";').replace('map<string, Inner> byKey = 5;', 'map<string, string> byKey = 5;');
  t.match(check(noInner).join('\n'), /message picket\.v1\.Inner was removed/);
  t.match(check(base.replace('enum Color { COLOR_UNSPECIFIED = 0; COLOR_RED = 1; COLOR_BLUE = 2; }', '').replace('Color color = 6;', 'uint32 color = 6;')).join('\n'), /enum picket\.v1\.Color was removed/);
});

t.test('style: enums, package and field names', async (t) => {
  t.same(checkStyle(parseProto(base)), ['picket.v1.Msg.byKey is not snake_case']);
  const bad = checkStyle(parseProto('syntax = "proto3"; package other; enum Mode { RED = 0; MODE_BLUE = 1; } message M { string x = 1; }'));
  t.match(bad.join('\n'), /other\.Mode is outside package picket\.v1/);
  t.match(bad.join('\n'), /must start with MODE_UNSPECIFIED = 0/);
  t.match(bad.join('\n'), /value RED lacks prefix MODE_/);
});
