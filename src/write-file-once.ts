import { randomBytes } from 'node:crypto';
import { link, unlink, writeFile } from 'node:fs/promises';

/**
 * Creates `file` (mode 0600) with `data` unless it exists: written whole to a temp file first, then
 * hard-linked into place, which fails when the name is taken. So a reader never sees half a file, a
 * crash leaves either nothing or all of it, and of several processes creating it at once (service
 * processes starting together on one data directory) exactly one wins; the others read the winner's.
 * Returns whether this call created it.
 */
export async function writeFileOnce(file: string, data: string | Buffer): Promise<boolean> {
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(tmp, data, { mode: 0o600 });
  try {
    await link(tmp, file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
}
