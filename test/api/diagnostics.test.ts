/**
 * Diagnostics (issue 16) through the official jdcloud-sdk-js against real redis-server processes: the
 * slow log, client connections and topology a tenant sees are what its own clients did and where its
 * nodes are, never the control plane's own connections or commands. Ports 27700-27799 are this file's.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccount } from '../../src/domain/accounts/account-service.ts';
import { sdkError } from '../helpers/sdk-client.ts';
import type { SettingsSdk } from '../helpers/settings-sdk.ts';
import { msSpec, startTestService, waitForStatus, type TestService } from '../helpers/test-service.ts';

const BUSY = "local i = 0 while i < 300000 do i = i + 1 end return i"; // ~10 ms of Lua: over the 1 ms slow-log threshold
let svc: TestService;
let sdk: SettingsSdk;
let id = '';
let port = 0;
const clients: Redis[] = [];

beforeAll(async () => {
  svc = await startTestService({ instancePorts: '27700-27799' });
  sdk = svc.sdk() as SettingsSdk;
  id = (await sdk.createCacheInstance({ cacheInstance: msSpec({ password: 'Abcd1234' }) })).result.cacheInstanceId;
  expect(await waitForStatus(sdk, id, ['running', 'error'])).toBe('running');
  port = (await sdk.describeCacheInstance({ cacheInstanceId: id })).result.cacheInstance.port;
  // Commands over 1 ms go to the slow log from now on; the settings task's own commands must not show.
  await sdk.modifyInstanceConfig({ cacheInstanceId: id, instanceConfig: [{ configName: 'slowlog-log-slower-than', configValue: '1000' }] });
  expect(await waitForStatus(sdk, id, ['running', 'error'])).toBe('running');
  for (const name of ['diag-app', 'diag-worker']) {
    const c = new Redis({ host: '127.0.0.1', port, password: 'Abcd1234', connectionName: name, lazyConnect: true, maxRetriesPerRequest: 0 });
    clients.push(c);
    await c.connect();
    await c.set(`key-of-${name}`, 'v');
    await c.eval(BUSY, 1, `key-of-${name}`);
    await c.eval(BUSY, 1, `key-of-${name}`);
    await c.get(`key-of-${name}`);
  }
});

afterAll(async () => {
  for (const c of clients) c.disconnect();
  await svc?.destroy();
});

describe('diagnostics of a master-slave instance', () => {
  it('describeSlowLog shows the tenant commands newest first with shard and client, and none of the service', async () => {
    const { result } = await sdk.describeSlowLog({ cacheInstanceId: id, pageSize: 100 });
    const commands = (result.slowLogs as { command: string }[]).map((e) => e.command);
    expect(commands).toEqual(expect.arrayContaining([`eval ${BUSY} 1 key-of-diag-app`, `eval ${BUSY} 1 key-of-diag-worker`]));
    expect(commands).not.toContain('get key-of-diag-app'); // fast: under the threshold
    expect(commands.join('\n')).not.toMatch(/ACL|CONFIG|SLOWLOG|REPLCONF|PSYNC|jcs-/i);
    expect(result.totalCount).toBe(result.slowLogs.length);
    const set = (result.slowLogs as Record<string, string>[]).find((e) => e.command === `eval ${BUSY} 1 key-of-diag-app`)!;
    expect(set).toMatchObject({ shardId: `${id}-shard-0`, clientName: 'diag-app', clientAddr: expect.stringMatching(/^127\.0\.0\.1:\d+$/) as unknown });
    expect(set.startTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(set.executionTime).toMatch(/^\d+\.\d{3}ms$/);
    const times = (result.slowLogs as { startTime: string }[]).map((e) => e.startTime);
    expect([...times].sort().reverse()).toEqual(times);
  });

  it('describeSlowLog pages and filters by time window and shard', async () => {
    const all = (await sdk.describeSlowLog({ cacheInstanceId: id, pageSize: 100 })).result;
    expect(all.totalCount).toBe(4);
    const page = (await sdk.describeSlowLog({ cacheInstanceId: id, pageNumber: 1, pageSize: 10 })).result;
    expect(page.totalCount).toBe(all.totalCount);
    expect(page.slowLogs).toEqual(all.slowLogs.slice(0, 10));
    expect((await sdk.describeSlowLog({ cacheInstanceId: id, pageNumber: 2, pageSize: 10 })).result).toEqual({ slowLogs: [], totalCount: 4 });
    const future = (await sdk.describeSlowLog({ cacheInstanceId: id, startTime: '2099-01-01T00:00:00Z' })).result;
    expect(future).toEqual({ slowLogs: [], totalCount: 0 });
    const window = (await sdk.describeSlowLog({ cacheInstanceId: id, startTime: '2000-01-01T00:00:00Z', endTime: '2099-01-01T00:00:00Z', pageSize: 100 })).result;
    expect(window.totalCount).toBe(all.totalCount);
    expect((await sdk.describeSlowLog({ cacheInstanceId: id, shardId: 'nope' })).result.totalCount).toBe(0);
    expect((await sdk.describeSlowLog({ cacheInstanceId: id, shardId: `${id}-shard-0` })).result.totalCount).toBe(all.totalCount);
    expect((await sdk.describeSlowLog({ cacheInstanceId: id, shardAddr: `127.0.0.1:${port}` })).result.totalCount).toBe(all.totalCount);
  });

  it('describeSlowLog refuses bad paging and times, naming the field and the rule', async () => {
    const size = await sdkError(sdk.describeSlowLog({ cacheInstanceId: id, pageSize: 5 }));
    expect(size).toMatchObject({ code: 400, status: 'INVALID_ARGUMENT', message: 'pageSize: must be an integer from 10 to 100' });
    const huge = await sdkError(sdk.describeSlowLog({ cacheInstanceId: id, pageNumber: '1e400' }));
    expect(huge).toMatchObject({ code: 400, status: 'INVALID_ARGUMENT' });
    expect(huge.message).toMatch(/^pageNumber: /);
    const time = await sdkError(sdk.describeSlowLog({ cacheInstanceId: id, startTime: 'yesterday' }));
    expect(time.message).toBe('startTime: must be an ISO 8601 time such as 2026-01-02T03:04:05Z, got "yesterday"');
    const order = await sdkError(sdk.describeSlowLog({ cacheInstanceId: id, startTime: '2026-01-02T00:00:00Z', endTime: '2026-01-01T00:00:00Z' }));
    expect(order.message).toBe('endTime: must not be before startTime');
  });

  it('describeClientList counts the tenant connections per IP, not the service own', async () => {
    const { result } = await sdk.describeClientList({ cacheInstanceId: id });
    expect(result.ips).toEqual([{ ip: '127.0.0.1', clientCount: 2 }]);
  });

  it('describeClientIpDetail lists each connection of an IP', async () => {
    const { result } = await sdk.describeClientIpDetail({ cacheInstanceId: id, ip: '127.0.0.1' });
    const byName = new Map((result.details as { name: string }[]).map((d) => [d.name, d]));
    expect([...byName.keys()].sort()).toEqual(['diag-app', 'diag-worker']);
    expect(byName.get('diag-app')).toMatchObject({ port: expect.stringMatching(/^\d+$/) as unknown, db: '0', lastCmd: 'get', shardId: `${id}-shard-0` });
    expect((await sdk.describeClientIpDetail({ cacheInstanceId: id, ip: '10.9.9.9' })).result.details).toEqual([]);
    const bad = await sdkError(sdk.describeClientIpDetail({ cacheInstanceId: id, ip: 'not-an-ip' }));
    expect(bad).toMatchObject({ code: 400, status: 'INVALID_ARGUMENT', message: 'ip: must be an IPv4 or IPv6 address, got "not-an-ip"' });
  });

  it('describeClusterInfo shows the shard and its nodes with roles and addresses', async () => {
    const { result } = await sdk.describeClusterInfo({ cacheInstanceId: id });
    expect(result.info.proxies).toEqual([]);
    expect(result.info.shards).toEqual([{ id: `${id}-shard-0` }]);
    expect(result.info.redis).toHaveLength(2);
    expect(result.info.redis[0]).toEqual({ id: `${id}-shard-0-master`, shardId: `${id}-shard-0`, role: 'master', address: `127.0.0.1:${port}` });
    expect(result.info.redis[1]).toMatchObject({ id: `${id}-shard-0-replica`, role: 'replica', address: expect.stringMatching(/^127\.0\.0\.1:\d+$/) as unknown });
  });

  it('another account of the service finds none of it', async () => {
    await createAccount(svc.db, { accessKey: 'DIAGOTHERAK', secretKey: 'OTHERSK' });
    const other = svc.sdk('DIAGOTHERAK', 'OTHERSK') as SettingsSdk;
    for (const call of [
      other.describeSlowLog({ cacheInstanceId: id }),
      other.describeClientList({ cacheInstanceId: id }),
      other.describeClientIpDetail({ cacheInstanceId: id, ip: '127.0.0.1' }),
      other.describeClusterInfo({ cacheInstanceId: id }),
    ]) {
      expect(await sdkError(call)).toMatchObject({ code: 404, status: 'NOT_FOUND', message: `cacheInstance ${id} not found` });
    }
  });
});
