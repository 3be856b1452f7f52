/**
 * What a person sees when `picket run` cannot work: one line on stderr (and a fatal JSON log
 * line) saying what is wrong and what to do, and an exit code (2 usage/config, 1 cannot start).
 * An unreachable broker is not fatal: the daemon runs, says so once, and keeps alerts queued.
 *
 * Needs root for the capture cases (namespace pk-dmn-e, 10.17.5.0/24) and setpriv (util-linux).
 */
import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { runCommand } from '../agent/cli/run.js';
import { UsageError } from '../agent/cli/args.js';
import { childEnv, createVeth, deleteVeth, PicketProcess } from './daemon-process.js';

const dir = mkdtempSync(join(tmpdir(), 'pk-dmn-err-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const root = process.getuid?.() === 0;

async function runToExit(args: string[], opts: ConstructorParameters<typeof PicketProcess>[1] = {}): Promise<{ code: number | null; stderr: string; stdout: string; p: PicketProcess }> {
  const p = new PicketProcess(args, opts);
  const timer = setTimeout(() => p.signal('SIGKILL'), 60_000);
  const e = await p.exited;
  clearTimeout(timer);
  return { code: e.code, stderr: p.stderr, stdout: p.stdout, p };
}

/** stderr lines without Node's own warnings. */
function lines(text: string): string[] {
  return text.split('\n').filter((l) => l && !l.includes('ExperimentalWarning') && !l.startsWith('(Use `node'));
}

/** Runs `picket run` in-process (no daemon starts in these cases): exit code and output. */
async function runInProcess(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io = {
    stdout: new Writable({ write: (c: Buffer, _e, cb) => ((stdout += c.toString()), cb()) }),
    stderr: new Writable({ write: (c: Buffer, _e, cb) => ((stderr += c.toString()), cb()) }),
  };
  try {
    return { code: await runCommand.run(argv, io), stdout, stderr };
  } catch (err) {
    // main.ts prints usage errors as "picket run: <message>" with exit 2.
    if (err instanceof UsageError) return { code: 2, stdout, stderr: `${stderr}picket run: ${err.message}\n` };
    throw err;
  }
}

t.test('a bad config line: exit 2, one line per problem with file and line', async (t) => {
  const cfg = join(dir, 'picket.yaml');
  writeFileSync(cfg, 'capture:\n  interfaces: [eth0]\nflows:\n  idle_timeout:\n    tcp: abc\n');
  const r = await runInProcess(['--config', cfg]);
  t.equal(r.code, 2);
  t.same(lines(r.stderr), ['picket run: picket.yaml:5: flows.idle_timeout.tcp must be a positive number of seconds up to 2592000, got "abc"']);
  t.equal(r.stdout, '', 'no daemon started, nothing logged');
  const ok = join(dir, 'ok.yaml');
  writeFileSync(ok, 'capture:\n  interfaces: [eth0]\n');
  const check = await runInProcess(['--config', ok, '--check']);
  t.equal(check.code, 0);
  t.match(check.stdout, /^picket run: configuration OK \(.*ok\.yaml\): 1 interfaces, netflow off, broker none, metrics 127\.0\.0\.1:9470\n$/);
  const pos = await runInProcess(['capture.pcap']);
  t.equal(pos.code, 2);
  t.match(pos.stderr, /takes no arguments \(got "capture\.pcap"\); capture files go to picket replay/);
});

t.test('nothing to capture: exit 2 with what to give', async (t) => {
  const r = await runInProcess(['--metrics', '']);
  t.equal(r.code, 2);
  t.match(lines(r.stderr)[0], /^picket run: nothing to do: give --interface IF or --netflow HOST:PORT/);
});

t.test('a bad flag: exit 2 (through the real command line)', async (t) => {
  const r = await runToExit(['run', '--interfaec', 'eth0']);
  t.equal(r.code, 2);
  t.match(lines(r.stderr)[0], /^picket run: unknown option --interfaec; known options: --config, --interface,/);
});

t.test('capture cases', { skip: root ? false : 'needs root' }, async (t) => {
  const v = createVeth('e', 5);
  t.teardown(() => deleteVeth(v));

  t.test('missing interface: exit 1, the interfaces that exist', async (t) => {
    const r = await runToExit(['run', '--interface', 'pk-dmn-nope', '--metrics', '']);
    t.equal(r.code, 1);
    const l = lines(r.stderr);
    t.equal(l.length, 1);
    t.match(l[0], /^picket run: capture interface pk-dmn-nope does not exist \(interfaces here: .*pk-dmn-eh.*\); check --interface or the config$/);
    const fatal = r.p.lines().find((x) => x.level === 'fatal');
    t.equal(fatal?.event, 'start_failed', 'and a fatal JSON log line for journald');
  });

  t.test('capture without permission: names CAP_NET_RAW', async (t) => {
    // nobody, with only CAP_DAC_READ_SEARCH so it can read the checkout wherever it lives; without
    // tap's NODE_OPTIONS (its process tracking cannot write .tap/ as nobody).
    const env = childEnv();
    const r = await runToExit(['run', '--interface', v.hostIf, '--metrics', ''], {
      wrapper: ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all,+dac_read_search', '--ambient-caps=+dac_read_search'],
      envBase: env,
    });
    t.equal(r.code, 1);
    const l = lines(r.stderr);
    t.equal(l.length, 1, l.join('\n'));
    t.match(l[0], /^picket run: capture on pk-dmn-eh needs CAP_NET_RAW \(run as root or grant it: .*AmbientCapabilities=CAP_NET_RAW in the systemd unit\); libpcap: /);
  });

  t.test('CAP_NET_RAW alone is enough for the daemon (as in picket.service)', async (t) => {
    const p = new PicketProcess(['run', '--interface', v.hostIf, '--metrics', '127.0.0.1:0'], {
      wrapper: ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all,+dac_read_search,+net_raw', '--ambient-caps=+dac_read_search,+net_raw'],
      envBase: childEnv(),
    });
    const started = await p.started();
    t.match(started.msg, /capturing on pk-dmn-eh/);
    const e = await p.stop();
    t.equal(e.code, 0);
  });

  t.test('a bad filter: exit 1 with libpcap\'s reason', async (t) => {
    const r = await runToExit(['run', '--interface', v.hostIf, '--filter', 'port 99999', '--metrics', '']);
    t.equal(r.code, 1);
    t.match(lines(r.stderr)[0], /^picket run: bad capture filter "port 99999": .*; fix --filter or capture\.filter/);
  });

  t.test('metrics port in use: exit 1, what to do', async (t) => {
    const srv = createServer();
    await new Promise<void>((res) => srv.listen(0, '127.0.0.1', () => res()));
    t.teardown(() => srv.close());
    const port = (srv.address() as { port: number }).port;
    const r = await runToExit(['run', '--interface', v.hostIf, '--metrics', `127.0.0.1:${port}`]);
    t.equal(r.code, 1);
    t.same(lines(r.stderr), [`picket run: cannot serve metrics on 127.0.0.1:${port} (EADDRINUSE): choose another --metrics HOST:PORT or set metrics.listen to "" to turn metrics off`]);
  });

  t.test('an output that cannot be written: exit 1', async (t) => {
    const r = await runToExit(['run', '--interface', v.hostIf, '--metrics', '', '--alerts-jsonl', '/nonexistent/dir/alerts.jsonl']);
    t.equal(r.code, 1);
    t.same(lines(r.stderr), ['picket run: cannot open --alerts-jsonl /nonexistent/dir/alerts.jsonl for appending (ENOENT): check the path and its permissions']);
  });

  t.test('unreachable broker: runs anyway, says so once, keeps alerts queued', async (t) => {
    // A port nothing listens on: bind one and close it.
    const srv = createServer();
    await new Promise<void>((res) => srv.listen(0, '127.0.0.1', () => res()));
    const port = (srv.address() as { port: number }).port;
    await new Promise<void>((res) => srv.close(() => res()));
    const p = new PicketProcess(['run', '--interface', v.hostIf, '--metrics', '', '--broker', `mqtt://127.0.0.1:${port}`, '--queue-dir', join(dir, 'q')]);
    await p.started();
    const err = await p.waitLog((l) => l.component === 'broker' && l.level === 'error', 30_000, 'broker error');
    t.equal(err.msg, `broker mqtt://127.0.0.1:${port} refused the connection (nothing listening?): check that the broker runs and --broker is right; alerts stay queued and are retried with backoff`);
    // Retries (backoff from 500 ms) stay quiet.
    await new Promise((r) => setTimeout(r, 2500));
    t.equal(p.lines().filter((l) => l.component === 'broker').length, 1, 'one line, not one per retry');
    const e = await p.stop();
    t.equal(e.code, 0);
    t.ok(e.ms < 5000, `stopped in ${e.ms} ms with the broker down`);
  });
});
