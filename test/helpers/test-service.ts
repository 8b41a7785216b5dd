import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, type Config } from '../../src/config.ts';
import { listNodeCgroups, nodeCgroupPids, openMemoryCgroups, removeNodeCgroup } from '../../src/drivers/local/memory-cgroup.ts';
import { createLogger } from '../../src/logger.ts';
import { startService, type Service } from '../../src/main.ts';
import { sdkClient, type SdkRedis } from './sdk-client.ts';
import pino from 'pino';

export const TEST_AK = 'TESTAK';
export const TEST_SK = 'TESTSK';

export interface TestService extends Service {
  config: Config;
  dataDir: string;
  /** Every log line the service wrote, for tests that grep logs. */
  logFile: string;
  sdk(accessKey?: string, secretKey?: string, regionId?: string): SdkRedis;
  /** Closes the service, kills every redis-server it started, removes the data directory. */
  destroy(): Promise<void>;
}

/**
 * Host memory the test services admit against, unless a test sets its own: maxmemory is a cap, not an
 * allocation, so test instances use a few MB each whatever their class, and files run side by side.
 * Tests of admission control set JCS_HOST_MEMORY_MB small.
 */
export const TEST_HOST_MEMORY = { JCS_HOST_MEMORY_MB: String(16 * 1024 * 1024) };

/**
 * Starts the real service in-process on a free HTTP port with a fresh data directory.
 * `instancePorts` must be a range no other test file uses (files run in parallel). `port` (default: a
 * free one) is for a restart that clients must find where it was.
 */
export async function startTestService(opts: { instancePorts: string; env?: Record<string, string>; dataDir?: string; port?: number }): Promise<TestService> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'jcs-test-'));
  const config = loadConfig(
    // No port quarantine unless a test asks for one: most tests reuse a small port range many times.
    {
      JCS_DATA_DIR: dataDir,
      JCS_INSTANCE_PORTS: opts.instancePorts,
      JCS_ACCESS_KEY: TEST_AK,
      JCS_SECRET_KEY: TEST_SK,
      JCS_PORT_QUARANTINE_S: '0',
      ...TEST_HOST_MEMORY,
      ...opts.env,
    },
    { port: opts.port ?? 0 },
  );
  const logFile = join(dataDir, 'service.log');
  const logger = createLogger('info', pino.destination({ dest: logFile, sync: true, append: true }));
  let service: Service;
  try {
    service = await startService(config, logger);
  } catch (err) {
    // A service that failed to start leaves no processes, but its data directory would stay behind.
    if (opts.dataDir === undefined) rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
  return {
    ...service,
    config,
    dataDir,
    logFile,
    sdk: (ak = TEST_AK, sk = TEST_SK, region = 'cn-north-1') => sdkClient(service.url, ak, sk, region),
    async destroy() {
      await service.close();
      killInstanceProcesses(dataDir);
      await removeInstanceCgroups(dataDir);
      const leaked = secretsIn(readFileSync(logFile, 'utf8'));
      rmSync(dataDir, { recursive: true, force: true });
      if (leaked.length > 0) throw new Error(`the service log contains secrets: ${leaked.join(', ')}`);
    },
  };
}

/**
 * Every password and secret key the test suite uses. Each test service's log is searched for them
 * when it is destroyed, so a secret that reaches a log line fails the test file that leaked it.
 */
export const SUITE_SECRETS = [TEST_SK, 'Abcd1234', 'NewPass99', 'Abcd12345', 'Stolen123', 'Secret12345678', 'WRONGSECRET', 'Chaos1234', 'Passw0rd1', 'Passw0rd2', 'N3wPassw0rd', 'Clust3rPass', 'Crash3dPass', 'NewClust3rPass', 'Typ3Change', 'Pr0xyPass1', 'Pr0xyPass2', 'WLOTHERSK', 'OTHERSK'];

export function secretsIn(text: string): string[] {
  return SUITE_SECRETS.filter((s) => text.includes(s));
}

/** Kills (SIGKILL) every redis-server whose pidfile lies under `dataDir`; returns how many were alive. */
export function killInstanceProcesses(dataDir: string): number {
  let killed = 0;
  for (const pid of instancePids(dataDir)) {
    try {
      process.kill(pid, 'SIGKILL');
      killed++;
    } catch {
      // already gone
    }
  }
  return killed;
}

/**
 * Removes the memory cgroups of every instance under `<dataDir>/instances/` (`<instanceId>-<port>`, and a
 * restore's scratch server's `<instanceId>-r<n>`,
 * below the service's parent group), killing what is still in them (a node without a pidfile): the
 * driver removes a node's group when it stops the node, but tests kill nodes behind its back, and each
 * run left dozens of empty groups behind. Call it after the kills and before the data directory goes.
 */
export async function removeInstanceCgroups(dataDir: string): Promise<void> {
  let ids: string[];
  try {
    ids = readdirSync(join(dataDir, 'instances'));
  } catch {
    return;
  }
  if (ids.length === 0) return;
  const found = await openMemoryCgroups();
  if (!found.available) return;
  const cg = found.cgroups;
  const names = (await listNodeCgroups(cg)).filter((n) => ids.some((id) => n.startsWith(`${id}-`) && /^r?\d+$/.test(n.slice(id.length + 1))));
  const deadline = Date.now() + 5_000;
  for (const name of names) {
    while (!(await removeNodeCgroup(cg, name))) {
      for (const pid of await nodeCgroupPids(cg, name)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone already
        }
      }
      if (Date.now() > deadline) throw new Error(`memory cgroup ${name} still holds a process 5 s after SIGKILL`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/** Pids from every node pidfile under `<dataDir>/instances/`. */
export function instancePids(dataDir: string): number[] {
  const root = join(dataDir, 'instances');
  const pids: number[] = [];
  let ids: string[] = [];
  try {
    ids = readdirSync(root);
  } catch {
    return pids;
  }
  for (const id of ids) {
    let nodes: string[] = [];
    try {
      nodes = readdirSync(join(root, id));
    } catch {
      continue;
    }
    for (const node of nodes) {
      try {
        // A proxy cluster's twemproxy keeps its pid beside its conf (px<port>/nutcracker.pid).
        const pid = Number(readFileSync(join(root, id, node, node.startsWith('px') ? 'nutcracker.pid' : 'redis.pid'), 'utf8').trim());
        if (pid > 0) pids.push(pid);
      } catch {
        // not a node directory, or no pidfile
      }
    }
  }
  return pids;
}

/** Polls describeCacheInstance until the status is one of `want` (or the instance is gone, for 'gone'). */
export async function waitForStatus(sdk: SdkRedis, id: string, want: string[], timeoutMs = 20_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const res = await sdk.describeCacheInstance({ cacheInstanceId: id });
      last = res.result.cacheInstance.cacheInstanceStatus as string;
    } catch (err) {
      const e = err as { error?: { status?: string } };
      if (e.error?.status === 'NOT_FOUND') last = 'gone';
      else throw err;
    }
    if (want.includes(last)) return last;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`instance ${id} stayed ${last}, wanted ${want.join('|')}`);
}

export const msSpec = (overrides: Record<string, unknown> = {}): Record<string, unknown> => ({
  vpcId: 'vpc-test',
  subnetId: 'subnet-test',
  cacheInstanceName: 'test_redis',
  cacheInstanceClass: 'redis.m.micro.basic',
  azId: { master: 'cn-north-1a', slave: 'cn-north-1b' },
  redisVersion: '4.0',
  ...overrides,
});
