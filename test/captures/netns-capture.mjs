/**
 * What the capture generators under test/captures/ share: their traffic runs inside a private
 * network namespace (server 10.13.0.1 and client 10.13.0.2 on its loopback) while tcpdump records
 * it; the capture must be complete (no kernel drops, no TCP segment tshark reports missing), or it
 * is made again, up to 3 attempts. Needs root, `ip`, `tcpdump` and `tshark`.
 *
 * A generator ends with `await runGenerator({ ns, script: import.meta.url, defaultOut, traffic })`:
 * `node GENERATOR [OUT.pcap]` captures, and the namespace runs `node GENERATOR --traffic`.
 */
import { spawn, execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

export const SERVER = '10.13.0.1';
export const CLIENT = '10.13.0.2';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function sh(cmd, args) {
  return execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 }).toString();
}

function quiet(cmd, args) {
  try {
    execFileSync(cmd, args, { stdio: 'ignore', timeout: 10_000 });
  } catch {
    /* absent already */
  }
}

async function captureOnce(ns, script, out) {
  quiet('ip', ['netns', 'del', ns]);
  sh('ip', ['netns', 'add', ns]);
  try {
    sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    sh('ip', ['-n', ns, 'addr', 'add', `${SERVER}/16`, 'dev', 'lo']);
    sh('ip', ['-n', ns, 'addr', 'add', `${CLIENT}/16`, 'dev', 'lo']);
    const dump = spawn('ip', ['netns', 'exec', ns, 'tcpdump', '-i', 'lo', '--immediate-mode', '-B', '65536', '-U', '-s', '0', '-w', out, 'tcp and net 10.13.0.0/16'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    dump.stderr.on('data', (d) => (err += d));
    for (let i = 0; i < 100 && !err.includes('listening'); i++) await sleep(50);
    const gen = spawn('ip', ['netns', 'exec', ns, process.execPath, script, '--traffic'], { stdio: 'inherit' });
    const timer = setTimeout(() => gen.kill('SIGKILL'), 20_000);
    const [code] = await once(gen, 'exit');
    clearTimeout(timer);
    await sleep(1000);
    dump.kill('SIGINT');
    await once(dump, 'exit');
    if (code !== 0) throw new Error(`traffic generator failed (exit ${code})`);
    const dropped = /(\d+) packets dropped by kernel/.exec(err);
    if (!dropped || dropped[1] !== '0') throw new Error(`tcpdump lost packets: ${err.trim()}`);
    // Also from the capture itself: no segment may be missing (tshark's TCP analysis).
    const holes = sh('tshark', ['-r', out, '-Y', 'tcp.analysis.lost_segment || tcp.analysis.ack_lost_segment', '-T', 'fields', '-e', 'frame.number']).trim();
    if (holes) throw new Error(`capture has holes at frames ${holes.split('\n').join(',')}`);
  } finally {
    quiet('ip', ['netns', 'del', ns]);
  }
}

/**
 * Runs a generator: with `--traffic` (inside the namespace) its `traffic()`, otherwise the capture
 * into `process.argv[2]` or `defaultOut`. A loaded machine can make tcpdump miss packets: capture
 * again (bounded) rather than keep a hole.
 */
export async function runGenerator({ ns, script, defaultOut, traffic }) {
  if (process.argv[2] === '--traffic') {
    await traffic();
    return;
  }
  const out = process.argv[2] ?? defaultOut;
  for (let attempt = 1; ; attempt++) {
    try {
      await captureOnce(ns, fileURLToPath(script), out);
      process.stdout.write(`wrote ${out}\n`);
      return;
    } catch (err) {
      if (attempt >= 3) throw err;
      process.stderr.write(`attempt ${attempt}: ${err.message}; retrying\n`);
    }
  }
}
