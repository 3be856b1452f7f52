/**
 * `picket collect` and `picket demo` as a person runs them: flag errors are one line and exit 2,
 * the collector starts, serves and stops cleanly on SIGINT, and the demo fills the dashboard
 * (embedded aedes, fixture through the real publisher) and cleans up after itself.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { CollectOptionError, collectOptionsFromFlags } from '../collector/collect-options.js';
import { tempDir, until } from './collector-fixtures.js';
import { startMosquitto } from './helpers/mosquitto.js';

const MAIN = new URL('../agent/cli/main.ts', import.meta.url).pathname;
const dir = tempDir('pk-col-cli-');
t.teardown(() => dir.remove());

interface Run {
  proc: ChildProcess;
  err(): string;
  exited: Promise<number | null>;
}

function picket(args: string[]): Run {
  const proc = spawn(process.execPath, [...process.execArgv, MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], // Types are checked by tsc, not again in every child (TypeScript startup is slow on a busy machine).
    env: { ...process.env, PICKET_BROKER_PASSWORD: '', TS_NODE_TRANSPILE_ONLY: '1' },
  });
  let err = '';
  proc.stderr?.on('data', (b: Buffer) => (err += b.toString()));
  proc.stdout?.resume();
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  return { proc, err: () => err, exited };
}

t.test('flag errors: one line saying what is wrong and what to do', async (t) => {
  const token = join(dir.path, 'token');
  const short = join(dir.path, 'short');
  writeFileSync(token, 'a-long-enough-secret-1234\n');
  writeFileSync(short, 'short\n');
  const base = { broker: 'mqtt://127.0.0.1:1883', db: join(dir.path, 'x.db') };
  const cases: [Record<string, string | boolean>, RegExp][] = [
    [{ db: 'x.db' }, /--broker URL is required/],
    [{ broker: 'mqtt://h:1' }, /--db FILE is required/],
    [{ ...base, broker: 'http://h:1' }, /scheme must be mqtt:\/\/ or mqtts:\/\//],
    [{ ...base, broker: 'mqtt://u:p@h:1' }, /carries credentials/],
    [{ ...base, http: '8080' }, /is not HOST:PORT/],
    [{ ...base, http: '0.0.0.0:8080' }, /reachable beyond this machine: give --token-file FILE/],
    [{ ...base, http: '0.0.0.0:8080', 'token-file': short }, /must hold one line of 16-512 printable characters/],
    [{ ...base, 'token-file': join(dir.path, 'missing') }, /cannot read --token-file .* \(ENOENT\)/],
    [{ ...base, 'mqtt-version': '3' }, /--mqtt-version "3" is not supported/],
    [{ ...base, group: 'a/b' }, /--group "a\/b" must be 1-128 characters without \/ \+ #/],
    [{ ...base, 'retention-days': '-1' }, /--retention-days must be a number from 0/],
    [{ ...base, 'max-db-mb': 'lots' }, /--max-db-mb must be a number/],
    [{ ...base, 'topic-prefix': 'picket/#' }, /--topic-prefix "picket\/#" is not usable/],
    [{ ...base, 'broker-ca': 'ca.pem' }, /need an mqtts:\/\/ broker URL/],
    [{ ...base, broker: 'mqtts://h:1', 'broker-cert': 'c.pem' }, /needs both --broker-cert and --broker-key/],
  ];
  for (const [flags, re] of cases) {
    t.throws(() => collectOptionsFromFlags(flags, {}), re, JSON.stringify(flags));
    try {
      collectOptionsFromFlags(flags, {});
    } catch (err) {
      t.ok(err instanceof CollectOptionError && !err.message.includes('\n'), 'one line');
    }
  }
  const ok = collectOptionsFromFlags({ ...base, http: '[::]:9000', 'token-file': token, 'retention-days': '7', 'max-db-mb': '512' }, {});
  t.match(ok, { httpHost: '::', httpPort: 9000, token: 'a-long-enough-secret-1234', retentionDays: 7, maxDbMb: 512, protocol: 'auto', group: 'picket-collectors' });
  t.match(ok.clientId, /^picket-collect-.+-[0-9a-f]{8}$/, 'a stable client id from host and database');
  t.equal(collectOptionsFromFlags({ ...base }, {}).clientId, ok.clientId);
  t.throws(() => collectOptionsFromFlags({ ...base }, { PICKET_BROKER_PASSWORD: 'pw' }), /no --broker-user/);
});

t.test('picket collect: refuses an open address without a token (exit 2, one line)', async (t) => {
  const r = picket(['collect', '--broker', 'mqtt://127.0.0.1:1', '--db', join(dir.path, 'open.db'), '--http', '0.0.0.0:0']);
  t.equal(await r.exited, 2);
  const lines = r.err().trim().split('\n');
  t.equal(lines.length, 1);
  t.match(lines[0], /^picket collect: error: --http 0\.0\.0\.0:0 is reachable beyond this machine/);
  const bad = picket(['collect', '--bogus']);
  t.equal(await bad.exited, 2);
  t.match(bad.err(), /unknown option --bogus/);
});

t.test('picket collect: starts, serves the dashboard and API, stops on SIGINT', async (t) => {
  const broker = await startMosquitto();
  t.teardown(() => broker.close());
  const r = picket(['collect', '--broker', broker.url, '--db', join(dir.path, 'run.db'), '--http', '127.0.0.1:0']);
  t.teardown(() => r.proc.kill('SIGKILL'));
  await until(() => /dashboard and API on http:\/\/127\.0\.0\.1:\d+\//.test(r.err()), 90_000, 'the ready line');
  const url = /(http:\/\/127\.0\.0\.1:\d+\/)/.exec(r.err())![1]!;
  await until(() => /connected to broker/.test(r.err()), 10_000, 'broker connection');
  const page = await fetch(url);
  t.equal(page.status, 200);
  t.match(await page.text(), /<title>Picket<\/title>/);
  const health = (await (await fetch(`${url}api/health`)).json()) as { broker: { connected: boolean; shared: boolean } };
  t.match(health.broker, { connected: true, shared: true });
  r.proc.kill('SIGINT');
  t.equal(await r.exited, 0, 'exit 0 after SIGINT');
  t.match(r.err(), /picket collect: stopping/);
  t.notMatch(r.err(), /error/);
});

t.test('picket demo: embedded broker, fixture through the publisher, dashboard filled; Ctrl-C cleans up', async (t) => {
  const r = picket(['demo', '--broker-port', '0', '--http', '127.0.0.1:0', '--speed', '3000', '--fixture']);
  t.teardown(() => r.proc.kill('SIGKILL'));
  await until(() => /published all \d+ fixture alerts; \d+ alerts stored/.test(r.err()), 120_000, 'the fixture played');
  const m = /open (http:\/\/127\.0\.0\.1:\d+\/)\?range=21600 — broker (mqtt:\/\/127\.0\.0\.1:\d+) \(embedded aedes, MQTT 3\.1\.1\), database (\S+);/.exec(r.err());
  t.ok(m, 'the open line names dashboard, broker and database');
  const [, url, , db] = m!;
  t.match(r.err(), /published all 42 fixture alerts; 18 alerts stored/, 'every fixture alert arrived; repeats updated, not duplicated');
  const list = (await (await fetch(`${url}api/alerts?limit=500`)).json()) as { total: number; alerts: { count: number; detector: string }[] };
  t.equal(list.total, 18);
  t.equal(list.alerts.find((a) => a.detector === 'beacon')?.count, 19, 'the beacon alert was updated 18 times');
  const d = (await (await fetch(`${url}api/dashboard?range=21600`)).json()) as { kpis: { sensorsOnline: { value: number } }; top: { countries: { country: string }[] } };
  t.equal(d.kpis.sensorsOnline.value, 1);
  t.ok(d.top.countries.filter((c) => /^[A-Z]{2}$/.test(c.country)).length >= 8, 'origins in many countries');
  t.ok(existsSync(db!), 'temporary database while running');
  r.proc.kill('SIGINT');
  t.equal(await r.exited, 0);
  t.notOk(existsSync(db!), 'temporary database removed at exit');
  t.match(r.err(), /picket demo: stopping/);
});

t.test('picket demo replays the bundled capture through picket replay (sensor pipeline → broker → collector)', async (t) => {
  const r = picket(['demo', '--broker-port', '0', '--http', '127.0.0.1:0', '--speed', '3000']);
  t.teardown(() => r.proc.kill('SIGKILL'));
  await until(() => /replay finished \(exit code 0\); \d+ alerts stored/.test(r.err()), 180_000, 'the replay finished');
  t.match(r.err(), /replaying .*samples\/demo\.pcap at 3000× through the sensor pipeline \(picket replay\)/);
  const url = /open (http:\/\/127\.0\.0\.1:\d+\/)/.exec(r.err())![1]!;
  const list = (await (await fetch(`${url}api/alerts?limit=500`)).json()) as { total: number; alerts: { sensorId: string; category: string; source: { ip: string } }[] };
  t.ok(list.total >= 5, `${list.total} alerts from the replay`);
  t.ok(list.alerts.every((a) => a.sensorId === 'demo-edge'));
  t.ok(list.alerts.some((a) => a.category === 'scan' && a.source.ip === '185.220.101.34'), 'the nmap scan from 185.220.101.34 is in the dashboard');
  r.proc.kill('SIGINT');
  t.equal(await r.exited, 0);
});
