/**
 * Runs the README's "Try it from the terminal" quick start as written: the first block starts the service, the second
 * creates an instance with --wait, connects with redis-cli, resizes and deletes it. The only changes
 * are the ports: the service listens on a free port (JCS_PORT / JCS_ENDPOINT) and hands out instance
 * ports (at random) from 19300-19399.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { killInstanceProcesses, removeInstanceCgroups } from '../helpers/test-service.ts';
import { runCliProcess } from './run-cli-process.ts';
import { closedPort } from './stub-api-server.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const FIRST_INSTANCE_PORT = 19300;

function quickStartBlocks(): [string, string] {
  const heading = '## Try it from the terminal';
  const doc = readFileSync(join(ROOT, 'README.md'), 'utf8');
  if (!doc.includes(heading)) throw new Error(`README.md has no "${heading}" section`);
  const section = doc.slice(doc.indexOf(heading), doc.indexOf('\n## ', doc.indexOf(heading) + 1));
  const blocks = [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1] as string);
  if (blocks.length !== 2) throw new Error(`expected two sh blocks in the quick start, found ${blocks.length}`);
  return blocks as [string, string];
}

const dataDir = mkdtempSync(join(tmpdir(), 'jcs-quick-start-'));
const home = mkdtempSync(join(tmpdir(), 'jcs-quick-start-home-'));
let server: ChildProcess | undefined;

afterAll(async () => {
  // The service runs in its own process group (bash → npx → node): stop exactly that group.
  if (server?.pid && server.exitCode === null) process.kill(-server.pid, 'SIGKILL');
  // Instances outlive the control plane by design; a failed run may leave one behind.
  killInstanceProcesses(dataDir);
  await removeInstanceCgroups(dataDir);
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(home, { recursive: true, force: true });
});

function startServer(block: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    server = spawn('/bin/bash', ['-c', block], {
      cwd: ROOT,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        PATH: process.env.PATH ?? '',
        HOME: home,
        npm_config_offline: 'true',
        npm_config_update_notifier: 'false',
        JCS_PORT: String(port),
        JCS_DATA_DIR: dataDir,
        JCS_INSTANCE_PORTS: `${FIRST_INSTANCE_PORT}-${FIRST_INSTANCE_PORT + 99}`,
      },
    });
    let output = '';
    const timer = setTimeout(() => reject(new Error(`service did not start:\n${output}`)), 30_000);
    const onData = (d: Buffer) => {
      output += d.toString('utf8');
      if (output.includes('jcs-redis listening on')) {
        clearTimeout(timer);
        resolve(output);
      }
    };
    server.stdout?.on('data', onData);
    server.stderr?.on('data', onData);
    server.on('exit', (code) => reject(new Error(`service exited with ${code}:\n${output}`)));
  });
}

describe('README quick start (terminal)', () => {
  it('runs as written', async () => {
    const [serveBlock, clientBlock] = quickStartBlocks();
    const port = await closedPort();
    await startServer(serveBlock, port);

    const script = `set -euo pipefail\nset -x\n${clientBlock}`;
    const out = await runCliProcess([], { HOME: home, JCS_ENDPOINT: `http://127.0.0.1:${port}`, npm_config_offline: 'true', npm_config_update_notifier: 'false' }, 170_000, script, ROOT);

    expect(out.stderr).not.toMatch(/error/i);
    expect(out.code).toBe(0);
    const lines = out.stdout.split('\n');
    expect(lines).toContainEqual(expect.stringMatching(/^Status\s+running$/));
    const endpoint = lines.map((l) => /^Endpoint\s+127\.0\.0\.1:(\d+)$/.exec(l)).find(Boolean);
    expect(Number(endpoint?.[1])).toBeGreaterThanOrEqual(FIRST_INSTANCE_PORT);
    expect(Number(endpoint?.[1])).toBeLessThanOrEqual(FIRST_INSTANCE_PORT + 99);
    expect(lines).toContain('PONG');
    expect(lines).toContainEqual(expect.stringMatching(/^Class\s+redis\.m\.small\.basic \(2 GB\)$/));
    expect(lines).toContainEqual(expect.stringMatching(/^redis-[a-z0-9]{12} deleted$/));
  }, 240_000);
});
