/**
 * A scratch redis-server (ACL printing, restore copies) must die with the service that started it: a
 * `kill -9` of the service once left one running, unowned, in /tmp/jcs-acl-*. The parent here is a
 * real Node process killed with SIGKILL; the scratch server must be gone, and a plain spawn (the old
 * way) is shown to survive the same kill, so the check can fail.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isSocketOpen } from '../../src/drivers/local/redis-node.ts';

const dir = mkdtempSync(join(tmpdir(), 'jcs-scratch-test-'));
const started: number[] = [];

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function until(check: () => boolean | Promise<boolean>, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return check();
}

/** Starts the fixture parent, waits for its scratch server's socket, returns both pids. */
async function parentWithScratch(script: string, socket: string): Promise<{ parent: number; scratch: number }> {
  const parent = spawn(process.execPath, ['bin/run-ts.js', script, socket, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
  const pidLine = await new Promise<string>((resolve) => parent.stdout!.once('data', (b: Buffer) => resolve(b.toString().trim())));
  const scratch = Number(pidLine);
  started.push(scratch);
  expect(await until(() => isSocketOpen(socket), 10_000)).toBe(true);
  return { parent: parent.pid!, scratch };
}

afterAll(() => {
  for (const pid of started) if (alive(pid)) process.kill(pid, 'SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

describe('spawnScratch', () => {
  it('the scratch redis-server dies when its parent is killed with SIGKILL', async () => {
    const { parent, scratch } = await parentWithScratch('test/drivers/fixtures/scratch-parent.ts', join(dir, 'a.sock'));
    expect(alive(scratch)).toBe(true);
    // The pid printed is redis-server's own (setpriv execs it), so callers' kill() reaches it.
    expect(spawnSync('ps', ['-o', 'comm=', '-p', String(scratch)]).stdout.toString().trim()).toBe('redis-server');
    process.kill(parent, 'SIGKILL');
    expect(await until(() => !alive(scratch), 5_000)).toBe(true);
  });

  it('a plain spawn survives the same kill (what the check above guards against)', async () => {
    const { parent, scratch } = await parentWithScratch('test/drivers/fixtures/scratch-parent-plain.ts', join(dir, 'b.sock'));
    process.kill(parent, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 300));
    expect(alive(scratch)).toBe(true);
  });
});
