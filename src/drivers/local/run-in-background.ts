/**
 * Runs a helper program (redis-check-rdb, openssl or sha256sum) at the lowest CPU priority there is for it beside
 * the tenants' nodes. `nice` alone is not enough: with the kernel's autogroup scheduling (on by default
 * on Debian) nice only orders the threads of one session's group, and groups share the CPU equally, so a
 * nice-19 child of the service still took a whole group's share from a master on a 2-core host. The
 * program gets a session (and so a group) of its own, and that group's nice is set to 19
 * (`/proc/<pid>/autogroup`); where autogroups are off, the plain nice does the job.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { setPriority } from 'node:os';

const NICEST = 19;
/** Output kept per stream: the tools print a few lines; anything longer is cut. */
const MAX_OUTPUT = 1 << 20;

export interface BackgroundResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Starts `binary args…` detached at the lowest priority; resolves when it exits, rejects when it cannot start (ENOENT…) or `signal` aborts. */
export function runInBackground(binary: string, args: readonly string[], signal: AbortSignal): Promise<BackgroundResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    const out = { stdout: '', stderr: '' };
    child.stdout.on('data', (b: Buffer) => (out.stdout = (out.stdout + b.toString()).slice(-MAX_OUTPUT)));
    child.stderr.on('data', (b: Buffer) => (out.stderr = (out.stderr + b.toString()).slice(-MAX_OUTPUT)));
    const abort = (): void => void child.kill('SIGKILL');
    signal.addEventListener('abort', abort, { once: true });
    child.once('error', (err) => {
      signal.removeEventListener('abort', abort);
      reject(err);
    });
    child.once('close', (code) => {
      signal.removeEventListener('abort', abort);
      if (signal.aborted) reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
      else resolve({ code, ...out });
    });
    if (child.pid === undefined) return;
    try {
      setPriority(child.pid, NICEST);
      writeFileSync(`/proc/${child.pid}/autogroup`, String(NICEST));
    } catch {
      // exited already, or no autogroups on this kernel: the nice above stands
    }
  });
}
