/**
 * Connection migration on a real connection: test/captures/quic-migration.pcap is Chrome's QUIC
 * v1 connection to Cloudflare (JA4 corpus) whose client moves to a new address and port after the
 * handshake (built by test/captures/make-quic-migration.sh with editcap/tcprewrite/mergecap).
 * The server's 20-byte CID, learned from its long headers on the first flow, must link the second
 * flow to the first.
 */
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { runCapture } from './helpers/run-capture.js';
import { createQuicDissector, type QuicMeta } from '../agent/dissect/quic/index.js';

const CAPTURE = new URL('./captures/quic-migration.pcap', import.meta.url).pathname;
const SCRIPT = new URL('./captures/make-quic-migration.sh', import.meta.url).pathname;
const SOURCE = new URL('../../shared/corpora/ja4/pcap/chrome-cloudflare-quic-with-secrets.pcapng', import.meta.url).pathname;

t.test('the migrated flow is linked to the original one', async (t) => {
  const run = await runCapture(CAPTURE, { dissectors: [createQuicDissector()] });
  const first = run.records.find((r) => r.client.port === 50280);
  const moved = run.records.find((r) => r.client.port === 50999);
  t.ok(first && moved, 'two flows: before and after the move');
  if (!first || !moved) return;
  t.equal(moved.client.ip, '2001:db8:1::99');
  const a = first.app.quic as QuicMeta;
  const b = moved.app.quic as QuicMeta;
  t.equal(a.detection, 'initial');
  t.equal(a.sni, 'cloudflare-quic.com');
  t.equal(a.serverCid, '0130dfc5a047e6acd230b5c5e047ced9b0a6bbf0', 'server CID learned from its long headers');
  t.equal(b.detection, 'migration');
  t.equal(moved.appProtocol, 'quic');
  t.same(b.migrations, {
    count: 1,
    from: [{ uid: first.uid, clientPort: 50280, serverPort: 443, clientIp: '2001:db8:1::1', serverIp: '2606:4700:10::6816:826' }],
  });
  t.same(a.migratedTo, [moved.uid]);
  t.equal(b.sni, 'cloudflare-quic.com', 'SNI of the connection carried to the migrated flow');
  t.equal(b.versionName, 'v1');
  const ev = run.events.find((e) => e.type === 'quic.migration');
  t.equal(ev?.flowUid, moved.uid);
  t.same(ev?.data, { from: [first.uid], cid: '0130dfc5a047e6acd230b5c5e047ced9b0a6bbf0' });
  const ecs = run.ecs.find((e) => (e.picket as { quic?: { detection?: string } } | undefined)?.quic?.detection === 'migration') as Record<string, any>;
  t.same(ecs.picket.quic.migrations.from[0], {
    uid: first.uid,
    client: { ip: '2001:db8:1::1', port: 50280 },
    server: { ip: '2606:4700:10::6816:826', port: 443 },
  });
  t.equal(ecs.network.protocol, 'quic');
});

t.test('a fresh dissector per run: no link across runs, the table is per instance', async (t) => {
  const d = createQuicDissector();
  await runCapture(CAPTURE, { dissectors: [d] });
  t.ok(d.cids.size >= 1, 'the server CID is remembered');
  d.cids.clear();
  const again = await runCapture(CAPTURE, { dissectors: [d] });
  t.equal(again.records.filter((r) => (r.app.quic as QuicMeta | undefined)?.detection === 'migration').length, 1);
});

const have = (cmd: string): boolean => {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};
const tools = ['tshark', 'editcap', 'mergecap', 'tcprewrite'].every(have);

t.test(
  'the committed capture is what the generator script produces',
  { skip: tools ? false : 'needs tshark, editcap, mergecap and tcprewrite (Debian: tshark, tcpreplay)' },
  async (t) => {
    const dir = mkdtempSync(`${tmpdir()}/quic-mig-`);
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    execFileSync('sh', [SCRIPT, SOURCE, `${dir}/out.pcap`], { stdio: 'ignore' });
    t.same(readFileSync(`${dir}/out.pcap`), readFileSync(CAPTURE));
  },
);
