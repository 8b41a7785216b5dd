import type { Command } from 'commander';
import { loadConfig, type Config } from './config.ts';
import { createAccount, deleteAccount, listAccountKeys } from './domain/accounts/account-service.ts';
import { createLogger } from './logger.ts';
import { rotateInternalCa, startService, storeFile } from './main.ts';
import { openStore } from './store/open-store.ts';

/** Process shell around startService: signals, exit codes, and the 10 s shutdown bound. */
async function serve(config: Config): Promise<void> {
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
  const shutdown = (signal: string): void => {
    logger.info({ signal }, 'shutting down; instances keep running');
    const force = setTimeout(() => {
      logger.error('shutdown took longer than 10 s; exiting anyway');
      process.exit(1);
    }, 10_000);
    force.unref();
    service.close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'error during shutdown');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}

const dataDirOption = (cmd: Command): Command => cmd.option('--data-dir <dir>', 'data directory (env JCS_DATA_DIR, default ./data)');

/** Registers `serve` and `accounts create|list|delete` (these work on the data directory directly). */
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
      .addHelpText('after', '\nExample:\n  JCS_PORT=8000 JCS_DATA_DIR=./data jcs-redis serve'),
  ).action(async (opts: Record<string, string | undefined>) => {
    const env = { ...process.env };
    if (opts.host) env.JCS_HOST = opts.host;
    if (opts.port) env.JCS_PORT = opts.port;
    if (opts.dataDir) env.JCS_DATA_DIR = opts.dataDir;
    if (opts.instancePorts) env.JCS_INSTANCE_PORTS = opts.instancePorts;
    if (opts.redisServer) env.JCS_REDIS_SERVER = opts.redisServer;
    if (opts.advertisedHost) env.JCS_ADVERTISED_HOST = opts.advertisedHost;
    if (opts.bindHost) env.JCS_BIND_HOST = opts.bindHost;
    if (opts.nft) env.JCS_NFT = opts.nft;
    await serve(loadConfig(env));
  });

  const tls = program.command('tls').description('the CA that authenticates the links between instance nodes (no server needed)');
  dataDirOption(
    tls
      .command('rotate')
      .description('start a new CA generation; the service re-issues every instance certificate and applies it live, without restarts')
      .addHelpText('after', '\nExample:\n  jcs-redis tls rotate --data-dir ./data'),
  ).action(async (opts: { dataDir?: string }) => {
    const config = loadConfig(opts.dataDir ? { ...process.env, JCS_DATA_DIR: opts.dataDir } : process.env);
    const generation = await rotateInternalCa(config.dataDir);
    process.stdout.write(`CA generation ${generation} is current; nodes trust it and the previous one until the service has moved every instance to it\n`);
  });

  const accounts = program.command('accounts').description('manage access key pairs in the store: JCS_DATABASE_URL, else the data directory (no server needed)');
  const withStore = async <T>(opts: { dataDir?: string }, fn: (db: Awaited<ReturnType<typeof openStore>>) => Promise<T>): Promise<T> => {
    const config = loadConfig(opts.dataDir ? { ...process.env, JCS_DATA_DIR: opts.dataDir } : process.env);
    // The same store the service uses: PostgreSQL when JCS_DATABASE_URL is set, else the data directory's file.
    const db = await openStore(config.databaseUrl ?? storeFile(config.dataDir));
    try {
      return await fn(db);
    } finally {
      await db.destroy();
    }
  };
  dataDirOption(
    accounts
      .command('create')
      .description('create an account and print its key pair')
      .option('--json', 'print {"accessKey": …, "secretKey": …}')
      .addHelpText('after', '\nExample:\n  jcs-redis accounts create --json'),
  ).action(async (opts: { dataDir?: string; json?: boolean }) => {
    const pair = await withStore(opts, (db) => createAccount(db));
    process.stdout.write(opts.json ? `${JSON.stringify(pair)}\n` : `accessKey: ${pair.accessKey}\nsecretKey: ${pair.secretKey}\n`);
  });
  dataDirOption(accounts.command('list').description('list access keys (never secrets)').option('--json', 'print JSON')).action(
    async (opts: { dataDir?: string; json?: boolean }) => {
      const list = await withStore(opts, (db) => listAccountKeys(db));
      process.stdout.write(opts.json ? `${JSON.stringify(list)}\n` : list.map((a) => `${a.accessKey}\t${a.createdAt}\n`).join(''));
    },
  );
  dataDirOption(accounts.command('delete <accessKey>').description('delete an account that owns no instances')).action(
    async (accessKey: string, opts: { dataDir?: string }) => {
      const res = await withStore(opts, (db) => deleteAccount(db, accessKey));
      if (res !== 'deleted') {
        process.stderr.write(res === 'missing' ? `no account ${accessKey}\n` : `account ${accessKey} still owns instances; delete them first\n`);
        process.exitCode = 3;
        return;
      }
      process.stdout.write(`deleted ${accessKey}\n`);
    },
  );
}
