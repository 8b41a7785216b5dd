import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const BIN = fileURLToPath(new URL('../../bin/jcs-redis.js', import.meta.url));

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `node bin/jcs-redis.js …` as a user would, with exactly the environment given (plus PATH), so
 * no JCS_* variable or profile of the machine running the tests leaks in. With `shellCommand`, runs
 * that `bash -c` line instead, with pipefail (for pipelines); `args` is then ignored.
 */
export function runCliProcess(
  args: string[],
  env: Record<string, string>,
  timeoutMs = 60_000,
  shellCommand?: string,
  cwd?: string,
): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const [file, argv] = shellCommand === undefined ? [process.execPath, [BIN, ...args]] : ['/bin/bash', ['-c', `set -o pipefail; ${shellCommand}`]];
    const child = spawn(file, argv, {
      cwd,
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
