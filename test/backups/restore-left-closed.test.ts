/**
 * What a restore that did not finish can leave behind, and the repair that follows (issue 17, chaos):
 * - nodes without their client ports (`port 0`, as the restore closes them while it replaces the data)
 *   once the restore is gone (given up, or its reopening failed): the repair gives the ports back and the
 *   data is still there;
 * - a cluster node started with `--port 0` (what a restore did with a node that was down): Redis 7.0 then
 *   announces client port 0 on the bus, even after `CONFIG SET port` gave it its port back, and a repair
 *   that did not correct it waited for ever for "node N does not know N yet": a restore in place of that
 *   cluster must end `running`.
 * The service runs as its own process; the states are made by hand while it is stopped, as a crash would
 * leave them. Ports 26000-26199 belong to this file (cluster bus ports +10000).
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { msSpec, waitForStatus } from '../helpers/test-service.ts';
import { backupEnd, startKillableService, type BackupSdk, type KillableService } from './backup-helpers.ts';

const PASSWORD = 'Abcd1234';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

let k: KillableService;
let sdk: BackupSdk;
const clients: Array<Redis | Cluster> = [];

beforeAll(async () => {
  k = await startKillableService('jcs-restore-left-closed-', '26000-26199');
  sdk = k.sdk;
});

afterAll(async () => {
  for (const c of clients) c.disconnect();
  await k?.destroy();
});

async function portOf(id: string): Promise<number> {
  return ((await sdk.describeCacheInstance({ cacheInstanceId: id })).result.cacheInstance as { port: number }).port;
}

const nodeDir = (id: string, port: number): string => join(k.dataDir, 'instances', id, String(port));

/** The node's ports, from the folders of the instance's directory. */
async function nodePorts(id: string): Promise<number[]> {
  const { readdir } = await import('node:fs/promises');
  return (await readdir(join(k.dataDir, 'instances', id))).filter((n) => /^\d+$/.test(n)).map(Number);
}

/** The control plane's channel to a node: its unix socket, as the admin user. */
async function admin(id: string, port: number): Promise<Redis> {
  const secrets = JSON.parse(await readFile(join(k.dataDir, 'instances', id, 'internal-secrets.json'), 'utf8')) as { adminPassword: string };
  const c = new Redis({ path: join(nodeDir(id, port), 'redis.sock'), username: 'jcs-admin', password: secrets.adminPassword, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  c.on('error', () => undefined);
  await c.connect();
  clients.push(c);
  return c;
}

async function until<T>(what: string, read: () => Promise<T | null>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown = null;
  for (;;) {
    try {
      const v = await read();
      if (v !== null) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}\n${k.svc.output.split('\n').slice(-30).join('\n')}`);
    await sleep(200);
  }
}

/** A running master-slave instance holding `kept`, and a tenant client that reconnects on its endpoint. */
async function masterSlaveWithKey(): Promise<{ id: string; port: number; c: Redis }> {
  const id = (await sdk.createCacheInstance({ cacheInstance: msSpec({ password: PASSWORD }) })).result.cacheInstanceId as string;
  expect(await waitForStatus(sdk, id, ['running', 'error'], 60_000)).toBe('running');
  const port = await portOf(id);
  const c = new Redis({ host: '127.0.0.1', port, password: PASSWORD, maxRetriesPerRequest: 0, retryStrategy: () => 50 });
  c.on('error', () => undefined);
  clients.push(c);
  await c.set('kept', 'yes');
  return { id, port, c };
}

describe('what an unfinished restore leaves behind', () => {
  it('master-slave: client ports left closed are reopened by the repair, with the data kept', async () => {
    const { id, c } = await masterSlaveWithKey();
    await c.call('WAIT', '1', '5000');

    // Both nodes closed as the restore closes them; the service gone with the restore (a crash).
    await k.svc.stop('SIGKILL');
    for (const p of await nodePorts(id)) {
      const a = await admin(id, p);
      await a.call('CONFIG', 'SET', 'port', '0');
      expect(((await a.call('CONFIG', 'GET', 'port')) as string[])[1]).toBe('0');
    }
    await k.svc.start();

    // The repair gives the published port back: the tenant reads its data there again.
    expect(await until('the published port to serve again', async () => ((await c.get('kept')) === 'yes' ? true : null), 60_000)).toBe(true);
    for (const p of await nodePorts(id)) {
      expect(await until(`node ${p} to listen on its port`, async () => (((await (await admin(id, p)).call('CONFIG', 'GET', 'port')) as string[])[1] === String(p) ? true : null), 30_000)).toBe(true);
    }
    expect(await waitForStatus(sdk, id, ['running'], 30_000)).toBe('running');
  }, 180_000);

  it('master-slave: a port closed under a running service is named by the health check and reopened by the repair', async () => {
    const { id, port } = await masterSlaveWithKey();
    // As a restore that another process gave up on leaves it: the master's client port closed (the
    // connection above stays open; a new one is refused until the repair reopens the port).
    await (await admin(id, port)).call('CONFIG', 'SET', 'port', '0');
    const freshGet = async (): Promise<string | null> => {
      const fresh = new Redis({ host: '127.0.0.1', port, password: PASSWORD, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      fresh.on('error', () => undefined);
      try {
        await fresh.connect();
        return await fresh.get('kept');
      } finally {
        fresh.disconnect();
      }
    };
    await expect(freshGet()).rejects.toThrow(); // refused: "Connection is closed."
    expect(await until('the published port to serve again', async () => ((await freshGet()) === 'yes' ? true : null), 60_000)).toBe(true);
    // What INFO shows of a closed port is the TLS port: the message says what happened instead.
    expect(k.svc.output).toMatch(new RegExp(`"instanceId":"${id}","from":"running","to":"error","reason":"unhealthy: master ${port}: its client port is closed \\(a restore did not reopen it\\)`));
    expect(k.svc.output).not.toMatch(new RegExp(`${port}: the node behind its socket runs port`));
    expect(await waitForStatus(sdk, id, ['running'], 30_000)).toBe('running');
  }, 120_000);

  it('native cluster: a node restarted with --port 0 is made to announce its port, and a restore in place ends running', async () => {
    const id = (await sdk.createCacheInstance({ cacheInstance: msSpec({ password: PASSWORD, cacheInstanceName: 'left_closed', cacheInstanceClass: 'redis.o.1g.basic', shardNumber: 3, redisVersion: '7.0' }) })).result.cacheInstanceId as string;
    expect(await waitForStatus(sdk, id, ['running', 'error'], 90_000)).toBe('running');
    const port = await portOf(id);
    const c = new Cluster([{ host: '127.0.0.1', port }], { redisOptions: { password: PASSWORD }, clusterRetryStrategy: () => 50 });
    c.on('error', () => undefined);
    clients.push(c);
    const keys = Array.from({ length: 60 }, (_, i) => `k:${i}`);
    await Promise.all(keys.map((key) => c.set(key, 'before')));
    const baseId = (await sdk.createBackup({ cacheInstanceId: id, fileName: 'left_closed', backupType: 1 })).result.baseId as string;
    expect((await backupEnd(sdk, id, baseId)).backupStatus).toBe(2);
    await Promise.all(keys.map((key) => c.set(key, 'after')));

    // What the restore did with a node that was down: started it from its conf with `--port 0`, then gave
    // it its port back with CONFIG SET. A replica, so the cluster keeps serving throughout.
    await k.svc.stop('SIGKILL');
    const ports = await nodePorts(id);
    let victim = 0;
    for (const p of ports) {
      if ((((await (await admin(id, p)).call('ROLE')) as unknown[])[0]) === 'slave') victim = p;
    }
    expect(victim).toBeGreaterThan(0);
    const dir = nodeDir(id, victim);
    const pid = Number((await readFile(join(dir, 'redis.pid'), 'utf8')).trim());
    await (await admin(id, victim)).call('SHUTDOWN').catch(() => undefined);
    await until('the node to exit', async () => {
      try {
        process.kill(pid, 0);
        return null;
      } catch {
        return true;
      }
    }, 10_000);
    spawn('redis-server', [join(dir, 'redis.conf'), '--port', '0'], { cwd: dir, detached: true, stdio: 'ignore' }).unref();
    const node = await until('the node to start', async () => admin(id, victim), 10_000);
    await until('the node to load', async () => (/loading:0/.test(await node.info('persistence')) ? true : null), 30_000);
    await node.call('CONFIG', 'SET', 'port', String(victim));
    // The bug as Redis 7.0 has it: the node announces client port 0, and shows itself at its TLS port
    // instead of its client port (the port it had at start), even after CONFIG SET port.
    const myself = String(await node.call('CLUSTER', 'NODES')).split('\n').find((l) => l.includes('myself'))!;
    expect(myself).not.toContain(`:${victim}@`);
    await k.svc.start();

    await sdk.restoreInstance({ cacheInstanceId: id, baseId });
    expect(await waitForStatus(sdk, id, ['running', 'error'], 120_000)).toBe('running');
    const fixed = String(await (await admin(id, victim)).call('CLUSTER', 'NODES')).split('\n').find((l) => l.includes('myself'))!;
    expect(fixed).toContain(`:${victim}@`);
    const values = await Promise.all(keys.map((key) => c.get(key)));
    expect(new Set(values)).toEqual(new Set(['before']));
  }, 300_000);
});
