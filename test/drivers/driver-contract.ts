/**
 * The driver contract: one suite every driver that runs real Redis must pass (STYLE.md habit 7), through
 * the seam the engine uses (logical specs; where nodes listen is what `observe` reports).
 * `runDriverContract` registers the tests; a driver's test file supplies a harness that knows how to
 * build the driver, kill a node the hard way, and find leftovers.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import type { Driver, InstanceSpec, Observation } from '../../src/drivers/driver.ts';

export interface DriverHarness {
  /** A new driver object over the same state; calling it again simulates a control-plane restart. */
  makeDriver(): Driver;
  /** Host clients connect to. */
  host: string;
  /** Connection as the control plane's internal admin user (for CONFIG GET; tenants cannot run it). */
  adminConnection(instanceId: string, port: number): Promise<Redis>;
  /** Kills the node on `port` without warning (kill -9) and waits until its port is closed. */
  killNode(instanceId: string, port: number): Promise<void>;
  /** Whatever of the instance is left on the host (processes, directories), as readable strings. */
  leftovers(instanceId: string, ports: number[]): Promise<string[]>;
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** A tenant connection: default user, no reconnects, so a refused password fails at once. */
export async function tenantConnection(host: string, port: number, password: string | null): Promise<Redis> {
  const client = new Redis({
    host,
    port,
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    ...(password === null ? {} : { password }),
  });
  let authError: Error | null = null;
  client.on('error', (err: Error) => {
    authError = err;
  });
  try {
    await client.connect();
  } catch (err) {
    client.disconnect();
    throw (authError as Error | null) ?? err;
  }
  return client;
}

const signal = (): AbortSignal => AbortSignal.timeout(30_000);

export function runDriverContract(name: string, harness: DriverHarness): void {
  describe(`driver contract: ${name}`, () => {
    let driver: Driver;
    const created = new Set<string>();
    const clients: Redis[] = [];
    let next = 0;

    function newSpec(overrides: Partial<InstanceSpec> = {}): InstanceSpec {
      const n = next++;
      const id = `redis-contract${n}x${process.pid}`;
      const spec: InstanceSpec = {
        id,
        topology: 'master-slave',
        shardCount: 1,
        memoryMbPerShard: 64,
        maxClients: 1000,
        passwordSha256: sha256(`pw-${id}`),
        databases: 16,
        maxmemoryPolicy: 'volatile-lru',
        ipWhiteList: ['0.0.0.0/0'],
        ...overrides,
      };
      created.add(id);
      return spec;
    }

    /** Where the pair's nodes listen, as the driver reports them. */
    async function nodePorts(spec: InstanceSpec): Promise<{ master: number; replica: number }> {
      const obs = await driver.observe(spec, signal());
      const port = (slot: 'master' | 'replica'): number => Number(obs.nodes.find((n) => n.shard === 0 && n.slot === slot)?.address?.split(':').pop());
      return { master: port('master'), replica: port('replica') };
    }

    async function tenant(spec: InstanceSpec, password: string | null, port?: number): Promise<Redis> {
      const c = await tenantConnection(harness.host, port ?? (await nodePorts(spec)).master, password);
      clients.push(c);
      return c;
    }

    async function admin(spec: InstanceSpec, port: number): Promise<Redis> {
      const c = await harness.adminConnection(spec.id, port);
      clients.push(c);
      return c;
    }

    async function healthy(d: Driver, spec: InstanceSpec): Promise<Observation> {
      const obs = await d.observe(spec, signal());
      expect(obs.problems).toEqual([]);
      expect(obs.healthy).toBe(true);
      return obs;
    }

    const pids = (obs: Observation): Array<number | null> => obs.nodes.map((n) => n.pid);

    beforeAll(async () => {
      driver = harness.makeDriver();
      await driver.init(signal());
    });

    afterAll(async () => {
      for (const c of clients) c.disconnect();
      for (const id of created) await driver.ensureAbsent(id, signal()).catch(() => undefined);
      await driver.close();
    });

    it('builds a verified master-replica pair that a tenant can use with its password', async () => {
      const spec = newSpec();
      const result = await driver.ensurePresent(spec, signal());
      const obs = await healthy(driver, spec);
      const p = await nodePorts(spec);
      expect(result).toEqual({ state: 'done', endpoint: { host: harness.host, port: p.master } });
      expect(obs.endpoint).toEqual(result.endpoint);
      expect(obs.nodes.map((n) => n.role)).toEqual(['master', 'replica']);
      expect(obs.nodes[1]!.linkUp).toBe(true);
      expect(obs.effectiveMaxClients).toBe(1000);

      const c = await tenant(spec, `pw-${spec.id}`);
      expect(await c.ping()).toBe('PONG');
      expect(await c.set('greeting', 'hello')).toBe('OK');
      expect(await c.get('greeting')).toBe('hello');
      expect(await c.info('replication')).toMatch(/connected_slaves:1/);
      await expect(tenantConnection(harness.host, p.master, 'wrong')).rejects.toThrow(/WRONGPASS/);
      await expect(tenantConnection(harness.host, p.master, null)).rejects.toThrow(/NOAUTH|WRONGPASS/);

      for (const port of [p.master, p.replica]) {
        const a = await admin(spec, port);
        expect(await a.call('CONFIG', 'GET', 'maxmemory')).toEqual(['maxmemory', String(64 * 1024 * 1024)]);
        expect(await a.call('CONFIG', 'GET', 'maxmemory-policy')).toEqual(['maxmemory-policy', 'volatile-lru']);
        expect(await a.call('CONFIG', 'GET', 'maxclients')).toEqual(['maxclients', '1000']);
        expect(await a.call('CONFIG', 'GET', 'databases')).toEqual(['databases', '16']);
        expect(await a.call('CONFIG', 'GET', 'appendonly')).toEqual(['appendonly', 'yes']);
      }
      // The replica really carries the data.
      const r = await tenant(spec, `pw-${spec.id}`, p.replica);
      expect(await c.call('WAIT', '1', '2000')).toBe(1);
      expect(await r.get('greeting')).toBe('hello');
    });

    it('refuses the tenant what would break the class or topology, and allows the rest', async () => {
      const spec = newSpec();
      await driver.ensurePresent(spec, signal());
      const c = await tenant(spec, `pw-${spec.id}`);
      const refused: string[][] = [
        ['CONFIG', 'GET', 'maxmemory'],
        ['CONFIG', 'SET', 'maxmemory', '0'],
        ['ACL', 'SETUSER', 'intruder', 'on', '>x', '+@all'],
        ['ACL', 'LIST'],
        ['REPLICAOF', 'NO', 'ONE'],
        ['SLAVEOF', '127.0.0.1', '1'],
        ['SHUTDOWN', 'NOSAVE'],
        ['MODULE', 'LIST'],
        ['FAILOVER'],
        ['PSYNC', '?', '-1'],
        ['CLUSTER', 'MEET', '127.0.0.1', '1'],
        ['CLUSTER', 'RESET'],
        ['CLUSTER', 'ADDSLOTS', '1'],
      ];
      for (const cmd of refused) {
        await expect(c.call(cmd[0]!, ...cmd.slice(1)), cmd.join(' ')).rejects.toThrow(/NOPERM/);
      }
      await expect(c.call('DEBUG', 'SLEEP', '0')).rejects.toThrow(/NOPERM|not allowed/);
      expect(await c.call('ACL', 'WHOAMI')).toBe('default');
      // CLUSTER INFO is allowed: it fails only because this is not a cluster, not for lack of permission.
      await expect(c.call('CLUSTER', 'INFO')).rejects.toThrow(/cluster support disabled/);
      expect(await c.call('SELECT', '15')).toBe('OK');
      expect(await c.set('k', '1')).toBe('OK');
      expect(await c.incr('k')).toBe(2);
      expect(await c.call('FLUSHDB')).toBe('OK');
      expect(await c.call('CLIENT', 'SETNAME', 'tenant')).toBe('OK');
      expect(await c.call('DBSIZE')).toBe(0);
      // Still healthy: nothing the tenant could run changed the pair.
      await healthy(driver, spec);
    });

    it('changes the password live: old refused, new accepted, open connections keep working, nopass works', async () => {
      const spec = newSpec();
      await driver.ensurePresent(spec, signal());
      const before = pids(await healthy(driver, spec));
      const open = await tenant(spec, `pw-${spec.id}`);
      await open.set('survives', 'yes');

      const p = await nodePorts(spec);
      const changed = { ...spec, passwordSha256: sha256('second-password') };
      await driver.setPassword(changed, signal());
      await expect(tenantConnection(harness.host, p.master, `pw-${spec.id}`)).rejects.toThrow(/WRONGPASS/);
      await expect(tenantConnection(harness.host, p.replica, `pw-${spec.id}`)).rejects.toThrow(/WRONGPASS/);
      const fresh = await tenant(changed, 'second-password');
      expect(await fresh.get('survives')).toBe('yes');
      expect(await (await tenant(changed, 'second-password', p.replica)).ping()).toBe('PONG');
      expect(await open.ping()).toBe('PONG');
      expect(await open.get('survives')).toBe('yes');
      expect(pids(await healthy(driver, changed))).toEqual(before);
      // The spec's old hash is no longer what the nodes carry.
      expect((await driver.observe(spec, signal())).healthy).toBe(false);

      const passwordFree = { ...spec, passwordSha256: null };
      await driver.setPassword(passwordFree, signal());
      const anonymous = await tenant(passwordFree, null);
      expect(await anonymous.get('survives')).toBe('yes');
      expect(await (await tenant(passwordFree, null, p.replica)).ping()).toBe('PONG');
      expect(await open.ping()).toBe('PONG');
      await healthy(driver, passwordFree);

      // A restart of the nodes keeps the current password: ensurePresent after a crash of both.
      await harness.killNode(spec.id, p.replica);
      await harness.killNode(spec.id, p.master);
      await driver.ensurePresent(passwordFree, signal());
      expect(await (await tenant(passwordFree, null)).get('survives')).toBe('yes');
      await healthy(driver, passwordFree);
    });

    it('applies settings live on every node without restart or data loss', async () => {
      const spec = newSpec();
      await driver.ensurePresent(spec, signal());
      const before = pids(await healthy(driver, spec));
      const c = await tenant(spec, `pw-${spec.id}`);
      for (let i = 0; i < 200; i++) await c.set(`key:${i}`, `value:${i}`);

      const bigger = { ...spec, memoryMbPerShard: 128, maxClients: 2000, maxmemoryPolicy: 'allkeys-lru' };
      await driver.applySettings(bigger, signal());
      const p = await nodePorts(spec);
      for (const port of [p.master, p.replica]) {
        const a = await admin(spec, port);
        expect(await a.call('CONFIG', 'GET', 'maxmemory')).toEqual(['maxmemory', String(128 * 1024 * 1024)]);
        expect(await a.call('CONFIG', 'GET', 'maxclients')).toEqual(['maxclients', '2000']);
        expect(await a.call('CONFIG', 'GET', 'maxmemory-policy')).toEqual(['maxmemory-policy', 'allkeys-lru']);
      }
      const obs = await healthy(driver, bigger);
      expect(pids(obs)).toEqual(before);
      expect(obs.usedMemoryBytes).toBeGreaterThan(0);
      expect(await c.dbsize()).toBe(200);
      expect(await c.get('key:199')).toBe('value:199');
      // The old spec no longer matches what runs.
      expect((await driver.observe(spec, signal())).problems.join(' ')).toMatch(/settings differ/);
    });

    it('is idempotent: ensurePresent again, and from a new driver object, keeps the same processes', async () => {
      const spec = newSpec();
      await driver.ensurePresent(spec, signal());
      const first = pids(await healthy(driver, spec));
      expect(first.every((p) => p !== null)).toBe(true);
      await driver.ensurePresent(spec, signal());
      expect(pids(await healthy(driver, spec))).toEqual(first);

      const restarted = harness.makeDriver();
      try {
        await restarted.init(signal());
        await restarted.ensurePresent(spec, signal());
        expect(pids(await healthy(restarted, spec))).toEqual(first);
      } finally {
        await restarted.close();
      }
    });

    it('recreates a replica killed with SIGKILL', async () => {
      const spec = newSpec();
      await driver.ensurePresent(spec, signal());
      const [masterPid, replicaPid] = pids(await healthy(driver, spec));
      const c = await tenant(spec, `pw-${spec.id}`);
      await c.set('before-kill', '1');
      const p = await nodePorts(spec);

      await harness.killNode(spec.id, p.replica);
      const down = await driver.observe(spec, signal());
      expect(down.healthy).toBe(false);
      expect(down.nodes[1]!.role).toBe('down');

      await driver.ensurePresent(spec, signal());
      const after = await healthy(driver, spec);
      expect(after.nodes[0]!.pid).toBe(masterPid);
      expect(after.nodes[1]!.pid).not.toBe(replicaPid);
      const r = await tenant(spec, `pw-${spec.id}`, (await nodePorts(spec)).replica);
      expect(await r.get('before-kill')).toBe('1');
    });

    it('brings a master killed with SIGKILL back on the same port with its data', async () => {
      const spec = newSpec();
      await driver.ensurePresent(spec, signal());
      const [, replicaPid] = pids(await healthy(driver, spec));
      const c = await tenant(spec, `pw-${spec.id}`);
      for (let i = 0; i < 500; i++) await c.set(`k${i}`, `v${i}`);
      expect(await c.call('WAIT', '1', '2000')).toBe(1);
      c.disconnect();
      const p = await nodePorts(spec);

      await harness.killNode(spec.id, p.master);
      const down = await driver.observe(spec, signal());
      expect(down.healthy).toBe(false);
      expect(down.nodes[0]!.role).toBe('down');

      await driver.ensurePresent(spec, signal());
      const after = await healthy(driver, spec);
      expect(after.endpoint?.port).toBe(p.master);
      expect(after.nodes[0]!.address).toBe(`${harness.host}:${p.master}`);
      // Restored from the live replica: the replica process was kept, not restarted.
      expect(after.nodes[1]!.pid).toBe(replicaPid);
      const back = await tenant(spec, `pw-${spec.id}`);
      expect(await back.dbsize()).toBe(500);
      expect(await back.get('k499')).toBe('v499');
      expect(await back.set('after-repair', 'ok')).toBe('OK');
      expect(await back.call('WAIT', '1', '2000')).toBe(1);
    });

    it('brings both nodes back from the master\'s own files when both were killed', async () => {
      const spec = newSpec();
      await driver.ensurePresent(spec, signal());
      const c = await tenant(spec, `pw-${spec.id}`);
      for (let i = 0; i < 100; i++) await c.set(`k${i}`, `v${i}`);
      c.disconnect();
      const p = await nodePorts(spec);
      await harness.killNode(spec.id, p.master);
      await harness.killNode(spec.id, p.replica);

      await driver.ensurePresent(spec, signal());
      await healthy(driver, spec);
      const back = await tenant(spec, `pw-${spec.id}`);
      expect(await back.dbsize()).toBe(100);
    });

    it('removes everything on ensureAbsent, and is safe when nothing exists', async () => {
      const spec = newSpec();
      await driver.ensurePresent(spec, signal());
      const p = await nodePorts(spec);
      const ports = [p.master, p.replica];
      const c = await tenant(spec, `pw-${spec.id}`);
      await driver.ensureAbsent(spec.id, signal());
      expect(await harness.leftovers(spec.id, ports)).toEqual([]);
      await expect(c.ping()).rejects.toThrow();
      await expect(tenantConnection(harness.host, ports[0]!, `pw-${spec.id}`)).rejects.toThrow(/ECONNREFUSED/);
      const obs = await driver.observe(spec, signal());
      expect(obs.healthy).toBe(false);
      expect(obs.nodes.map((n) => n.role)).toEqual(['down', 'down']);

      await driver.ensureAbsent(spec.id, signal());
      await driver.ensureAbsent('redis-never-existed', signal());
      expect(await harness.leftovers('redis-never-existed', [])).toEqual([]);
    });

    it('observes a never-created instance as down without creating anything', async () => {
      const spec = newSpec();
      const obs = await driver.observe(spec, signal());
      expect(obs.healthy).toBe(false);
      expect(obs.nodes.map((n) => n.role)).toEqual(['down', 'down']);
      expect(obs.endpoint).toBeNull();
      expect(await harness.leftovers(spec.id, [])).toEqual([]);
    });
  });
}
