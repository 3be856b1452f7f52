import t from 'tap';
import { PassThrough } from 'node:stream';
import { spawnSync } from 'node:child_process';
import { inspectCommand } from '../agent/cli/inspect.js';
import { runCommand, type CommandRun } from './helpers/run-command.js';

const C = '../shared/corpora';
const CLI = 'dist/agent/cli/main.js';

const inspect = (argv: string[]): Promise<CommandRun> => runCommand(inspectCommand, argv);

t.test('one ECS JSON object per flow, nested, with the issue-named fields', async (t) => {
  const { code, out, err } = await inspect([`${C}/ndpi/pcap/443-git.pcap`]);
  t.equal(code, 0);
  const lines = out.trim().split('\n');
  t.equal(lines.length, 1);
  const r = JSON.parse(lines[0]!) as Record<string, any>;
  t.match(r, {
    '@timestamp': /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/,
    event: { kind: 'event', start: String, end: String, duration: Number },
    source: { ip: '192.168.1.13', port: 55744, bytes: Number, packets: 35 },
    destination: { ip: '140.82.114.4', port: 443, packets: 35 },
    network: { transport: 'tcp', type: 'ipv4', community_id: /^1:/, packets: 70 },
    picket: { flow: { state: String, end_reason: String, uid: String } },
  });
  t.equal(r.network.bytes, r.source.bytes + r.destination.bytes);
  t.equal(r.event.duration, (Date.parse(r.event.end) - Date.parse(r.event.start)) * 1e6 + Number(r.event.end.slice(23, 26)) * 1000 - Number(r.event.start.slice(23, 26)) * 1000, 'duration in ns');
  t.notOk(Object.keys(r).some((k) => k.includes('.') && k !== '@timestamp'), 'no dotted keys');
  t.match(err, /picket: 70 packets .* from 1 file in .* packets\/s/);
  t.match(err, /flows: 1 created, 1 exported, 0 evicted/);
  t.match(err, /errors: 0/);
});

t.test('errors are counted and reported, exit status 0', async (t) => {
  const { code, err } = await inspect([`${C}/tcpdump/tests/ipv6hdr-heapoverflow.pcap`, `${C}/ndpi/pcap/ip_fragmented_garbage.pcap`]);
  t.equal(code, 0);
  t.match(err, /errors: [1-9]\d* \(/);
});

t.test('a file that cannot be read gives one line and a non-zero status; the others are still read', async (t) => {
  const { code, out, err } = await inspect(['/nonexistent/x.pcap', `${C}/ndpi/pcap/443-git.pcap`]);
  t.equal(code, 1);
  t.match(err, /^picket inspect: \/nonexistent\/x\.pcap: cannot open \(no such file\)$/m);
  t.equal(out.trim().split('\n').length, 1, 'the readable file was processed');
});

t.test('usage errors', async (t) => {
  await t.rejects(inspect([]), /needs at least one capture file/);
  await t.rejects(inspect(['--max-flow', '3', 'x.pcap']), /unknown option --max-flow; known options: --max-flows/);
  await t.rejects(inspect(['--max-flows', 'lots', 'x.pcap']), /--max-flows must be a number/);
  const { code, out } = await inspect(['--no-records', '--quiet', `${C}/ndpi/pcap/443-git.pcap`]);
  t.equal(code, 0);
  t.equal(out, '');
});

t.test('the picket binary: help, exit codes, closed pipes', async (t) => {
  const help = spawnSync('node', [CLI, '--help'], { encoding: 'utf8' });
  t.equal(help.status, 0);
  t.match(help.stdout, /Commands:\n\s+inspect\s+read capture files/);
  const noArgs = spawnSync('node', [CLI, 'inspect'], { encoding: 'utf8' });
  t.equal(noArgs.status, 2);
  t.equal(noArgs.stderr.trim().split('\n').length, 1, 'one line');
  const unknown = spawnSync('node', [CLI, 'inspekt'], { encoding: 'utf8' });
  t.equal(unknown.status, 2);
  t.match(unknown.stderr, /unknown command "inspekt"/);
  const cmdHelp = spawnSync('node', [CLI, 'inspect', '--help'], { encoding: 'utf8' });
  t.match(cmdHelp.stdout, /--max-flows N/);
  // Reading many flows into `head -1` must end quietly when the pipe closes.
  const piped = spawnSync('bash', ['-c', `node ${CLI} inspect ${C}/ndpi/pcap/*.pcap 2>&1 >/dev/null | head -0; node ${CLI} inspect --quiet ${C}/ndpi/pcap/*.pcap | head -1`], { encoding: 'utf8' });
  t.equal(piped.stdout.trim().split('\n').length, 1);
  t.notMatch(piped.stderr, /Error|at /, 'no stack trace on EPIPE');
});

t.test('picket replay paces packets by their timestamps and gives the same flows', async (t) => {
  const { replayCommand, parseSpeed } = await import('../agent/cli/replay.js');
  const run = async (argv: string[]): Promise<{ code: number; out: string; ms: number }> => {
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    let out = '';
    stdout.on('data', (d: Buffer) => (out += d.toString()));
    stderr.resume();
    const t0 = performance.now();
    const code = await replayCommand.run(argv, { stdout, stderr });
    return { code, out, ms: performance.now() - t0 };
  };
  const capture = 'samples/web-dns-ssh.pcap'; // 4.41 s of traffic (capinfos -u)
  const fast = await run(['--speed', 'max', capture]);
  const paced = await run(['--speed', '4', capture]);
  const inspected = await inspect([capture]);
  t.equal(fast.code, 0);
  const uids = (text: string): number => text.trim().split('\n').length;
  t.equal(uids(fast.out), uids(inspected.out), 'same number of flows as inspect');
  t.equal(uids(paced.out), uids(inspected.out));
  t.ok(paced.ms > 1050 && paced.ms < 5000, `4× replay of 4.41 s took ${paced.ms.toFixed(0)} ms (≥ 1.1 s)`);
  t.ok(fast.ms < paced.ms, 'max is faster than paced');
  t.equal(parseSpeed(undefined), 1);
  t.equal(parseSpeed('max'), Infinity);
  t.throws(() => parseSpeed('0'), /--speed must be a positive number or "max"/);
});
