import { rename, unlink, writeFile } from 'node:fs/promises';

/**
 * Writes `data` to `path` through a temporary file in the same folder and a rename, so readers
 * (and a restart after a crash) see the old file or the new one, never half of one. The
 * temporary file is removed when anything fails; the error is rethrown.
 */
export async function writeFileAtomic(path: string, data: Uint8Array): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    await writeFile(tmp, data);
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
}
