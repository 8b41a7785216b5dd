/**
 * The test-dependency mode (`jcs-redis serve --ephemeral`, and `startService()` of the package): a
 * service in a fresh temporary data directory, on a free port, with a generated key pair; stopping it
 * removes every instance it started (nodes, ports, firewall rules, memory groups, through the driver)
 * and the directory. For CI pipelines and test suites that need a real JD Cloud Redis stand-in.
 *
 * Its IP white lists (as root) live in an nftables table of its own, `inet jcs_redis_e_<random>`, never
 * in the host's shared `jcs_redis`: stopping deletes that table whole, and so can touch no rule of
 * another service, while deleting an emptied shared table could race another service adding to it.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
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
  const firewallTable = { name: `jcs_redis_e_${randomBytes(6).toString('hex')}`, own: true };
  let service: Service;
  let config: Config;
  try {
    config = loadConfig(
      { ...(options.env ?? process.env), JCS_DATA_DIR: dataDir, JCS_ACCESS_KEY: keys.accessKey, JCS_SECRET_KEY: keys.secretKey, JCS_PORT_QUARANTINE_S: '0' },
      { port: 0 },
    );
    const logger = createLogger(options.logLevel ?? 'warn', pino.destination(2));
    service = await startService(config, logger, { firewallTable });
  } catch (err) {
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
  // The driver's close deletes the table; this is for when close is not reached (stop failed half-way,
  // or the process exits without stop()), where only synchronous work is possible.
  const nft = config.nft;
  const driver = service.driver;
  const dropTable = (): void => {
    if (driver.capabilities.ipWhiteList.enforced) spawnSync(nft, ['delete', 'table', 'inet', firewallTable.name], { stdio: 'ignore', timeout: 5_000 });
  };
  // Last resort when the process exits without stop() (a test runner killed): nodes are killed by their
  // pidfiles, the directory and the table removed.
  const onExit = (): void => {
    killNodesAndRemove(dataDir);
    dropTable();
  };
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
        let closed = false;
        try {
          await service.engine.stop();
          const ids = await service.db.selectFrom('instances').select('id').execute();
          for (const { id } of ids) await service.driver.ensureAbsent(id, AbortSignal.timeout(30_000));
          await service.close();
          closed = true;
        } finally {
          process.removeListener('exit', onExit);
          killNodesAndRemove(dataDir);
          if (!closed) dropTable();
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
