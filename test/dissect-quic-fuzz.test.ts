/**
 * Short version of bench/fuzz-quic.ts (which runs ≥ 1 M cases): real QUIC flows regrouped into
 * datagrams at random must give the same result; mutated and random datagrams must neither throw
 * nor exceed a declared limit. Plus every capture of the tcpdump robustness corpus.
 */
import t from 'tap';
import { readdirSync } from 'node:fs';
import { collectFlows, corpusPaths, fuzz, fingerprintOf, recoalesce, runFlow, prng } from '../bench/fuzz-quic.js';
import { createQuicDissector } from '../agent/dissect/quic/index.js';
import { runCapture } from './helpers/run-capture.js';

const SHARED = new URL('../../shared', import.meta.url).pathname;

t.test('fuzz: recoalesce, mutate, random', async (t) => {
  const flows = await collectFlows(corpusPaths(SHARED));
  t.ok(flows.length >= 200, `${flows.length} real QUIC flows collected`);
  // The regrouping really changes the datagrams of coalesced flows (else the check is empty).
  const rand = prng(7);
  const coalesced = flows.filter((f) => recoalesce(f, rand).datagrams.length !== f.datagrams.length);
  t.ok(coalesced.length > 0, `${coalesced.length} flows regrouped differently`);
  const withSni = flows.filter((f) => runFlow(createQuicDissector(), f).meta?.sni !== undefined);
  t.ok(withSni.length >= 100, 'baselines carry SNIs (the comparison is not between empty results)');
  t.not(fingerprintOf(runFlow(createQuicDissector(), withSni[0]!).meta), '-');
  const r = fuzz(flows, 6000, 1);
  t.comment(`${r.cases} cases in ${r.ms.toFixed(0)} ms (${Object.entries(r.byMode).map(([k, v]) => `${k} ${v}`).join(', ')})`);
  t.same(r.failures, []);
  t.ok(r.byMode.recoalesce! > 300 && r.byMode.mutate! > 2000 && r.byMode.random! > 2000);
});

t.test('tcpdump robustness corpus: no dissector error, nothing claimed by accident', async (t) => {
  const dir = `${SHARED}/corpora/tcpdump/tests`;
  const files = readdirSync(dir).filter((f) => /\.(pcap|pcapng|cap)$/.test(f));
  let internal = 0;
  const claimed = new Set<string>();
  for (const f of files) {
    const run = await runCapture(`${dir}/${f}`, { dissectors: [createQuicDissector()] });
    internal += run.dissect.counters.get('quic.internal_error') ?? 0;
    if (run.records.some((r) => r.appProtocol === 'quic')) claimed.add(f);
  }
  t.comment(`captures with QUIC flows: ${[...claimed].join(', ')}`);
  for (const f of claimed) t.match(f, /quic/, `${f} is a QUIC test capture`);
  t.ok(claimed.has('quic_handshake.pcap') && claimed.has('quic_retry.pcap') && claimed.has('quic_vn.pcap'));
  t.ok(files.length > 500, `${files.length} captures`);
  t.equal(internal, 0, 'no exception escaped the QUIC dissector');
});
