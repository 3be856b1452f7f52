/**
 * The UDP collector: real sockets on loopback, real exports (pmacct's IPFIX capture) sent with
 * dgram, both delivery APIs, the receive-buffer check, bind errors and the /proc drop counter.
 */
import t from 'tap';
import { createSocket, type Socket } from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NetflowCollector, udpSocketDrops } from '../agent/source/netflow/index.js';
import type { FlowRecord } from '../agent/flow/flow-record.js';
import { readExportDatagrams } from './fixtures/netflow/export-datagrams.js';

const PMACCT_100 = new URL('../../shared/corpora/flow-export/pmacct/100-IPFIXv10-CISCO/traffic-00.pcap', import.meta.url).pathname;
const exports = readExportDatagrams(PMACCT_100, [9991]).map((d) => d.payload);

async function send(sock: Socket, port: number, host: string, msgs: Uint8Array[]): Promise<void> {
  for (const m of msgs) await new Promise<void>((resolve, reject) => sock.send(m, port, host, (err) => (err ? reject(err) : resolve())));
}

async function until(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
}

t.test('callback delivery: real IPFIX exports over loopback', async (t) => {
  const recs: FlowRecord[] = [];
  const c = new NetflowCollector({ host: '127.0.0.1', port: 0, onFlow: (r) => recs.push(r), onWarning: () => undefined });
  const l = await c.start();
  t.equal(l.address, '127.0.0.1');
  t.ok(l.port > 0);
  const tx = createSocket('udp4');
  t.teardown(() => tx.close());
  await send(tx, l.port, '127.0.0.1', exports);
  await until(() => c.stats().packets === exports.length);
  const s = c.stats();
  t.equal(s.packets, exports.length);
  t.equal(s.packetsIpfix, exports.length);
  t.equal(recs.length, 12, 'pmacct expects 12 flows from this capture');
  t.equal(s.records, 12);
  t.equal(recs[0]!.exporter!.ip, '127.0.0.1', 'exporter = datagram source');
  t.equal(s.socketDrops, 0, 'read from /proc/net/udp while open');
  t.ok(s.receiveBufferBytes > 0);
  await t.rejects(c.start(), /already started/);
  await c.stop();
  await c.stop(); // idempotent
});

t.test('async iterator delivery, dual-stack socket, stop ends the iteration', async (t) => {
  const c = new NetflowCollector({ host: '::', port: 0, onWarning: () => undefined });
  const l = await c.start();
  const tx = createSocket('udp4');
  t.teardown(() => tx.close());
  const got: FlowRecord[] = [];
  const consumer = (async () => {
    for await (const r of c) got.push(r);
  })();
  await send(tx, l.port, '127.0.0.1', exports);
  await until(() => got.length === 12);
  t.equal(got.length, 12);
  t.equal(got[0]!.exporter!.ip, '127.0.0.1', '::ffff: prefix of IPv4 on a dual-stack socket removed');
  await c.stop();
  await consumer;
  t.pass('iteration ended after stop()');
  // Records queued before anyone iterates are kept (up to queueLimit), then yielded.
  const q = new NetflowCollector({ host: '127.0.0.1', port: 0, queueLimit: 5, onWarning: () => undefined });
  const lq = await q.start();
  await send(tx, lq.port, '127.0.0.1', exports);
  await until(() => q.stats().packets === exports.length);
  t.equal(q.stats().queued, 5);
  t.equal(q.stats().dropped, 7, 'a slow consumer loses records beyond queueLimit, counted');
  const it = q[Symbol.asyncIterator]();
  const first = await it.next();
  t.equal(first.done, false);
  await it.return!();
  const rest: FlowRecord[] = [];
  for (let r = await it.next(); !r.done; r = await it.next()) rest.push(r.value);
  t.equal(rest.length, 4, 'queued records still drain after return()');
});

t.test('receive buffer: warns in one line when the kernel grants less than asked', async (t) => {
  const warnings: string[] = [];
  const big = new NetflowCollector({ host: '127.0.0.1', port: 0, receiveBufferBytes: 1 << 30, onWarning: (m) => warnings.push(m) });
  const l = await big.start();
  await big.stop();
  t.equal(warnings.length, 1);
  t.match(warnings[0]!, /^netflow: UDP receive buffer is \d+ bytes, asked for 1073741824: .*net\.core\.rmem_max/);
  t.notMatch(warnings[0]!, /\n/);
  t.ok(l.receiveBufferBytes < 2 * (1 << 30));
  const small = new NetflowCollector({ host: '127.0.0.1', port: 0, receiveBufferBytes: 65536, onWarning: (m) => warnings.push(m) });
  const ls = await small.start();
  await small.stop();
  t.equal(warnings.length, 1, 'no warning when the request is granted');
  t.ok(ls.receiveBufferBytes >= 65536);
});

t.test('bind failure is a one-line error naming the address', async (t) => {
  const a = new NetflowCollector({ host: '127.0.0.1', port: 0, onWarning: () => undefined });
  const { port } = await a.start();
  t.teardown(() => a.stop());
  const b = new NetflowCollector({ host: '127.0.0.1', port, onWarning: () => undefined });
  await t.rejects(b.start(), /^netflow: cannot listen on 127\.0\.0\.1:\d+ \(EADDRINUSE\)/);
  const c = new NetflowCollector({ host: '192.0.2.123', port: 0, onWarning: () => undefined });
  await t.rejects(c.start(), /cannot listen on 192\.0\.2\.123:0 \(EADDRNOTAVAIL\)/);
});

t.test('a throwing consumer or a decoder failure loses one item, not the collector', async (t) => {
  const warnings: string[] = [];
  let calls = 0;
  const c = new NetflowCollector({
    host: '127.0.0.1', port: 0, receiveBufferBytes: 65536, onWarning: (m) => warnings.push(m),
    onFlow: () => {
      calls++;
      throw new Error('consumer bug');
    },
  });
  const l = await c.start();
  const tx = createSocket('udp4');
  t.teardown(() => tx.close());
  await send(tx, l.port, '127.0.0.1', exports);
  await until(() => c.stats().packets === exports.length);
  t.equal(calls, 12);
  t.equal(c.stats().consumerErrors, 12);
  t.equal(warnings.length, 1, 'warned once');
  // Simulate a decoder bug: the datagram is counted and the socket keeps working.
  const decode = c.decoder.decode.bind(c.decoder);
  c.decoder.decode = () => {
    throw new Error('bug');
  };
  await send(tx, l.port, '127.0.0.1', exports.slice(0, 1));
  await until(() => c.stats().internalErrors === 1);
  c.decoder.decode = decode;
  await send(tx, l.port, '127.0.0.1', exports.slice(0, 1));
  await until(() => c.stats().packets === exports.length + 1);
  t.equal(c.stats().internalErrors, 1);
  t.equal(c.stats().packets, exports.length + 1);
  t.equal(warnings.length, 2);
  await c.stop();
});

t.test('udpSocketDrops reads the drops column for a local port', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pk-nf-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const v4 = join(dir, 'udp');
  const v6 = join(dir, 'udp6');
  writeFileSync(v4, [
    '   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops',
    '  100: 0100007F:0807 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 1234 2 0000000000000000 17',
    '  101: 0100007F:0808 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 1235 2 0000000000000000 99',
  ].join('\n'));
  writeFileSync(v6, [
    '  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops',
    '  5: 00000000000000000000000000000000:0807 00000000000000000000000000000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 999 2 0000000000000000 3',
  ].join('\n'));
  t.equal(udpSocketDrops(0x807, [v4, v6]), 20, 'IPv4 and IPv6 sockets on the port add up');
  t.equal(udpSocketDrops(0x808, [v4, v6]), 99);
  t.equal(udpSocketDrops(9, [v4, v6]), -1, 'no such socket');
  t.equal(udpSocketDrops(0x807, [join(dir, 'missing')]), -1, 'no /proc');
});
