/** The engine on a real SQLite store with the fake driver: fast tests of scheduling and failure handling. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { loadConfig } from '../../src/config.ts';
import { createAccount } from '../../src/domain/accounts/account-service.ts';
import { loadClassCatalogue } from '../../src/domain/catalogue/instance-class-catalogue.ts';
import { createInstanceService, type InstanceService } from '../../src/domain/instances/instance-service.ts';
import { wrapDriver } from '../../src/drivers/wrap-driver.ts';
import { Engine, type EngineOptions } from '../../src/engine/engine.ts';
import { defaultTaskHandlers } from '../../src/engine/handlers/default-handlers.ts';
import { changeCounter } from '../../src/store/change-counter.ts';
import { openStore, type Db } from '../../src/store/open-store.ts';
import { FakeDriver } from './fake-driver.ts';
import { PasswordSeal } from '../../src/domain/instances/password-seal.ts';

/** The password seal of every test engine and instance service (a fixed key: tests only). */
export const TEST_SEAL = new PasswordSeal(Buffer.alloc(32, 7));

export interface EngineHarness {
  db: Db;
  fake: FakeDriver;
  engine: Engine;
  instances: InstanceService;
  /** Every log line, parsed. */
  logs: Array<Record<string, unknown>>;
  /** Creates an instance through the domain service; returns its id and when its task was committed. */
  create(account: string, name?: string): Promise<{ id: string; committedMs: number }>;
  /** Polls until `check` holds (or throws after `timeoutMs`). */
  waitFor(what: string, check: () => Promise<boolean> | boolean, timeoutMs?: number): Promise<void>;
  status(id: string): Promise<string | undefined>;
  close(): Promise<void>;
}

export const ACCOUNTS = ['AKONE', 'AKTWO'];

export async function engineHarness(opts: Partial<EngineOptions> & { logLevel?: string; fake?: FakeDriver } = {}): Promise<EngineHarness> {
  const dir = mkdtempSync(join(tmpdir(), 'jcs-engine-'));
  const db = await openStore(join(dir, 'jcs-redis.db'));
  for (const ak of ACCOUNTS) await createAccount(db, { accessKey: ak, secretKey: `${ak}-secret` });
  const logs: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n')) if (line) logs.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const logger = pino({ level: opts.logLevel ?? 'debug' }, sink);
  const fake = opts.fake ?? new FakeDriver();
  const driver = wrapDriver(fake, { logger, timeoutMs: opts.stepTimeoutMs ?? 30_000 });
  const { logLevel: _level, fake: _fake, ...engineOpts } = opts;
  const engine = new Engine({ db, driver, logger, passwordSeal: TEST_SEAL, handlers: defaultTaskHandlers, healthIntervalMs: 100, storeVersion: changeCounter(db), ...engineOpts });
  const config = loadConfig({ JCS_DATA_DIR: dir, JCS_QUOTA: '10000', JCS_QUOTA_NODES: '100000', JCS_HOST_MEMORY_MB: String(1 << 30) });
  const instances = createInstanceService({
    db,
    passwordSeal: TEST_SEAL,
    catalogue: loadClassCatalogue(fake.topologies),
    config,
    logger,
    reserveNodes: () => Promise.resolve({ endpointPort: null }),
    usedMemory: (id) => engine.usedMemory(id),
    nodePromise: (b) => b,
    notifyEngine: () => engine.notify(),
    now: () => new Date(),
    engineVersion: '7.0',
    ipWhiteListEnforcement: () => fake.capabilities.ipWhiteList,
  });
  engine.start();
  let n = 0;
  const harness: EngineHarness = {
    db,
    fake,
    engine,
    instances,
    logs,
    async create(account, name = `inst_${n++}`) {
      const res = await instances.create(
        { account, region: 'cn-north-1' },
        {
          vpcId: 'vpc-1',
          subnetId: 'subnet-1',
          cacheInstanceName: name,
          cacheInstanceClass: 'redis.m.micro.basic',
          azId: { master: 'cn-north-1a', slave: 'cn-north-1b' },
          redisVersion: '4.0',
        },
        undefined,
      );
      return { id: res.cacheInstanceId, committedMs: performance.now() };
    },
    async waitFor(what, check, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (!(await check())) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 5));
      }
    },
    async status(id) {
      return (await db.selectFrom('instances').select('status').where('id', '=', id).executeTakeFirst())?.status;
    },
    async close() {
      await engine.stop(1_000);
      await db.destroy();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return harness;
}
