/**
 * One process per queue directory: two writers would interleave segment files. The lock is a
 * file holding the owner's pid; a lock left by a process that no longer exists (killed, power
 * loss) is taken over, which is what a restart after SIGKILL needs.
 */
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/** Directories locked by queues open in this process. */
const heldHere = new Set<string>();

export class QueueLockedError extends Error {}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes the lock on `dir` or throws QueueLockedError with a one-line explanation. */
export function acquireQueueLock(dir: string): string {
  const path = join(dir, 'queue.lock');
  if (heldHere.has(path)) throw new QueueLockedError(`queue directory ${dir} is already open in this process`);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o600);
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      heldHere.add(path);
      return path;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    let owner = NaN;
    try {
      owner = Number.parseInt(readFileSync(path, 'utf8'), 10);
    } catch {
      // Unreadable or vanished lock: treat as stale.
    }
    if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && alive(owner)) {
      throw new QueueLockedError(`queue directory ${dir} is in use by process ${owner}; stop it or use another --queue-dir`);
    }
    try {
      unlinkSync(path);
    } catch {
      // Someone else removed it first; retry the exclusive create.
    }
  }
  throw new QueueLockedError(`could not lock queue directory ${dir}; another process keeps taking it`);
}

export function releaseQueueLock(path: string): void {
  heldHere.delete(path);
  try {
    unlinkSync(path);
  } catch {
    // Already gone: nothing to release.
  }
}

/** Forgets a lock without removing its file, as a killed process would (tests only). */
export function abandonQueueLock(path: string): void {
  heldHere.delete(path);
}
