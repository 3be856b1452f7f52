/**
 * picket.yaml: the example config loads and documents every key with its default; each
 * documented key is accepted on its own; mistakes are reported with file, line and key.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { isMap, isScalar, parseDocument, type Node, type YAMLMap } from 'yaml';
import { defaultConfig, parseConfig, loadConfigFile } from '../agent/daemon/config-loader.js';
import { CONFIG_SCHEMA, schemaKeys, type SectionSpec } from '../agent/daemon/config-schema.js';
import { registeredDetectors } from '../agent/daemon/detect-port.js';
import { closest, editDistance } from '../agent/daemon/suggest.js';
import { DETECTORS_MARKER, renderDetectorsSection, replaceDetectorsSection } from '../agent/daemon/example-detectors.js';

const EXAMPLE = new URL('../config/picket.example.yaml', import.meta.url).pathname;
const DETECTORS = registeredDetectors();

/** Dotted paths of every scalar/list leaf in a YAML mapping, with the node. */
function leaves(node: Node, prefix = ''): Array<[string, Node]> {
  const out: Array<[string, Node]> = [];
  for (const pair of (node as YAMLMap).items) {
    const key = String((pair.key as { value: unknown }).value);
    const path = prefix ? `${prefix}.${key}` : key;
    const v = pair.value as Node;
    if (isMap(v)) out.push(...leaves(v, path));
    else out.push([path, v]);
  }
  return out;
}

/** A YAML document that sets only `path` to the given YAML text. */
function only(path: string, valueYaml: string): string {
  const parts = path.split('.');
  return parts.map((p, i) => `${'  '.repeat(i)}${p}:${i === parts.length - 1 ? ` ${valueYaml}` : ''}`).join('\n') + '\n';
}

t.test('the example config loads, documents every key and gives every default', async (t) => {
  const r = loadConfigFile(EXAMPLE, DETECTORS);
  if (!r.ok) t.fail(r.errors.join('\n'));
  t.ok(r.ok, 'example config is valid');
  if (!r.ok) return;
  const text = readFileSync(EXAMPLE, 'utf8');
  const doc = parseDocument(text);
  const documented = new Set(leaves(doc.contents as Node).map(([p]) => p));
  // Every schema key is in the example (zones and detectors are open maps: checked below).
  const missing = schemaKeys().filter((k) => k !== 'zones' && k !== 'detectors' && !documented.has(k));
  t.same(missing, [], 'every schema key is documented in the example');
  // The example shows the defaults: loading it equals loading nothing (detectors aside).
  const defaults = defaultConfig();
  const { detectors, ...rest } = r.config;
  const { detectors: _d, ...restDefaults } = defaults;
  t.same(rest, restDefaults, 'every value in the example is the default');
  // Every registered detector and each of its settings is documented with its default.
  const hint = 'config/picket.example.yaml is out of date: npx tsc -p tsconfig.json && node dist/agent/daemon/example-detectors.js config/picket.example.yaml';
  t.equal(text.slice(text.indexOf(DETECTORS_MARKER)), renderDetectorsSection(), hint);
  for (const d of DETECTORS) t.same(detectors[d.name], d.defaults, `detectors.${d.name}: every setting with its default`);
  // Each documented key is accepted on its own, with the documented value.
  let accepted = 0;
  for (const [path, node] of leaves(doc.contents as Node)) {
    const valueText = text.slice(node.range![0], node.range![1]);
    const one = parseConfig(only(path, valueText), 'one.yaml', DETECTORS);
    if (!one.ok) t.fail(`${path}: ${one.errors.join('; ')}`);
    else accepted++;
  }
  t.ok(accepted > 60, `${accepted} documented keys accepted one by one`);
  // And the comments: every leaf has a comment line right above it or on a section above it.
  t.ok(text.split('\n').filter((l) => l.trim().startsWith('#')).length > 80, 'keys are commented');
});

t.test('errors name the file, the line and the key', async (t) => {
  const lines = Array.from({ length: 11 }, (_, i) => `# line ${i + 1}`);
  const text = [...lines, 'flows:', '  idle_timeout:', '    tcp: abc', ''].join('\n');
  const r = parseConfig(text, 'picket.yaml', DETECTORS);
  t.notOk(r.ok);
  if (r.ok) return;
  t.equal(r.errors.length, 1);
  t.match(r.errors[0], /^picket\.yaml:14: flows\.idle_timeout\.tcp must be a positive number of seconds up to \d+, got "abc"$/);
});

t.test('every kind of mistake gets one clear line', async (t) => {
  const cases: Array<[string, string | RegExp]> = [
    ['capture:\n  filtre: tcp\n', 'x.yaml:2: unknown key capture.filtre (did you mean capture.filter?)'],
    ['filter: tcp\n', 'x.yaml:1: unknown key filter (it belongs under capture: capture.filter)'],
    ['capture:\n  zzz: 1\n', /x\.yaml:2: unknown key capture\.zzz \(known here: interfaces, filter, /],
    ['broker:\n  password: hunter2\n', /x\.yaml:2: unknown key broker\.password \(keep secrets out of the config: use broker\.password_file or PICKET_BROKER_PASSWORD\)/],
    ['flows:\n  max: 12.5\n', 'x.yaml:2: flows.max must be a whole number of flows from 16 to 16777216, got 12.5'],
    ['flows:\n  max: "1000"\n', 'x.yaml:2: flows.max must be a whole number of flows from 16 to 16777216, got "1000"'],
    ['flows:\n  idle_timeout:\n    udp: 0\n', /x\.yaml:3: flows\.idle_timeout\.udp must be a positive number of seconds/],
    ['flows:\n  idle_timeout: 5\n', 'x.yaml:2: flows.idle_timeout must be a mapping (key: value lines), got 5'],
    ['capture:\n  promiscuous: yes\n', 'x.yaml:2: capture.promiscuous must be true or false, got "yes"'],
    ['capture:\n  interfaces: [eth0, "a b"]\n', 'x.yaml:2: capture.interfaces[1] must be an interface name (1-15 characters, no spaces, / or :), got "a b"'],
    ['capture:\n  interfaces: {a: 1}\n', 'x.yaml:2: capture.interfaces must be a list, got a mapping'],
    ['logging:\n  level: loud\n', 'x.yaml:2: logging.level must be one of trace, debug, info, warn, error, fatal, silent, got "loud"'],
    ['broker:\n  url: mqtt://h\n  version: 4\n', 'x.yaml:3: broker.version must be one of 5, 3.1.1, got "4"'],
    ['broker:\n  url: http://h\n', /x\.yaml:2: broker\.url must be mqtt:\/\/HOST:PORT or mqtts:\/\/HOST:PORT, got "http:\/\/h"/],
    ['broker:\n  username: u\n', 'x.yaml:2: broker.username is set but broker.url is empty: set broker.url or remove broker.username'],
    ['broker:\n  url: mqtt://h\n  ca_file: /ca.pem\n', 'x.yaml:2: broker.ca_file/cert_file/key_file need an mqtts:// broker.url'],
    ['broker:\n  url: mqtts://h\n  cert_file: /c.pem\n', 'x.yaml:3: mutual TLS needs both broker.cert_file and broker.key_file'],
    ['broker:\n  site: a/b\n', 'x.yaml:2: broker.site must be an MQTT topic level: 1-128 characters without / + # or NUL, got "a/b"'],
    ['metrics:\n  listen: localhost\n', 'x.yaml:2: metrics.listen must be HOST:PORT (e.g. 127.0.0.1:9470) or "" for off, got "localhost"'],
    ['netflow:\n  listen: 0.0.0.0:70000\n', /x\.yaml:2: netflow\.listen must be HOST:PORT/],
    ['zones:\n  dmz: [10.9.0.0/16, nope]\n', 'x.yaml:2: zones.dmz[1] must be an address or CIDR such as 10.0.0.0/8 or fd00::/8, got "nope"'],
    ['zones:\n  DMZ: [10.9.0.0/16]\n', /x\.yaml:2: zones: name "DMZ" must be 1-32 lower-case/],
    ['allow:\n  hosts: [10.0.0.0/33]\n', /x\.yaml:2: allow\.hosts\[0\] must be an address or CIDR/],
    ['allow:\n  detectors: [port_scna]\n', 'x.yaml:2: allow.detectors[0] "port_scna" is not a detector (did you mean port_scan?)'],
    ['detectors:\n  portscan: false\n', 'x.yaml:2: unknown detector detectors.portscan (did you mean detectors.port_scan?)'],
    ['detectors:\n  port_scan:\n    windowsec: 5\n', 'x.yaml:3: unknown setting detectors.port_scan.windowsec (did you mean detectors.port_scan.windowSec?)'],
    ['detectors:\n  port_scan:\n    windowSec: soon\n', 'x.yaml:3: detectors.port_scan.windowSec must be a number (default 60), got "soon"'],
    ['detectors:\n  port_scan:\n    windowSec: -1\n', 'x.yaml:3: detectors.port_scan.windowSec must not be negative (default 60), got -1'],
    ['detectors:\n  port_scan:\n    enabled: maybe\n', 'x.yaml:3: detectors.port_scan.enabled must be true or false, got "maybe"'],
    ['capture:\n  reopen_min: 10\n  reopen_max: 1\n', 'x.yaml:3: capture.reopen_max (1) must not be smaller than capture.reopen_min (10)'],
    ['a: &x 1\nlogging:\n  level: *x\n', /x\.yaml:1: unknown key a|x\.yaml:3: logging\.level: YAML aliases are not supported/],
    ['flows: [1, 2\nx: 1\n', /^x\.yaml:2: YAML syntax: /],
    ['flows:\n  max: 100\nflows:\n  max: 200\n', /^x\.yaml:3: YAML syntax: Map keys must be unique/],
    ['- a\n- b\n', 'x.yaml:1: the file must be a mapping (key: value lines), got a list'],
    ['{1: 2}\n', /x\.yaml:1: unknown key 1/],
  ];
  for (const [text, want] of cases) {
    const r = parseConfig(text, 'x.yaml', DETECTORS);
    t.notOk(r.ok, `rejected: ${JSON.stringify(text)}`);
    if (r.ok) continue;
    if (typeof want === 'string') t.ok(r.errors.includes(want), `${want}\n   got: ${r.errors.join(' | ')}`);
    else t.ok(r.errors.some((e) => want.test(e)), `${want}\n   got: ${r.errors.join(' | ')}`);
  }
});

t.test('all problems of a file are listed at once, each on its own line', async (t) => {
  const r = parseConfig('capture:\n  snaplen: 10\n  filtre: x\nflows:\n  max: -1\n', 'p.yaml', DETECTORS);
  t.notOk(r.ok);
  if (r.ok) return;
  t.equal(r.errors.length, 3);
  t.ok(r.errors.every((e) => !e.includes('\n')));
  t.same(r.errors.map((e) => e.split(':')[1]), ['2', '3', '5']);
});

t.test('values: defaults for empty keys, detectors off, zones, version as a number', async (t) => {
  const r = parseConfig(
    [
      'capture:',
      '  interfaces: eth1', // a single name is a list of one
      '  filter:', // empty = default
      'broker:',
      '  url: mqtt://broker.lan',
      '  version: 3.1.1',
      'zones:',
      '  guest: [10.15.99.0/24]',
      '  dmz: [192.0.2.0/24]',
      'detectors:',
      '  ddos: false',
      '  port_scan:',
      '    windowSec: 30',
      '    enabled: true',
      '',
    ].join('\n'),
    'v.yaml',
    DETECTORS,
  );
  if (!r.ok) t.fail(r.errors.join('\n'));
  if (!r.ok) return;
  t.same(r.config.capture.interfaces, ['eth1']);
  t.equal(r.config.capture.filter, '');
  t.equal(r.config.broker.version, '3.1.1');
  t.same(r.config.zones.guest, ['10.15.99.0/24']);
  t.same(r.config.zones.dmz, ['192.0.2.0/24']);
  t.ok(r.config.zones.trust!.includes('10.0.0.0/8'), 'trust keeps its default when not given');
  t.equal(r.config.detectors.ddos, false);
  t.same(r.config.detectors.port_scan, { windowSec: 30 });
  const five = parseConfig('broker:\n  url: mqtt://h\n  version: 5\n', 'v.yaml');
  t.equal(five.ok && five.config.broker.version, '5');
  const empty = parseConfig('', 'e.yaml');
  t.same(empty.ok && empty.config, defaultConfig(), 'an empty file is the defaults');
  const comments = parseConfig('# nothing\n', 'e.yaml');
  t.same(comments.ok && comments.config, defaultConfig());
});

t.test('file problems', async (t) => {
  const r = loadConfigFile('/nonexistent/picket.yaml');
  t.same(r, { ok: false, errors: ['cannot read config /nonexistent/picket.yaml (ENOENT): check --config and the file\'s permissions'] });
});

t.test('the schema is consistent', async (t) => {
  const walk = (s: SectionSpec, path: string): void => {
    for (const [k, f] of Object.entries(s.fields)) {
      t.ok(f.doc.length > 5, `${path}${k} has documentation`);
      if (f.type === 'section') walk(f, `${path}${k}.`);
      if (f.type === 'number') t.ok(f.default >= f.min && f.default <= f.max, `${path}${k} default within bounds`);
    }
  };
  walk(CONFIG_SCHEMA, '');
});

t.test('suggestions', async (t) => {
  t.equal(editDistance('filter', 'filtre'), 2);
  t.equal(editDistance('', 'abc'), 3);
  t.equal(editDistance('a', 'abcdefghijklmn', 3), 4, 'bounded');
  t.equal(closest('idle-timeout', ['idle_timeout', 'active_timeout']), 'idle_timeout');
  t.equal(closest('zzzzzz', ['filter', 'snaplen']), undefined);
  t.equal(closest('snaplen', ['snaplen']), 'snaplen');
  // isScalar is used by the loader; keep the import honest.
  t.ok(isScalar(parseDocument('1').contents));
});

t.test('the detectors section generator', async (t) => {
  const section = renderDetectorsSection([{ name: 'x', description: 'a test detector', defaults: { a: 1, b: [1, 2], c: 'z', d: true } }]);
  t.match(section, /^# Detector thresholds/);
  t.match(section, /  # a test detector\n  x:\n    a: 1\n    b: \[1,2\]\n    c: "z"\n    d: true\n$/);
  t.equal(replaceDetectorsSection('a: 1\n', section), `a: 1\n\n${section}`, 'appended when absent');
  t.equal(replaceDetectorsSection(`a: 1\n\n${section}`, 'new\n'), 'a: 1\n\nnew\n', 'replaced from the marker on');
  const r = parseConfig(section, 'd.yaml', [{ name: 'x', defaults: { a: 1, b: [1, 2], c: 'z', d: true } }]);
  t.same(r.ok && r.config.detectors, { x: { a: 1, b: [1, 2], c: 'z', d: true } }, 'the generated YAML reads back');
});
