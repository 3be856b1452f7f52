/**
 * An interface that disappears while `picket run` captures on it: one warning line, the metric
 * picket_interface_up drops to 0, the daemon keeps running, and when the interface is back one
 * info line and capture resumes (namespace pk-dmn-c, 10.17.3.0/24). Needs root and iproute2.
 */
import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createVeth, deleteVeth, fetchText, metric, PicketProcess, sh, sleep, udpFromNs } from './daemon-process.js';

t.test('interface lost and back', { skip: process.getuid?.() !== 0 ? 'needs root' : false }, async (t) => {
  const v = createVeth('c', 3);
  t.teardown(() => deleteVeth(v));
  const dir = mkdtempSync(join(tmpdir(), 'pk-dmn-if-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const cfg = join(dir, 'picket.yaml');
  writeFileSync(cfg, ['capture:', `  interfaces: [${v.hostIf}]`, '  filter: udp', '  timeout_ms: 20', '  stats_interval: 0.5', '  reopen_min: 0.2', '  reopen_max: 0.5', 'metrics:', '  listen: 127.0.0.1:0', ''].join('\n'));
  const picket = new PicketProcess(['run', '--config', cfg]);
  t.teardown(async () => {
    if (picket.running) await picket.stop(2000);
  });
  const started = await picket.started();
  const url = `http://127.0.0.1:${started.metricsPort as number}/metrics`;
  const up = async (): Promise<number | undefined> => metric(await fetchText(url), 'picket_interface_up', `interface="${v.hostIf}"`);
  t.equal(await up(), 1);

  sh('ip', ['link', 'del', v.hostIf]);
  const lost = await picket.waitLog((l) => l.component === 'capture' && l.level === 'warn', 20_000, 'interface lost warning');
  t.match(lost.msg, new RegExp(`${v.hostIf}.*reopening with backoff`));
  let state: number | undefined;
  for (let i = 0; i < 50 && state !== 0; i++) {
    state = await up();
    if (state !== 0) await sleep(100);
  }
  t.equal(state, 0, 'picket_interface_up 0 while it is gone');
  await sleep(1500);
  t.ok(picket.running, 'the daemon keeps running');
  t.ok(picket.lines().filter((l) => l.component === 'capture' && l.level === 'warn').length <= 2, 'retries are quiet');

  // Back: a new veth pair with the same names.
  sh('ip', ['link', 'add', v.hostIf, 'type', 'veth', 'peer', 'name', v.nsIf, 'netns', v.ns]);
  sh('sysctl', ['-qw', `net.ipv6.conf.${v.hostIf}.disable_ipv6=1`]);
  sh('ip', ['addr', 'add', `${v.hostAddr}/24`, 'dev', v.hostIf]);
  sh('ip', ['link', 'set', v.hostIf, 'up']);
  sh('ip', ['netns', 'exec', v.ns, 'ip', 'addr', 'add', `${v.nsAddr}/24`, 'dev', v.nsIf]);
  sh('ip', ['netns', 'exec', v.ns, 'ip', 'link', 'set', v.nsIf, 'up']);
  const back = await picket.waitLog((l) => l.component === 'capture' && /capturing again/.test(l.msg), 20_000, 'capturing again');
  t.match(back.msg, new RegExp(`${v.hostIf} capturing again after`));
  sh('ip', ['netns', 'exec', v.ns, 'ip', 'neigh', 'add', '10.17.3.99', 'lladdr', '02:00:00:00:00:99', 'dev', v.nsIf]);
  udpFromNs(v, '10.17.3.99', 5555, 20, 64, 40001);
  let m = '';
  for (let i = 0; i < 50; i++) {
    m = await fetchText(url);
    if ((metric(m, 'picket_packets_total', `interface="${v.hostIf}"`) ?? 0) >= 20) break;
    await sleep(100);
  }
  t.equal(metric(m, 'picket_packets_total', `interface="${v.hostIf}"`), 20, 'capturing after the reopen');
  t.equal(metric(m, 'picket_interface_reopens_total', `interface="${v.hostIf}"`), 1);
  t.equal(metric(m, 'picket_interface_up', `interface="${v.hostIf}"`), 1);
  const e = await picket.stop();
  t.equal(e.code, 0);
});
