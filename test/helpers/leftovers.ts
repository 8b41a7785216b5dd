/** What a test checks is gone after a service cleaned up: processes working in a directory, an open port. */
import { readdirSync, readlinkSync } from 'node:fs';
import { connect } from 'node:net';

/** Pids of every process whose working directory is under `dir` (a redis-server runs in its node's directory). */
export function processesWorkingIn(dir: string): number[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return readlinkSync(`/proc/${p}/cwd`).startsWith(dir);
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** Whether something accepts TCP connections on 127.0.0.1:`port`. */
export const portOpen = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
