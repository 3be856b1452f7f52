import { readFileSync } from 'node:fs';

/**
 * Datagrams the kernel dropped for the UDP socket bound to `port` (receive buffer full), from the
 * `drops` column of /proc/net/udp and /proc/net/udp6. Node exposes no such counter; this is the
 * only way to tell "the exporter sent less" from "we lost it". Returns -1 where /proc is
 * unavailable (not Linux) or no socket on that port is listed.
 */
export function udpSocketDrops(port: number, procFiles: readonly string[] = ['/proc/net/udp', '/proc/net/udp6']): number {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  let found = false;
  let drops = 0;
  for (const f of procFiles) {
    let text: string;
    try {
      text = readFileSync(f, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n')) {
      const cols = line.trim().split(/\s+/);
      // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode ref pointer drops
      const local = cols[1];
      if (cols.length < 13 || !local || !local.endsWith(`:${hexPort}`)) continue;
      const d = Number(cols[12]);
      if (Number.isFinite(d)) {
        found = true;
        drops += d;
      }
    }
  }
  return found ? drops : -1;
}
