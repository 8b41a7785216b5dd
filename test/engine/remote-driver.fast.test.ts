/**
 * The driver seam for a remote driver (Kubernetes, later): a driver whose nodes any service process
 * reaches (`nodesReachableFrom: 'any-process'`) lets two engines on one store share the work, each
 * taking tasks and health checks through the store's leases, and the endpoint's host it publishes is
 * what tenants are given. A process whose driver reaches nodes only from elsewhere (a this-host driver on
 * another host or data directory) is refused before it takes any work. The remote driver is a fake
 * (fast tier): the local driver's shape, several processes on one host, is tested with real processes
 * in test/store/several-processes.test.ts.
 */
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { InstanceSpec, Observation, StepResult } from '../../src/drivers/driver.ts';
import { wrapDriver } from '../../src/drivers/wrap-driver.ts';
import { Engine } from '../../src/engine/engine.ts';
import { defaultTaskHandlers } from '../../src/engine/handlers/default-handlers.ts';
import { reachConflict } from '../../src/engine/nodes-reach.ts';
import { ACCOUNTS, engineHarness, type EngineHarness, TEST_SEAL } from './engine-harness.ts';
import { FakeDriver } from './fake-driver.ts';

const [A] = ACCOUNTS as [string];

/** Nodes behind an API server: every node has its own host name, the endpoint a Service's name. */
class RemoteFakeDriver extends FakeDriver {
  override readonly capabilities = { ipWhiteList: { enforced: true, reason: '' }, nodesReachableFrom: 'any-process' as const };
  override async ensurePresent(spec: InstanceSpec, signal: AbortSignal): Promise<StepResult> {
    const r = await super.ensurePresent(spec, signal);
    return { ...r, endpoint: r.endpoint && { host: `${spec.id}.redis.svc`, port: 6379 } };
  }
  override async observe(spec: InstanceSpec, signal: AbortSignal): Promise<Observation> {
    const o = await super.observe(spec, signal);
    return {
      ...o,
      endpoint: o.endpoint && { host: `${spec.id}.redis.svc`, port: 6379 },
      nodes: o.nodes.map((n) => ({ ...n, address: `${spec.id}-${n.shard}-${n.slot}.redis.svc:6379` })),
    };
  }
}

/** A driver of the local kind (nodes reachable from one host and data directory), placed elsewhere. */
class ElsewhereFakeDriver extends FakeDriver {
  override readonly capabilities = { ipWhiteList: { enforced: true, reason: '' }, nodesReachableFrom: 'this-host' as const, placement: 'other-host:/srv/jcs' };
}

let h: EngineHarness | undefined;
const others: Engine[] = [];
afterEach(async () => {
  for (const e of others.splice(0)) await e.stop(1_000);
  await h?.close();
  h = undefined;
});

/** Another service process: its own engine (and lease owner) on the harness's store. */
function otherProcess(harness: EngineHarness, processId: string, fake: FakeDriver): Engine {
  const logger = pino({ level: 'silent' });
  const engine = new Engine({ db: harness.db, passwordSeal: TEST_SEAL, driver: wrapDriver(fake, { logger, timeoutMs: 30_000 }), logger, handlers: defaultTaskHandlers, processId, healthIntervalMs: 100, shareHealthChecks: true, leaseMs: 1_500, concurrency: 1 });
  others.push(engine);
  return engine;
}

describe('a driver whose nodes any process reaches', () => {
  it('two engines on one store share the tasks and the health checks, and the endpoint keeps its host', async () => {
    const remote = new RemoteFakeDriver();
    h = await engineHarness({ fake: remote, processId: 'proc-a', shareHealthChecks: true, leaseMs: 1_500, concurrency: 1 });
    const b = otherProcess(h, 'proc-b', remote);
    await b.join();
    b.start();
    // Both creates wait at the driver until each engine holds one: with one task slot each, they must.
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const ids: string[] = [];
    for (const name of ['one', 'two']) {
      const { id } = await h.create(A, name);
      remote.fault(id, { gate, ops: ['ensurePresent'] });
      ids.push(id);
    }
    await h.waitFor('each engine to run one create', () => ids.every((id) => remote.callsOf(id, 'ensurePresent').length > 0));
    const owners = await h.db.selectFrom('tasks').select('lease_owner').where('instance_id', 'in', ids).execute();
    expect(owners.map((t) => t.lease_owner).sort()).toEqual(['proc-a', 'proc-b']);
    open();
    for (const id of ids) await h.waitFor(`${id} running`, async () => (await h!.status(id)) === 'running');
    // Health checks: one observer per instance, one instance each.
    await h.waitFor('the health checks to be shared one each', async () => {
      const leases = await h!.db.selectFrom('health_leases').select(['instance_id', 'owner']).where('until_ms', '>=', Date.now()).execute();
      return leases.length === 2 && new Set(leases.map((l) => l.owner)).size === 2;
    });
    // Where tenants connect is the driver's host, not the advertised one of a this-host driver.
    const rows = await h.db.selectFrom('instances').select(['id', 'endpoint_host', 'endpoint_port']).where('id', 'in', ids).orderBy('id').execute();
    expect(rows).toEqual([...ids].sort().map((id) => ({ id, endpoint_host: `${id}.redis.svc`, endpoint_port: 6379 })));
    const described = await h.instances.describe({ account: A, region: 'cn-north-1' }, ids[0]!);
    expect(described.connectionDomain).toBe(`${ids[0]}.redis.svc`);
    // Both processes recorded that they reach every node.
    const procs = await h.db.selectFrom('service_processes').select(['id', 'nodes_reach']).orderBy('id').execute();
    expect(procs).toEqual([{ id: 'proc-a', nodes_reach: '*' }, { id: 'proc-b', nodes_reach: '*' }]);
  });

  it('a process keeps samples (metrics, charts) only of the instances it observes once another took some', async () => {
    const remote = new RemoteFakeDriver();
    h = await engineHarness({ fake: remote, processId: 'proc-a', shareHealthChecks: true, leaseMs: 1_500 });
    const ids: string[] = [];
    for (const name of ['one', 'two']) ids.push((await h.create(A, name)).id);
    for (const id of ids) await h.waitFor(`${id} running`, async () => (await h!.status(id)) === 'running');
    await h.waitFor('proc-a to sample both', () => ids.every((id) => h!.engine.samples.latest(id) !== undefined));
    const b = otherProcess(h, 'proc-b', remote);
    await b.join();
    b.start();
    const leasedTo = async (owner: string): Promise<string[]> =>
      (await h!.db.selectFrom('health_leases').select('instance_id').where('owner', '=', owner).where('until_ms', '>=', Date.now()).execute()).map((l) => l.instance_id);
    await h.waitFor('one instance each', async () => (await leasedTo('proc-a')).length === 1 && (await leasedTo('proc-b')).length === 1);
    const [mine] = await leasedTo('proc-a');
    const [theirs] = await leasedTo('proc-b');
    await h.waitFor('proc-a to drop the sample of what proc-b observes', () => h!.engine.samples.latest(theirs!) === undefined);
    expect(h.engine.samples.instanceIds()).toEqual([mine]);
    await h.waitFor('proc-b to sample its own', () => b.samples.latest(theirs!) !== undefined);
    expect(b.samples.instanceIds()).toEqual([theirs]);
  });

  it('a process whose driver reaches nodes only from another host is refused before it takes work', async () => {
    h = await engineHarness({ fake: new RemoteFakeDriver(), processId: 'proc-a', shareHealthChecks: true, leaseMs: 1_500 });
    await h.engine.join();
    const elsewhere = otherProcess(h, 'proc-c', new ElsewhereFakeDriver());
    await expect(elsewhere.join()).rejects.toThrow(/service process proc-a on this store reaches its driver's nodes from any process, this one only from other-host:\/srv\/jcs/);
    expect(await h.db.selectFrom('service_processes').select('id').execute()).toEqual([{ id: 'proc-a' }]);
  });
});

describe('reachConflict', () => {
  it('allows processes of one placement, or all reaching any node, and ignores processes that recorded nothing', () => {
    expect(reachConflict('this-host:h1:/d', [{ id: 'p', nodes_reach: 'this-host:h1:/d' }, { id: 'old', nodes_reach: '' }])).toBeNull();
    expect(reachConflict('*', [{ id: 'p', nodes_reach: '*' }])).toBeNull();
    expect(reachConflict('this-host:h1:/d', [{ id: 'p', nodes_reach: 'this-host:h2:/d' }])).toMatch(/service process p .* only from h2:\/d, this one only from h1:\/d/);
    expect(reachConflict('*', [{ id: 'p', nodes_reach: 'this-host:h1:/d' }])).toMatch(/this one from any process/);
  });
});
