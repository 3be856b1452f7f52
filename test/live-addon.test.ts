/**
 * The libpcap addon on real veth pairs (needs root: CI runs as root). Counts are checked against
 * tcpdump on the same interface and against what was sent.
 */
import t from 'tap';
import { readdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import {
  loadPcapAddon,
  META_CAPLEN,
  META_OFFSET,
  META_STRIDE,
  META_TS_FRAC,
  META_TS_SEC,
  META_WIRELEN,
  type PcapCapture,
  type PcapError,
  type PcapOpenOptions,
} from '../agent/source/live/pcap-addon.js';
import { createVeth, deleteVeth, nsExec, sh, sleep, startTcpdump, udpBurst, waitFor } from './live-netns.js';

const addon = loadPcapAddon();
const CORPUS = new URL('../../shared/corpora/ja4/pcap/tls-handshake.pcapng', import.meta.url).pathname;

/** What a test keeps of each frame. */
interface Frame {
  capLen: number;
  wireLen: number;
  tsUs: number;
  /** UDP destination port for IPv4/UDP frames, -1 otherwise. */
  udpPort: number;
  /** ICMP type for IPv4/ICMP frames, -1 otherwise. */
  icmpType: number;
}

function readFrame(buf: Buffer, off: number, capLen: number): Pick<Frame, 'udpPort' | 'icmpType'> {
  if (capLen < 34 || buf.readUInt16BE(off + 12) !== 0x0800) return { udpPort: -1, icmpType: -1 };
  const ihl = (buf[off + 14]! & 0x0f) * 4;
  const proto = buf[off + 23]!;
  const l4 = off + 14 + ihl;
  if (proto === 17 && capLen >= 14 + ihl + 4) return { udpPort: buf.readUInt16BE(l4 + 2), icmpType: -1 };
  if (proto === 1 && capLen >= 14 + ihl + 1) return { udpPort: -1, icmpType: buf[l4]! };
  return { udpPort: -1, icmpType: -1 };
}

/** Opens a capture that records every frame into `frames`. */
function record(options: PcapOpenOptions, frames: Frame[], errors: PcapError[] = []): PcapCapture {
  const cap: PcapCapture = addon.open(
    options,
    (n) => {
      const m = cap.meta;
      const scale = cap.nanoseconds ? 1e-3 : 1;
      for (let i = 0; i < n; i++) {
        const j = i * META_STRIDE;
        const off = m[j + META_OFFSET]!;
        const capLen = m[j + META_CAPLEN]!;
        frames.push({
          capLen,
          wireLen: m[j + META_WIRELEN]!,
          tsUs: m[j + META_TS_SEC]! * 1e6 + m[j + META_TS_FRAC]! * scale,
          ...readFrame(cap.buffer, off, capLen),
        });
      }
    },
    (e) => errors.push(e),
  );
  return cap;
}

const v = createVeth('a', 1);
t.teardown(() => deleteVeth(v));

t.test('ping and UDP: same count as tcpdump, exact sent counts, monotonic timestamps in the send window', async (t) => {
  const frames: Frame[] = [];
  const filter = 'icmp or udp port 7001';
  const cap = record({ device: v.hostIf, filter, timeoutMs: 20 }, frames);
  t.teardown(() => cap.close());
  t.equal(cap.linkType, 1, 'Ethernet');
  t.equal(cap.nanoseconds, true, 'ns timestamps on Linux');
  const dump = await startTcpdump(v.hostIf, filter);
  const t0 = Date.now() * 1000;
  nsExec(v.ns, 'ping', ['-c', '20', '-i', '0.01', '-W', '1', '-q', v.hostAddr]);
  udpBurst(v, 7001, 500, 100);
  const t1 = Date.now() * 1000;
  const udp = (): number => frames.filter((f) => f.udpPort === 7001).length;
  const echo = (): number => frames.filter((f) => f.icmpType === 8 || f.icmpType === 0).length;
  t.ok(await waitFor(() => udp() === 500 && echo() === 40, 5000), 'all 500 datagrams and 20 echo pairs seen');
  await sleep(300); // let both captures see the last rate-limited ICMP errors
  const tcpdump = await dump.stop();
  t.equal(tcpdump.dropped, 0, 'the reference capture lost nothing');
  t.equal(frames.length, tcpdump.captured, `addon count equals tcpdump's (${tcpdump.captured})`);
  t.equal(udp(), 500);
  t.equal(echo(), 40);
  let monotonic = true;
  let inWindow = true;
  for (let i = 0; i < frames.length; i++) {
    const f = frames[i]!;
    if (i > 0 && f.tsUs < frames[i - 1]!.tsUs) monotonic = false;
    // ICMP errors for the last datagrams may trail the burst by a few ms.
    if (f.tsUs < t0 - 2000 || f.tsUs > t1 + 300_000) inWindow = false;
  }
  t.ok(monotonic, 'timestamps never go backwards');
  t.ok(inWindow, 'timestamps fall in the send window');
  t.ok(frames.some((f) => f.tsUs % 1 !== 0), 'sub-microsecond digits are kept');
  const st = cap.stats();
  t.equal(st.dropped, 0, 'no drops at this rate');
  t.ok(st.received >= frames.length, 'ps_recv counts at least what was delivered');
});

t.test('BPF filter and snap length', async (t) => {
  const frames: Frame[] = [];
  const cap = record({ device: v.hostIf, filter: 'udp port 7002', snapLen: 128, timeoutMs: 20 }, frames);
  t.teardown(() => cap.close());
  t.equal(cap.snapLen, 128);
  udpBurst(v, 7002, 50, 1000);
  udpBurst(v, 7003, 50, 1000);
  nsExec(v.ns, 'ping', ['-c', '3', '-i', '0.01', '-q', v.hostAddr]);
  t.ok(await waitFor(() => frames.length >= 50, 3000));
  await sleep(200);
  t.equal(frames.length, 50, 'only port 7002 passed the filter');
  t.ok(frames.every((f) => f.udpPort === 7002));
  t.ok(frames.every((f) => f.capLen === 128), 'captured length cut at the snap length');
  t.ok(frames.every((f) => f.wireLen === 14 + 20 + 8 + 1000), 'wire length kept');

  // Replace the filter at run time (what a SIGHUP reload does).
  t.throws(() => cap.setFilter('udp port'), { kind: 'filter', message: /syntax error/ }, 'bad expression: libpcap text');
  cap.setFilter('udp port 7003');
  frames.length = 0;
  udpBurst(v, 7002, 20, 100);
  udpBurst(v, 7003, 30, 100);
  t.ok(await waitFor(() => frames.length >= 30, 3000));
  await sleep(100);
  t.equal(frames.length, 30, 'the new filter applies');
  t.ok(frames.every((f) => f.udpPort === 7003));
});

t.test('bad filter and bad options at open', async (t) => {
  const noop = (): void => {};
  t.throws(() => addon.open({ device: v.hostIf, filter: 'tcp port' }, noop, noop), {
    kind: 'filter',
    message: /bad capture filter "tcp port": .*syntax error/,
  });
  t.throws(() => addon.open({ device: v.hostIf, snapLen: 10 }, noop, noop), { kind: 'invalid', message: /snapLen must be an integer in \[64, 262144\]/ });
  t.throws(() => addon.open({ device: '' }, noop, noop), { kind: 'invalid', message: /device must be a non-empty string/ });
  t.throws(() => (addon.open as unknown as () => void)(), { kind: 'invalid', message: /wrong arguments/ });
  t.throws(() => addon.open({ device: v.hostIf, bufferBytes: 1.5e6 + 0.5 }, noop, noop), { kind: 'invalid', message: /bufferBytes must be an integer/ });
});

t.test('missing interface: classified error, and reopening after failures is safe', async (t) => {
  const fdsBefore = readdirSync('/proc/self/fd').length;
  for (let i = 0; i < 50; i++) {
    t.throws(
      () => addon.open({ device: 'pk-live-none' }, () => {}, () => {}),
      { kind: 'no_such_device', message: /^pk-live-none: / },
    );
  }
  // A good open right after failed ones (the cap package segfaults here).
  for (let i = 0; i < 20; i++) addon.open({ device: v.hostIf }, () => {}, () => {}).close();
  t.ok(readdirSync('/proc/self/fd').length <= fdsBefore + 2, 'no descriptor leaked by failed or closed opens');
  t.ok(addon.listInterfaces().some((i) => i.name === v.hostIf && i.up), 'listInterfaces sees the veth');
  t.match(addon.libVersion, /^libpcap version 1\./);
});

t.test('drops are counted when a paused consumer lets a small ring overflow', async (t) => {
  const frames: Frame[] = [];
  const cap = record({ device: v.hostIf, filter: 'udp port 7004', bufferBytes: 256 * 1024, timeoutMs: 20 }, frames);
  t.teardown(() => cap.close());
  cap.pause();
  const sent = 4000;
  udpBurst(v, 7004, sent, 1000);
  await sleep(100);
  const paused = cap.stats();
  t.ok(paused.dropped > 0, `ps_drop > 0 while paused (${paused.dropped})`);
  t.equal(frames.length, 0, 'nothing delivered while paused');
  cap.resume();
  t.ok(await waitFor(() => frames.length + paused.dropped >= sent, 3000));
  await sleep(100);
  const st = cap.stats();
  t.equal(frames.length + st.dropped, sent, `delivered ${frames.length} + dropped ${st.dropped} = sent`);
  t.equal(st.received, sent, 'ps_recv counts every packet that passed the filter');
});

t.test('close() inside onBatch and after close', async (t) => {
  let batches = 0;
  const cap: PcapCapture = addon.open(
    { device: v.hostIf, filter: 'udp port 7005', immediate: true },
    () => {
      batches++;
      cap.close();
      cap.close();
    },
    () => {},
  );
  udpBurst(v, 7005, 200, 100);
  t.ok(await waitFor(() => cap.closed, 3000), 'closed from inside the callback');
  await sleep(50);
  t.equal(batches, 1, 'no batch after close');
  t.throws(() => cap.stats(), { kind: 'closed', message: 'capture is closed' });
  t.throws(() => cap.setFilter('udp'), { kind: 'closed', message: 'capture is closed' });
  cap.pause();
  cap.resume();
});

t.test('an exception in onBatch goes to uncaughtException and stops that capture', async (t) => {
  const listeners = process.listeners('uncaughtException');
  process.removeAllListeners('uncaughtException');
  const caught: unknown[] = [];
  process.on('uncaughtException', (e) => caught.push(e));
  t.teardown(() => {
    process.removeAllListeners('uncaughtException');
    for (const l of listeners) process.on('uncaughtException', l);
  });
  let calls = 0;
  const cap = addon.open(
    { device: v.hostIf, filter: 'udp port 7006', immediate: true },
    () => {
      calls++;
      throw new Error('consumer bug');
    },
    () => {},
  );
  udpBurst(v, 7006, 20, 100);
  t.ok(await waitFor(() => caught.length > 0, 3000));
  await sleep(50);
  t.match(String(caught[0]), /consumer bug/);
  t.equal(calls, 1);
  t.equal(cap.closed, true);
});

t.test('tcpreplay of a real capture: every frame arrives with its length', async (t) => {
  // ARP probes between the two ends (neighbour entries going stale) may fall in the window.
  const expected = sh('tshark', ['-r', CORPUS, '-Y', 'not arp', '-T', 'fields', '-e', 'frame.cap_len'])
    .trim()
    .split('\n')
    .map(Number);
  const frames: Frame[] = [];
  const cap = record({ device: v.hostIf, filter: 'not arp', timeoutMs: 20 }, frames);
  t.teardown(() => cap.close());
  const out = nsExec(v.ns, 'tcpreplay', ['-i', v.nsIf, '--pps=2000', CORPUS]);
  t.match(out, new RegExp(`Successful packets:\\s+${expected.length}\\b`), 'tcpreplay sent every frame');
  t.ok(await waitFor(() => frames.length >= expected.length, 3000));
  await sleep(100);
  t.same(frames.map((f) => f.capLen), expected, `the ${expected.length} frames in order, same lengths`);
});

t.test('the "any" device has a cooked link type', async (t) => {
  const cap = addon.open({ device: 'any', filter: 'udp port 1' }, () => {}, () => {});
  t.teardown(() => cap.close());
  t.ok(cap.linkType === 113 || cap.linkType === 276, `LINUX_SLL or SLL2 (${cap.linkType})`);
});

t.test('runtime error when the interface disappears', async (t) => {
  const w = createVeth('b', 2);
  t.teardown(() => deleteVeth(w));
  const errors: PcapError[] = [];
  const cap = record({ device: w.hostIf, timeoutMs: 20 }, [], errors);
  t.teardown(() => cap.close());
  execFileSync('ip', ['link', 'del', w.hostIf]);
  t.ok(await waitFor(() => errors.length > 0, 3000), 'onError called');
  t.equal(errors.length, 1, 'once');
  t.match(errors[0]!.kind, /^(iface_down|no_such_device)$/);
  t.comment(`libpcap said: ${errors[0]!.message}`);
});

t.test('immediate mode hands over a lone packet at once; batching waits for the block timeout', async (t) => {
  const now: Frame[] = [];
  const later: Frame[] = [];
  const fast = record({ device: v.hostIf, filter: 'udp port 7007', immediate: true, timeoutMs: 10_000 }, now);
  const slow = record({ device: v.hostIf, filter: 'udp port 7007', immediate: false, timeoutMs: 10_000 }, later);
  t.teardown(() => {
    fast.close();
    slow.close();
  });
  udpBurst(v, 7007, 1, 10);
  t.ok(await waitFor(() => now.length === 1, 1000), 'immediate: delivered within a second');
  await sleep(300);
  t.equal(later.length, 0, 'batched with a 10 s block timeout: still held in the kernel block');
  slow.close();
  const quick = record({ device: v.hostIf, filter: 'udp port 7008', immediate: false, timeoutMs: 50 }, later);
  t.teardown(() => quick.close());
  const t0 = Date.now();
  udpBurst(v, 7008, 1, 10);
  t.ok(await waitFor(() => later.length === 1, 2000), 'batched with a 50 ms timeout: delivered');
  t.ok(Date.now() - t0 < 1500, `within the timeout plus slack (${Date.now() - t0} ms)`);
});
