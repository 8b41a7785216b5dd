/**
 * The test-dependency mode (`jcs-redis serve --ephemeral`, and `startService()` of the package): a
 * service in a fresh temporary data directory, on a free port, with a generated key pair; stopping it
 * removes every instance it started (nodes, ports, firewall rules, memory groups, through the driver)
 * and the directory. For CI pipelines and test suites that need a real JD Cloud Redis stand-in.
 */
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { loadConfig, type Config } from './config.ts';
import { generateKeyPair } from './domain/accounts/account-service.ts';
import { createLogger } from './logger.ts';
import { startService, type Service } from './main.ts';

export interface EphemeralOptions {
  /** Environment the settings are read from (JCS_INSTANCE_PORTS, JCS_REDIS_SERVER, …). Default: process.env. Data dir, port and keys are always the ephemeral ones. */
  env?: NodeJS.ProcessEnv;
  /** Log level. Default `warn`; logs go to stderr (stdout stays free for the endpoint line). */
  logLevel?: string;
}

/** What a test or pipeline needs to reach the service: the SDK endpoint, the keys, the region. */
export interface EphemeralEndpoint {
  endpoint: string;
  accessKey: string;
  secretKey: string;
  region: string;
  dataDir: string;
}

export interface EphemeralService extends EphemeralEndpoint {
  /** Removes every instance, stops the service, deletes the data directory. Safe to call twice. */
  stop(): Promise<void>;
}

/** Starts an ephemeral service (see the module comment). */
export async function startEphemeralService(options: EphemeralOptions = {}): Promise<EphemeralService> {
  const dataDir = mkdtempSync(join(tmpdir(), 'jcs-redis-ephemeral-'));
  const keys = generateKeyPair();
  let service: Service;
  let config: Config;
  try {
    config = loadConfig(
      { ...(options.env ?? process.env), JCS_DATA_DIR: dataDir, JCS_ACCESS_KEY: keys.accessKey, JCS_SECRET_KEY: keys.secretKey, JCS_PORT_QUARANTINE_S: '0' },
      { port: 0 },
    );
    const logger = createLogger(options.logLevel ?? 'warn', pino.destination(2));
    service = await startService(config, logger, {});
  } catch (err) {
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
  // Last resort when the process exits without stop() (a test runner killed): no async work is possible
  // then, so nodes are killed by their pidfiles and the directory removed.
  const onExit = (): void => killNodesAndRemove(dataDir);
  process.once('exit', onExit);
  let stopping: Promise<void> | null = null;
  return {
    endpoint: service.url,
    accessKey: keys.accessKey,
    secretKey: keys.secretKey,
    region: config.regions[0] ?? 'cn-north-1',
    dataDir,
    stop() {
      stopping ??= (async () => {
        try {
          await service.engine.stop();
          const ids = await service.db.selectFrom('instances').select('id').execute();
          for (const { id } of ids) await service.driver.ensureAbsent(id, AbortSignal.timeout(30_000));
          await service.close();
        } finally {
          process.removeListener('exit', onExit);
          killNodesAndRemove(dataDir);
        }
      })();
      return stopping;
    },
  };
}

/** SIGKILLs every process named by a `*.pid` file under `dir`, then removes `dir`. Synchronous. */
function killNodesAndRemove(dir: string): void {
  const walk = (d: string): string[] => {
    try {
      return readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(d, e.name)) : e.name.endsWith('.pid') ? [join(d, e.name)] : []));
    } catch {
      return [];
    }
  };
  for (const file of walk(dir)) {
    const pid = Number(readFileSync(file, 'utf8').trim());
    if (!Number.isInteger(pid) || pid <= 1) continue;
    try {
      // Only a process that still runs in this directory (a node's working directory is its own): a
      // pid can be reused, and redis-server rewrites its command line.
      if (readlinkSync(`/proc/${pid}/cwd`).startsWith(dir)) process.kill(pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
  rmSync(dir, { recursive: true, force: true });
}
