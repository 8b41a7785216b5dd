/**
 * Scratch directories carry the pid of the service that made them; a service sweeps those of services
 * that are gone (a `kill -9` skipped their `rm`) and never one whose service still runs.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeScratchDir, sweepScratchDirs } from '../../src/drivers/local/scratch-dir.ts';

const base = mkdtempSync(join(tmpdir(), 'jcs-scratch-dir-test-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));

/** The pid of a process that has exited (and was reaped), so no process runs under it now. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' });
  return Number(r.stdout.trim());
}

describe('scratch directories', () => {
  it('are named after this process and private', async () => {
    const dir = await makeScratchDir('jcs-t-', base);
    expect(dir.startsWith(join(base, `jcs-t-${process.pid}-`))).toBe(true);
    expect(readdirSync(base)).toContain(dir.slice(base.length + 1));
  });

  it('are swept when their service is gone, and kept while it runs or when the name is not ours', async () => {
    const dead = deadPid();
    const gone = `jcs-acl-${dead}-AbC123`;
    mkdirSync(join(base, gone));
    writeFileSync(join(base, gone, 'redis.conf'), 'port 0\n');
    const mine = await makeScratchDir('jcs-acl-', base);
    const otherPrefix = `jcs-other-${dead}-AbC123`;
    mkdirSync(join(base, otherPrefix));
    const notOurs = `jcs-acl-${dead}-extra-name`;
    mkdirSync(join(base, notOurs));

    expect(await sweepScratchDirs('jcs-acl-', base)).toEqual([gone]);
    const left = readdirSync(base);
    expect(left).not.toContain(gone);
    expect(left).toContain(mine.slice(base.length + 1));
    expect(left).toContain(otherPrefix);
    expect(left).toContain(notOurs);
  });

  it('sweeps nothing in a folder that does not exist', async () => {
    expect(await sweepScratchDirs('jcs-acl-', join(base, 'missing'))).toEqual([]);
  });
});
