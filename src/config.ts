import { isIPv4 } from 'node:net';
import { totalmem } from 'node:os';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Operator settings. Each has an environment variable and a default; flags override both. */
export interface Config {
  /** `JCS_HOST`, default `127.0.0.1`. */
  host: string;
  /** `JCS_PORT`, default 8000. */
  port: number;
  /** `JCS_DATA_DIR`, default `./data`: the database file and every instance's data. */
  dataDir: string;
  /** `JCS_INSTANCE_PORTS`, default `6400-7399`: ports handed to instance nodes (client, TLS and bus ports). */
  instancePorts: { from: number; to: number };
  /** `JCS_PORT_QUARANTINE_S`, default 600: a released port goes to no instance for this many seconds. */
  portQuarantineS: number;
  /** `JCS_ACCESS_KEY` + `JCS_SECRET_KEY`: an account that exists from the first start. */
  accessKey: string | undefined;
  secretKey: string | undefined;
  /** `JCS_REDIS_SERVER`: path to redis-server; default: found on PATH. */
  redisServer: string;
  /** `JCS_ADVERTISED_HOST`, default `127.0.0.1`: host put in `connectionDomain`. */
  advertisedHost: string;
  /**
   * `JCS_BIND_HOST`, default `127.0.0.1`: where instances' client ports listen, `0.0.0.0` (every
   * interface) or one IPv4 address of this host. Who may connect is each instance's IP white list.
   */
  bindHost: string;
  /** `JCS_NFT`, default `nft` (found on PATH): the nftables binary that enforces IP white lists. */
  nft: string;
  /** `JCS_CONSOLE_DIR`, default `console/dist` of this package: the built web console served at `/console/`. */
  consoleDir: string;
  /** `JCS_MEMORY_CGROUPS`, default `on`: each node in a memory cgroup sized from its class, where the host allows it (`off` to disable). */
  memoryCgroups: boolean;
  /** `JCS_REGIONS`, default `cn-north-1,cn-east-2,cn-south-1`; zones are `<region>a|b|c`. */
  regions: string[];
  /** `JCS_QUOTA`, default 20: instances per account and region. */
  quota: number;
  /**
   * `JCS_QUOTA_NODES`, default 256: redis-server nodes (a master and a replica per shard) per account and
   * region. 256 lets the largest class in the catalogue (128 shards) be created once.
   */
  quotaNodes: number;
  /** `JCS_QUOTA_MEMORY_MB`, default 0 (none: only the host's budget applies): promised memory per account and region. */
  quotaMemoryMb: number;
  /** `JCS_HOST_MEMORY_MB`, default the machine's memory (os.totalmem()): what host admission control divides. */
  hostMemoryMb: number;
  /** `JCS_MEMORY_RESERVE_MB`, default 1024: kept back from instances for the OS, the control plane and page cache. */
  memoryReserveMb: number;
  /** `JCS_MEMORY_OVERCOMMIT`, default 1.0: instances may be promised this times (host memory - reserve). */
  memoryOvercommit: number;
  /** `JCS_LOG_LEVEL`, default `info`. */
  logLevel: string;
  /** `JCS_TASK_ATTEMPTS`, default 12 (about 30 s of retries): attempts before a task puts the instance in `error`. */
  taskAttempts: number;
  /**
   * `JCS_HEALTH_CHECKS_PER_SECOND`, default 25: health checks per second over all instances, the engine's
   * idle CPU budget. A check of a master-slave pair costs ~1.7 ms of CPU on the 2-core VM the defaults
   * were measured on (bench:engine), so 25/s is ~4% of a core whatever the number of instances; each
   * instance is checked every max(0.5 s, N / 25 s). A node that dies is noticed at once either way.
   */
  healthChecksPerSecond: number;
  /**
   * `JCS_API_MAX_CONNECTIONS`: most connections open at once on the API port. Default: the process's
   * open-files limit minus a reserve for the engine (see apiFdReserve), at least 64.
   */
  apiMaxConnections: number;
  /** `JCS_API_MAX_CONNECTIONS_PER_IP`, default 256: most connections open at once from one client address. */
  apiMaxConnectionsPerIp: number;
  /** `JCS_API_HEADERS_TIMEOUT_MS`, default 10 000: a client must send a request's headers within this time. */
  apiHeadersTimeoutMs: number;
  /** `JCS_API_REQUEST_TIMEOUT_MS`, default 30 000: a client must send a whole request within this time. */
  apiRequestTimeoutMs: number;
  /** `JCS_API_KEEPALIVE_TIMEOUT_MS`, default 5 000: an idle keep-alive connection is closed after this time. */
  apiKeepAliveTimeoutMs: number;
  /**
   * `JCS_HUNG_NODE_MS`, default 5000: a node that accepts connections but has not answered for this long
   * is fenced (SIGKILL) and repaired like a dead one (a hung master fails over); 0 turns fencing off. At
   * least 1000 (a node is first called silent after 1 s without an answer).
   */
  hungNodeMs: number;
  /**
   * `JCS_RETYPE_STEP_MS`, default 10 000: how long one driver call of a type change copies keys before it
   * answers progressing (the engine calls again; the step timeout is 30 s). At least 1.
   */
  retypeStepMs: number;
  /**
   * `JCS_METRICS_PORT`, default none: serve `/metrics` on a listener of its own (on `metricsHost`),
   * open to whoever reaches it, instead of on the API port (where, without a token, only this host may scrape).
   */
  metricsPort: number | undefined;
  /** `JCS_METRICS_HOST`, default `127.0.0.1`: where the metrics listener binds (with `JCS_METRICS_PORT`). */
  metricsHost: string;
  /** `JCS_METRICS_TOKEN`, default none: when set, `/metrics` needs `Authorization: Bearer <token>`. */
  metricsToken: string | undefined;
  /**
   * `JCS_DATABASE_URL`: a `postgres://user:password@host:port/db` URL puts the store in PostgreSQL, where
   * several service processes (on the host that holds the nodes) share it; absent, the store is the
   * SQLite file in the data directory and one process owns it. Never logged: it holds a password.
   */
  databaseUrl: string | undefined;
  /**
   * `JCS_LEASE_MS`, default 15 000: how long a process holds a task or an instance's health checks
   * without renewing; a process that dies loses them this long after its last renewal. At least 1000.
   */
  leaseMs: number;
  /** `JCS_BACKUP_DIR`, default `<data dir>/backups`: the directory backup files are kept in (docs/backups.md). */
  backupDir?: string;
  /** `JCS_BACKUP_RETENTION_DAYS`, default 7 (JD's): backups are removed this many days after they were taken. */
  backupRetentionDays: number;
  /** `JCS_BACKUP_MAX_PER_INSTANCE`, default 30: backups kept per instance; createBackup beyond it is QUOTA_EXCEEDED. */
  backupMaxPerInstance: number;
  /** `JCS_BACKUP_QUOTA_GB`, default 50: bytes of backups per account (in GB); a backup beyond it is QUOTA_EXCEEDED. */
  backupQuotaGb: number;
  /** `JCS_REDIS_CHECK_RDB`, default `redis-check-rdb` on PATH: checks every backup file. */
  redisCheckRdb: string;
}

/**
 * Descriptors kept for the engine, out of the API's reach: a quarter of the open-files limit, at
 * least 256 and at most 4096. The engine needs them for its connections to Redis nodes, the pipes of
 * the processes it starts, the store and the logs.
 */
export function apiFdReserve(openFilesLimit: number): number {
  return Math.min(4096, Math.max(256, Math.floor(openFilesLimit / 4)));
}

/** Default of `JCS_API_MAX_CONNECTIONS` for an open-files limit (undefined: unknown, taken as 1024). */
export function defaultApiMaxConnections(openFilesLimit: number | undefined): number {
  const limit = openFilesLimit ?? 1024;
  return Math.max(64, limit - apiFdReserve(limit));
}

/**
 * This process's soft "Max open files" limit (Node raises it to the hard limit at start), or
 * undefined when unlimited or unknown.
 */
export function readOpenFilesLimit(limitsPath = '/proc/self/limits'): number | undefined {
  let text: string;
  try {
    text = readFileSync(limitsPath, 'utf8');
  } catch {
    return undefined;
  }
  const soft = text.split('\n').find((l) => l.startsWith('Max open files'))?.trim().split(/\s+/)[3];
  const n = Number(soft);
  return Number.isInteger(n) && n > 0 ? n : undefined;
}

function parsePortRange(text: string): { from: number; to: number } {
  const m = /^(\d+)-(\d+)$/.exec(text.trim());
  const from = m ? Number(m[1]) : NaN;
  const to = m ? Number(m[2]) : NaN;
  if (!m || from < 1024 || to > 65535 || from > to) {
    throw new Error(`JCS_INSTANCE_PORTS must look like 6400-7399 (1024..65535, from <= to), got "${text}"`);
  }
  return { from, to };
}

function parsePositiveInt(name: string, text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer, got "${text}"`);
  return n;
}

function parseNonNegativeInt(name: string, text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a whole number >= 0, got "${text}"`);
  return n;
}

// IPv4 only: IP white lists are IPv4 CIDRs (JD's contract), so an IPv6 listener could not be filtered by them.
function parseBindHost(text: string): string {
  const host = text.trim();
  if (!isIPv4(host)) throw new Error(`JCS_BIND_HOST must be 0.0.0.0 or one IPv4 address of this host, got "${text}"`);
  return host;
}

function parseOnOff(name: string, text: string): boolean {
  if (text === 'on' || text === 'off') return text === 'on';
  throw new Error(`${name} must be on or off, got "${text}"`);
}

function parsePositiveNumber(name: string, text: string): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a number > 0, got "${text}"`);
  return n;
}

// 0 (off) or a bound of at least the 1 s after which a node is first called silent.
function parseHungNodeMs(text: string): number {
  const n = text.trim() === '' ? NaN : Number(text); // an empty value must not turn fencing off
  if (!Number.isInteger(n) || (n !== 0 && n < 1000)) throw new Error(`JCS_HUNG_NODE_MS must be 0 (never fence) or a whole number of ms >= 1000, got "${text}"`);
  return n;
}

// Only PostgreSQL URLs: the message never repeats the value (it may hold a password).
function parseDatabaseUrl(text: string | undefined): string | undefined {
  if (text === undefined || text === '') return undefined;
  if (!/^postgres(ql)?:\/\/./i.test(text)) throw new Error('JCS_DATABASE_URL must be a postgres:// or postgresql:// URL (value not shown: it may hold a password)');
  return text;
}

/** Reads the configuration from an environment (process.env by default), applying the defaults. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: Partial<Config> = {}): Config {
  const config: Config = {
    host: env.JCS_HOST ?? '127.0.0.1',
    port: parsePositiveInt('JCS_PORT', env.JCS_PORT ?? '8000'),
    dataDir: resolve(env.JCS_DATA_DIR ?? './data'),
    instancePorts: parsePortRange(env.JCS_INSTANCE_PORTS ?? '6400-7399'),
    portQuarantineS: parseNonNegativeInt('JCS_PORT_QUARANTINE_S', env.JCS_PORT_QUARANTINE_S ?? '600'),
    accessKey: env.JCS_ACCESS_KEY || undefined,
    secretKey: env.JCS_SECRET_KEY || undefined,
    redisServer: env.JCS_REDIS_SERVER ?? 'redis-server',
    advertisedHost: env.JCS_ADVERTISED_HOST ?? '127.0.0.1',
    bindHost: parseBindHost(env.JCS_BIND_HOST ?? '127.0.0.1'),
    nft: env.JCS_NFT || 'nft',
    consoleDir: resolve(env.JCS_CONSOLE_DIR || fileURLToPath(new URL('../console/dist', import.meta.url))),
    memoryCgroups: parseOnOff('JCS_MEMORY_CGROUPS', env.JCS_MEMORY_CGROUPS ?? 'on'),
    regions: (env.JCS_REGIONS ?? 'cn-north-1,cn-east-2,cn-south-1')
      .split(',')
      .map((r) => r.trim())
      .filter(Boolean),
    quota: parsePositiveInt('JCS_QUOTA', env.JCS_QUOTA ?? '20'),
    quotaNodes: parsePositiveInt('JCS_QUOTA_NODES', env.JCS_QUOTA_NODES ?? '256'),
    quotaMemoryMb: parseNonNegativeInt('JCS_QUOTA_MEMORY_MB', env.JCS_QUOTA_MEMORY_MB ?? '0'),
    hostMemoryMb: parsePositiveInt('JCS_HOST_MEMORY_MB', env.JCS_HOST_MEMORY_MB ?? String(Math.floor(totalmem() / 1048576))),
    memoryReserveMb: parseNonNegativeInt('JCS_MEMORY_RESERVE_MB', env.JCS_MEMORY_RESERVE_MB ?? '1024'),
    memoryOvercommit: parsePositiveNumber('JCS_MEMORY_OVERCOMMIT', env.JCS_MEMORY_OVERCOMMIT ?? '1.0'),
    logLevel: env.JCS_LOG_LEVEL ?? 'info',
    taskAttempts: parsePositiveInt('JCS_TASK_ATTEMPTS', env.JCS_TASK_ATTEMPTS ?? '12'),
    healthChecksPerSecond: parsePositiveInt('JCS_HEALTH_CHECKS_PER_SECOND', env.JCS_HEALTH_CHECKS_PER_SECOND ?? '25'),
    apiMaxConnections: env.JCS_API_MAX_CONNECTIONS
      ? parsePositiveInt('JCS_API_MAX_CONNECTIONS', env.JCS_API_MAX_CONNECTIONS)
      : defaultApiMaxConnections(readOpenFilesLimit()),
    apiMaxConnectionsPerIp: parsePositiveInt('JCS_API_MAX_CONNECTIONS_PER_IP', env.JCS_API_MAX_CONNECTIONS_PER_IP ?? '256'),
    apiHeadersTimeoutMs: parsePositiveInt('JCS_API_HEADERS_TIMEOUT_MS', env.JCS_API_HEADERS_TIMEOUT_MS ?? '10000'),
    apiRequestTimeoutMs: parsePositiveInt('JCS_API_REQUEST_TIMEOUT_MS', env.JCS_API_REQUEST_TIMEOUT_MS ?? '30000'),
    apiKeepAliveTimeoutMs: parsePositiveInt('JCS_API_KEEPALIVE_TIMEOUT_MS', env.JCS_API_KEEPALIVE_TIMEOUT_MS ?? '5000'),
    hungNodeMs: parseHungNodeMs(env.JCS_HUNG_NODE_MS ?? '5000'),
    retypeStepMs: parsePositiveInt('JCS_RETYPE_STEP_MS', env.JCS_RETYPE_STEP_MS ?? '10000'),
    metricsPort: env.JCS_METRICS_PORT ? parsePositiveInt('JCS_METRICS_PORT', env.JCS_METRICS_PORT) : undefined,
    metricsHost: env.JCS_METRICS_HOST ?? '127.0.0.1',
    metricsToken: env.JCS_METRICS_TOKEN || undefined,
    databaseUrl: parseDatabaseUrl(env.JCS_DATABASE_URL),
    leaseMs: parsePositiveInt('JCS_LEASE_MS', env.JCS_LEASE_MS ?? '15000'),
    ...(env.JCS_BACKUP_DIR ? { backupDir: resolve(env.JCS_BACKUP_DIR) } : {}),
    backupRetentionDays: parsePositiveInt('JCS_BACKUP_RETENTION_DAYS', env.JCS_BACKUP_RETENTION_DAYS ?? '7'),
    backupMaxPerInstance: parsePositiveInt('JCS_BACKUP_MAX_PER_INSTANCE', env.JCS_BACKUP_MAX_PER_INSTANCE ?? '30'),
    backupQuotaGb: parsePositiveNumber('JCS_BACKUP_QUOTA_GB', env.JCS_BACKUP_QUOTA_GB ?? '50'),
    redisCheckRdb: env.JCS_REDIS_CHECK_RDB || 'redis-check-rdb',
    ...overrides,
  };
  if (config.memoryReserveMb >= config.hostMemoryMb) {
    throw new Error(
      `JCS_MEMORY_RESERVE_MB (${config.memoryReserveMb}) must be below the host memory (${config.hostMemoryMb} MB): nothing would be left for instances`,
    );
  }
  if (config.apiHeadersTimeoutMs > config.apiRequestTimeoutMs) {
    throw new Error('JCS_API_HEADERS_TIMEOUT_MS must not be larger than JCS_API_REQUEST_TIMEOUT_MS');
  }
  if (config.leaseMs < 1000) throw new Error(`JCS_LEASE_MS must be at least 1000, got ${config.leaseMs}`);
  if (Boolean(config.accessKey) !== Boolean(config.secretKey)) {
    throw new Error('JCS_ACCESS_KEY and JCS_SECRET_KEY must be set together');
  }
  return config;
}
