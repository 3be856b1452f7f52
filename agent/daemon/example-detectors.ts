/**
 * The `detectors:` section of config/picket.example.yaml, generated from the detector registry so
 * the example always lists every detector with every threshold at its default. After adding or
 * changing a detector:
 *
 *   npx tsc -p tsconfig.json && node dist/agent/daemon/example-detectors.js config/picket.example.yaml
 *
 * (test/config-loader.test.ts fails with this hint when the example is out of date).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DETECTORS } from '../detect/registry.js';

/** The first line of the generated section; everything from it to the end of the file is replaced. */
export const DETECTORS_MARKER = '# Detector thresholds (generated from agent/detect/registry.ts by agent/daemon/example-detectors.ts).';

interface Described {
  name: string;
  description: string;
  defaults: Readonly<Record<string, unknown>>;
}

function yamlValue(v: unknown): string {
  // JSON is valid YAML flow syntax for numbers, booleans, strings and lists of them.
  return JSON.stringify(v);
}

/** The section text, from the marker to the end. */
export function renderDetectorsSection(list: readonly Described[] = DETECTORS as readonly Described[]): string {
  const out = [
    DETECTORS_MARKER,
    '# Per detector: `false` disables it; a mapping overlays settings on its defaults. Setting names are',
    '# the detectors\' own (agent/detect/detectors/<name>.ts documents each). Unknown settings are errors.',
    'detectors:',
  ];
  for (const d of list) {
    out.push(`  # ${d.description}`, `  ${d.name}:`);
    for (const [k, v] of Object.entries(d.defaults)) out.push(`    ${k}: ${yamlValue(v)}`);
  }
  return out.join('\n') + '\n';
}

/** `text` with its detectors section (from the marker on) replaced by `section`. */
export function replaceDetectorsSection(text: string, section: string): string {
  const at = text.indexOf(DETECTORS_MARKER);
  return (at >= 0 ? text.slice(0, at) : text.endsWith('\n') ? text + '\n' : text + '\n\n') + section;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const path = process.argv[2];
  if (!path) {
    process.stderr.write('usage: node dist/agent/daemon/example-detectors.js config/picket.example.yaml\n');
    process.exit(2);
  }
  writeFileSync(path, replaceDetectorsSection(readFileSync(path, 'utf8'), renderDetectorsSection()));
  process.stdout.write(`${path}: detectors section written (${DETECTORS.length} detectors)\n`);
}
