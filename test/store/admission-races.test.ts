/**
 * Quota, host admission and port reservation under concurrency: many creates at once through several
 * stores on one database (on PostgreSQL: three pools of ten connections, as three service processes
 * would have, READ COMMITTED). Exactly as many are admitted as fit, the rest get the right JD error,
 * never an internal one, and no port is handed out twice.
 */
import pino from 'pino';
import { expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { createAccount } from '../../src/domain/accounts/account-service.ts';
import { loadClassCatalogue } from '../../src/domain/catalogue/instance-class-catalogue.ts';
import { DomainError } from '../../src/domain/domain-error.ts';
import { createInstanceService } from '../../src/domain/instances/instance-service.ts';
import { publishedRole, rolesOf } from '../../src/drivers/local/port-book.ts';
import type { Db } from '../../src/store/open-store.ts';
import { reserveRoles } from '../../src/store/ports-repo.ts';
import { describeStore } from './describe-store.ts';
import { PasswordSeal } from '../../src/domain/instances/password-seal.ts';

const PORTS = { from: 7100, to: 7199 };

function service(db: Db, env: Record<string, string>) {
  const config = loadConfig({ JCS_INSTANCE_PORTS: `${PORTS.from}-${PORTS.to}`, JCS_QUOTA: '1000', JCS_QUOTA_NODES: '10000', JCS_HOST_MEMORY_MB: String(1 << 20), ...env });
  const policy = { range: config.instancePorts, quarantineMs: 0 };
  return createInstanceService({
    db,
    passwordSeal: new PasswordSeal(Buffer.alloc(32, 7)),
    catalogue: loadClassCatalogue(['master-slave', 'native-cluster']),
    config,
    logger: pino({ level: 'silent' }),
    reserveNodes: async (trx, spec) => {
      const exact = spec.requestedPort === undefined ? undefined : new Map([[publishedRole(spec.topology), spec.requestedPort]]);
      const book = await reserveRoles(trx, policy, Date.now(), spec.id, rolesOf(spec), exact ? { exact } : {});
      return { endpointPort: book.get(publishedRole(spec.topology)) ?? null };
    },
    usedMemory: () => undefined,
    nodePromise: (b) => b,
    notifyEngine: () => undefined,
    now: () => new Date(),
    engineVersion: '7.0',
    ipWhiteListEnforcement: () => ({ enforced: false, reason: 'not tested here' }),
  });
}

type Outcome = 'ok' | string;

/** `n` creates at once for `account`, spread over the services; the outcome of each (ok or the JD code). */
async function createMany(services: ReturnType<typeof service>[], account: string, n: number, port?: number): Promise<Outcome[]> {
  return Promise.all(
    Array.from({ length: n }, async (_, i) => {
      try {
        await services[i % services.length]!.create(
          { account, region: 'cn-north-1' },
          { vpcId: 'vpc-1', subnetId: 'subnet-1', cacheInstanceName: `race-${i}`, cacheInstanceClass: 'redis.m.micro.basic', azId: { master: 'cn-north-1a', slave: 'cn-north-1b' }, redisVersion: '4.0', ...(port ? { port } : {}) },
          undefined,
        );
        return 'ok';
      } catch (err) {
        return err instanceof DomainError ? err.code : `internal: ${(err as Error).message}`;
      }
    }),
  );
}

const tally = (outcomes: Outcome[]): Record<string, number> => outcomes.reduce<Record<string, number>>((t, o) => ({ ...t, [o]: (t[o] ?? 0) + 1 }), {});

describeStore('admission races', (s) => {
  let stores: Db[] = [];
  const services = (env: Record<string, string>) => stores.map((db) => service(db, env));

  it('setup: one store per simulated process', async () => {
    const location = await s.freshLocation();
    // SQLite is one process (data directory lock); PostgreSQL gets three, each with its own pool.
    stores = await Promise.all((s.dialect === 'postgres' ? [1, 2, 3] : [1]).map(() => s.open(location)));
    for (const ak of ['AKQ', 'AKM', 'AKP', 'AKX']) await createAccount(stores[0]!, { accessKey: ak, secretKey: 'x' });
  });

  it('the instance quota: 24 creates at once, quota 4: exactly 4 admitted, the rest QUOTA_EXCEEDED', async () => {
    const outcomes = await createMany(services({ JCS_QUOTA: '4' }), 'AKQ', 24);
    expect(tally(outcomes)).toEqual({ ok: 4, QUOTA_EXCEEDED: 20 });
  });

  it('host memory: room for 3 instances, 18 creates at once from two accounts: exactly 3 admitted', async () => {
    // Every instance so far (4 of 2 GiB promised: a 1 GiB master and its replica) counts against the host.
    const hostMb = 1024 + 2048 * (4 + 3) + 100;
    const svc = services({ JCS_HOST_MEMORY_MB: String(hostMb) });
    const [a, b] = await Promise.all([createMany(svc, 'AKM', 9), createMany(svc, 'AKX', 9)]);
    expect(tally([...a, ...b])).toEqual({ ok: 3, QUOTA_EXCEEDED: 15 });
  });

  it('ports: 12 creates asking for the same port: one gets it, the others ALREADY_EXISTS; no port reserved twice', async () => {
    const taken = new Set((await stores[0]!.selectFrom('ports').select('port').execute()).map((p) => p.port));
    const free = Array.from({ length: PORTS.to - PORTS.from + 1 }, (_, i) => PORTS.from + i).find((p) => !taken.has(p))!;
    const outcomes = await createMany(services({}), 'AKP', 12, free);
    expect(tally(outcomes)).toEqual({ ok: 1, ALREADY_EXISTS: 11 });
    const ports = await stores[0]!.selectFrom('ports').select(['port', 'instance_id']).execute();
    expect(new Set(ports.map((p) => p.port)).size).toBe(ports.length);
    const instances = await stores[0]!.selectFrom('instances').select('id').execute();
    expect(new Set(ports.map((p) => p.instance_id))).toEqual(new Set(instances.map((i) => i.id)));
  });

  it('ports: a range with room for a few: all or nothing per create, each port once', async () => {
    const used = (await stores[0]!.selectFrom('ports').select('port').execute()).length;
    const perInstance = rolesOf({ topology: 'master-slave', shardCount: 1 }).length;
    const fit = Math.floor((PORTS.to - PORTS.from + 1 - used) / perInstance);
    const outcomes = await createMany(services({}), 'AKP', fit + 6);
    expect(tally(outcomes)).toEqual({ ok: fit, QUOTA_EXCEEDED: 6 });
    const ports = await stores[0]!.selectFrom('ports').select(['port', 'instance_id']).execute();
    expect(new Set(ports.map((p) => p.port)).size).toBe(ports.length);
    expect(ports.length).toBe(used + fit * perInstance);
  });
});
