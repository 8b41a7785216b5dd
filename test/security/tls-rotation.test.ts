/**
 * The CA of the links between instance nodes is rotated by an operator command (`jcs-redis tls rotate`,
 * here its function) while instances serve: every node moves to a certificate of the new generation live,
 * the instances never leave `running`, new links (a replica that restarts) come up on the new
 * certificates, and everything survives a restart of the service. Ports 26300-26399.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { rotateInternalCa } from '../../src/main.ts';
import { adminConnection } from '../drivers/local-harness.ts';
import { msSpec, startTestService, waitForStatus, type TestService } from '../helpers/test-service.ts';
import { sleep } from './attack-helpers.ts';

const PASSWORD = 'Passw0rd1';
let svc: TestService | undefined;
const clients: Redis[] = [];
afterAll(async () => {
  for (const c of clients) c.disconnect();
  await svc?.destroy();
});

async function nodePorts(s: TestService, id: string): Promise<number[]> {
  const rows = await s.db.selectFrom('ports').select(['port', 'role']).where('instance_id', '=', id).execute();
  return rows.filter((r) => /^(ms|nc)-s\d+-(master|replica)$/.test(r.role)).map((r) => r.port);
}

async function certFiles(s: TestService, id: string): Promise<string[]> {
  const files: string[] = [];
  for (const port of await nodePorts(s, id)) {
    const admin = await adminConnection(s.dataDir, id, port).catch((e: Error) => {
      throw new Error(`node ${port} of ${id}: ${e.message}`);
    });
    const [, file] = (await admin.call('CONFIG', 'GET', 'tls-cert-file')) as [string, string];
    admin.disconnect();
    files.push(file);
  }
  return files;
}

describe('CA rotation', () => {
  it('moves every node to the new generation live, with no status change and no write lost', async () => {
    svc = await startTestService({ instancePorts: '26300-26399' });
    const sdk = svc.sdk();
    const ms = (await sdk.createCacheInstance({ cacheInstance: msSpec({ password: PASSWORD }) })).result.cacheInstanceId as string;
    const cl = (
      await sdk.createCacheInstance({
        cacheInstance: msSpec({ cacheInstanceClass: 'redis.o.1g.basic', shardNumber: 3, redisVersion: '7.0', password: PASSWORD }),
      })
    ).result.cacheInstanceId as string;
    for (const id of [ms, cl]) expect(await waitForStatus(sdk, id, ['running', 'error'], 30_000)).toBe('running');
    for (const id of [ms, cl]) expect((await certFiles(svc, id)).every((f) => f.endsWith('/tls/node-1.crt'))).toBe(true);

    const { port } = (await sdk.describeCacheInstance({ cacheInstanceId: ms })).result.cacheInstance as { port: number };
    const writer = new Redis({ host: '127.0.0.1', port, password: PASSWORD });
    clients.push(writer);
    let written = 0;
    let writing = true;
    const writes = (async () => {
      while (writing) await writer.set(`w${written}`, String(written++));
    })();
    const statuses = new Set<string>();
    let watching = true;
    const watch = (async () => {
      while (watching) {
        for (const id of [ms, cl]) statuses.add((await sdk.describeCacheInstance({ cacheInstanceId: id })).result.cacheInstance.cacheInstanceStatus as string);
        await sleep(20);
      }
    })();

    expect(await rotateInternalCa(svc.dataDir)).toBe(2);
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      const files = [...(await certFiles(svc, ms)), ...(await certFiles(svc, cl))];
      if (files.every((f) => f.endsWith('/tls/node-2.crt'))) break;
      await sleep(100);
    }
    for (const id of [ms, cl]) expect((await certFiles(svc, id)).every((f) => f.endsWith('/tls/node-2.crt'))).toBe(true);
    writing = false;
    watching = false;
    await Promise.all([writes, watch]);
    expect([...statuses]).toEqual(['running']);
    for (const id of [ms, cl]) expect(existsSync(join(svc.dataDir, 'instances', id, 'tls', 'node-1.crt'))).toBe(false);

    // A new link after the rotation: the replica restarts and syncs over TLS with the new certificates.
    const replica = (await svc.db.selectFrom('ports').select('port').where('instance_id', '=', ms).where('role', '=', 'ms-s0-replica').executeTakeFirstOrThrow()).port;
    const pid = Number(readFileSync(join(svc.dataDir, 'instances', ms, String(replica), 'redis.pid'), 'utf8').trim());
    process.kill(pid, 'SIGKILL');
    // The health loop restarts it (its status may never show the gap): wait for its new process and link.
    const deadlineSync = Date.now() + 20_000;
    let linked = '';
    while (Date.now() < deadlineSync && !/master_link_status:up/.test(linked)) {
      await sleep(50);
      const probe = await adminConnection(svc.dataDir, ms, replica).catch(() => null);
      if (!probe) continue;
      linked = String(await probe.call('INFO', 'replication').catch(() => ''));
      probe.disconnect();
    }
    expect(linked).toMatch(/master_link_status:up/);
    expect(Number(readFileSync(join(svc.dataDir, 'instances', ms, String(replica), 'redis.pid'), 'utf8').trim())).not.toBe(pid);
    const admin = await adminConnection(svc.dataDir, ms, replica);
    expect(await admin.get(`w${written - 1}`)).toBe(String(written - 1));
    admin.disconnect();
    expect(written).toBeGreaterThan(100);
    for (let i = 0; i < written; i += 97) expect(await writer.get(`w${i}`)).toBe(String(i));

    // The certificates survive a restart of the service: nodes adopted as they are, still generation 2.
    await svc.close();
    const dataDir = svc.dataDir;
    svc = await startTestService({ instancePorts: '26300-26399', dataDir });
    for (const id of [ms, cl]) expect(await waitForStatus(svc.sdk(), id, ['running'], 20_000)).toBe('running');
    await sleep(1_200); // two health rounds: nothing to converge
    for (const id of [ms, cl]) expect((await certFiles(svc, id)).every((f) => f.endsWith('/tls/node-2.crt'))).toBe(true);
  });
});
