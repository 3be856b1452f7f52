import type { FlowObserver } from './flow-observer.js';

/**
 * Several observers as one, called in the given order (dissectors before detectors, so a
 * detector's flowEnd sees the dissectors' metadata). Hooks no observer implements stay absent, so
 * the flow table skips them on the hot path.
 */
export function composeObservers(...list: FlowObserver[]): FlowObserver {
  const out: FlowObserver = {};
  const pick = <K extends keyof FlowObserver>(k: K): Array<NonNullable<FlowObserver[K]>> =>
    list.map((o) => (o[k] ? (o[k] as (...a: never[]) => void).bind(o) : undefined)).filter((f): f is NonNullable<FlowObserver[K]> => f !== undefined) as Array<NonNullable<FlowObserver[K]>>;
  const flowStart = pick('flowStart');
  const packet = pick('packet');
  const payload = pick('payload');
  const gap = pick('gap');
  const flowEnd = pick('flowEnd');
  if (flowStart.length === 1) out.flowStart = flowStart[0]!;
  else if (flowStart.length > 1) out.flowStart = (f) => flowStart.forEach((h) => h(f));
  if (packet.length === 1) out.packet = packet[0]!;
  else if (packet.length > 1) out.packet = (f, d, p) => packet.forEach((h) => h(f, d, p));
  if (payload.length === 1) out.payload = payload[0]!;
  else if (payload.length > 1) out.payload = (f, d, b, o, l, t) => payload.forEach((h) => h(f, d, b, o, l, t));
  if (gap.length === 1) out.gap = gap[0]!;
  else if (gap.length > 1) out.gap = (f, d, n) => gap.forEach((h) => h(f, d, n));
  if (flowEnd.length === 1) out.flowEnd = flowEnd[0]!;
  else if (flowEnd.length > 1) out.flowEnd = (f, r) => flowEnd.forEach((h) => h(f, r));
  return out;
}
