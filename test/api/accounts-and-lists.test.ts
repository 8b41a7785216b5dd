/**
 * The operator's account commands (on the data directory, no server), the first-start credentials
 * file, and every list filter over seeded rows.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { startService } from '../../src/main.ts';
import { insertInstance } from '../../src/store/instances-repo.ts';
import type { InstancesTable } from '../../src/store/schema.ts';
import { instanceRow } from '../helpers/instance-row.ts';
import { sdkClient } from '../helpers/sdk-client.ts';
import { startTestService } from '../helpers/test-service.ts';

const run = promisify(execFile);
const BIN = fileURLToPath(new URL('../../bin/jcs-redis.js', import.meta.url));
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const tmp = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'jcs-accounts-'));
  dirs.push(d);
  return d;
};

describe('accounts', () => {
  it('first start without a configured key writes credentials.json (0600) that works with the SDK', async () => {
    const dataDir = tmp();
    const env: NodeJS.ProcessEnv = { JCS_DATA_DIR: dataDir, JCS_INSTANCE_PORTS: '19700-19709' };
    const service = await startService(loadConfig(env, { port: 0 }), pino({ level: 'silent' }));
    try {
      const file = join(dataDir, 'credentials.json');
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(statSync(join(dataDir, 'jcs-redis.db')).mode & 0o777).toBe(0o600);
      const { accessKey, secretKey } = JSON.parse(readFileSync(file, 'utf8')) as { accessKey: string; secretKey: string };
      const quota = await sdkClient(service.url, accessKey, secretKey).describeUserQuota({});
      expect(quota.result.quota.used).toBe(0);
    } finally {
      await service.close();
    }
  });

  it('accounts create --json, list and delete work on the data directory', async () => {
    const dataDir = tmp();
    const env = { ...process.env, JCS_DATA_DIR: dataDir };
    const created = JSON.parse((await run(process.execPath, [BIN, 'accounts', 'create', '--json'], { env })).stdout) as Record<string, string>;
    expect(Object.keys(created).sort()).toEqual(['accessKey', 'secretKey']);
    expect(created.accessKey).toMatch(/^JDC_[0-9A-F]{28}$/);
    const listed = JSON.parse((await run(process.execPath, [BIN, 'accounts', 'list', '--json'], { env })).stdout) as { accessKey: string }[];
    expect(listed.map((a) => a.accessKey)).toEqual([created.accessKey]);
    expect(JSON.stringify(listed)).not.toContain(created.secretKey!);
    await run(process.execPath, [BIN, 'accounts', 'delete', created.accessKey!], { env });
    const after = JSON.parse((await run(process.execPath, [BIN, 'accounts', 'list', '--json'], { env })).stdout) as unknown[];
    expect(after).toEqual([]);
    await expect(run(process.execPath, [BIN, 'accounts', 'delete', 'NOPE'], { env })).rejects.toMatchObject({ code: 3 });
  });
});

describe('list filters over seeded rows', () => {
  it('filters by every name, ANDs filters, ORs values, pages and counts', async () => {
    const svc = await startTestService({ instancePorts: '19710-19719' });
    try {
      // Rows in `creating` without a task: the engine leaves them alone, so no process is started.
      const seed: [string, Partial<InstancesTable>, { key: string; value: string }[]][] = [
        ['alpha_one', {}, [{ key: 'env', value: 'prod' }]],
        ['alpha_two', { redis_version: '2.8', instance_class: 'redis.m1.micro.basic', vpc_id: 'vpc-b' }, [{ key: 'env', value: 'dev' }]],
        ['beta_one', { status: 'changing', charge_mode: 'prepaid_by_duration', subnet_id: 'subnet-b' }, []],
        ['beta_two', { instance_type: 'native-cluster', status: 'deleting' }, [{ key: 'team', value: 'x' }]],
        ['gamma_50%', {}, []],
      ];
      for (const [i, [name, extra, tags]] of seed.entries()) {
        await insertInstance(svc.db, instanceRow({ ...extra, id: `redis-seed${String(i).padStart(7, '0')}`, account: 'TESTAK', name, created_ms: 1000 + i }), tags);
      }
      const sdk = svc.sdk();
      const names = async (params: Record<string, unknown>): Promise<string[]> =>
        ((await sdk.describeCacheInstances(params)).result.cacheInstances as { cacheInstanceName: string }[]).map((c) => c.cacheInstanceName);
      const f = (name: string, ...values: string[]) => ({ name, values });
      expect(await names({ filters: [f('cacheInstanceName', 'alpha')] })).toEqual(['alpha_two', 'alpha_one']);
      expect(await names({ filters: [f('cacheInstanceName', '50%')] })).toEqual(['gamma_50%']);
      expect(await names({ filters: [f('cacheInstanceName', 'alpha'), f('cacheInstanceName', 'one')] })).toEqual(['alpha_one']);
      expect(await names({ filters: [f('cacheInstanceName', 'gamma', 'beta_t')] })).toEqual(['gamma_50%', 'beta_two']);
      expect(await names({ filters: [f('cacheInstanceName', '%')] })).toEqual(['gamma_50%']);
      expect(await names({ filters: [f('cacheInstanceStatus', 'changing', 'deleting')] })).toEqual(['beta_two', 'beta_one']);
      expect(await names({ filters: [f('redisVersion', '2.8')] })).toEqual(['alpha_two']);
      expect(await names({ filters: [f('instanceType', 'redis_cluster')] })).toEqual(['beta_two']);
      expect(await names({ filters: [f('chargeMode', 'prepaid_by_duration')] })).toEqual(['beta_one']);
      expect(await names({ filters: [f('vpcId', 'vpc-b')] })).toEqual(['alpha_two']);
      expect(await names({ filters: [f('subnetId', 'subnet-b')] })).toEqual(['beta_one']);
      expect(await names({ filters: [f('cacheInstanceId', 'redis-seed0000000', 'redis-seed0000004')] })).toEqual(['gamma_50%', 'alpha_one']);
      // AND across filters, OR across values.
      expect(await names({ filters: [f('cacheInstanceName', 'one'), f('cacheInstanceStatus', 'creating', 'changing')] })).toEqual(['beta_one', 'alpha_one']);
      expect(await names({ tagFilters: [{ key: 'env' }] })).toEqual(['alpha_two', 'alpha_one']);
      expect(await names({ tagFilters: [{ key: 'env', values: ['dev', 'qa'] }] })).toEqual(['alpha_two']);
      expect(await names({ tagFilters: [{ key: 'env' }, { key: 'team' }] })).toEqual([]);
      expect(await names({ sorts: [{ name: 'createTime', direction: 'asc' }] })).toEqual(['alpha_one', 'alpha_two', 'beta_one', 'beta_two', 'gamma_50%']);
      const page2 = (await sdk.describeCacheInstances({ pageNumber: 2, pageSize: 10 })).result;
      expect(page2).toEqual({ cacheInstances: [], totalCount: 5 });
      // Gaps and odd order in the flattened keys (as the JS SDK sends tagFilters) parse the same.
      const { signedFetch } = await import('../helpers/signed-fetch.ts');
      const res = await signedFetch(svc.url, {
        method: 'GET',
        path: '/v1/regions/cn-north-1/cacheInstance',
        query: 'tagFilters.3.values.1=prod&filters.7.values.2=alpha_one&tagFilters.3.key=env&filters.7.name=cacheInstanceName',
      });
      expect(res.json.result.cacheInstances.map((c: { cacheInstanceName: string }) => c.cacheInstanceName)).toEqual(['alpha_one']);
    } finally {
      await svc.db.deleteFrom('instance_tags').execute();
      await svc.db.deleteFrom('instances').execute();
      await svc.destroy();
    }
  });
});
