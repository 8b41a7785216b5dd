import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { connectWhenUp } from '../helpers/connect-when-up.ts';
import { sdkClient, type SdkBody, type SdkRedis } from '../helpers/sdk-client.ts';
import { freePort, ServiceProcess } from '../helpers/service-process.ts';
import { killInstanceProcesses, removeInstanceCgroups, TEST_AK, TEST_SK } from '../helpers/test-service.ts';

/** The backup operations of the SDK's Redis client (the shared SdkRedis lists the core ones). */
export interface BackupSdk extends SdkRedis {
  createBackup(params: unknown, regionId?: string): Promise<SdkBody>;
  describeBackups(params: unknown, regionId?: string): Promise<SdkBody>;
  describeBackupPolicy(params: unknown, regionId?: string): Promise<SdkBody>;
  modifyBackupPolicy(params: unknown, regionId?: string): Promise<SdkBody>;
  restoreInstance(params: unknown, regionId?: string): Promise<SdkBody>;
  describeDownloadUrl(params: unknown, regionId?: string): Promise<SdkBody>;
}

export interface BackupInfo {
  baseId: string;
  backupStatus: number;
  backupSize: number;
  backupShardNum: number;
  snapshotSource: string;
  failureReason: string;
}

/** Polls describeBackups until the backup is no longer running (status 0). */
export async function backupEnd(sdk: BackupSdk, id: string, baseId: string, timeoutMs = 60_000): Promise<BackupInfo> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await sdk.describeBackups({ cacheInstanceId: id, baseId });
    const b = (res.result.backups as BackupInfo[])[0];
    if (b && b.backupStatus !== 0) return b;
    if (Date.now() > deadline) throw new Error(`backup ${baseId} still running: ${JSON.stringify(b)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** One key as a test compares it: type, value, and absolute expiry (PEXPIRETIME, -1 without). */
export type KeyDump = Record<string, { type: string; value: unknown; expireAt: number }>;

/** Every key of databases `dbs` on `client`'s node, read with plain commands. */
export async function dumpKeys(client: Redis, dbs: readonly number[]): Promise<KeyDump> {
  const out: KeyDump = {};
  for (const db of dbs) {
    await client.select(db);
    for (const key of (await client.keys('*')).sort()) {
      const type = await client.type(key);
      const value =
        type === 'string' ? await client.get(key)
        : type === 'hash' ? await client.hgetall(key)
        : type === 'list' ? await client.lrange(key, 0, -1)
        : type === 'set' ? (await client.smembers(key)).sort()
        : type === 'zset' ? await client.zrange(key, 0, -1, 'WITHSCORES')
        : null;
      out[`${db}:${key}`] = { type, value, expireAt: Number(await client.call('PEXPIRETIME', key)) };
    }
  }
  await client.select(0);
  return out;
}

/** A spread of types and expiries in databases 0 and 3. */
export async function fillMixed(client: Redis, prefix: string): Promise<void> {
  const p = client.pipeline();
  for (let i = 0; i < 200; i++) p.set(`${prefix}s${i}`, `v${i}`);
  for (let i = 0; i < 20; i++) p.set(`${prefix}ttl${i}`, `t${i}`, 'EX', 3_600 + i);
  p.hset(`${prefix}h`, { a: '1', b: '2' });
  p.rpush(`${prefix}l`, 'x', 'y', 'z');
  p.sadd(`${prefix}set`, 'm', 'n');
  p.zadd(`${prefix}z`, 1, 'one', 2, 'two');
  p.pexpire(`${prefix}h`, 7_200_000);
  p.select(3);
  for (let i = 0; i < 30; i++) p.set(`${prefix}db3-${i}`, `d${i}`);
  p.select(0);
  await p.exec();
}

export function run(cmd: string, args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { maxBuffer: 1 << 24 }, (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, out: `${stdout}${stderr}` }));
  });
}

/**
 * A bare redis-server (no AOF, no password) started on `rdb` in `dir`, as an operator would to look into a
 * backup by hand (a full sync, such as `redis-cli --rdb`, starts at once: no diskless-sync delay).
 * Returns a client and the stop function.
 */
export async function bareRedisOn(dir: string, rdbName: string): Promise<{ client: Redis; stop(): Promise<void> }> {
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--dbfilename', rdbName, '--appendonly', 'no', '--save', '', '--databases', '16', '--repl-diskless-sync-delay', '0'], { stdio: 'ignore' });
  // No ready check: ioredis's waits out a loading server in whole seconds (loading_eta_seconds), which
  // made a 0.6 s load read as 1.03 s; the loop below polls `loading` every 10 ms instead.
  const client = await connectWhenUp({ host: '127.0.0.1', port, enableReadyCheck: false }, child, 'bare redis-server', 10_000);
  // A just-started server answers LOADING until the RDB is in.
  while (((await client.info('persistence')).match(/loading:(\d)/)?.[1] ?? '0') === '1') await new Promise((r) => setTimeout(r, 10));
  return {
    client,
    async stop() {
      client.disconnect();
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
    },
  };
}

/** The service as its own process (to SIGKILL it), with an SDK client and a cleanup that leaves nothing. */
export interface KillableService {
  svc: ServiceProcess;
  sdk: BackupSdk;
  dataDir: string;
  /** Kills the service and every redis-server it started, removes their cgroups and the data directory. */
  destroy(): Promise<void>;
}

export async function startKillableService(prefix: string, instancePorts: string): Promise<KillableService> {
  const dataDir = mkdtempSync(join(tmpdir(), prefix));
  const svc = new ServiceProcess(dataDir, await freePort(), instancePorts);
  await svc.start();
  return {
    svc,
    sdk: sdkClient(svc.url, TEST_AK, TEST_SK) as BackupSdk,
    dataDir,
    async destroy() {
      await svc.stop('SIGKILL');
      killInstanceProcesses(dataDir);
      await removeInstanceCgroups(dataDir);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** What a client writing through a restore saw, in order (see restoreWriter). */
export interface RestoreWrites {
  /** Every distinct error message. */
  refusals: Set<string>;
  /** Keys acknowledged before the first refusal that names the restore (written after the backup). */
  before: string[];
  /** Keys acknowledged between the first and the last such refusal: there must be none. */
  between: string[];
  /** Keys acknowledged after the last one: taken by the restored instance once it opened. */
  after: string[];
}

/**
 * A plain client writing `<prefix><n>` = `x` one at a time on `port` until stopped, recording each
 * acknowledgement and each refusal whose message says the instance is being restored.
 */
export function restoreWriter(port: number, password: string, prefix: string): { stop(): Promise<RestoreWrites> } {
  const w = new Redis({ host: '127.0.0.1', port, password, maxRetriesPerRequest: 0, retryStrategy: () => 5, enableOfflineQueue: false, enableReadyCheck: false });
  w.on('error', () => undefined);
  const refusals = new Set<string>();
  const events: Array<string | null> = [];
  let writing = true;
  const loop = (async () => {
    for (let n = 0; writing; n++) {
      try {
        await w.set(`${prefix}${n}`, 'x');
        events.push(`${prefix}${n}`);
      } catch (err) {
        const message = (err as Error).message;
        refusals.add(message);
        if (/being restored/.test(message)) events.push(null);
        await new Promise((r) => setTimeout(r, 2));
      }
    }
  })();
  return {
    async stop() {
      writing = false;
      await loop;
      w.disconnect();
      const first = events.indexOf(null);
      const last = events.lastIndexOf(null);
      const keys = (xs: Array<string | null>): string[] => xs.filter((e): e is string => e !== null);
      if (first < 0) return { refusals, before: keys(events), between: [], after: [] };
      return { refusals, before: keys(events.slice(0, first)), between: keys(events.slice(first, last + 1)), after: keys(events.slice(last + 1)) };
    },
  };
}
