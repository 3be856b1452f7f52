/**
 * The feature table of docs/features.md, generated from FEATURE_SPECS so the documentation can
 * never drift from the code (test/features-schema.test.ts compares the file with this output).
 * Regenerate after changing the schema:
 *   node --import @tapjs/typescript/import agent/features/feature-docs.ts --write
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { FEATURE_SET_VERSION, FEATURE_SPECS } from './feature-schema.js';

export const DOC_BEGIN = '<!-- feature-table:begin (generated from agent/features/feature-schema.ts) -->';
export const DOC_END = '<!-- feature-table:end -->';

/** One Markdown table of every feature: index, name, family, range, meaning. */
export function featureTableMarkdown(): string {
  const esc = (s: string): string => s.replace(/\|/g, '\\|');
  const rows = FEATURE_SPECS.map((s, i) => `| ${i} | \`${s.name}\` | ${s.family} | ${esc(s.range)} | ${esc(s.meaning)} |`);
  return [
    `Feature set version ${FEATURE_SET_VERSION}, ${FEATURE_SPECS.length} features.`,
    '',
    '| # | name | family | range | meaning |',
    '|---|---|---|---|---|',
    ...rows,
  ].join('\n');
}

/** The generated block as it appears between the markers. */
export function featureDocBlock(): string {
  return `${DOC_BEGIN}\n${featureTableMarkdown()}\n${DOC_END}`;
}

/** Replaces the block between the markers in `text` (appends it when the markers are absent). */
export function withFeatureTable(text: string): string {
  const a = text.indexOf(DOC_BEGIN);
  const b = text.indexOf(DOC_END);
  if (a < 0 || b < a) return `${text.trimEnd()}\n\n${featureDocBlock()}\n`;
  return text.slice(0, a) + featureDocBlock() + text.slice(b + DOC_END.length);
}

if (process.argv[1]?.endsWith('feature-docs.ts') && process.argv.includes('--write')) {
  const path = 'docs/features.md';
  writeFileSync(path, withFeatureTable(readFileSync(path, 'utf8')));
  console.log(`${path}: feature table regenerated (${FEATURE_SPECS.length} features)`);
}
