/**
 * Helper programs beside the tenants' nodes (redis-check-rdb, sha256sum) run in a session of their own
 * whose autogroup has nice 19: a plain nice-19 child of the service shared the service's group and, with
 * autogroup scheduling, still took a group's whole CPU share from a master (bench:backup's writer p99).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runInBackground } from '../../src/drivers/local/run-in-background.ts';

const pidOf = (pattern: string): number | null => {
  try {
    return Number(execFileSync('pgrep', ['-f', '-n', pattern]).toString().trim()) || null;
  } catch {
    return null;
  }
};

describe('runInBackground', () => {
  it('gives the program its own session, nice 19 and (with autogroups) an autogroup at nice 19; an abort kills it', async () => {
    const ac = new AbortController();
    const run = runInBackground('sleep', ['7.4321'], ac.signal);
    let pid: number | null = null;
    for (let i = 0; i < 200 && pid === null; i++) {
      pid = pidOf('^sleep 7.4321$');
      if (pid === null) await new Promise((r) => setTimeout(r, 10));
    }
    expect(pid).not.toBeNull();
    // /proc/<pid>/stat: field 6 is the session, field 19 the nice value (after the command's parentheses).
    const fields = (p: number): string[] => readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1]!.split(' ');
    expect(fields(pid!)[3]).toBe(String(pid)); // session leader of its own session
    expect(fields(pid!)[3]).not.toBe(fields(process.pid)[3]);
    if (readFileSync('/proc/sys/kernel/sched_autogroup_enabled', 'utf8').trim() === '1') {
      for (let i = 0; i < 200 && !/nice 19/.test(readFileSync(`/proc/${pid}/autogroup`, 'utf8')); i++) await new Promise((r) => setTimeout(r, 10));
      expect(readFileSync(`/proc/${pid}/autogroup`, 'utf8')).toMatch(/nice 19$/m);
    }
    expect(fields(pid!)[16]).toBe('19');
    ac.abort(new Error('stop'));
    await expect(run).rejects.toThrow('stop');
    expect(pidOf('^sleep 7.4321$')).toBeNull();
  });

  it('resolves with the exit code and output, and rejects with ENOENT for a missing program', async () => {
    await expect(runInBackground('sh', ['-c', 'echo out; echo err >&2; exit 3'], new AbortController().signal)).resolves.toEqual({ code: 3, stdout: 'out\n', stderr: 'err\n' });
    await expect(runInBackground('/nonexistent/jcs-tool', [], new AbortController().signal)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
