import type { FlowScratch } from './flow-scratch.js';
import type { ExporterSession } from './session.js';

/**
 * The "1 out of N" interval a record's sampling fields describe, 0 when it has none.
 * v9 SAMPLING_INTERVAL (34) / FLOW_SAMPLER_RANDOM_INTERVAL (50), IPFIX samplingInterval (34),
 * samplerRandomInterval (50), samplingPacketInterval/Space (305/306: select I, skip S → (I+S)/I),
 * samplingSize/Population (309/310: N of M → M/N), samplingProbability (311 → 1/p).
 */
export function intervalFromFields(s: FlowScratch): number {
  if (s.samplingInterval > 0) return s.samplingInterval;
  if (s.samplerRandomInterval > 0) return s.samplerRandomInterval;
  if (s.samplingPacketInterval > 0 && s.samplingPacketSpace >= 0) {
    return (s.samplingPacketInterval + s.samplingPacketSpace) / s.samplingPacketInterval;
  }
  if (s.samplingSize > 0 && s.samplingPopulation >= s.samplingSize) return s.samplingPopulation / s.samplingSize;
  if (s.samplingProbability > 0 && s.samplingProbability <= 1) return 1 / s.samplingProbability;
  return 0;
}

/**
 * Records what an options data record says about the exporter: sampling interval (per sampler
 * id when it names one) and systemInitTimeMilliseconds. Returns false when the sampler table is
 * full (the caller counts it).
 */
export function applyOptionsRecord(s: FlowScratch, session: ExporterSession, maxSamplers: number): boolean {
  if (s.systemInitMs >= 0) session.systemInitMs = s.systemInitMs;
  const interval = intervalFromFields(s);
  if (interval <= 0) return true;
  if (s.samplerId < 0) {
    session.defaultSamplingInterval = interval;
    return true;
  }
  if (!session.samplers.has(s.samplerId) && session.samplers.size >= maxSamplers) return false;
  session.samplers.set(s.samplerId, interval);
  return true;
}

/**
 * The interval to apply to a data record: its own sampling fields, else the interval of the
 * sampler it names, else the session's unnamed interval, else the only sampler the exporter
 * announced (Cisco announces a sampler id in options data and omits it from flow records),
 * else `fallback`.
 */
export function samplingFor(s: FlowScratch, session: ExporterSession | undefined, fallback: number): number {
  const own = intervalFromFields(s);
  if (own > 0) return own;
  if (session) {
    if (s.samplerId >= 0) {
      const v = session.samplers.get(s.samplerId);
      if (v !== undefined) return v;
    }
    if (session.defaultSamplingInterval > 0) return session.defaultSamplingInterval;
    if (s.samplerId < 0 && session.samplers.size === 1) {
      for (const v of session.samplers.values()) return v;
    }
  }
  return fallback;
}
