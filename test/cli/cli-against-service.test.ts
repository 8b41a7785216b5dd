/**
 * The `jcs-redis` binary as a subprocess against the real service (in-process, real redis-server
 * instances on ports 19000-19299; quick-start.test.ts uses 19300-19399): every subcommand, its outputs and its exit codes.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, TEST_AK, TEST_SK, type TestService } from '../helpers/test-service.ts';
import { BIN, runCliProcess } from './run-cli-process.ts';
import { closedPort, instanceBody, startStubServer, STUB_AK, STUB_SK } from './stub-api-server.ts';

let svc: TestService;
let home: string;
let env: Record<string, string>;

beforeAll(async () => {
  svc = await startTestService({ instancePorts: '19000-19299' });
  home = mkdtempSync(join(tmpdir(), 'jcs-cli-home-'));
  env = { HOME: home, JCS_ENDPOINT: svc.url, JCS_ACCESS_KEY: TEST_AK, JCS_SECRET_KEY: TEST_SK };
}, 60_000);

afterAll(async () => {
  await svc?.destroy();
  rmSync(home, { recursive: true, force: true });
}, 60_000);

const cli = (args: string[], extraEnv: Record<string, string> = {}) => runCliProcess(args, { ...env, ...extraEnv });

async function ping(endpoint: string, password: string): Promise<string> {
  const [host, port] = endpoint.split(':') as [string, string];
  const client = new Redis({ host, port: Number(port), password, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  try {
    await client.connect();
    return await client.ping();
  } finally {
    client.disconnect();
  }
}

function field(table: string, label: string): string {
  const line = table.split('\n').find((l) => l.startsWith(`${label} `));
  if (!line) throw new Error(`no "${label}" in:\n${table}`);
  return line.slice(label.length).trim();
}

describe('jcs-redis against the service', () => {
  it('classes and quota: table, --json (the API result) and --quiet', async () => {
    const table = await cli(['classes', '--redis-version', '4.0']);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^CLASS\s+TYPE\s+MEMORY\s+CPU\s+MAX CONNECTIONS\s+BANDWIDTH\n/);
    expect(table.stdout).toMatch(/redis\.m\.micro\.basic\s+master-slave\s+1 GB/);

    const json = await cli(['describe-instance-class', '--redis-version', '4.0', '--json']);
    const result = JSON.parse(json.stdout) as { instanceClasses: { instanceClass: string }[]; totalCount: number };
    expect(result.totalCount).toBe(result.instanceClasses.length);
    const quiet = await cli(['classes', '--redis-version', '4.0', '--quiet']);
    expect(quiet.stdout.trim().split('\n')).toEqual(result.instanceClasses.map((c) => c.instanceClass));

    const quota = await cli(['describe-user-quota', '--json']);
    expect(quota.code).toBe(0);
    expect(JSON.parse(quota.stdout)).toEqual({ quota: { name: expect.any(String), max: 20, used: 0 } });
    expect((await cli(['quota'])).stdout).toMatch(/Used\s+0\nMax\s+20\nAvailable\s+20\n/);
  }, 60_000);

  it('create --wait, connect with the printed endpoint and password, list, show, rename, resize, reset-password, delete', async () => {
    const created = await cli(['create', '--name', 'cli_demo', '--password', 'Passw0rd1', '--wait']);
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    // Piped output: no spinner frames, no control characters.
    expect(created.stdout).not.toContain('\r');
    expect(created.stdout).not.toContain('\u001b');
    expect(field(created.stdout, 'Status')).toBe('running');
    const id = field(created.stdout, 'ID');
    const endpoint = field(created.stdout, 'Endpoint');
    expect(endpoint).toMatch(/^127\.0\.0\.1:19\d{3}$/);
    expect(await ping(endpoint, 'Passw0rd1')).toBe('PONG');

    const listed = await cli(['list', '--quiet']);
    expect(listed.stdout).toBe(`${id}\n`);
    const listJson = JSON.parse((await cli(['describe-cache-instances', '--json', '--status', 'running'])).stdout) as {
      cacheInstances: { cacheInstanceId: string }[];
      totalCount: number;
    };
    expect(listJson.totalCount).toBe(1);
    expect(listJson.cacheInstances[0]?.cacheInstanceId).toBe(id);
    expect(JSON.parse((await cli(['list', '--json', '--status', 'error'])).stdout)).toEqual({ cacheInstances: [], totalCount: 0 });

    const renamed = await cli(['rename', id, '--name', 'cli_renamed', '--description', 'from the CLI']);
    expect(renamed).toMatchObject({ code: 0, stdout: `${id} updated\n` });
    const shown = JSON.parse((await cli(['describe-cache-instance', id, '--json'])).stdout) as { cacheInstance: Record<string, unknown> };
    expect(shown.cacheInstance).toMatchObject({ cacheInstanceId: id, cacheInstanceName: 'cli_renamed', cacheInstanceDescription: 'from the CLI' });

    const resized = await cli(['modify-cache-instance-class', id, '--class', 'redis.m.small.basic', '--wait']);
    expect(resized.code).toBe(0);
    expect(field(resized.stdout, 'Class')).toBe('redis.m.small.basic (2 GB)');
    expect(field(resized.stdout, 'Status')).toBe('running');

    const reset = await cli(['reset-password', id, '--password', 'N3wPassw0rd', '--wait', '--quiet']);
    expect(reset).toMatchObject({ code: 0, stdout: `${id}\n` });
    expect(await ping(endpoint, 'N3wPassw0rd')).toBe('PONG');

    // The password can also come from standard input, keeping it out of argv.
    const fromStdin = await runCliProcess([], env, 60_000, `printf 'Std1nPassw0rd\\n' | "${process.execPath}" "${BIN}" reset-password ${id} --password-stdin --wait`);
    expect(fromStdin.code).toBe(0);
    expect(await ping(endpoint, 'Std1nPassw0rd')).toBe('PONG');

    // The white list (enforcing one is test/packaging's and test/security's, inside network namespaces).
    expect(await cli(['describe-ip-white-list', id])).toMatchObject({ code: 0, stdout: '0.0.0.0/0\n' });
    expect(await cli(['allow', id, '--ip', '0.0.0.0/0'])).toMatchObject({ code: 0, stdout: `${id} admits 0.0.0.0/0\n` });
    const badCidr = await cli(['modify-ip-white-list', id, '--ip', '10.0.0.0/8,300.1.1.1']);
    expect(badCidr.code).toBe(3);
    expect(badCidr.stderr).toMatch(/^error: INVALID_ARGUMENT \(HTTP 400\): ipWhiteList\[1\]: "300\.1\.1\.1" must be an IPv4 address or CIDR/);
    expect(JSON.parse((await cli(['ips', id, '--json'])).stdout)).toEqual({ ipWhiteList: ['0.0.0.0/0'] });

    const shownTable = await cli(['show', id]);
    expect(field(shownTable.stdout, 'Name')).toBe('cli_renamed');
    expect(field(shownTable.stdout, 'Password')).toBe('required');

    const deleted = await cli(['delete-cache-instance', id, '--wait']);
    expect(deleted).toMatchObject({ code: 0, stdout: `${id} deleted\n`, stderr: '' });
    const gone = await cli(['show', id]);
    expect(gone.code).toBe(3);
    expect(gone.stderr).toMatch(/^error: NOT_FOUND \(HTTP 404\): .*\[requestId [a-z0-9]+\]\n$/);
    expect(JSON.parse((await cli(['quota', '--json'])).stdout).quota.used).toBe(0);
  }, 180_000);

  it('create without --wait answers at once with the id; --json prints the create result', async () => {
    const created = await cli(['create', '--name', 'cli_nowait', '--json']);
    expect(created.code).toBe(0);
    const result = JSON.parse(created.stdout) as { cacheInstanceId: string };
    expect(result.cacheInstanceId).toMatch(/^redis-[a-z0-9]{12}$/);
    const shown = JSON.parse((await cli(['show', result.cacheInstanceId, '--json'])).stdout) as { cacheInstance: { cacheInstanceStatus: string } };
    expect(['creating', 'running']).toContain(shown.cacheInstance.cacheInstanceStatus);
    await runUntilDeleted(result.cacheInstanceId);
    expect((await cli(['show', result.cacheInstanceId])).code).toBe(3);
  }, 120_000);

  it('API errors exit 3 with status and message: wrong secret, unknown key, unknown instance, invalid class', async () => {
    const wrongSecret = await cli(['list', '--secret-key', 'not-the-secret']);
    expect(wrongSecret.code).toBe(3);
    expect(wrongSecret.stderr).toMatch(/^error: ACCESS_ERROR \(HTTP 401\): sign result is not same/);

    const unknownKey = await cli(['quota'], { JCS_ACCESS_KEY: 'NOSUCHKEY' });
    expect(unknownKey.code).toBe(3);
    expect(unknownKey.stderr).toMatch(/ACCESS_ERROR \(HTTP 401\): sign result is not same/);

    for (const args of [['show', 'redis-doesnotexist'], ['delete', 'redis-doesnotexist'], ['resize', 'redis-doesnotexist', '--class', 'redis.m.small.basic']]) {
      const out = await cli(args);
      expect({ args, code: out.code }).toEqual({ args, code: 3 });
      expect(out.stderr).toMatch(/^error: NOT_FOUND \(HTTP 404\)/);
    }

    const badClass = await cli(['create', '--name', 'cli_bad', '--class', 'redis.no.such.class']);
    expect(badClass.code).toBe(3);
    expect(badClass.stderr).toMatch(/^error: (INVALID_ARGUMENT|OUT_OF_RANGE|NOT_FOUND) \(HTTP 4\d\d\)/);
  }, 60_000);

  it('reads endpoint and keys from the profile file when no flag or environment gives them', async () => {
    const profileHome = mkdtempSync(join(tmpdir(), 'jcs-cli-profile-'));
    try {
      mkdirSync(join(profileHome, '.jcs-redis'));
      writeFileSync(
        join(profileHome, '.jcs-redis', 'config'),
        `[default]\nendpoint = http://127.0.0.1:1\n\n[local]\nendpoint = ${svc.url}\naccess_key = ${TEST_AK}\nsecret_key = ${TEST_SK}\n`,
      );
      const out = await runCliProcess(['quota', '--profile', 'local', '--quiet'], { HOME: profileHome });
      expect(out).toMatchObject({ code: 0, stdout: '0/20\n' });
      const viaEnv = await runCliProcess(['quota', '--quiet'], { HOME: profileHome, JCS_PROFILE: 'local' });
      expect(viaEnv.stdout).toBe('0/20\n');
    } finally {
      rmSync(profileHome, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('jcs-redis failures that need no service', () => {
  it('usage errors exit 2: unknown command, unknown flag, missing argument, bad value, missing credentials', async () => {
    for (const args of [['frobnicate'], ['list', '--bogus'], ['show'], ['create'], ['list', '--page-size', 'ten'], ['list', '--json', '--quiet']]) {
      const out = await cli(args);
      expect({ args, code: out.code }).toEqual({ args, code: 2 });
      expect(out.stderr).toMatch(/error/);
    }
    const noKeys = await runCliProcess(['list'], { HOME: home });
    expect(noKeys.code).toBe(2);
    expect(noKeys.stderr).toMatch(/no access key/);
  }, 60_000);

  it('stops quietly when the reader closes the pipe early (jcs-redis list --json | head -1)', async () => {
    // Far more than a pipe buffer, so the CLI is still writing when head exits.
    const stub = await startStubServer();
    const cacheInstances = Array.from({ length: 2000 }, (_, i) => instanceBody(`redis-${String(i).padStart(12, '0')}`, 'running'));
    stub.handler = () => ({ body: { requestId: 'r', result: { cacheInstances, totalCount: cacheInstances.length } } });
    try {
      const line = `"${process.execPath}" "${BIN}" list --json --endpoint ${stub.url} --access-key ${STUB_AK} --secret-key ${STUB_SK} | head -1`;
      const out = await runCliProcess([], { HOME: home }, 30_000, line);
      expect(out).toEqual({ code: 0, stdout: '{\n', stderr: '' });
    } finally {
      await stub.close();
    }
  }, 30_000);

  it('a service that is down exits 4', async () => {
    const port = await closedPort();
    const out = await cli(['list', '--endpoint', `http://127.0.0.1:${port}`]);
    expect(out.code).toBe(4);
    expect(out.stderr).toBe(`error: cannot reach http://127.0.0.1:${port} (ECONNREFUSED); is the service running?\n`);
  }, 30_000);

  it('--help works on every command and alias, shows an example and exits 0', async () => {
    const top = await cli(['--help']);
    expect(top.code).toBe(0);
    expect(top.stdout).toContain('Exit codes: 0 ok, 2 usage error, 3 API error, 4 service unreachable');
    const names = [
      'create-cache-instance', 'describe-cache-instances', 'describe-cache-instance', 'delete-cache-instance',
      'modify-cache-instance-attribute', 'modify-cache-instance-class', 'reset-cache-instance-password',
      'describe-instance-class', 'describe-user-quota', 'describe-ip-white-list', 'modify-ip-white-list',
    ];
    const aliases = ['create', 'list', 'show', 'rename', 'resize', 'reset-password', 'delete', 'classes', 'quota', 'ips', 'allow'];
    for (const name of [...names, ...aliases]) expect(top.stdout).toContain(name);
    for (const name of aliases) {
      const help = await cli([name, '--help']);
      expect({ name, code: help.code }).toEqual({ name, code: 0 });
      expect(help.stdout).toMatch(new RegExp(`Example[s]?:\\n  \\$ jcs-redis ${name}`));
      expect(help.stdout).toContain('--endpoint <url>');
    }
  }, 120_000);
});

/** Deletes with --wait, retrying while the service refuses because the instance is still being created. */
async function runUntilDeleted(id: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const out = await cli(['delete', id, '--wait', '--quiet']);
    if (out.code === 0) {
      expect(out.stdout).toBe(`${id}\n`);
      return;
    }
    expect(out.stderr).toMatch(/FAILED_PRECONDITION/);
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`could not delete ${id}`);
}
