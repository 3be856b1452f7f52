/**
 * The dashboard's files (collector/web/), read into memory once at start: only regular files
 * directly in that folder (and its `js/` and `css/` subfolders) with a known type are served,
 * so no request path can reach anything else on disk. Works from the source tree and from
 * dist/ (where tsc does not copy the web folder): the folder is found relative to the package root.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

export interface StaticFile {
  type: string;
  body: Buffer;
}

/** The picket package root (holding package.json named picket), from this module's location. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'picket') return dir;
      } catch {
        // Not ours; keep walking up.
      }
    }
    dir = dirname(dir);
  }
  throw new Error('cannot find the picket package root (package.json) above ' + fileURLToPath(import.meta.url));
}

export function defaultWebRoot(): string {
  return join(packageRoot(), 'collector', 'web');
}

/** URL path → file, for `/`, `/name.ext`, `/js/name.ext`, `/css/name.ext`. */
export function loadStaticFiles(root = defaultWebRoot()): Map<string, StaticFile> {
  const files = new Map<string, StaticFile>();
  const add = (dir: string, prefix: string): void => {
    if (!existsSync(dir)) return;
    for (const name of readdirSync(dir)) {
      const type = TYPES[extname(name)];
      const path = join(dir, name);
      if (!type || !/^[\w.-]+$/.test(name) || !statSync(path).isFile()) continue;
      files.set(`${prefix}${name}`, { type, body: readFileSync(path) });
    }
  };
  add(root, '/');
  add(join(root, 'js'), '/js/');
  add(join(root, 'css'), '/css/');
  const index = files.get('/index.html');
  if (!index) throw new Error(`dashboard files missing: ${join(root, 'index.html')} not found`);
  files.set('/', index);
  return files;
}
