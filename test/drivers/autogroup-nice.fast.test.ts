/**
 * A replica's scheduling autogroup goes to nice 19 for its snapshot and back to 0 after it, or after the
 * bound at the latest (autogroup-nice.ts), read back from /proc/<pid>/autogroup; a group shared with the
 * service or a process to avoid (the master) is never lowered. Real processes: `sleep` in sessions of
 * their own, as the driver starts redis-server.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { lowerAutogroup, readAutogroup } from '../../src/drivers/local/autogroup-nice.ts';

const autogroups = readFileSync('/proc/sys/kernel/sched_autogroup_enabled', 'utf8').trim() === '1';
const started: ChildProcess[] = [];
afterEach(() => {
  for (const c of started.splice(0)) c.kill('SIGKILL');
});

function sleeper(detached: boolean): number {
  const child = spawn('sleep', ['30'], { detached, stdio: 'ignore' });
  started.push(child);
  return child.pid!;
}
const niceOf = (pid: number): string => /nice (-?\d+)/.exec(readFileSync(`/proc/${pid}/autogroup`, 'utf8'))![1]!;
/**
 * The raw line: empty for a process in the root group (a session the kernel never gave an autogroup, as
 * where the test runner descends from init without a setsid, as on CI), else `/autogroup-<n> nice <k>`.
 */
const autogroupLine = (pid: number): string => readFileSync(`/proc/${pid}/autogroup`, 'utf8');

describe.runIf(autogroups)('lowerAutogroup', () => {
  it('sets the process group to nice 19 until restore(), then back to 0', async () => {
    const pid = sleeper(true);
    expect(niceOf(pid)).toBe('0');
    const lowered = await lowerAutogroup(pid, { maxMs: 60_000 });
    expect(lowered.lowered).toBe(true);
    expect(niceOf(pid)).toBe('19');
    await lowered.restore();
    expect(niceOf(pid)).toBe('0');
    await lowered.restore(); // idempotent
    expect(niceOf(pid)).toBe('0');
  });

  it('goes back to 0 by itself after maxMs', async () => {
    const pid = sleeper(true);
    const lowered = await lowerAutogroup(pid, { maxMs: 100 });
    expect(niceOf(pid)).toBe('19');
    for (let i = 0; i < 100 && niceOf(pid) !== '0'; i++) await new Promise((r) => setTimeout(r, 20));
    expect(niceOf(pid)).toBe('0');
    await lowered.restore();
  });

  it('restores 0 also where a service killed earlier left the group at 19', async () => {
    const pid = sleeper(true);
    await (await lowerAutogroup(pid, { maxMs: 60_000 })).restore();
    const first = await lowerAutogroup(pid, { maxMs: 60_000 }); // "crash": never restored
    expect(niceOf(pid)).toBe('19');
    const second = await lowerAutogroup(pid, { maxMs: 60_000 });
    await second.restore();
    expect(niceOf(pid)).toBe('0');
    await first.restore();
  });

  it("never lowers the service's own group nor that of a process to avoid", async () => {
    const inOurSession = sleeper(false);
    const ours = autogroupLine(process.pid);
    expect((await readAutogroup(inOurSession))?.name).toBe((await readAutogroup(process.pid))?.name);
    expect((await lowerAutogroup(inOurSession, { maxMs: 60_000 })).lowered).toBe(false);
    expect(autogroupLine(process.pid)).toBe(ours);
    expect(autogroupLine(process.pid)).toMatch(/^$|nice 0\n?$/);

    // Two processes of one (other) session: avoiding one protects the other.
    const leader = spawn('sh', ['-c', 'sleep 30 & wait'], { detached: true, stdio: 'ignore' });
    started.push(leader);
    let member = 0;
    for (let i = 0; i < 100 && !member; i++) {
      const children = readFileSync(`/proc/${leader.pid}/task/${leader.pid}/children`, 'utf8').trim();
      member = Number(children.split(/\s+/)[0] ?? 0);
      if (!member) await new Promise((r) => setTimeout(r, 10));
    }
    expect(member).toBeGreaterThan(0);
    expect((await lowerAutogroup(member, { maxMs: 60_000, avoid: [leader.pid!] })).lowered).toBe(false);
    expect(niceOf(member)).toBe('0');
    const other = sleeper(true);
    const lowered = await lowerAutogroup(other, { maxMs: 60_000, avoid: [leader.pid!] });
    expect(lowered.lowered).toBe(true);
    await lowered.restore();
  });

  it('answers not lowered for a process that is gone', async () => {
    const lowered = await lowerAutogroup(2 ** 22 + 12345, { maxMs: 60_000 });
    expect(lowered.lowered).toBe(false);
  });
});
