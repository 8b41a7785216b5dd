import { randomBytes } from 'node:crypto';
import { chmod, readFile } from 'node:fs/promises';
import { writeFileOnce } from './write-file-once.ts';

/**
 * A 32-byte secret key kept in `file` (mode 0600), made at the first start so it stays the same across
 * restarts. Two processes starting at once do not overwrite each other's key, nor read it half-written:
 * the loser reads the winner's. `whatBreaks` says what is lost when the file is replaced.
 */
export async function loadOrCreateKeyFile(file: string, whatBreaks: string): Promise<Buffer> {
  const existing = await readFile(file).catch(() => null);
  if (existing && existing.length === 32) return existing;
  await writeFileOnce(file, randomBytes(32));
  await chmod(file, 0o600);
  const stored = await readFile(file);
  if (stored.length !== 32) throw new Error(`${file} is not a 32-byte key; remove it to make a new one (${whatBreaks})`);
  return stored;
}
