/**
 * Pieces the dissector fuzzers share: a seedable PRNG, the byte insertion of their mutators, a
 * stand-in flow record for finish(), and the collection of recorded flows from capture files.
 * Used by bench/fuzz-{dissector,http-kit,quic,tls}.ts.
 */
import type { AnyDissector, FlowInfo } from '../agent/dissect/dissector.js';
import type { FlowRecord } from '../agent/flow/flow-record.js';

/** Mulberry32: small, seedable, good enough to pick cut points and mutations. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A copy of `b` with `ins` inserted at `at`. */
export function insertBytes(b: Uint8Array, at: number, ins: Uint8Array): Uint8Array<ArrayBuffer> {
  const o = new Uint8Array(b.length + ins.length);
  o.set(b.subarray(0, at));
  o.set(ins, at);
  o.set(b.subarray(at), at + ins.length);
  return o;
}

/** A flow record for `info` with placeholder counters and the given addresses (finish() reads records). */
export function stubRecord(info: FlowInfo, partial: boolean, clientIp: string, serverIp: string): FlowRecord {
  return {
    uid: info.uid,
    origin: 'packets',
    startUs: 1,
    endUs: 2,
    ipVersion: 4,
    protocol: info.protocol,
    transport: info.protocol === 6 ? 'tcp' : 'udp',
    client: { ip: clientIp, port: info.clientPort },
    server: { ip: serverIp, port: info.serverPort },
    c2s: { packets: 1, bytes: 1, payloadBytes: 1, firstUs: 1, lastUs: 1 },
    s2c: { packets: 1, bytes: 1, payloadBytes: 1, firstUs: 1, lastUs: 1 },
    communityId: '',
    state: 'established',
    endReason: 'end_of_input',
    partial,
    app: {},
  };
}

/**
 * Runs capture files through the pipeline with `recorder` as the only dissector and returns what
 * it reported for each flow (its metadata in `record.app[recorder.name]`), at most `maxFlows`.
 */
export async function collectRecorded<M>(paths: readonly string[], recorder: AnyDissector, maxFlows: number): Promise<M[]> {
  // Loaded here so that the fuzzers' run/fuzz helpers work without the capture pipeline.
  const { FileSource } = await import('../agent/source/file-source.js');
  const { PacketPipeline } = await import('../agent/pipeline/packet-pipeline.js');
  const { DissectStage } = await import('../agent/dissect/dissect-stage.js');
  const out: M[] = [];
  const stage = new DissectStage({ dissectors: [recorder] });
  const pipeline = new PacketPipeline({
    observer: stage,
    onRecord: (r) => {
      const m = r.app[recorder.name] as M | undefined;
      if (m && out.length < maxFlows) out.push(m);
    },
  });
  await new FileSource(paths).run(pipeline);
  pipeline.finish();
  return out;
}
