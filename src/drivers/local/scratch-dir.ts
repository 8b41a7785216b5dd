/**
 * Private temp directories of short-lived scratch processes (the redis-server that prints ACL rules).
 * The scratch process dies with the service (spawn-scratch.ts), but a `kill -9` of the service skips
 * the `rm` that follows it, so its empty directory stayed in /tmp for good. Each directory therefore
 * carries the pid of the service that made it, and a service sweeps the directories of services that
 * are gone. A live pid (this service, another service, or a reused pid) keeps its directory: a stray
 * directory is harmless, removing one in use is not.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A new directory `<tmp>/<prefix><pid>-XXXXXX`, mode 0700 (mkdtemp's). */
export function makeScratchDir(prefix: string, base = tmpdir()): Promise<string> {
  return mkdtemp(join(base, `${prefix}${process.pid}-`));
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists but belongs to another user.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes the `<prefix><pid>-*` directories whose pid no longer runs; returns their names. */
export async function sweepScratchDirs(prefix: string, base = tmpdir()): Promise<string[]> {
  const pattern = new RegExp(`^${prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(\\d+)-[A-Za-z0-9]{6}$`);
  const removed: string[] = [];
  for (const name of await readdir(base).catch(() => [] as string[])) {
    const pid = Number(pattern.exec(name)?.[1] ?? NaN);
    if (!Number.isInteger(pid) || pid <= 0 || processExists(pid)) continue;
    await rm(join(base, name), { recursive: true, force: true });
    removed.push(name);
  }
  return removed;
}
