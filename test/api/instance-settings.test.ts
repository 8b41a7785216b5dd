/**
 * Configuration, disabled commands and Redis accounts (issue 16) through the official jdcloud-sdk-js,
 * against the real service and real redis-server processes; every effect is checked on Redis itself:
 * parameters with CONFIG GET through the control plane's admin socket on every node, disabled commands
 * and accounts by running commands with ioredis as a tenant would. Ports 27400-27499 are this file's.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccount } from '../../src/domain/accounts/account-service.ts';
import { adminConnection } from '../drivers/local-harness.ts';
import { sdkError, type SdkBody } from '../helpers/sdk-client.ts';
import type { SettingsSdk } from '../helpers/settings-sdk.ts';
import { msSpec, startTestService, waitForStatus, type TestService } from '../helpers/test-service.ts';


let svc: TestService;
let sdk: SettingsSdk;
let id = '';
let port = 0;
const clients: Redis[] = [];

function connect(opts: { username?: string; password?: string } = {}): Redis {
  const c = new Redis({ host: '127.0.0.1', port, ...opts, lazyConnect: true, enableReadyCheck: false, maxRetriesPerRequest: 0, retryStrategy: () => null });
  c.on('error', () => undefined); // failures are asserted on the commands themselves
  clients.push(c);
  return c;
}

/** The client ports of every node of the instance (its node directories). */
function nodePorts(instanceId: string): number[] {
  return readdirSync(join(svc.dataDir, 'instances', instanceId)).filter((n) => /^\d+$/.test(n)).map(Number);
}

/** `CONFIG GET name` on every node, through the control plane's own channel. */
async function configOnEveryNode(instanceId: string, name: string): Promise<string[]> {
  return Promise.all(
    nodePorts(instanceId).map(async (p) => {
      const admin = await adminConnection(svc.dataDir, instanceId, p);
      try {
        return String(((await admin.call('CONFIG', 'GET', name)) as string[])[1]);
      } finally {
        admin.disconnect();
      }
    }),
  );
}

/** Runs a settings call, sees the instance go through `configuring`, and waits until it runs again. */
async function applied(call: Promise<SdkBody>): Promise<void> {
  const res = await call;
  expect(res.requestId).toMatch(/^[a-z0-9]{32}$/);
  expect(await waitForStatus(sdk, id, ['running', 'error'])).toBe('running');
}

/** Kills the master's process; the health check brings it back from its conf and AOF. */
async function killMasterAndWaitRepair(): Promise<void> {
  const pid = Number(readFileSync(join(svc.dataDir, 'instances', id, String(port), 'redis.pid'), 'utf8').trim());
  process.kill(pid, 'SIGKILL');
  await waitForStatus(sdk, id, ['error'], 10_000).catch(() => 'running'); // the check may repair before we look
  expect(await waitForStatus(sdk, id, ['running'], 30_000)).toBe('running');
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const c = connect({ password: 'Abcd1234' });
    if (await c.connect().then(() => c.ping(), () => null)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('the master did not come back');
}

beforeAll(async () => {
  svc = await startTestService({ instancePorts: '27400-27499' });
  sdk = svc.sdk() as SettingsSdk;
  const created = await sdk.createCacheInstance({ cacheInstance: msSpec({ password: 'Abcd1234', slaveAppendonly: 'yes' }) });
  id = created.result.cacheInstanceId;
  expect(await waitForStatus(sdk, id, ['running', 'error'])).toBe('running');
  port = (await sdk.describeCacheInstance({ cacheInstanceId: id })).result.cacheInstance.port;
});

afterAll(async () => {
  for (const c of clients) c.disconnect();
  await svc?.destroy();
});

describe('slaveAppendonly (issue 16, gap 3)', () => {
  it('refuses "no" and anything else but "yes", naming the field and the rule, and reports "yes"', async () => {
    for (const value of ['no', 'maybe']) {
      const err = await sdkError(sdk.createCacheInstance({ cacheInstance: msSpec({ slaveAppendonly: value }) }));
      expect(err).toMatchObject({ code: 400, status: 'INVALID_ARGUMENT' });
      expect(err.message).toMatch(/^cacheInstance\.slaveAppendonly: must be "yes": replicas always keep an AOF/);
    }
    expect((await sdk.describeCacheInstance({ cacheInstanceId: id })).result.cacheInstance.slaveAppendonly).toBe('yes');
    expect(await configOnEveryNode(id, 'appendonly')).toEqual(['yes', 'yes']);
  });
});

describe('instance configuration', () => {
  it('describes every changeable parameter with JD ConfigItem fields, and what cannot be changed', async () => {
    const { result } = await sdk.describeInstanceConfig({ cacheInstanceId: id });
    const byName = new Map((result.instanceConfig as { configName: string }[]).map((c) => [c.configName, c]));
    expect(byName.get('timeout')).toEqual({
      configName: 'timeout',
      configValue: '0',
      configDefaultValue: '0',
      configValueType: 'int',
      configValueMin: 0,
      configValueMax: 7200,
      configValueOptional: null,
      configValueOutputBuffer: '',
      configDescription: expect.stringContaining('idle') as unknown,
      configUnSupport: false,
    });
    expect(byName.get('maxmemory-policy')).toMatchObject({ configValue: 'volatile-lru', configValueType: 'string', configValueOptional: expect.arrayContaining(['allkeys-lru', 'noeviction']) as unknown });
    expect(byName.get('notify-keyspace-events')).toMatchObject({ configValue: '', configValueType: 'byteArray' });
    expect([...byName.keys()]).toEqual(expect.arrayContaining(['hash-max-ziplist-entries', 'list-max-ziplist-size', 'zset-max-ziplist-value', 'slowlog-log-slower-than', 'slowlog-max-len', 'set-max-intset-entries', 'list-compress-depth']));
    expect(result.unSupportConfigs).toEqual(expect.arrayContaining(['maxmemory', 'maxclients', 'appendonly']));
  });

  it('applies a change live on every node, keeps it in the conf, and describes it', async () => {
    const before = connect({ password: 'Abcd1234' });
    await before.connect();
    await applied(
      sdk.modifyInstanceConfig({
        cacheInstanceId: id,
        instanceConfig: [
          { configName: 'timeout', configValue: '300' },
          { configName: 'notify-keyspace-events', configValue: 'KEA' },
          { configName: 'maxmemory-policy', configValue: 'allkeys-lru' },
          { configName: 'hash-max-ziplist-entries', configValue: '256' },
          { configName: 'slowlog-log-slower-than', configValue: '5000' },
        ],
      }),
    );
    expect(await configOnEveryNode(id, 'timeout')).toEqual(['300', '300']);
    expect(await configOnEveryNode(id, 'notify-keyspace-events')).toEqual(['AKE', 'AKE']);
    expect(await configOnEveryNode(id, 'maxmemory-policy')).toEqual(['allkeys-lru', 'allkeys-lru']);
    expect(await configOnEveryNode(id, 'hash-max-listpack-entries')).toEqual(['256', '256']);
    expect(await configOnEveryNode(id, 'slowlog-log-slower-than')).toEqual(['5000', '5000']);
    // Live: a connection opened before the change was not dropped.
    expect(await before.ping()).toBe('PONG');
    for (const p of nodePorts(id)) expect(readFileSync(join(svc.dataDir, 'instances', id, String(p), 'redis.conf'), 'utf8')).toContain('timeout "300"');
    const { result } = await sdk.describeInstanceConfig({ cacheInstanceId: id });
    const value = (n: string): string => (result.instanceConfig as { configName: string; configValue: string }[]).find((c) => c.configName === n)!.configValue;
    expect([value('timeout'), value('notify-keyspace-events'), value('maxmemory-policy')]).toEqual(['300', 'KEA', 'allkeys-lru']);
    expect((await sdk.describeCacheInstance({ cacheInstanceId: id })).result.cacheInstance.maxmemoryPolicy).toBe('allkeys-lru');
  });

  it('refuses a value out of range or a parameter that cannot be changed, naming the field and the rule, and changes nothing', async () => {
    const range = await sdkError(sdk.modifyInstanceConfig({ cacheInstanceId: id, instanceConfig: [{ configName: 'slowlog-max-len', configValue: '5' }, { configName: 'timeout', configValue: '99999' }] }));
    expect(range).toMatchObject({ code: 400, status: 'OUT_OF_RANGE' });
    expect(range.message).toBe('instanceConfig[1].configValue: timeout must be an integer from 0 to 7200, got "99999"');
    const notInt = await sdkError(sdk.modifyInstanceConfig({ cacheInstanceId: id, instanceConfig: [{ configName: 'timeout', configValue: '1e3' }] }));
    expect(notInt.message).toMatch(/^instanceConfig\[0\]\.configValue: timeout must be an integer from 0 to 7200/);
    const events = await sdkError(sdk.modifyInstanceConfig({ cacheInstanceId: id, instanceConfig: [{ configName: 'notify-keyspace-events', configValue: 'KQ' }] }));
    expect(events).toMatchObject({ code: 400, status: 'INVALID_ARGUMENT' });
    expect(events.message).toMatch(/^instanceConfig\[0\]\.configValue: notify-keyspace-events must be empty or a combination of K, E, g/);
    const fixed = await sdkError(sdk.modifyInstanceConfig({ cacheInstanceId: id, instanceConfig: [{ configName: 'maxmemory', configValue: '1' }] }));
    expect(fixed).toMatchObject({ code: 400, status: 'INVALID_ARGUMENT' });
    expect(fixed.message).toMatch(/^instanceConfig\[0\]\.configName: "maxmemory" cannot be changed on this service/);
    const policy = await sdkError(sdk.modifyInstanceConfig({ cacheInstanceId: id, instanceConfig: [{ configName: 'maxmemory-policy', configValue: 'lru' }] }));
    expect(policy.message).toMatch(/^instanceConfig\[0\]\.configValue: maxmemory-policy must be one of volatile-lru/);
    const empty = await sdkError(sdk.modifyInstanceConfig({ cacheInstanceId: id, instanceConfig: [] }));
    expect(empty).toMatchObject({ code: 400, status: 'INVALID_ARGUMENT' });
    expect(empty.message).toMatch(/^instanceConfig: /);
    expect(await configOnEveryNode(id, 'slowlog-max-len')).toEqual(['128', '128']);
    expect((await sdk.describeCacheInstance({ cacheInstanceId: id })).result.cacheInstance.cacheInstanceStatus).toBe('running');
  });
});

describe('disabled commands', () => {
  it('disables the chosen commands live for the default user and reports them', async () => {
    const open = connect({ password: 'Abcd1234' });
    await open.connect();
    await open.set('k1', 'v1');
    await applied(sdk.setDisableCommands({ cacheInstanceId: id, disableCommands: ['keys', 'FLUSHALL'] }));
    const { result } = await sdk.getDisableCommands({ cacheInstanceId: id });
    expect(result.disableCommandLists.map((c: { commandName: string }) => c.commandName)).toEqual(['KEYS', 'FLUSHALL']);
    for (const c of result.disableCommandLists as { disableTime: string }[]) expect(c.disableTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    // Live, also on a connection opened before the change.
    await expect(open.keys('*')).rejects.toThrow(/NOPERM/);
    const fresh = connect({ password: 'Abcd1234' });
    await expect(fresh.keys('*')).rejects.toThrow(/NOPERM/);
    await expect(fresh.flushall()).rejects.toThrow(/NOPERM/);
    expect(await fresh.get('k1')).toBe('v1');
  });

  it('refuses a command that is not offered, naming the entry and the choices', async () => {
    const err = await sdkError(sdk.setDisableCommands({ cacheInstanceId: id, disableCommands: ['KEYS', 'GET'] }));
    expect(err).toMatchObject({ code: 400, status: 'INVALID_ARGUMENT' });
    expect(err.message).toBe('disableCommands[1]: must be one of KEYS, FLUSHALL, FLUSHDB, HGETALL, SMEMBERS, EVAL, EVALSHA, SCRIPT, got "GET"');
  });
});

describe('Redis accounts', () => {
  it('creates a read-only and a read-write account as ACL users on every node; the answers carry no password', async () => {
    await applied(sdk.createAccount({ cacheInstanceId: id, accountName: 'reader', accountPassword: 'Passw0rd1', accountPrivilege: 'RoleReadOnly', accountDescription: 'reports' }));
    await applied(sdk.createAccount({ cacheInstanceId: id, accountName: 'writer', accountPassword: 'Passw0rd2' }));
    const res = await sdk.describeAccounts({ cacheInstanceId: id });
    expect(res.result).toEqual({
      isSupport: true,
      accountLists: [
        { accountName: 'default', accountType: 'default', accountPrivilege: 'RoleReadWrite', accountDescription: expect.any(String) as unknown },
        { accountName: 'reader', accountType: 'normal', accountPrivilege: 'RoleReadOnly', accountDescription: 'reports' },
        { accountName: 'writer', accountType: 'normal', accountPrivilege: 'RoleReadWrite', accountDescription: '' },
      ],
    });
    expect(JSON.stringify(res)).not.toMatch(/Passw0rd|[0-9a-f]{64}/);
    for (const p of nodePorts(id)) {
      const admin = await adminConnection(svc.dataDir, id, p);
      const users = (await admin.call('ACL', 'USERS')) as string[];
      admin.disconnect();
      expect(users).toEqual(expect.arrayContaining(['reader', 'writer', 'default']));
    }
  });

  it('a read-only account reads but cannot write, not even through a script', async () => {
    const writer = connect({ username: 'writer', password: 'Passw0rd2' });
    await writer.set('shared', 'from-writer');
    const reader = connect({ username: 'reader', password: 'Passw0rd1' });
    expect(await reader.get('shared')).toBe('from-writer');
    await expect(reader.set('shared', 'x')).rejects.toThrow(/NOPERM/);
    await expect(reader.del('shared')).rejects.toThrow(/NOPERM/);
    await expect(reader.eval("return redis.call('set', KEYS[1], 'x')", 1, 'shared')).rejects.toThrow(/can't run this command/);
    expect(await writer.get('shared')).toBe('from-writer');
  });

  it('no account escapes the deny list or the disabled commands', async () => {
    for (const [username, password] of [['writer', 'Passw0rd2'], ['reader', 'Passw0rd1']] as const) {
      const c = connect({ username, password });
      await expect(c.call('CONFIG', 'SET', 'maxmemory', '0')).rejects.toThrow(/NOPERM/);
      await expect(c.call('ACL', 'SETUSER', username, '+@all')).rejects.toThrow(/NOPERM/);
      await expect(c.call('REPLICAOF', 'NO', 'ONE')).rejects.toThrow(/NOPERM/);
      await expect(c.keys('*')).rejects.toThrow(/NOPERM/); // disabled by the tenant above
      await expect(c.flushall()).rejects.toThrow(/NOPERM/);
    }
  });

  it('the health check keeps the accounts, and a restarted node comes back with them and the parameters', async () => {
    await new Promise((r) => setTimeout(r, 1_500)); // a few health checks
    expect((await sdk.describeCacheInstance({ cacheInstanceId: id })).result.cacheInstance.cacheInstanceStatus).toBe('running');
    // Never called unhealthy for its accounts or parameters (a "backdoor" user, a "drifted" parameter).
    expect(readFileSync(svc.logFile, 'utf8')).not.toMatch(/unhealthy: [^"]*(ACL user|parameter\(s\))/);
    await killMasterAndWaitRepair();
    const reader = connect({ username: 'reader', password: 'Passw0rd1' });
    expect(await reader.get('shared')).toBe('from-writer');
    await expect(connect({ password: 'Abcd1234' }).keys('*')).rejects.toThrow(/NOPERM/);
    expect(await configOnEveryNode(id, 'timeout')).toEqual(['300', '300']);
  });

  it('a user the control plane did not write is still a backdoor: removed, while the accounts stay', async () => {
    const admin = await adminConnection(svc.dataDir, id, port);
    await admin.call('ACL', 'SETUSER', 'intruder', 'on', '>Stolen123', '~*', '&*', '+@all');
    admin.disconnect();
    const deadline = Date.now() + 15_000;
    for (;;) {
      const c = connect({ username: 'intruder', password: 'Stolen123' });
      if (!(await c.ping().then(() => true, () => false))) break;
      if (Date.now() > deadline) throw new Error('the backdoor user was not removed');
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(await waitForStatus(sdk, id, ['running'], 15_000)).toBe('running');
    // The health check said why (the same pattern the test above finds nowhere for the accounts).
    expect(readFileSync(svc.logFile, 'utf8')).toMatch(/unhealthy: [^"]*ACL user\(s\) intruder/);
    expect(await connect({ username: 'reader', password: 'Passw0rd1' }).get('shared')).toBe('from-writer');
    expect(await connect({ username: 'writer', password: 'Passw0rd2' }).ping()).toBe('PONG');
  });

  it('modifies privilege and password live; the old password stops working', async () => {
    await applied(sdk.modifyAccount({ cacheInstanceId: id, accountName: 'reader', accountPassword: 'Abcd12345', accountPrivilege: 'RoleReadWrite' }));
    await expect(connect({ username: 'reader', password: 'Passw0rd1' }).ping()).rejects.toThrow(/WRONGPASS/);
    const reader = connect({ username: 'reader', password: 'Abcd12345' });
    expect(await reader.set('shared', 'from-reader')).toBe('OK');
    // A description alone reaches no node: stored at once, the status never leaves running.
    await sdk.modifyAccounts({ cacheInstanceId: id, accounts: [{ accountName: 'reader', accountDescription: 'now writes' }, { accountName: 'writer', accountDescription: 'app' }] });
    expect((await sdk.describeCacheInstance({ cacheInstanceId: id })).result.cacheInstance.cacheInstanceStatus).toBe('running');
    const lists = (await sdk.describeAccounts({ cacheInstanceId: id })).result.accountLists as { accountName: string; accountDescription: string }[];
    expect(lists.map((a) => a.accountDescription).slice(1)).toEqual(['now writes', 'app']);
    await applied(sdk.modifyAccounts({ cacheInstanceId: id, accounts: [{ accountName: 'reader', accountPrivilege: 'RoleReadOnly' }] }));
    await expect(connect({ username: 'reader', password: 'Abcd12345' }).set('shared', 'x')).rejects.toThrow(/NOPERM/);
  });

  it('deletes an account from every node and disconnects its sessions', async () => {
    const session = connect({ username: 'writer', password: 'Passw0rd2' });
    expect(await session.ping()).toBe('PONG');
    await applied(sdk.deleteAccount({ cacheInstanceId: id, accountName: 'writer' }));
    await expect(connect({ username: 'writer', password: 'Passw0rd2' }).ping()).rejects.toThrow(/WRONGPASS/);
    await expect(session.ping()).rejects.toThrow();
    const names = ((await sdk.describeAccounts({ cacheInstanceId: id })).result.accountLists as { accountName: string }[]).map((a) => a.accountName);
    expect(names).toEqual(['default', 'reader']);
  });

  it('refuses bad input naming the field and the rule', async () => {
    const cases: [Promise<SdkBody>, number, string, RegExp][] = [
      [sdk.createAccount({ cacheInstanceId: id, accountName: 'reader', accountPassword: 'Passw0rd1' }), 409, 'ALREADY_EXISTS', /^accountName: account "reader" already exists/],
      [sdk.createAccount({ cacheInstanceId: id, accountName: 'Bad-Name', accountPassword: 'Passw0rd1' }), 400, 'INVALID_ARGUMENT', /^accountName: must be 2 to 16 characters: lower-case letters/],
      [sdk.createAccount({ cacheInstanceId: id, accountName: 'default', accountPassword: 'Passw0rd1' }), 400, 'INVALID_ARGUMENT', /^accountName: "default" is the instance password's account/],
      [sdk.createAccount({ cacheInstanceId: id, accountName: 'other', accountPassword: 'short' }), 400, 'INVALID_ARGUMENT', /^accountPassword: must be 8 to 16 letters and digits/],
      [sdk.createAccount({ cacheInstanceId: id, accountName: 'other', accountPassword: 'Passw0rd1', accountPrivilege: 'RoleAdmin' }), 400, 'INVALID_ARGUMENT', /^accountPrivilege: must be RoleReadOnly or RoleReadWrite/],
      [sdk.modifyAccount({ cacheInstanceId: id, accountName: 'nobody', accountPassword: 'Passw0rd1' }), 404, 'NOT_FOUND', /^accountName: no account "nobody"/],
      [sdk.deleteAccount({ cacheInstanceId: id, accountName: 'nobody' }), 404, 'NOT_FOUND', /^accountName: no account "nobody"/],
      [sdk.modifyAccounts({ cacheInstanceId: id, accounts: [{ accountName: 'reader' }, { accountName: 'reader' }] }), 400, 'INVALID_ARGUMENT', /^accounts: account "reader" is named more than once/],
    ];
    for (const [call, code, status, message] of cases) {
      const err = await sdkError(call);
      expect(err).toMatchObject({ code, status });
      expect(err.message).toMatch(message);
    }
  });

  it('refuses malformed bodies and queries with the JD envelope, never a 5xx', async () => {
    const cases: [Promise<SdkBody>, RegExp][] = [
      [sdk.modifyInstanceConfig({ cacheInstanceId: id, instanceConfig: [{ configName: 'timeout', configValue: { a: 1 } }] }), /^instanceConfig\[0\]\.configValue: /],
      [sdk.modifyInstanceConfig({ cacheInstanceId: id, instanceConfig: 'timeout=1' }), /^instanceConfig: /],
      [sdk.setDisableCommands({ cacheInstanceId: id, disableCommands: Array(40).fill('KEYS') }), /^disableCommands: must be at most 32 command names/],
      [sdk.deleteAccount({ cacheInstanceId: id, accountName: '' }), /^accountName: /],
      [sdk.modifyAccounts({ cacheInstanceId: id, accounts: Array(21).fill({ accountName: 'reader' }) }), /^accounts: must be 1 to 20 accounts/],
      [sdk.createAccount({ cacheInstanceId: id, accountName: 'x'.repeat(65), accountPassword: 'Passw0rd1' }), /^accountName: must be 2 to 16 characters/],
    ];
    for (const [call, message] of cases) {
      const err = await sdkError(call);
      expect(err).toMatchObject({ code: 400, status: 'INVALID_ARGUMENT' });
      expect(err.message).toMatch(message);
    }
  });

  it('another account of the service finds none of it: every operation answers 404', async () => {
    await createAccount(svc.db, { accessKey: 'SETOTHERAK', secretKey: 'OTHERSK' });
    const other = svc.sdk('SETOTHERAK', 'OTHERSK') as SettingsSdk;
    const calls = [
      other.describeInstanceConfig({ cacheInstanceId: id }),
      other.modifyInstanceConfig({ cacheInstanceId: id, instanceConfig: [{ configName: 'timeout', configValue: '1' }] }),
      other.getDisableCommands({ cacheInstanceId: id }),
      other.setDisableCommands({ cacheInstanceId: id, disableCommands: [] }),
      other.describeAccounts({ cacheInstanceId: id }),
      other.createAccount({ cacheInstanceId: id, accountName: 'intruder', accountPassword: 'Passw0rd1' }),
      other.modifyAccount({ cacheInstanceId: id, accountName: 'reader', accountPassword: 'Passw0rd1' }),
      other.modifyAccounts({ cacheInstanceId: id, accounts: [{ accountName: 'reader', accountPassword: 'Passw0rd1' }] }),
      other.deleteAccount({ cacheInstanceId: id, accountName: 'reader' }),
    ];
    for (const call of calls) expect(await sdkError(call)).toMatchObject({ code: 404, status: 'NOT_FOUND', message: `cacheInstance ${id} not found` });
    expect(await configOnEveryNode(id, 'timeout')).toEqual(['300', '300']);
  });

  it('concurrent changes never lose one another: one waits for the other, a description is kept', async () => {
    const results = await Promise.allSettled([
      sdk.createAccount({ cacheInstanceId: id, accountName: 'first', accountPassword: 'Passw0rd1' }),
      sdk.createAccount({ cacheInstanceId: id, accountName: 'second', accountPassword: 'Passw0rd2' }),
      sdk.modifyAccount({ cacheInstanceId: id, accountName: 'reader', accountDescription: 'kept' }),
    ]);
    const created = results.slice(0, 2).filter((r) => r.status === 'fulfilled').length;
    expect(created).toBe(1);
    const refused = results.slice(0, 2).find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect((refused.reason as SdkBody).error).toMatchObject({ code: 400, status: 'FAILED_PRECONDITION' });
    expect(results[2]!.status).toBe('fulfilled');
    expect(await waitForStatus(sdk, id, ['running', 'error'])).toBe('running');
    const lists = (await sdk.describeAccounts({ cacheInstanceId: id })).result.accountLists as { accountName: string; accountDescription: string }[];
    expect(lists.map((a) => a.accountName)).toHaveLength(3);
    expect(lists.find((a) => a.accountName === 'reader')!.accountDescription).toBe('kept');
    const name = lists[2]!.accountName;
    expect(await connect({ username: name, password: name === 'first' ? 'Passw0rd1' : 'Passw0rd2' }).ping()).toBe('PONG');
  });

  it('enables every command again with an empty list', async () => {
    await applied(sdk.setDisableCommands({ cacheInstanceId: id, disableCommands: [] }));
    expect((await sdk.getDisableCommands({ cacheInstanceId: id })).result.disableCommandLists).toEqual([]);
    expect(await connect({ password: 'Abcd1234' }).keys('shared')).toEqual(['shared']);
  });
});
