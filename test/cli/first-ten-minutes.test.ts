/**
 * The traps a new user met in the first ten minutes (issue 14), each tried against the real service with
 * the real `jcs-redis` binary: the first class `classes` lists is one `create` accepts; every example
 * of `create --help` runs; `show` names the engine beside the API version and `events` tells the story;
 * commands on the data directory run elsewhere do not create `./data`; the CLI finds a local service's
 * credentials.json (only a file no one else may write); request log lines carry the request id and the
 * account; an operator deletes a prepaid instance so that its account can go; the README's SDK snippet runs.
 */
import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccount } from '../../src/domain/accounts/account-service.ts';
import { msSpec, startTestService, TEST_AK, TEST_SK, waitForStatus, type TestService } from '../helpers/test-service.ts';
import { sdkClient } from '../helpers/sdk-client.ts';
import { runCliProcess } from './run-cli-process.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
let svc: TestService;
let home: string;
let env: Record<string, string>;

beforeAll(async () => {
  svc = await startTestService({ instancePorts: '28500-28549' });
  home = mkdtempSync(join(tmpdir(), 'jcs-ten-minutes-'));
  env = { HOME: home, JCS_ENDPOINT: svc.url, JCS_ACCESS_KEY: TEST_AK, JCS_SECRET_KEY: TEST_SK };
});

afterAll(async () => {
  await svc?.destroy();
  rmSync(home, { recursive: true, force: true });
});

const cli = (args: string[], extra: Record<string, string> = {}, cwd?: string) => runCliProcess(args, { ...env, ...extra }, 60_000, undefined, cwd);
const field = (text: string, label: string): string | undefined => text.split('\n').find((l) => l.startsWith(`${label} `))?.slice(label.length).trim();

describe('the first ten minutes', () => {
  it('classes lists classes create accepts; show names the engine; events tells the story', async () => {
    const classes = await cli(['classes', '--quiet']);
    expect(classes.code).toBe(0);
    const first = classes.stdout.split('\n')[0] as string;
    const created = await cli(['create', '--name', 'first_class', '--class', first, '--password', 'Passw0rd1', '--wait', '--quiet']);
    expect(created.stderr).toBe('');
    const id = created.stdout.trim();
    const engine = /v=(\d+\.\d+)/.exec((await promisify(execFile)('redis-server', ['--version'])).stdout)?.[1];
    const shown = await cli(['show', id]);
    expect(field(shown.stdout, 'Redis version')).toBe(`4.0 (API version; the engine is Redis ${engine})`);
    const events = await cli(['events', id]);
    expect(events.code).toBe(0);
    expect(events.stdout).toMatch(/status\s+creating → running/);
    expect(events.stdout).toMatch(/task-finished\s+create in \d+ ms/);
    // Another account's instance does not exist for it: the same NOT_FOUND as an unknown id.
    await createAccount(svc.db, { accessKey: 'EVENTSAK', secretKey: 'EVENTSSK' });
    const foreign = await cli(['events', id], { JCS_ACCESS_KEY: 'EVENTSAK', JCS_SECRET_KEY: 'EVENTSSK' });
    expect(foreign.code).toBe(3);
    expect(foreign.stderr).toContain('NOT_FOUND');
    expect(foreign.stdout).toBe('');
    expect((await cli(['delete', id, '--wait'])).code).toBe(0);
  });

  it('every example of create --help runs as written', async () => {
    const help = (await cli(['create', '--help'])).stdout;
    const examples = [...help.matchAll(/^\s+\$ jcs-redis (.+)$/gm)].map((m) => (m[1] as string).split(' '));
    expect(examples.length).toBeGreaterThanOrEqual(2);
    const ids: string[] = [];
    for (const args of examples) {
      const res = await cli(args);
      expect(res.stderr, args.join(' ')).toBe('');
      expect(res.code, args.join(' ')).toBe(0);
      ids.push(args.includes('--json') ? (JSON.parse(res.stdout) as { cacheInstanceId: string }).cacheInstanceId : (/redis-[a-z0-9]{12}/.exec(res.stdout)?.[0] as string));
    }
    for (const id of ids) {
      expect(await waitForStatus(svc.sdk(), id, ['running', 'error'])).toBe('running');
      expect((await cli(['delete', id, '--wait'])).code).toBe(0);
    }
  });

  it('commands on the data directory, run elsewhere, refuse instead of creating ./data', async () => {
    const elsewhere = mkdtempSync(join(tmpdir(), 'jcs-elsewhere-'));
    try {
      for (const args of [['accounts', 'list'], ['accounts', 'create'], ['admin', 'delete-instance', 'redis-x', '--force']]) {
        const res = await cli(args, {}, elsewhere);
        expect(res.code, args.join(' ')).toBe(2);
        expect(res.stderr).toContain(`no jcs-redis data directory at ${join(elsewhere, 'data')}`);
        expect(existsSync(join(elsewhere, 'data')), args.join(' ')).toBe(false);
      }
      const listed = await cli(['accounts', 'list', '--data-dir', svc.dataDir], {}, elsewhere);
      expect(listed.stdout).toContain(TEST_AK);
    } finally {
      rmSync(elsewhere, { recursive: true, force: true });
    }
  });

  it("uses a local service's data/credentials.json when no keys are given, and says so; not a file others may write", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'jcs-credentials-'));
    try {
      mkdirSync(join(dir, 'data'));
      const file = join(dir, 'data', 'credentials.json');
      writeFileSync(file, JSON.stringify({ accessKey: TEST_AK, secretKey: TEST_SK }), { mode: 0o600 });
      const noKeys = { HOME: home, JCS_ENDPOINT: svc.url };
      const found = await runCliProcess(['list', '--quiet'], noKeys, 60_000, undefined, dir);
      expect(found.code).toBe(0);
      expect(found.stderr).toBe(`using the keys of the local service in ${file}\n`);
      chmodSync(file, 0o666);
      const refused = await runCliProcess(['list'], noKeys, 60_000, undefined, dir);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toMatch(/no access key/);
      // A remote endpoint never gets a local file's keys.
      chmodSync(file, 0o600);
      const remote = await runCliProcess(['list'], { HOME: home, JCS_ENDPOINT: 'http://192.0.2.1:8000' }, 60_000, undefined, dir);
      expect(remote.code).toBe(2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('request log lines carry the request id and the account', async () => {
    const res = await svc.sdk().describeCacheInstances({});
    const lines = readFileSync(svc.logFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
    const line = lines.find((l) => l.msg === 'request' && l.requestId === res.requestId);
    expect(line).toMatchObject({ account: TEST_AK, status: 200, url: '/v1/regions/:regionId/cacheInstance' });
  });

  it('admin delete-instance --force deletes a prepaid instance before it expires, so its account can be deleted', async () => {
    await createAccount(svc.db, { accessKey: 'PREPAIDAK', secretKey: 'PREPAIDSK' });
    const sdk = sdkClient(svc.url, 'PREPAIDAK', 'PREPAIDSK');
    const id = (await sdk.createCacheInstance({ cacheInstance: msSpec({ cacheInstanceName: 'prepaid' }), charge: { chargeMode: 'prepaid_by_duration', chargeUnit: 'month', chargeDuration: 1 } })).result
      .cacheInstanceId as string;
    expect(await waitForStatus(sdk, id, ['running', 'error'])).toBe('running');
    await expect(sdk.deleteCacheInstance({ cacheInstanceId: id })).rejects.toMatchObject({ error: { status: 'FAILED_PRECONDITION' } });
    const data = ['--data-dir', svc.dataDir];
    expect((await cli(['accounts', 'delete', 'PREPAIDAK', ...data])).code).toBe(3);
    const unforced = await cli(['admin', 'delete-instance', id, ...data]);
    expect(unforced.code).toBe(2);
    expect(unforced.stderr).toMatch(/needs --force/);
    expect((await cli(['admin', 'delete-instance', 'redis-nosuchthing', '--force', ...data])).code).toBe(3);
    const forced = await cli(['admin', 'delete-instance', id, '--force', ...data]);
    expect(forced.code).toBe(0);
    expect(forced.stdout).toContain(`${id} (account PREPAIDAK, was running) is deleting`);
    // The running service's engine picks the task up from the store.
    expect(await waitForStatus(sdk, id, ['gone'])).toBe('gone');
    const deleted = await cli(['accounts', 'delete', 'PREPAIDAK', ...data]);
    expect(deleted.stdout).toBe('deleted PREPAIDAK\n');
  });

  it("the README's SDK example runs as written", async () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const example = readFileSync(join(ROOT, 'examples', 'sdk-quick-start.mjs'), 'utf8');
    expect(readme).toContain(`\`\`\`js\n${example}\`\`\``);
    const out = await promisify(execFile)(process.execPath, [join(ROOT, 'examples', 'sdk-quick-start.mjs')], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', JCS_ACCESS_KEY: TEST_AK, JCS_SECRET_KEY: TEST_SK, JCS_HOST_PORT: new URL(svc.url).host },
    });
    const id = /(redis-[a-z0-9]{12}) running at 127\.0\.0\.1:\d+/.exec(out.stdout)?.[1];
    expect(id, out.stdout).toBeDefined();
    expect(await waitForStatus(svc.sdk(), id as string, ['gone'])).toBe('gone');
  });
});
