// Builds the live-capture addon at `npm install` / `npm ci` (root package.json "install").
//
// A failed build does not fail the whole install by default: reading capture files, the NetFlow
// collector and the collector UI work without it, and `picket run --interface` then says exactly
// what is missing. Set PICKET_REQUIRE_NATIVE=1 (CI does) to make a failed build fail the install.
import { spawnSync } from 'node:child_process';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
// npm puts its bundled node-gyp on PATH for lifecycle scripts; a local one comes first if present.
const r = spawnSync('node-gyp', ['rebuild', '--directory', here], { stdio: 'inherit', shell: false });
if (r.status !== 0) {
  const why = r.error ? r.error.message : `node-gyp exited with ${r.status ?? r.signal}`;
  const msg =
    `picket: live-capture addon did not build (${why}). ` +
    'Install a C++ compiler and libpcap headers (Debian: apt-get install build-essential libpcap-dev), ' +
    'then run `npm run build:native`.';
  console.error(msg);
  process.exit(process.env.PICKET_REQUIRE_NATIVE === '1' ? 1 : 0);
}
