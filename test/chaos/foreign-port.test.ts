/**
 * A port of the instance range held by a process that is not ours (a plain `net` server): a create
 * that is handed that port must still end `running` on other ports (the driver throws PortInUseError,
 * the engine re-allocates), the foreign process is left alone, and no reservation, directory or process
 * is left on the held port. With no other port free, the instance goes to `error` naming the cause.
 * (A held published port of a running instance never moves: test/security/data-plane-attacks.)
 */
import { existsSync, readdirSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { instancePids, msSpec, startTestService, waitForStatus, type TestService } from '../helpers/test-service.ts';
import { redisProcessesUnder } from './chaos-leaks.ts';

const servers: Server[] = [];
const sockets = new Set<Socket>();
const services: TestService[] = [];
afterAll(async () => {
  for (const s of services) await s.destroy();
  // close() waits for open connections: end the ones the service's probes left behind.
  for (const socket of sockets) socket.destroy();
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
});

/** A foreign process on `port`: accepts connections and says nothing, like many non-Redis servers. */
async function holdPort(port: number): Promise<Server> {
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  servers.push(server);
  return server;
}

function stillListening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port }, () => (s.destroy(), resolve(true)));
    s.on('error', () => resolve(false));
  });
}

async function portsOf(svc: TestService, id: string): Promise<number[]> {
  return (await svc.db.selectFrom('ports').select('port').where('instance_id', '=', id).execute()).map((r) => r.port).sort();
}

/** Client ports of the instance's nodes (each node also has an internal TLS port). */
async function nodePortsOf(svc: TestService, id: string): Promise<number[]> {
  const rows = await svc.db.selectFrom('ports').select(['port', 'role']).where('instance_id', '=', id).execute();
  return rows.filter((r) => /^(ms|nc)-s\d+-(master|replica)$/.test(r.role)).map((r) => r.port).sort();
}

function nodeDirs(svc: TestService, id: string): number[] {
  const dir = join(svc.dataDir, 'instances', id);
  return existsSync(dir) ? readdirSync(dir).filter((n) => /^\d+$/.test(n)).map(Number).sort() : [];
}

describe('a port held by a foreign process', () => {
  it('a create handed held ports ends running on other ports, leaving the holders alone', async () => {
    // Ten ports, four held. The create asks for the held 21200 as its published port (the `port` field),
    // so at least that one is hit whatever the random draw gives the others: before an instance has ever
    // run, nobody knows its ports yet, and any of them may move.
    const svc = await startTestService({ instancePorts: '21200-21209' });
    services.push(svc);
    const held = [21200, 21201, 21202, 21203];
    for (const p of held) await holdPort(p);
    const sdk = svc.sdk();
    const id = (await sdk.createCacheInstance({ cacheInstance: msSpec({ password: 'Passw0rd1', port: 21200 }) })).result.cacheInstanceId as string;
    expect(await waitForStatus(sdk, id, ['running', 'error'])).toBe('running');

    const ports = await portsOf(svc, id);
    expect(ports).toHaveLength(4);
    expect(ports.filter((p) => held.includes(p))).toEqual([]);
    const ci = (await sdk.describeCacheInstance({ cacheInstanceId: id })).result.cacheInstance;
    expect(ports).toContain(ci.port);
    // Nothing half-made: one process and one directory per node, none on the held ports.
    const nodes = await nodePortsOf(svc, id);
    expect(nodeDirs(svc, id)).toEqual(nodes);
    expect(instancePids(svc.dataDir)).toHaveLength(2);
    expect(redisProcessesUnder(svc.dataDir)).toHaveLength(2);
    for (const p of held) expect(await stillListening(p)).toBe(true);
  });

  it('a replica whose port a foreign process takes after it died is moved to another port', async () => {
    const svc = await startTestService({ instancePorts: '21220-21239' });
    services.push(svc);
    const sdk = svc.sdk();
    const id = (await sdk.createCacheInstance({ cacheInstance: msSpec({ password: 'Passw0rd1' }) })).result.cacheInstanceId as string;
    expect(await waitForStatus(sdk, id, ['running'])).toBe('running');
    const { port } = (await sdk.describeCacheInstance({ cacheInstanceId: id })).result.cacheInstance as { port: number };
    const replica = (await nodePortsOf(svc, id)).find((p) => p !== port)!;
    const pid = redisProcessesUnder(svc.dataDir).find((p) => p.dir.endsWith(`/${replica}`))!.pid;
    process.kill(pid, 'SIGKILL');
    // Take the port the moment it is free, before the health loop (every 500 ms) restarts the replica.
    for (let i = 0; ; i++) {
      try {
        await holdPort(replica);
        break;
      } catch {
        if (i > 2000) throw new Error(`port ${replica} never became free`);
        await new Promise((r) => setTimeout(r, 1));
      }
    }
    // Repaired without an API call: the replica now runs on another port and the instance is verified.
    const deadline = Date.now() + 20_000;
    while ((await portsOf(svc, id)).includes(replica) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const ports = await portsOf(svc, id);
    expect(ports).not.toContain(replica);
    expect(ports).toContain(port);
    expect(await waitForStatus(sdk, id, ['running'], 20_000)).toBe('running');
    expect(redisProcessesUnder(svc.dataDir)).toHaveLength(2);
    expect(await stillListening(replica)).toBe(true);
  });

  it('with no other port free the instance goes to error naming the cause; delete leaves nothing', async () => {
    // Exactly the four ports one instance needs, one of them held.
    const svc = await startTestService({ instancePorts: '21240-21243', env: { JCS_TASK_ATTEMPTS: '3' } });
    services.push(svc);
    await holdPort(21241);
    const sdk = svc.sdk();
    const id = (await sdk.createCacheInstance({ cacheInstance: msSpec() })).result.cacheInstanceId as string;
    expect(await waitForStatus(sdk, id, ['running', 'error'], 30_000)).toBe('error');
    const ci = (await sdk.describeCacheInstance({ cacheInstanceId: id })).result.cacheInstance;
    expect(ci.extension.statusReason).toMatch(/port 21241 is taken by another process and no other instance port is free/);
    await sdk.deleteCacheInstance({ cacheInstanceId: id });
    expect(await waitForStatus(sdk, id, ['gone'], 30_000)).toBe('gone');
    expect(await svc.db.selectFrom('ports').selectAll().execute()).toEqual([]);
    expect(existsSync(join(svc.dataDir, 'instances', id))).toBe(false);
    expect(redisProcessesUnder(svc.dataDir)).toEqual([]);
    expect(await stillListening(21241)).toBe(true);
  });
});
