/**
 * Plays samples/demo-alerts.json through the real AlertPublisher, paced like a replay: an alert
 * at offset t is published at t / speed seconds after the start. Its times are stamped so the
 * fixture's span ends now (the dashboard shows it as live). Entries with `repeat` are published
 * again with the same id, count + 1 and a later last-seen, as the sensor's aggregation does.
 */
import { readFileSync } from 'node:fs';
import type { Alert, AlertEndpoint, Severity } from '../../agent/alert/alert.js';
import type { AlertPublisher } from '../../agent/sink/mqtt/alert-publisher.js';
import { ulid } from '../../agent/util/ulid.js';

interface FixtureEntry extends Omit<Alert, 'id' | 'firstUs' | 'lastUs' | 'sensorId' | 'site'> {
  offsetS: number;
  durationS: number;
  repeat?: { everyS: number; times: number };
}

export interface Fixture {
  spanS: number;
  site: string;
  sensor: string;
  alerts: FixtureEntry[];
}

const SEVERITIES: readonly Severity[] = ['low', 'medium', 'high', 'critical'];

function endpointOk(e: unknown): e is AlertEndpoint {
  const x = e as AlertEndpoint;
  return typeof x === 'object' && x !== null && typeof x.ip === 'string' && typeof x.zone === 'string' && (x.port === undefined || Number.isInteger(x.port));
}

/** Reads and checks the fixture; throws a one-line Error naming the file and the entry. */
export function loadFixture(path: string): Fixture {
  let f: Fixture;
  try {
    f = JSON.parse(readFileSync(path, 'utf8')) as Fixture;
  } catch (err) {
    throw new Error(`cannot read the demo fixture ${path}: ${(err as Error).message}`);
  }
  if (!Array.isArray(f.alerts) || typeof f.spanS !== 'number' || typeof f.site !== 'string' || typeof f.sensor !== 'string') {
    throw new Error(`demo fixture ${path}: needs spanS, site, sensor and alerts`);
  }
  f.alerts.forEach((a, i) => {
    const ok =
      typeof a.offsetS === 'number' &&
      typeof a.durationS === 'number' &&
      SEVERITIES.includes(a.severity) &&
      typeof a.score === 'number' &&
      typeof a.reason === 'string' &&
      endpointOk(a.source) &&
      endpointOk(a.destination);
    if (!ok) throw new Error(`demo fixture ${path}: alert #${i} lacks offsetS, durationS, severity, score, reason, source or destination`);
  });
  return f;
}

interface Scheduled {
  atS: number;
  alert: Alert;
}

/** Every publish of the fixture, in time order, with times ending at `endMs`. */
export function fixtureSchedule(f: Fixture, endMs: number): Scheduled[] {
  const startUs = (endMs - f.spanS * 1000) * 1000;
  const out: Scheduled[] = [];
  for (const e of f.alerts) {
    const { offsetS, durationS, repeat, ...rest } = e;
    const id = ulid();
    const times = Math.max(0, Math.min(1000, repeat?.times ?? 0));
    for (let r = 0; r <= times; r++) {
      const atS = offsetS + durationS + r * (repeat?.everyS ?? 0);
      out.push({
        atS,
        alert: {
          ...rest,
          evidence: { ...rest.evidence },
          id,
          firstUs: startUs + offsetS * 1e6,
          lastUs: startUs + atS * 1e6,
          count: (rest.count ?? 1) + r,
        },
      });
    }
  }
  return out.sort((a, b) => a.atS - b.atS);
}

/** Publishes the schedule at `speed`× its pace; stops early when `signal` aborts. Returns alerts published. */
export async function playFixture(f: Fixture, publisher: AlertPublisher, speed: number, signal: AbortSignal, nowMs: () => number = Date.now): Promise<number> {
  const schedule = fixtureSchedule(f, nowMs() + (f.spanS * 1000) / speed);
  const startMs = nowMs();
  const firstS = schedule[0]?.atS ?? 0;
  let n = 0;
  for (const s of schedule) {
    const due = startMs + ((s.atS - firstS) * 1000) / speed;
    const wait = due - nowMs();
    if (wait > 0) {
      await new Promise<void>((resolve) => {
        const onAbort = (): void => {
          clearTimeout(t);
          resolve();
        };
        const t = setTimeout(() => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        }, wait);
        signal.addEventListener('abort', onAbort, { once: true });
      });
    }
    if (signal.aborted) break;
    publisher.publish(s.alert);
    n++;
  }
  return n;
}
