/**
 * The commands that run the server or work on its data directory: `serve` (also `--ephemeral`), `tls
 * rotate`, `accounts`, `admin delete-instance`. Registering them loads nothing of the server: each
 * action imports what it needs, so `--help`, `--version` and the API commands start fast.
 */
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import type { Config } from './config.ts';
import type { Db } from './store/open-store.ts';
import { UsageError } from './cli/exit-codes.ts';

/** Loads a server module; a failure (a native dependency that does not load) says which command could not run. */
async function load<T>(what: string, importer: () => Promise<T>): Promise<T> {
  try {
    return await importer();
  } catch (err) {
    throw new Error(`"${what}" is unavailable: the server module failed to load: ${(err as Error).message}`);
  }
}

/** Process shell around startService: signals, exit codes, and the 10 s shutdown bound. */
async function serve(config: Config): Promise<void> {
  const { createLogger } = await load('serve', () => import('./logger.ts'));
  const { startService } = await load('serve', () => import('./main.ts'));
  const logger = createLogger(config.logLevel);
  let service;
  try {
    service = await startService(config, logger);
  } catch (err) {
    logger.fatal({ err: (err as Error).message }, `jcs-redis could not start: ${(err as Error).message}`);
    process.exitCode = 1;
    return;
  }
  // A stray rejection (e.g. a Redis connection closing under a dying node) must not take down the
  // API for every tenant: log it in full and keep serving; the engine's steps are retried anyway.
  process.on('unhandledRejection', (err) => logger.error({ err }, 'unhandled rejection (service keeps running)'));
  onShutdown(
    (signal) => {
      logger.info({ signal }, 'shutting down; instances keep running');
      return service.close();
    },
    (err) => logger.error({ err }, 'error during shutdown'),
    10_000,
  );
  await untilShutdown();
}

/**
 * A running service's command never returns: the process ends in its shutdown handler. (bin/jcs-redis.js
 * exits as soon as a command returns, so a one-shot command does not wait for idle keep-alive sockets.)
 */
const untilShutdown = (): Promise<never> => new Promise<never>(() => undefined);

/**
 * `serve --ephemeral`: one JSON line on stdout with the endpoint and keys, then on SIGTERM, SIGINT or
 * the parent process going away, every instance and file is removed before exiting.
 */
async function serveEphemeral(env: NodeJS.ProcessEnv): Promise<void> {
  // Read before anything else: a parent that dies while the service starts must still be noticed.
  const parent = process.ppid;
  const { startEphemeralService } = await load('serve --ephemeral', () => import('./ephemeral-service.ts'));
  let svc;
  try {
    svc = await startEphemeralService({ env, logLevel: env.JCS_LOG_LEVEL ?? 'warn' });
  } catch (err) {
    process.stderr.write(`jcs-redis could not start: ${(err as Error).message}\n`);
    process.exitCode = 1;
    return;
  }
  const { endpoint, accessKey, secretKey, region, dataDir } = svc;
  process.stdout.write(`${JSON.stringify({ endpoint, accessKey, secretKey, region, dataDir, pid: process.pid })}\n`);
  const stop = onShutdown(() => svc.stop(), (err) => process.stderr.write(`error while cleaning up: ${String(err)}\n`));
  // Parent death: the process is re-parented (to init or a subreaper), so its ppid changes.
  if (process.ppid !== parent) stop('parent exited');
  setInterval(() => {
    if (process.ppid !== parent) stop('parent exited');
  }, 500).unref();
  await untilShutdown();
}

/** Runs `close` once on SIGTERM or SIGINT (or when the returned function is called), then exits; 10 s at most (30 s for cleanup). */
function onShutdown(close: (signal: string) => Promise<void>, report: (err: unknown) => void, boundMs = 30_000): (signal: string) => void {
  let started = false;
  const shutdown = (signal: string): void => {
    if (started) return;
    started = true;
    const force = setTimeout(() => {
      report(new Error(`shutdown took longer than ${boundMs / 1000} s; exiting anyway`));
      process.exit(1);
    }, boundMs);
    force.unref();
    close(signal).then(
      () => process.exit(0),
      (err: unknown) => {
        report(err);
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
  return shutdown;
}

const dataDirOption = (cmd: Command): Command => cmd.option('--data-dir <dir>', 'data directory (env JCS_DATA_DIR, default ./data)');

/**
 * The data directory a command that works on it uses, which must hold a store already: run from the
 * wrong directory, such a command would otherwise create an empty `./data` there and show nothing.
 * `accounts create` may start a directory that was named explicitly (flag or JCS_DATA_DIR).
 */
async function existingDataDir(opts: { dataDir?: string }, mayCreate = false): Promise<string> {
  const { loadConfig } = await import('./config.ts');
  const named = opts.dataDir ?? process.env.JCS_DATA_DIR;
  const config = loadConfig(opts.dataDir ? { ...process.env, JCS_DATA_DIR: opts.dataDir } : process.env);
  // With JCS_DATABASE_URL the store is PostgreSQL's: the data directory holds no jcs-redis.db to look for.
  if (config.databaseUrl === undefined && !existsSync(`${config.dataDir}/jcs-redis.db`) && !(mayCreate && named)) {
    throw new UsageError(
      `no jcs-redis data directory at ${config.dataDir} (no jcs-redis.db there); give --data-dir <dir> or JCS_DATA_DIR` +
        (mayCreate ? ' (naming one explicitly also lets `accounts create` start a new one)' : ''),
    );
  }
  return config.dataDir;
}

/** The same store the service uses: PostgreSQL when JCS_DATABASE_URL is set, else the data directory's file. */
async function withStore<T>(dataDir: string, fn: (db: Db) => Promise<T>): Promise<T> {
  const { openStore } = await load('store', () => import('./store/open-store.ts'));
  const { storeFile } = await load('store', () => import('./main.ts'));
  const { loadConfig } = await import('./config.ts');
  const db = await openStore(loadConfig(process.env).databaseUrl ?? storeFile(dataDir));
  try {
    return await fn(db);
  } finally {
    await db.destroy();
  }
}

/** Registers `serve`, `tls rotate`, `accounts create|list|delete` and `admin delete-instance`. */
export function registerServeCommands(program: Command): void {
  dataDirOption(
    program
      .command('serve')
      .description('run the API service and its engine (what `npm start` runs)')
      .option('--host <host>', 'listen address (env JCS_HOST, default 127.0.0.1)')
      .option('--port <port>', 'listen port (env JCS_PORT, default 8000)')
      .option('--instance-ports <range>', 'ports for instances, e.g. 6400-7399 (env JCS_INSTANCE_PORTS)')
      .option('--redis-server <path>', 'redis-server binary (env JCS_REDIS_SERVER, default: found on PATH)')
      .option('--advertised-host <host>', 'host put in connectionDomain (env JCS_ADVERTISED_HOST, default 127.0.0.1)')
      .option('--bind-host <address>', "where instances' client ports listen: 0.0.0.0 or one IPv4 address (env JCS_BIND_HOST, default 127.0.0.1)")
      .option('--nft <path>', 'nftables binary that enforces IP white lists (env JCS_NFT, default: nft on PATH)')
      .option(
        '--ephemeral',
        'for tests and CI: a temporary data directory, a free port and new keys, printed as one JSON line; on SIGTERM, SIGINT or the parent exiting, every instance and file is removed',
      )
      .addHelpText('after', '\nExamples:\n  JCS_PORT=8000 JCS_DATA_DIR=./data jcs-redis serve\n  jcs-redis serve --ephemeral   # prints {"endpoint":…,"accessKey":…,"secretKey":…,"region":…}'),
  ).action(async (opts: Record<string, string | boolean | undefined>) => {
    const env = { ...process.env };
    const set = (name: string, value: string | boolean | undefined): void => {
      if (typeof value === 'string' && value) env[name] = value;
    };
    set('JCS_HOST', opts.host);
    set('JCS_PORT', opts.port);
    set('JCS_DATA_DIR', opts.dataDir);
    set('JCS_INSTANCE_PORTS', opts.instancePorts);
    set('JCS_REDIS_SERVER', opts.redisServer);
    set('JCS_ADVERTISED_HOST', opts.advertisedHost);
    set('JCS_BIND_HOST', opts.bindHost);
    set('JCS_NFT', opts.nft);
    if (opts.ephemeral) return serveEphemeral(env);
    const { loadConfig } = await import('./config.ts');
    await serve(loadConfig(env));
  });

  const tls = program.command('tls').description('the CA that authenticates the links between instance nodes (no server needed)');
  dataDirOption(
    tls
      .command('rotate')
      .description('start a new CA generation; the service re-issues every instance certificate and applies it live, without restarts')
      .addHelpText('after', '\nExample:\n  jcs-redis tls rotate --data-dir ./data'),
  ).action(async (opts: { dataDir?: string }) => {
    const dataDir = await existingDataDir(opts);
    const { rotateInternalCa } = await load('tls rotate', () => import('./main.ts'));
    const generation = await rotateInternalCa(dataDir);
    process.stdout.write(`CA generation ${generation} is current; nodes trust it and the previous one until the service has moved every instance to it\n`);
  });

  const accounts = program.command('accounts').description('manage access key pairs in the store: JCS_DATABASE_URL, else the data directory (no server needed)');
  const accountService = () => load('accounts', () => import('./domain/accounts/account-service.ts'));
  dataDirOption(
    accounts
      .command('create')
      .description('create an account and print its key pair')
      .option('--json', 'print {"accessKey": …, "secretKey": …}')
      .addHelpText('after', '\nExample:\n  jcs-redis accounts create --json'),
  ).action(async (opts: { dataDir?: string; json?: boolean }) => {
    const { createAccount } = await accountService();
    const pair = await withStore(await existingDataDir(opts, true), (db) => createAccount(db));
    process.stdout.write(opts.json ? `${JSON.stringify(pair)}\n` : `accessKey: ${pair.accessKey}\nsecretKey: ${pair.secretKey}\n`);
  });
  dataDirOption(accounts.command('list').description('list access keys (never secrets)').option('--json', 'print JSON')).action(
    async (opts: { dataDir?: string; json?: boolean }) => {
      const { listAccountKeys } = await accountService();
      const list = await withStore(await existingDataDir(opts), (db) => listAccountKeys(db));
      process.stdout.write(opts.json ? `${JSON.stringify(list)}\n` : list.map((a) => `${a.accessKey}\t${a.createdAt}\n`).join(''));
    },
  );
  dataDirOption(accounts.command('delete <accessKey>').description('delete an account that owns no instances')).action(
    async (accessKey: string, opts: { dataDir?: string }) => {
      const { deleteAccount } = await accountService();
      const res = await withStore(await existingDataDir(opts), (db) => deleteAccount(db, accessKey));
      if (res !== 'deleted') {
        process.stderr.write(
          res === 'missing' ? `no account ${accessKey}\n` : `account ${accessKey} still owns instances; delete them first (an operator can: jcs-redis admin delete-instance ID --force)\n`,
        );
        process.exitCode = 3;
        return;
      }
      process.stdout.write(`deleted ${accessKey}\n`);
    },
  );

  const admin = program.command('admin').description("operator commands on the data directory (no server needed; any account's instances)");
  dataDirOption(
    admin
      .command('delete-instance <id>')
      .description(
        'delete any instance, in any status, prepaid ones before they expire included; the running service (or the next one started) removes its nodes and files',
      )
      .option('--force', 'required: this bypasses the rules tenants are held to')
      .addHelpText('after', '\nExample:\n  jcs-redis admin delete-instance redis-abc123xyz0 --force --data-dir /var/lib/jcs-redis'),
  ).action(async (id: string, opts: { dataDir?: string; force?: boolean }) => {
    if (!opts.force) throw new UsageError('admin delete-instance needs --force: it bypasses the rules tenants are held to (prepaid expiry, status)');
    const dataDir = await existingDataDir(opts);
    const { forceDeleteInstance } = await load('admin delete-instance', () => import('./domain/instances/force-delete.ts'));
    const { createLogger } = await load('admin delete-instance', () => import('./logger.ts'));
    const { DomainError } = await load('admin delete-instance', () => import('./domain/domain-error.ts'));
    let res;
    try {
      res = await withStore(dataDir, (db) => forceDeleteInstance(db, createLogger('warn', process.stderr), id, Date.now()));
    } catch (err) {
      if (!(err instanceof DomainError)) throw err;
      process.stderr.write(`error: ${err.code}: ${err.message}\n`);
      process.exitCode = 3;
      return;
    }
    process.stdout.write(
      res.alreadyDeleting
        ? `${id} (account ${res.account}) is already being deleted\n`
        : `${id} (account ${res.account}, was ${res.previous}) is deleting: a running service removes it within seconds, otherwise the next one started does\n`,
    );
  });
}
