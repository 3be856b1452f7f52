/**
 * systemd/picket.service passes `systemd-analyze verify` (no warnings either) and keeps its
 * promises: user picket, CAP_NET_RAW only, no new privileges, read-only system, state and config
 * directories; install.sh stages a valid config and a unit pointing at the install.
 *
 * Needs systemd-analyze (Debian package systemd) for the verify part; skipped with a reason otherwise.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfigFile } from '../agent/daemon/config-loader.js';
import { registeredDetectors } from '../agent/daemon/detect-port.js';

const UNIT = new URL('../systemd/picket.service', import.meta.url).pathname;
const INSTALL = new URL('../systemd/install.sh', import.meta.url).pathname;
const text = readFileSync(UNIT, 'utf8');
const haveAnalyze = spawnSync('systemd-analyze', ['--version']).error === undefined;

/** Directive → values (a directive may repeat) of the [Service] section. */
function service(unit: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let section = '';
  for (const raw of unit.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const s = /^\[(\w+)\]$/.exec(line);
    if (s) {
      section = s[1]!;
      continue;
    }
    if (section !== 'Service') continue;
    const eq = line.indexOf('=');
    const k = line.slice(0, eq);
    out.set(k, [...(out.get(k) ?? []), line.slice(eq + 1)]);
  }
  return out;
}

t.test('the unit keeps its promises', async (t) => {
  const s = service(text);
  const one = (k: string): string | undefined => s.get(k)?.at(-1);
  t.equal(one('User'), 'picket');
  t.equal(one('Group'), 'picket');
  t.equal(one('AmbientCapabilities'), 'CAP_NET_RAW', 'CAP_NET_RAW given to the non-root user');
  t.equal(one('CapabilityBoundingSet'), 'CAP_NET_RAW', 'and nothing else can ever be gained');
  t.notOk([...s.values()].flat().some((v) => v.includes('CAP_NET_ADMIN')), 'no CAP_NET_ADMIN');
  t.equal(one('NoNewPrivileges'), 'yes');
  t.equal(one('ProtectSystem'), 'strict');
  t.equal(one('ProtectHome'), 'yes');
  t.equal(one('PrivateTmp'), 'yes');
  t.equal(one('StateDirectory'), 'picket');
  t.equal(one('ConfigurationDirectory'), 'picket');
  t.equal(one('RuntimeDirectory'), 'picket');
  t.equal(one('Restart'), 'on-failure');
  t.equal(one('RestartPreventExitStatus'), '2', 'a config error does not restart in a loop');
  t.match(one('MemoryMax') ?? '', /^\d+M$/);
  t.match(one('ExecStart') ?? '', /--max-old-space-size=\d+ \/opt\/picket\/dist\/agent\/cli\/main\.js run --config \/etc\/picket\/picket\.yaml$/);
  t.match(one('ExecStartPre') ?? '', /run --config \/etc\/picket\/picket\.yaml --check$/);
  t.equal(one('ExecReload'), '/bin/kill -HUP $MAINPID', 'systemctl reload = SIGHUP');
  t.match(one('RestrictAddressFamilies') ?? '', /AF_PACKET/, 'packet sockets allowed (capture)');
  t.notOk(s.has('MemoryDenyWriteExecute'), 'V8 needs W+X pages');
});

t.test('systemd-analyze verify', { skip: haveAnalyze ? false : 'systemd-analyze not installed (apt-get install systemd)' }, async (t) => {
  const r = spawnSync('systemd-analyze', ['verify', UNIT], { encoding: 'utf8' });
  t.equal(r.status, 0, r.stderr);
  // Unknown keys or bad values are only warnings: accept none.
  t.equal(r.stderr.trim(), '', 'no warnings');
  // The check can fail: a bogus directive is reported.
  const dir = mkdtempSync(join(tmpdir(), 'pk-dmn-unit-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const bad = join(dir, 'picket.service');
  writeFileSync(bad, text.replace('UMask=0027', 'UMask=0027\nProtectSystm=strict'));
  const b = spawnSync('systemd-analyze', ['verify', bad], { encoding: 'utf8' });
  t.match(b.stderr, /Unknown key( name)? 'ProtectSystm'/, 'a typo is caught');
  const sec = spawnSync('systemd-analyze', ['security', '--offline=yes', UNIT], { encoding: 'utf8' });
  const score = /Overall exposure level for picket\.service: ([\d.]+)/.exec(sec.stdout + sec.stderr);
  t.ok(score, 'systemd-analyze security scores it');
  t.ok(Number(score?.[1]) <= 3, `exposure ${score?.[1]} (0 = locked down, 10 = unprotected)`);
});

t.test('install.sh stages a valid config and the unit', async (t) => {
  const dest = mkdtempSync(join(tmpdir(), 'pk-dmn-inst-'));
  t.teardown(() => rmSync(dest, { recursive: true, force: true }));
  const run = (args: string[]) => spawnSync('bash', [INSTALL, '--destdir', dest, '--prefix', '/opt/picket-test', ...args], { encoding: 'utf8' });
  const r = run(['--interface', 'eth0', '--interface', 'eth1', '--broker', 'mqtt://broker.lan:1883', '--site', 'plant-3']);
  t.equal(r.status, 0, r.stderr);
  const cfgPath = join(dest, 'etc/picket/picket.yaml');
  const cfg = loadConfigFile(cfgPath, registeredDetectors());
  if (!cfg.ok) t.fail(cfg.errors.join('\n'));
  else {
    t.same(cfg.config.capture.interfaces, ['eth0', 'eth1']);
    t.equal(cfg.config.broker.url, 'mqtt://broker.lan:1883');
    t.equal(cfg.config.broker.site, 'plant-3');
    t.equal(cfg.config.broker.queue_dir, '/var/lib/picket/queue');
    t.equal(cfg.config.model.path, '/var/lib/picket/model.pif');
  }
  t.equal(statSync(cfgPath).mode & 0o777, 0o640, 'config not world-readable');
  t.equal(statSync(join(dest, 'var/lib/picket/queue')).mode & 0o777, 0o750);
  const unit = readFileSync(join(dest, 'etc/systemd/system/picket.service'), 'utf8');
  t.match(unit, /ExecStart=\S*node --max-old-space-size=256 \/opt\/picket-test\/dist\/agent\/cli\/main\.js run/);
  t.notOk(unit.includes('/opt/picket/'), 'prefix substituted');
  // A second run keeps the admin's config.
  writeFileSync(cfgPath, 'capture:\n  interfaces: [wan0]\n');
  const again = run(['--interface', 'eth9']);
  t.equal(again.status, 0);
  t.match(again.stdout, /keeping the existing/);
  t.equal(readFileSync(cfgPath, 'utf8'), 'capture:\n  interfaces: [wan0]\n');
  const bad = spawnSync('bash', [INSTALL, '--bogus'], { encoding: 'utf8' });
  t.equal(bad.status, 1);
  t.match(bad.stderr, /^install\.sh: unknown option --bogus/);
  t.ok(existsSync(join(dest, 'etc/picket')));
});
