import t from 'tap';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { runCapture } from './helpers/run-capture.js';
import { readNdpiOut, flowKey } from './helpers/ndpi-out.js';
import { driveDissector } from './helpers/dissect-driver.js';
import { sshDissector, SSH_LIMITS, type SshMeta } from '../agent/dissect/ssh/index.js';
import { Verdict } from '../agent/dissect/dissector.js';
import type { FlowRecord } from '../agent/flow/flow-record.js';

const CORPORA = fileURLToPath(new URL('../../shared/corpora/', import.meta.url));

function key(r: FlowRecord): string {
  return flowKey('tcp', r.client, r.server);
}

t.test('HASSH and HASSH-server equal the JA4 ground truth for every SSH flow', async (t) => {
  const tsv = readFileSync(`${CORPORA}ja4/expected/JA4_GROUND_TRUTH_rust.tsv`, 'utf8').split('\n');
  const cols = tsv[0]!.split('\t');
  const ci = (n: string): number => cols.indexOf(n);
  const rows = tsv.slice(1).map((l) => l.split('\t')).filter((r) => r[ci('hassh')] || r[ci('hassh_server')]);
  t.ok(rows.length >= 10, `${rows.length} ground-truth rows`);
  const byFile = new Map<string, string[][]>();
  for (const r of rows) byFile.set(r[ci('pcap')]!, [...(byFile.get(r[ci('pcap')]!) ?? []), r]);
  let ok = 0;
  const lines: string[] = [];
  for (const [file, rs] of byFile) {
    const run = await runCapture(`${CORPORA}ja4/pcap/${file}`, { dissectors: [sshDissector] });
    const ours = new Map(run.records.filter((r) => r.app.ssh).map((r) => [key(r), r.app.ssh as SshMeta]));
    for (const r of rs) {
      const k = flowKey('tcp', { ip: r[ci('src')]!, port: Number(r[ci('src_port')]) }, { ip: r[ci('dst')]!, port: Number(r[ci('dst_port')]) });
      const m = ours.get(k);
      const good = m?.hassh === r[ci('hassh')] && m?.hasshServer === r[ci('hassh_server')];
      if (good) ok++;
      lines.push(`${file.padEnd(24)} ${k.padEnd(50)} ${good ? 'ok' : `MISMATCH want ${r[ci('hassh')]}/${r[ci('hassh_server')]} got ${m?.hassh}/${m?.hasshServer}`}`);
    }
  }
  t.comment(`HASSH vs JA4_GROUND_TRUTH_rust.tsv:\n${lines.join('\n')}\n${ok}/${rows.length}`);
  t.equal(ok, rows.length, '100 %');
});

t.test('HASSH-C / HASSH-S equal nDPI results', async (t) => {
  let n = 0;
  for (const f of ['ssh.pcap', 'custom_categories.pcapng']) {
    const flows = readNdpiOut(`${CORPORA}ndpi/result/${f}.out`).filter((x) => x.raw.includes('HASSH-C'));
    const run = await runCapture(`${CORPORA}ndpi/pcap/${f}`, { dissectors: [sshDissector] });
    const ours = new Map(run.records.filter((r) => r.app.ssh).map((r) => [key(r), r]));
    for (const x of flows) {
      const rec = ours.get(flowKey('tcp', x.a, x.b));
      const m = rec?.app.ssh as SshMeta | undefined;
      const c = /\[HASSH-C: ([0-9A-F]+)\]/.exec(x.raw)![1]!.toLowerCase();
      const s = /\[HASSH-S: ([0-9A-F]+)\]/.exec(x.raw)![1]!.toLowerCase();
      t.equal(m?.hassh, c, `${f} ${x.a.port}: client`);
      t.equal(m?.hasshServer, s, `${f} ${x.a.port}: server`);
      t.equal(rec?.appProtocol, 'ssh');
      n++;
    }
  }
  t.ok(n >= 3, `${n} nDPI flows compared`);
});

t.test('banners, SSH-1, unidirectional and malformed captures', async (t) => {
  const v1 = await runCapture(`${CORPORA}ja4/pcap/sshv1.pcap`, { dissectors: [sshDissector] });
  const m1 = v1.records.find((r) => r.app.ssh)!.app.ssh as SshMeta;
  t.same([m1.client?.protoVersion, m1.client?.software, m1.hassh], ['1.5', '1.2.26', undefined], 'SSH-1: version only, no KEXINIT');
  const ssh2 = await runCapture(`${CORPORA}ja4/pcap/ssh.pcapng`, { dissectors: [sshDissector] });
  const e = ssh2.ecs.find((x) => (x as { picket: { ssh?: unknown } }).picket.ssh) as Record<string, any>;
  t.equal(e.network.protocol, 'ssh');
  t.match(e.picket.ssh, {
    client: { software: 'OpenSSH_7.6p1', comments: 'Ubuntu-4ubuntu0.5', protocol_version: '2.0' },
    server: { software: 'OpenSSH_8.9p1', comments: 'Ubuntu-3ubuntu0.1' },
    hassh: '06046964c022c6407d15a27b12a6a4fb',
    hassh_server: '699519fdcc30cbcd093d5cd01e4b1d56',
  });
  t.ok((e.picket.ssh.kex_algorithms as string[]).includes('curve25519-sha256'));
  t.equal(createHash('md5').update(e.picket.ssh.hassh_string).digest('hex'), e.picket.ssh.hassh, 'hassh is md5 of the string');
  const uni = await runCapture(`${CORPORA}ndpi/pcap/ssh_unidirectional.pcap`, { dissectors: [sshDissector] });
  const mu = uni.records.find((r) => r.app.ssh)!.app.ssh as SshMeta;
  t.equal(mu.server?.software, 'OpenSSH_7.4p1');
  t.same(mu.malformed, ['packet.text'], 'a text line after the banner is flagged, not buffered as a 1 GB packet');
});

// ---------- synthetic streams ----------

function nameList(s: string): number[] {
  const b = Buffer.from(s, 'latin1');
  return [b.length >>> 24, (b.length >> 16) & 0xff, (b.length >> 8) & 0xff, b.length & 0xff, ...b];
}

function kexinitPacket(lists: string[], padding = 4): number[] {
  const payload = [20, ...new Array(16).fill(7), ...lists.flatMap(nameList), 0, 0, 0, 0, 0];
  const plen = 1 + payload.length + padding;
  return [plen >>> 24, (plen >> 16) & 0xff, (plen >> 8) & 0xff, plen & 0xff, padding, ...payload, ...new Array(padding).fill(0)];
}

const LISTS = ['curve25519-sha256,diffie-hellman-group14-sha256', 'ssh-ed25519', 'aes128-ctr', 'aes256-ctr', 'hmac-sha2-256', 'hmac-sha1', 'none', 'zlib', '', ''];
const TCP22 = { protocol: 6, clientPort: 50000, serverPort: 22 };

t.test('synthetic: pre-banner lines, hashes, any chunking gives the same result', async (t) => {
  const server = [...Buffer.from('Welcome to host\r\nAuthorized use only\r\nSSH-2.0-Test_1.0 extra words\r\n'), ...kexinitPacket(LISTS)];
  const client = [...Buffer.from('SSH-2.0-Client_9\r\n'), ...kexinitPacket(LISTS, 8)];
  const whole = driveDissector<SshMeta>(sshDissector, TCP22, [
    { dir: 1, bytes: Uint8Array.from(server) },
    { dir: 0, bytes: Uint8Array.from(client) },
  ]);
  const m = whole.meta!;
  t.equal(m.preBannerLines, 2);
  t.same(m.server, { protoVersion: '2.0', software: 'Test_1.0', comments: 'extra words', raw: 'SSH-2.0-Test_1.0 extra words' });
  t.equal(m.hasshString, 'curve25519-sha256,diffie-hellman-group14-sha256;aes128-ctr;hmac-sha2-256;none');
  t.equal(m.hasshServerString, 'curve25519-sha256,diffie-hellman-group14-sha256;aes256-ctr;hmac-sha1;zlib');
  t.equal(m.hassh, createHash('md5').update(m.hasshString!).digest('hex'));
  t.equal(whole.verdicts.at(-1), Verdict.Done, 'done after both KEXINITs');
  let seed = 3;
  const rnd = (n: number): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  for (let trial = 0; trial < 40; trial++) {
    const chunks: { dir: 0 | 1; bytes: Uint8Array }[] = [];
    for (const [dir, s] of [[1, server], [0, client]] as const) {
      for (let p = 0; p < s.length; ) {
        const n = 1 + rnd(30);
        chunks.push({ dir, bytes: Uint8Array.from(s.slice(p, p + n)) });
        p += n;
      }
    }
    t.same(driveDissector<SshMeta>(sshDissector, TCP22, chunks).meta, m, `trial ${trial}`);
  }
});

t.test('synthetic: limits and bad input', async (t) => {
  const banner = [...Buffer.from('SSH-2.0-X\r\n')];
  const huge = driveDissector<SshMeta>(sshDissector, TCP22, [{ dir: 0, bytes: Uint8Array.from([...banner, 0x7f, 0, 0, 0, 4]) }]);
  t.equal(huge.counters.get('limit.packet_bytes'), 1, 'a 2 GB packet length hits the packet limit');
  const listLen = [...banner, ...kexinitPacket(['a'.repeat(SSH_LIMITS.maxNameListBytes + 1), ...LISTS.slice(1)])];
  const big = driveDissector<SshMeta>(sshDissector, TCP22, [{ dir: 0, bytes: Uint8Array.from(listLen) }]);
  t.equal(big.counters.get('limit.name_list_bytes'), 1);
  const pkt = kexinitPacket(LISTS);
  pkt[5 + 17 + 3] = 0xff; // first name-list length far beyond the packet
  const bad = driveDissector<SshMeta>(sshDissector, TCP22, [{ dir: 0, bytes: Uint8Array.from([...banner, ...pkt]) }]);
  t.equal(bad.counters.get('malformed.kexinit.truncated'), 1);
  t.equal(bad.meta!.hassh, undefined);
  const lines = Buffer.from('x\r\n'.repeat(SSH_LIMITS.maxPreBannerLines + 2));
  const noBanner = driveDissector<SshMeta>(sshDissector, TCP22, [{ dir: 1, bytes: lines }]);
  t.ok(noBanner.rejected, 'no SSH- line within the line budget: not SSH');
  const binary = driveDissector<SshMeta>(sshDissector, TCP22, [{ dir: 0, bytes: Uint8Array.from([0x16, 3, 1, 0, 0x50, 1, 0, 0, 0x4c, 3, 3, 10]) }, { dir: 0, bytes: Uint8Array.from([0x0a]) }]);
  t.ok(binary.rejected, 'TLS on port 22 is rejected');
  const other = driveDissector<SshMeta>(sshDissector, { protocol: 6, clientPort: 5000, serverPort: 8080 }, [{ dir: 0, bytes: Buffer.from('GET / HTTP/1.1\r\n') }]);
  t.notOk(other.probed, 'not probed off port 22 without an SSH- prefix');
  const noKex = driveDissector<SshMeta>(sshDissector, TCP22, [{ dir: 0, bytes: Uint8Array.from([...banner, 0, 0, 0, 12, 10, 21, ...new Array(10).fill(0)]) }]);
  t.same(noKex.meta!.malformed, ['kexinit.missing'], 'NEWKEYS before KEXINIT is flagged');
});
