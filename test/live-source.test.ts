/**
 * LiveSource end to end on veth pairs (root; CI runs as root): several interfaces, stats and
 * drops, clear start-up errors, permission as an unprivileged user, reopen after the interface
 * is deleted and re-created or goes down and up.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { LiveCaptureError, describeCaptureError } from '../agent/source/live/capture-error.js';
import { resolveLiveOptions, type LiveLogger } from '../agent/source/live/live-options.js';
import { LiveSource } from '../agent/source/live/live-source.js';
import { loadPcapAddon, type PcapAddon } from '../agent/source/live/pcap-addon.js';
import type { PacketSink, RawPacket } from '../agent/source/raw-packet.js';
import { addLink, createVeth, deleteLink, deleteVeth, nsExec, sh, sleep, udpBurst, waitFor, type Veth } from './live-netns.js';

const addon = loadPcapAddon();

interface Seen {
  ifIndex: number;
  tsUs: number;
  capLen: number;
  wireLen: number;
  linkType: number;
  etherType: number;
}

/** A sink that copies what a test needs out of the shared RawPacket. */
function collector(): PacketSink & { seen: Seen[] } {
  const seen: Seen[] = [];
  return {
    seen,
    packet(p: RawPacket): void {
      seen.push({
        ifIndex: p.ifIndex,
        tsUs: p.tsUs,
        capLen: p.capLen,
        wireLen: p.wireLen,
        linkType: p.linkType,
        etherType: p.capLen >= 14 ? (p.buf[p.off + 12]! << 8) | p.buf[p.off + 13]! : -1,
      });
    },
  };
}

function logs(): LiveLogger & { info_: string[]; warn_: string[] } {
  const info_: string[] = [];
  const warn_: string[] = [];
  return { info_, warn_, info: (m) => info_.push(m), warn: (m) => warn_.push(m) };
}

/** The real addon with open() calls counted (to see retries that are not logged). */
function countingAddon(): PcapAddon & { opens: number } {
  const a = {
    opens: 0,
    libVersion: addon.libVersion,
    listInterfaces: () => addon.listInterfaces(),
    open: ((...args: Parameters<PcapAddon['open']>) => {
      a.opens++;
      return addon.open(...args);
    }) as PcapAddon['open'],
  };
  return a;
}

function veth(t: { teardown(fn: () => void): void }, id: string, subnet: number): Veth {
  const v = createVeth(id, subnet);
  t.teardown(() => deleteVeth(v));
  return v;
}

t.test('two interfaces: ifIndex, link type, timestamps, stats; run() resolves on abort', async (t) => {
  const c = veth(t, 'c', 3);
  const d = veth(t, 'd', 4);
  const log = logs();
  const src = new LiveSource(
    { interfaces: [c.hostIf, d.hostIf], filter: 'udp port 7101', timeoutMs: 20, statsIntervalMs: 50, logger: log },
    addon,
  );
  t.equal(src.name, `live:${c.hostIf},${d.hostIf}`);
  const sink = collector();
  const ac = new AbortController();
  const t0 = Date.now() * 1000;
  const running = src.run(sink, ac.signal);
  await t.rejects(src.run(sink), { message: /already running/ });
  udpBurst(c, 7101, 300, 200);
  udpBurst(d, 7101, 200, 200);
  const t1 = Date.now() * 1000;
  t.ok(await waitFor(() => sink.seen.length >= 500, 5000), 'all 500 datagrams delivered');
  await sleep(120); // one stats poll
  t.equal(src.stats().packets, 500, 'stats() while running');
  ac.abort();
  const final = await running;
  t.same(final, { packets: 500, bytes: 500 * (14 + 20 + 8 + 200), drops: 0, errors: {} }, 'final counters');
  const per = src.interfaceStats();
  t.same(
    per.map((i) => [i.name, i.ifIndex, i.packets, i.state, i.received, i.dropped]),
    [
      [c.hostIf, 0, 300, 'closed', 300, 0],
      [d.hostIf, 1, 200, 'closed', 200, 0],
    ],
    'per-interface counters, pcap_stats included',
  );
  t.equal(sink.seen.filter((s) => s.ifIndex === 0).length, 300);
  t.equal(sink.seen.filter((s) => s.ifIndex === 1).length, 200);
  t.ok(sink.seen.every((s) => s.linkType === 1 && s.etherType === 0x0800 && s.capLen === 242 && s.wireLen === 242));
  for (const idx of [0, 1]) {
    const ts = sink.seen.filter((s) => s.ifIndex === idx).map((s) => s.tsUs);
    t.ok(ts.every((x, i) => i === 0 || x >= ts[i - 1]!), `interface ${idx}: timestamps monotonic`);
    t.ok(ts.every((x) => x >= t0 - 2000 && x <= t1 + 2000), `interface ${idx}: timestamps in the send window`);
  }
  t.equal(log.info_.length, 2, 'one line per interface opened');
  t.match(log.info_[0], /^live: capturing on pk-live-ch \(linktype 1, ns timestamps, filter "udp port 7101"\)$/);
  t.same(log.warn_, []);
});

t.test('start-up errors are one clear line and leave nothing open', async (t) => {
  const c = veth(t, 'e', 5);
  const src = new LiveSource({ interfaces: [c.hostIf, 'pk-live-nope'], logger: logs() }, addon);
  const err = await src.run(collector()).catch((e: unknown) => e);
  t.type(err, LiveCaptureError);
  t.match(err, {
    kind: 'no_such_device',
    device: 'pk-live-nope',
    message: /^capture interface pk-live-nope does not exist \(interfaces here: .*\bpk-live-eh\b.*\); check --interface or the config$/,
  });
  t.same(
    src.interfaceStats().map((i) => i.state),
    ['closed', 'closed'],
    'the interface opened before the failing one was closed again',
  );
  const bad = new LiveSource({ interfaces: [c.hostIf], filter: 'port 99999', logger: logs() }, addon);
  await t.rejects(bad.run(collector()), { kind: 'filter', message: /^bad capture filter "port 99999": .*; fix --filter/ });
  const aborted = new AbortController();
  aborted.abort();
  t.same(await new LiveSource({ interfaces: ['pk-live-nope'] }, addon).run(collector(), aborted.signal), {
    packets: 0,
    bytes: 0,
    drops: 0,
    errors: {},
  });
});

t.test('permission: an unprivileged user gets the CAP_NET_RAW line; CAP_NET_RAW alone is enough', async (t) => {
  const c = veth(t, 'f', 6);
  const child = fileURLToPath(new URL('./live-open-child.ts', import.meta.url));
  // The TypeScript loader tap uses, without tap's coverage hooks (nobody cannot write .tap/).
  const loader = process.execArgv.filter((a) => a.includes('@tapjs/typescript'));
  const env: NodeJS.ProcessEnv = {};
  for (const [k, val] of Object.entries(process.env)) {
    if (!/^(NODE_OPTIONS|NODE_V8_COVERAGE|_TAPJS_)/.test(k)) env[k] = val;
  }
  const run = (caps: string[]): { ok: boolean; kind?: string; message?: string } => {
    const r = spawnSync(
      'setpriv',
      ['--reuid=65534', '--regid=65534', '--clear-groups', ...caps, process.execPath, ...loader, child, c.hostIf],
      { encoding: 'utf8', env, timeout: 60_000 },
    );
    const line = r.stdout.trim().split('\n').pop() ?? '';
    t.comment(line || r.stderr);
    return JSON.parse(line) as { ok: boolean; kind?: string; message?: string };
  };
  // CAP_DAC_READ_SEARCH lets nobody read the checkout wherever CI cloned it (e.g. under a 0700
  // home); it has nothing to do with capturing.
  const denied = run(['--inh-caps=-all,+dac_read_search', '--ambient-caps=+dac_read_search']);
  t.equal(denied.ok, false);
  t.equal(denied.kind, 'permission');
  t.match(
    denied.message,
    /^capture on pk-live-fh needs CAP_NET_RAW \(run as root or grant it: setcap .*AmbientCapabilities=CAP_NET_RAW.*\); libpcap: .*Operation not permitted/,
  );
  t.same(
    run(['--inh-caps=-all,+net_raw,+dac_read_search', '--ambient-caps=+net_raw,+dac_read_search']),
    { ok: true },
    'promiscuous capture with CAP_NET_RAW as the only capture-related capability',
  );
});

t.test('reopen after the veth is deleted and re-created: one line per state change', async (t) => {
  const v = veth(t, 'g', 7);
  const log = logs();
  const counting = countingAddon();
  const src = new LiveSource(
    { interfaces: [v.hostIf], filter: 'icmp', timeoutMs: 20, reopenMinMs: 50, reopenMaxMs: 200, logger: log },
    counting,
  );
  const sink = collector();
  const ac = new AbortController();
  const running = src.run(sink, ac.signal);
  nsExec(v.ns, 'ping', ['-c', '5', '-i', '0.02', '-q', v.hostAddr]);
  t.ok(await waitFor(() => sink.seen.length >= 10, 3000), 'captured before the deletion');
  deleteLink(v);
  t.ok(await waitFor(() => counting.opens >= 6, 5000), 'retried several times while it was gone');
  t.equal(src.interfaceStats()[0]!.state, 'down');
  t.equal(log.warn_.length, 1, 'a single line for going away, none per retry');
  t.match(log.warn_[0], /^live: capture interface pk-live-gh does not exist .*; reopening with backoff \(50 ms doubling to 200 ms\)$/);
  t.equal(src.stats().errors['interface_down'], 1, 'stats show the interface down');
  addLink(v);
  t.ok(await waitFor(() => log.info_.length >= 2, 3000), 'capturing again');
  t.match(log.info_[1], /^live: pk-live-gh capturing again after \d+\.\d s down \(linktype 1/);
  const before = sink.seen.length;
  nsExec(v.ns, 'ping', ['-c', '5', '-i', '0.02', '-q', v.hostAddr]);
  t.ok(await waitFor(() => sink.seen.length >= before + 10, 3000), 'packets flow on the new interface');
  ac.abort();
  const final = await running;
  t.equal(final.packets, sink.seen.length);
  t.same(final.errors, { reopened: 1 });
  t.equal(log.warn_.length, 1);
});

t.test('interface down then up is reopened', async (t) => {
  const v = veth(t, 'h', 8);
  const log = logs();
  const src = new LiveSource(
    { interfaces: [v.hostIf], filter: 'icmp', timeoutMs: 20, reopenMinMs: 50, reopenMaxMs: 200, logger: log },
    addon,
  );
  const sink = collector();
  const ac = new AbortController();
  const running = src.run(sink, ac.signal);
  sh('ip', ['link', 'set', v.hostIf, 'down']);
  t.ok(await waitFor(() => log.warn_.length >= 1, 3000), 'going down is noticed');
  t.match(log.warn_[0], /^live: capture interface pk-live-hh is down \(bring it up: ip link set pk-live-hh up\); libpcap: .*went down; reopening/);
  await sleep(300);
  sh('ip', ['link', 'set', v.hostIf, 'up']);
  // Reopens fail with "That device is not up" (same kind, so no new line) until it is up.
  const ok = await waitFor(() => {
    try {
      nsExec(v.ns, 'ping', ['-c', '1', '-W', '1', '-q', v.hostAddr]);
    } catch {
      // not yet
    }
    return sink.seen.length >= 2;
  }, 8000, 200);
  t.ok(ok, 'packets again after the interface came back');
  t.equal(log.warn_.length, 1, 'one line for going down; retries while down are silent');
  t.match(log.info_[1], /^live: pk-live-hh capturing again after/);
  ac.abort();
  await running;
});

t.test('drops reach stats(): a paused source overflows a small ring', async (t) => {
  const v = veth(t, 'i', 9);
  const src = new LiveSource(
    { interfaces: [v.hostIf], filter: 'udp port 7102', bufferBytes: 256 * 1024, timeoutMs: 20, logger: logs() },
    addon,
  );
  const sink = collector();
  const ac = new AbortController();
  const running = src.run(sink, ac.signal);
  src.pause();
  udpBurst(v, 7102, 4000, 1000);
  await sleep(100);
  src.resume();
  await waitFor(() => false, 500);
  ac.abort(); // the final stats are read at stop
  const final = await running;
  t.ok(final.drops > 0, `drops counted (${final.drops})`);
  t.equal(final.packets + final.drops, 4000, 'delivered + dropped = sent');
});

t.test('setFilter at run time; a sink that throws rejects run()', async (t) => {
  const v = veth(t, 'j', 10);
  let thrown = false;
  const seen: number[] = [];
  const src = new LiveSource({ interfaces: [v.hostIf], filter: 'udp port 7103', immediate: true, logger: logs() }, addon);
  const running = src.run({
    packet(p: RawPacket): void {
      seen.push(p.wireLen);
      if (p.wireLen === 14 + 20 + 8 + 99) {
        thrown = true;
        throw new Error('sink bug');
      }
    },
  });
  t.throws(() => src.setFilter('udp port'), { kind: 'filter', message: /^bad capture filter "udp port": / });
  src.setFilter('udp port 7104');
  udpBurst(v, 7103, 5, 10);
  udpBurst(v, 7104, 5, 20);
  t.ok(await waitFor(() => seen.length >= 5, 3000));
  await sleep(100);
  t.same(seen, [62, 62, 62, 62, 62], 'only the new filter matched');
  udpBurst(v, 7104, 3, 99);
  await t.rejects(running, { message: 'sink bug' });
  t.ok(thrown);
  t.equal(src.interfaceStats()[0]!.state, 'closed', 'the capture was closed');
});

t.test('options and messages', async (t) => {
  t.throws(() => resolveLiveOptions({ interfaces: [] }), { message: /at least one interface/ });
  t.throws(() => resolveLiveOptions({ interfaces: ['a', 'a'] }), { message: /listed twice/ });
  t.throws(() => resolveLiveOptions({ interfaces: [''] }), { message: /empty/ });
  const o = resolveLiveOptions({ interfaces: ['eth0'], reopenMinMs: 1000, reopenMaxMs: 10 });
  t.equal(o.reopenMaxMs, 1000, 'max backoff never below min');
  t.equal(o.promiscuous, true);
  t.match(
    describeCaptureError('permission', 'eth1', 'eth1: socket: Operation not permitted').message,
    /^capture on eth1 needs CAP_NET_RAW .*; libpcap: eth1: socket: Operation not permitted$/,
  );
  t.match(describeCaptureError('iface_down', 'eth1', 'x').message, /^capture interface eth1 is down \(bring it up: ip link set eth1 up\)/);
  t.match(describeCaptureError('invalid', 'eth1', 'option snapLen ...').message, /^invalid capture option for eth1: /);
  t.match(describeCaptureError('other', 'eth1', 'boom').message, /^capture on eth1 failed: boom$/);
  t.equal(describeCaptureError('no_such_device', 'x', 't', []).message, 'capture interface x does not exist; check --interface or the config');
});

t.test('a missing addon build is one actionable line', async (t) => {
  const { loadPcapAddon: load } = await t.mockImport<typeof import('../agent/source/live/pcap-addon.js')>(
    '../agent/source/live/pcap-addon.js',
    { 'node:fs': { existsSync: () => false } },
  );
  t.throws(() => load(), { message: /^live capture addon is not built .*npm run build:native/ });
  const { LiveSource: Mocked } = await t.mockImport<typeof import('../agent/source/live/live-source.js')>(
    '../agent/source/live/live-source.js',
    { '../agent/source/live/pcap-addon.js': { loadPcapAddon: load } },
  );
  await t.rejects(new Mocked({ interfaces: ['eth0'] }).run(collector()), { kind: 'addon_missing', message: /not built/ });
});
