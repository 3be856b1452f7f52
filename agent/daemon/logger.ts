/**
 * Structured logs: one JSON object per line on stdout (journald stores it as the message; `jq`
 * reads it), written synchronously so nothing is lost when the process exits. Components log
 * state changes only (interface up/down, broker connected/lost, reload, stop), never per packet.
 *
 *   {"level":"info","time":"2026-11-25T14:03:11.120Z","component":"capture","msg":"live: capturing on eth0 again"}
 */
import pino, { type DestinationStream, type Logger } from 'pino';
import type { LiveLogger } from '../source/live/live-options.js';
import type { PublisherLog } from '../sink/mqtt/alert-publisher.js';

export type { Logger } from 'pino';

/** A logger writing JSON lines to `dest` (default: stdout, synchronous). */
export function createLogger(level: string, dest?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      // Level names, not numbers: readable in journalctl and greppable.
      formatters: { level: (label) => ({ level: label }) },
    },
    dest ?? pino.destination({ dest: 1, sync: true }),
  );
}

/** The live capture source's logger interface over a child logger. */
export function liveLog(log: Logger): LiveLogger {
  const c = log.child({ component: 'capture' });
  return { info: (m) => c.info(m), warn: (m) => c.warn(m) };
}

/** The alert publisher's logger interface over a child logger. */
export function publisherLog(log: Logger): PublisherLog {
  const c = log.child({ component: 'broker' });
  return { info: (m) => c.info(m), warn: (m) => c.warn(m), error: (m) => c.error(m) };
}
