/** Fuzz targets for the DNS, SSH and RMM dissectors: seed captures, flow shapes, limit checks. */
import { fileURLToPath } from 'node:url';
import { existsSync, readdirSync } from 'node:fs';
import { collectSeeds, type FuzzOptions, type SeedStream } from './fuzz-dissector.js';
import { dnsDissector, DNS_LIMITS, type DnsMeta } from '../agent/dissect/dns/index.js';
import { sshDissector, SSH_LIMITS, type SshMeta } from '../agent/dissect/ssh/index.js';
import { rmmDissector, RMM_LIMITS, type RmmMeta } from '../agent/dissect/rmm/index.js';
import type { FlowInfo } from '../agent/dissect/dissector.js';

/** ../shared/corpora beside the project (this file runs from dist/bench/ or, in tests, from bench/). */
export function corpora(): string {
  if (process.env.PICKET_CORPORA) return process.env.PICKET_CORPORA;
  for (const rel of ['../../../shared/corpora/', '../../shared/corpora/']) {
    const p = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(p)) return p;
  }
  throw new Error('shared corpora not found beside the project: set PICKET_CORPORA to the corpora folder');
}

const info = (protocol: number, clientPort: number, serverPort: number): FlowInfo => ({ uid: 'Cfuzz', protocol, ipVersion: 4, clientPort, serverPort });

function files(dir: string, re: RegExp): string[] {
  return readdirSync(dir).filter((f) => re.test(f)).map((f) => `${dir}/${f}`);
}

export type Target = Omit<FuzzOptions, 'cases' | 'seed'>;

export async function dnsTarget(root: string): Promise<Target> {
  const paths = [...files(`${root}ndpi/pcap`, /^(dns|malformed_dns|fuzz-2006)/), ...files(`${root}tcpdump/tests`, /^dns/), ...files(`${root}attacks/dns-tunnel-dmachard`, /pcap$/)];
  // TCP streams first (they are rarer and the only ones re-chunked), then UDP datagram flows.
  const seeds: SeedStream[] = [
    ...(await collectSeeds(paths, (f) => f.protocol === 6 && (f.serverPort === 53 || f.clientPort === 53), 200)),
    ...(await collectSeeds(paths, (f) => f.protocol === 17 && (f.serverPort === 53 || f.clientPort === 53), 300)),
  ];
  // The UDP messages again as DNS-over-TCP streams (2-byte length prefix), to re-chunk them too.
  for (const s of seeds.filter((x) => x.info.protocol === 17).slice(0, 200)) {
    const dirs: [number[], number[]] = [[], []];
    for (const c of s.chunks) dirs[c.dir].push(c.bytes.length >> 8, c.bytes.length & 0xff, ...c.bytes);
    seeds.push({ info: { ...s.info, protocol: 6 }, chunks: ([0, 1] as const).filter((d) => dirs[d].length > 0).map((d) => ({ dir: d, bytes: Uint8Array.from(dirs[d]) })) });
  }
  return {
    dissector: dnsDissector,
    seeds,
    randomInfo: [info(17, 40000, 53), info(6, 40001, 53)],
    checkLimits(meta) {
      const m = meta as DnsMeta | undefined;
      if (!m) return undefined;
      if (m.queries.length > DNS_LIMITS.maxQueryNames) return `queries ${m.queries.length}`;
      if (m.answers.length > DNS_LIMITS.maxAnswers) return `answers ${m.answers.length}`;
      if (m.resolvedIps.length > DNS_LIMITS.maxResolvedIps) return `ips ${m.resolvedIps.length}`;
      if (m.malformed.length > DNS_LIMITS.maxMalformedReasons) return `malformed ${m.malformed.length}`;
      for (const q of m.queries) if (q.name.length > 255 * 4) return `name ${q.name.length}`;
      for (const a of m.answers) if ((a.data?.length ?? 0) > Math.max(DNS_LIMITS.maxDataChars + 4, 255 * 8 + 64)) return `data ${a.data?.length}`;
      return undefined;
    },
  };
}

export async function sshTarget(root: string): Promise<Target> {
  const seeds = await collectSeeds(
    [...files(`${root}ja4/pcap`, /ssh|gre-sample|geneve/), ...files(`${root}ndpi/pcap`, /^ssh/)],
    (f) => f.serverPort === 22 || f.clientPort === 22 || f.serverPort === 8000,
  );
  return {
    dissector: sshDissector,
    seeds,
    randomInfo: [info(6, 50000, 22)],
    checkLimits(meta) {
      const m = meta as SshMeta | undefined;
      if (!m) return undefined;
      for (const v of [m.client, m.server]) if (v && v.raw.length > SSH_LIMITS.maxLineBytes * 4) return `banner ${v.raw.length}`;
      for (const s of [m.hasshString, m.hasshServerString]) if (s && s.length > SSH_LIMITS.maxNameListBytes * 4 * 4 + 3) return `hassh string ${s.length}`;
      return undefined;
    },
  };
}

export async function rmmTarget(root: string): Promise<Target> {
  const seeds = await collectSeeds(
    ['anydesk.pcapng', 'teamviewer.pcap', 'rdp.pcap', 'rdp_over_tls.pcap', 'vnc.pcap', 'nomachine.pcapng', 'radmin3.pcapng'].map((f) => `${root}ndpi/pcap/${f}`),
    () => true,
  );
  return {
    dissector: rmmDissector,
    seeds,
    randomInfo: [info(6, 40000, 3389), info(6, 40000, 5938), info(17, 40000, 5938), info(6, 40000, 443), info(17, 40000, 4000)],
    checkLimits(meta) {
      const m = meta as RmmMeta | undefined;
      if (m && m.signals.length > RMM_LIMITS.maxSignals) return `signals ${m.signals.length}`;
      return undefined;
    },
  };
}
