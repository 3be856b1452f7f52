/** The feature schema is the single source: docs/features.md must carry exactly its generated table. */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { FEATURE_COUNT, FEATURE_NAMES, FEATURE_SPECS, featureIndex, featureFamily } from '../agent/features/feature-schema.js';
import { featureDocBlock, featureTableMarkdown, withFeatureTable, DOC_BEGIN, DOC_END } from '../agent/features/feature-docs.js';
import { FLOW_FEATURE_SCHEMA } from '../agent/detect/anomaly/anomaly-hooks.js';

t.test('docs/features.md holds the generated table', async (t) => {
  const doc = readFileSync('docs/features.md', 'utf8');
  const a = doc.indexOf(DOC_BEGIN);
  const b = doc.indexOf(DOC_END);
  t.ok(a >= 0 && b > a, 'markers present');
  t.equal(doc.slice(a, b + DOC_END.length), featureDocBlock(), 'out of date: node --import @tapjs/typescript/import agent/features/feature-docs.ts --write');
  const rows = doc.split('\n').filter((l) => /^\| \d+ \|/.test(l));
  t.equal(rows.length, FEATURE_COUNT, 'one row per feature');
  rows.forEach((row, i) => t.ok(row.startsWith(`| ${i} | \`${FEATURE_NAMES[i]}\` |`), `row ${i} is ${FEATURE_NAMES[i]}`));
});

t.test('the schema is well formed', async (t) => {
  t.equal(new Set(FEATURE_NAMES).size, FEATURE_COUNT, 'names unique');
  for (const s of FEATURE_SPECS) {
    t.ok(s.meaning.length > 5 && s.range.length > 0, `${s.name} documented`);
    t.match(s.name, /^[a-z0-9_.]+$/, `${s.name} is a plain column name`);
  }
  t.equal(featureIndex('bytes_out_log'), 0);
  t.throws(() => featureIndex('nope'));
  t.equal(featureFamily('dns.name_entropy'), 'dns');
  t.same(FLOW_FEATURE_SCHEMA.names, FEATURE_NAMES, 'models are trained on this list');
  const families = new Set(FEATURE_SPECS.map((s) => s.family));
  for (const f of ['l4', 'http', 'dns', 'tls', 'quic', 'grpc', 'websocket', 'rmm', 'zone', 'host']) t.ok(families.has(f as never), `family ${f}`);
});

t.test('withFeatureTable replaces or appends the block', async (t) => {
  const fresh = withFeatureTable('# Title\n');
  t.ok(fresh.includes(featureTableMarkdown()));
  t.equal(withFeatureTable(fresh.replace('| 0 |', '| X |')), fresh, 'a stale block is replaced');
});
