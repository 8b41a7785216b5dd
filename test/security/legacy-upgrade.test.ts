/**
 * Instances made by a version without control sockets and TLS links are moved onto them when the new
 * service starts (issue 11: "existing instances are migrated on start"). The old layout is rebuilt by
 * hand from a current instance: confs without `unixsocket`/`tls-*`, replication over the plain client
 * port, no internal port reservations, no CA. Ports 26400-26449.
 */
import { spawn } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { adminConnection, pidAlive } from '../drivers/local-harness.ts';
import { msSpec, startTestService, waitForStatus, type TestService } from '../helpers/test-service.ts';
import { sleep } from './attack-helpers.ts';

const PASSWORD = 'Passw0rd1';
let svc: TestService | undefined;
const clients: Redis[] = [];
afterAll(async () => {
  for (const c of clients) c.disconnect();
  await svc?.destroy();
});

/** What the earlier version wrote: the same conf without the socket, the TLS links and their ports. */
function legacyConf(conf: string, masterClientPort: number | null): string {
  return conf
    .split('\n')
    .filter((l) => !/^(unixsocket|unixsocketperm|tls-|replica-announce-port|cluster-port)/.test(l))
    .map((l) => (l.startsWith('replicaof ') && masterClientPort !== null ? `replicaof 127.0.0.1 ${masterClientPort}` : l))
    .join('\n');
}

async function waitFor(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

describe('upgrade from a version without control sockets and TLS links', () => {
  it('moves a running master-slave instance onto them on start, keeping every key and the password', async () => {
    svc = await startTestService({ instancePorts: '26400-26449' });
    const sdk = svc.sdk();
    const id = (await sdk.createCacheInstance({ cacheInstance: msSpec({ password: PASSWORD }) })).result.cacheInstanceId as string;
    expect(await waitForStatus(sdk, id, ['running'], 20_000)).toBe('running');
    const roles = new Map((await svc.db.selectFrom('ports').select(['role', 'port']).where('instance_id', '=', id).execute()).map((r) => [r.role, r.port]));
    const master = roles.get('ms-s0-master')!;
    const replica = roles.get('ms-s0-replica')!;
    const c = new Redis({ host: '127.0.0.1', port: master, password: PASSWORD });
    clients.push(c);
    for (let i = 0; i < 1000; i += 100) await Promise.all(Array.from({ length: 100 }, (_, j) => c.set(`k${i + j}`, String(i + j))));
    await sleep(1_100); // in both AOFs
    c.disconnect();
    const dataDir = svc.dataDir;
    await svc.close();

    // Rebuild the old layout: each node restarted from an old-style conf, by hand, detached.
    for (const [port, upstream] of [[master, null], [replica, master]] as const) {
      const dir = join(dataDir, 'instances', id, String(port));
      const pid = Number(readFileSync(join(dir, 'redis.pid'), 'utf8').trim());
      process.kill(pid, 'SIGTERM');
      await waitFor(`node ${port} to stop`, () => !pidAlive(pid));
      writeFileSync(join(dir, 'redis.conf'), legacyConf(readFileSync(join(dir, 'redis.conf'), 'utf8'), upstream), { mode: 0o600 });
      spawn('redis-server', [join(dir, 'redis.conf')], { cwd: dir, detached: true, stdio: 'ignore' }).unref();
    }
    const secrets = JSON.parse(readFileSync(join(dataDir, 'instances', id, 'internal-secrets.json'), 'utf8')) as { adminPassword: string };
    const legacyAdmin = new Redis({ host: '127.0.0.1', port: replica, username: 'jcs-admin', password: secrets.adminPassword, lazyConnect: true });
    legacyAdmin.on('error', () => undefined);
    clients.push(legacyAdmin);
    await waitFor('the legacy replica to link over the plain port', async () => {
      if (legacyAdmin.status !== 'ready') await legacyAdmin.connect().catch(() => undefined);
      return /master_link_status:up/.test(String(await legacyAdmin.call('INFO', 'replication').catch(() => '')));
    });
    expect(String(await legacyAdmin.call('INFO', 'replication'))).toContain(`master_port:${master}`);
    legacyAdmin.disconnect();
    {
      const { openStore } = await import('../../src/store/open-store.ts');
      const db = await openStore(join(dataDir, 'jcs-redis.db'));
      await db.deleteFrom('ports').where('instance_id', '=', id).where('role', 'like', '%-tls').execute();
      await db.destroy();
    }
    rmSync(join(dataDir, 'tls'), { recursive: true, force: true });
    rmSync(join(dataDir, 'instances', id, 'tls'), { recursive: true, force: true });

    // The new version starts on the same data directory.
    svc = await startTestService({ instancePorts: '26400-26449', dataDir });
    const sdk2 = svc.sdk();
    await waitFor('the instance to be migrated and verified', async () => {
      const ci = (await sdk2.describeCacheInstance({ cacheInstanceId: id })).result.cacheInstance;
      if (ci.cacheInstanceStatus !== 'running') return false;
      const admin = await adminConnection(dataDir, id, replica).catch(() => null);
      if (!admin) return false;
      const [, tlsPort] = (await admin.call('CONFIG', 'GET', 'tls-port')) as [string, string];
      admin.disconnect();
      return Number(tlsPort) > 0;
    }, 30_000);
    const tlsRoles = new Map((await svc.db.selectFrom('ports').select(['role', 'port']).where('instance_id', '=', id).execute()).map((r) => [r.role, r.port]));
    expect(tlsRoles.get('ms-s0-master')).toBe(master); // the published port did not move
    const replicaAdmin = await adminConnection(dataDir, id, replica);
    const info = String(await replicaAdmin.call('INFO', 'replication'));
    replicaAdmin.disconnect();
    expect(info).toMatch(/master_link_status:up/);
    expect(info).toContain(`master_port:${tlsRoles.get('ms-s0-master-tls')}`);
    const after = new Redis({ host: '127.0.0.1', port: master, password: PASSWORD });
    clients.push(after);
    expect(await after.dbsize()).toBe(1000);
    expect(await after.get('k999')).toBe('999');
  });
});
