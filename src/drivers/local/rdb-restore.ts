/**
 * Restore (Driver.replaceData and Driver.openAfterRestore). Two ways, both ending with the instance holding
 * exactly the backup's data while tenants are refused (restore-marker.ts), until openAfterRestore:
 *
 * - **File swap** (one file into a master-slave instance): the nodes are stopped, the master gets a new AOF
 *   directory whose base is the backup's RDB (Redis 7 loads a multi-part AOF whose base is an RDB; a plain
 *   dump.rdb is ignored while `appendonly yes`), its replica loses its data, and the master is started
 *   with `--port 0` (no client port: only its unix socket and TLS port) and waited for until loaded. Its
 *   replica is started by the next ensurePresent and re-syncs while the instance already serves.
 * - **Key copy** (a native-cluster backup, into a cluster of any shard count or a master-slave instance):
 *   the running nodes close their client ports (`CONFIG SET port 0`), the tenants' connections are
 *   dropped, every master is emptied (FLUSHALL), then each backup file is loaded into a scratch
 *   redis-server (unix socket only, in the instance's directory) and its keys are copied with DUMP /
 *   RESTORE ABSTTL (values, types and absolute expiries kept) into the master that owns each key's slot.
 *
 * Every step is safe to repeat after a crash: the tenants were never let in, so a repeat starts over
 * from the files (a swap is a rename; a copy begins with FLUSHALL). openAfterRestore gives each node its
 * client port back (`CONFIG SET port`), after the marker let go of it.
 */
import { constants } from 'node:fs';
import { copyFile, link, mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { PermanentDriverError } from '../driver.ts';
import { isMaster, readClusterView, slotOwners, SLOT_COUNT } from './cluster-nodes.ts';
import { instanceDir, nodePaths, type NodePaths } from './instance-paths.ts';
import { readInternalSecrets, type InstanceCredentials } from './internal-secrets.ts';
import { nodeCgroup, nodeCgroupRef, nodeSettings, type LocalContext } from './local-context.ts';
import type { LocalSpec } from './local-spec.ts';
import { promisedNodeMemoryBytes } from './memory-guard.ts';
import { isSocketOpen, startNode, stopNode, waitUntilLoaded, type NodeCgroup } from './redis-node.ts';
import { ensureNotForeign, inspectNode } from './inspect-node.ts';
import { announceRealPorts, closedClusterPortArgs, reopenClientPort } from './reopen-client-port.ts';
import { holdRestoreMarker } from './restore-marker.ts';
import { tlsPortOf } from './topology-handler.ts';

/** Redis's defaults for `appenddirname` and `appendfilename`, which the generated conf keeps. */
const AOF_DIR = 'appendonlydir';
const AOF_NAME = 'appendonly.aof';
/** Keys per round trip of the key copy. */
const COPY_BATCH = 500;

/** Stops every node of the instance that runs (only our own processes; see stopNode). */
async function stopNodes(ctx: LocalContext, spec: LocalSpec, signal: AbortSignal): Promise<void> {
  const dir = instanceDir(ctx.dataDir, spec.id);
  const secrets = await readInternalSecrets(dir).catch(() => null);
  const ports = (await readdir(dir).catch(() => [] as string[])).filter((n) => /^\d+$/.test(n)).map(Number);
  await Promise.all(
    ports.map(async (port) => {
      const paths = nodePaths(ctx.dataDir, spec.id, port);
      const admin = secrets && (await isSocketOpen(paths.socket)) ? await ctx.pool.get(port, { instanceId: spec.id, adminPassword: secrets.adminPassword }).catch(() => null) : null;
      const cgroup = nodeCgroupRef(ctx, spec.id, port);
      await stopNode({ paths, host: ctx.bindHost, port, admin, logger: ctx.logger, signal, ...(cgroup ? { cgroup } : {}) });
      ctx.pool.drop(port);
    }),
  );
}

/** Removes what a node would load at start: its AOF directory and any RDB dump. */
async function wipeNodeData(nodeDir: string): Promise<void> {
  await rm(join(nodeDir, AOF_DIR), { recursive: true, force: true });
  await rm(join(nodeDir, 'dump.rdb'), { force: true });
}

/**
 * Puts the backup file at `dest` as a hard link (no copy of a large file on the restore's path), or a copy
 * (a reflink where the filesystem has them) when the backup store is on another filesystem. A link is
 * safe: Redis only reads an AOF base or a dump it loads, and replaces it by writing a new file and
 * unlinking the old name (an AOF rewrite), never by writing into it; and every restore matches the store's
 * file against its recorded SHA-256 first.
 */
async function linkOrCopy(file: string, dest: string): Promise<void> {
  try {
    await link(file, dest);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EXDEV' && code !== 'EPERM' && code !== 'EMLINK') throw err;
    await copyFile(file, dest, constants.COPYFILE_FICLONE);
  }
}

/** Makes `rdb` the only thing the node in `nodeDir` loads at its next start. */
async function installBase(nodeDir: string, rdb: string): Promise<void> {
  await mkdir(nodeDir, { recursive: true, mode: 0o700 });
  const staging = join(nodeDir, `${AOF_DIR}.restore`);
  await rm(staging, { recursive: true, force: true });
  await mkdir(staging, { mode: 0o700 });
  const base = `${AOF_NAME}.1.base.rdb`;
  const incr = `${AOF_NAME}.1.incr.aof`;
  await linkOrCopy(rdb, join(staging, base));
  await writeFile(join(staging, incr), '', { mode: 0o600 });
  await writeFile(join(staging, `${AOF_NAME}.manifest`), `file ${base} seq 1 type b\nfile ${incr} seq 1 type i\n`, { mode: 0o600 });
  await rm(join(nodeDir, 'dump.rdb'), { force: true });
  await rm(join(nodeDir, AOF_DIR), { recursive: true, force: true });
  await rename(staging, join(nodeDir, AOF_DIR));
}

/**
 * The marker on `ports` for the instance, replacing any it already had (a repeated step). It goes when
 * `signal` aborts (the step's bound, the engine stopping, or the task's lease lost to another service
 * process, which must be able to take the ports back): tenants then find the ports closed, which is as safe.
 */
async function fence(ctx: LocalContext, spec: LocalSpec, ports: readonly number[], signal: AbortSignal): Promise<void> {
  await ctx.restoreMarkers.get(spec.id)?.close();
  const marker = await holdRestoreMarker(ctx.bindHost, ports, spec.id);
  ctx.restoreMarkers.set(spec.id, marker);
  signal.addEventListener(
    'abort',
    () => {
      void marker.close();
      if (ctx.restoreMarkers.get(spec.id) === marker) ctx.restoreMarkers.delete(spec.id);
    },
    { once: true },
  );
  const missed = ports.filter((p) => !marker.ports.includes(p));
  if (missed.length > 0) ctx.logger.warn({ instanceId: spec.id, ports: missed }, 'restore marker could not hold these ports; clients there are refused by the closed port instead');
}

/** File swap: one RDB becomes the master's data; the master runs loaded, without its client port. */
async function swapFiles(ctx: LocalContext, spec: LocalSpec, secrets: InstanceCredentials, file: string, signal: AbortSignal): Promise<void> {
  const shard = spec.shards[0]!;
  await stopNodes(ctx, spec, signal);
  await fence(ctx, spec, [shard.master], signal);
  // Replica first: were a crash to come between the two, the old master data is still whole.
  await wipeNodeData(nodePaths(ctx.dataDir, spec.id, shard.replica).dir);
  const paths = nodePaths(ctx.dataDir, spec.id, shard.master);
  await installBase(paths.dir, file);
  if (!(await stat(paths.conf).catch(() => null))) return; // never started: the first ensurePresent loads it
  const cgroup = nodeCgroup(ctx, spec.id, shard.master, nodeSettings(ctx, spec).maxmemoryBytes);
  // Loading takes a while for a large file: meanwhile the marker (not LOADING from the node) answers.
  await startNode({ redisServer: ctx.redisServer, paths, host: ctx.bindHost, port: shard.master, logger: ctx.logger, signal, extraArgs: ['--port', '0'], timeoutMs: 60_000, ...(cgroup ? { cgroup } : {}) });
  await waitUntilLoaded(await ctx.pool.get(shard.master, secrets), shard.master, signal, 600_000);
}

/**
 * The memory cgroup of the scratch server on backup file `index` (`<instance>-r<index>`, as its folder): like
 * a node's, it bounds the whole process, here at what the whole instance is promised (one backup file never
 * holds more than the instance it is restored into; the restore checks that first).
 */
function scratchCgroup(ctx: LocalContext, spec: LocalSpec, index: number): NodeCgroup | undefined {
  const limitBytes = promisedNodeMemoryBytes(nodeSettings(ctx, spec).maxmemoryBytes * spec.shards.length);
  return ctx.cgroups ? { cg: ctx.cgroups, name: `${spec.id}-r${index}`, limitBytes } : undefined;
}

/** A redis-server on one backup file, reachable only on a unix socket in the instance's 0700 directory. */
async function startScratch(ctx: LocalContext, spec: LocalSpec, index: number, file: string, signal: AbortSignal): Promise<{ client: Redis; stop(): Promise<void> }> {
  // `r<index>`: no longer than a node's `<port>` folder, so its socket path fits where the driver's init
  // checked that a node's does (sun_path), and not a number, so it is never taken for a node's folder.
  const dir = join(instanceDir(ctx.dataDir, spec.id), `r${index}`);
  const paths: NodePaths = { dir, conf: join(dir, 'scratch.conf'), pidfile: join(dir, 'redis.pid'), log: join(dir, 'redis.log'), socket: join(dir, 'redis.sock') };
  const connect = (): Redis => {
    const c = new Redis({ path: paths.socket, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: true });
    c.on('error', () => undefined);
    return c;
  };
  const cgroup = scratchCgroup(ctx, spec, index);
  const stop = async (client: Redis | null): Promise<void> => {
    await stopNode({ paths, host: ctx.bindHost, port: 0, admin: client, logger: ctx.logger, signal, ...(cgroup ? { cgroup } : {}) });
    client?.disconnect();
  };
  // One left running by a run cut short (the service was killed): stopped first.
  if (await isSocketOpen(paths.socket)) {
    const old = connect();
    await old.connect().catch(() => undefined);
    await stop(old);
  }
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await linkOrCopy(file, join(dir, 'dump.rdb'));
  const conf = ['port 0', `unixsocket "${paths.socket}"`, 'unixsocketperm 700', `dir "${dir}"`, 'dbfilename dump.rdb', 'appendonly no', 'save ""', 'databases 16', `pidfile "${paths.pidfile}"`, `logfile "${paths.log}"`, 'daemonize no'];
  await writeFile(paths.conf, conf.join('\n') + '\n', { mode: 0o600 });
  await startNode({ redisServer: ctx.redisServer, paths, host: ctx.bindHost, port: 0, logger: ctx.logger, signal, timeoutMs: 60_000, ...(cgroup ? { cgroup } : {}) });
  const client = connect();
  await client.connect();
  await waitUntilLoaded(client, 0, signal, 600_000);
  return {
    client,
    async stop() {
      await stop(client);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

type Reply = [Error | null, unknown];
function values(replies: Reply[] | null, what: string): unknown[] {
  return (replies ?? []).map(([err, v]) => {
    if (err) throw new Error(`${what}: ${err.message}`);
    return v;
  });
}

/** Copies every key of `source` (db 0) into the master that owns its slot (`ownerOf`), with its expiry. */
async function copyKeys(source: Redis, ownerOf: (keys: Buffer[]) => Promise<Redis[]>, signal: AbortSignal): Promise<number> {
  let cursor = '0';
  let copied = 0;
  do {
    signal.throwIfAborted();
    const [next, keys] = (await source.scanBuffer(cursor, 'COUNT', COPY_BATCH)) as [Buffer, Buffer[]];
    cursor = next.toString();
    if (keys.length === 0) continue;
    const read = source.pipeline();
    for (const key of keys) read.dumpBuffer(key).call('PEXPIRETIME', key);
    const got = values((await read.exec()) as Reply[], 'reading the backup');
    const owners = await ownerOf(keys);
    const writes = new Map<Redis, ReturnType<Redis['pipeline']>>();
    keys.forEach((key, i) => {
      const payload = got[2 * i] as Buffer | null;
      const expireAt = Number(got[2 * i + 1]);
      if (payload === null || expireAt === -2) return; // expired since the scan
      const owner = owners[i]!;
      const p = writes.get(owner) ?? owner.pipeline();
      // ABSTTL: the key expires when it would have in the backup (0: no expiry).
      p.call('RESTORE', key, String(expireAt > 0 ? expireAt : 0), payload, 'REPLACE', ...(expireAt > 0 ? ['ABSTTL'] : []));
      writes.set(owner, p);
      copied++;
    });
    for (const p of writes.values()) values((await p.exec()) as Reply[], 'writing the restored keys');
  } while (cursor !== '0');
  return copied;
}

/** Key copy into the running nodes of a cluster (or a master-slave instance), from cluster shard files. */
async function copyRestore(ctx: LocalContext, spec: LocalSpec, secrets: InstanceCredentials, files: readonly string[], signal: AbortSignal): Promise<void> {
  const ports = spec.shards.flatMap((s) => [s.master, s.replica]);
  const clients = new Map<number, Redis>();
  // The marker of an earlier attempt goes first: it would hold the port of a node that died meanwhile, and
  // that node must be seen free (and started) instead. Until the marker is back, those ports refuse.
  await releaseMarker(ctx, spec.id);
  for (const port of ports) {
    const paths = nodePaths(ctx.dataDir, spec.id, port);
    // A node that accepts connections but answers nothing (SIGSTOP) is waited for up to the hung-node
    // bound and then fenced, as the repair does (inspect-node.ts): the restore does not wait on it for ever.
    const probe = await inspectNode(ctx, paths, port, secrets, signal, spec.internalPorts[port]);
    ensureNotForeign(ctx, probe, port);
    if (probe.kind === 'ours') {
      clients.set(port, probe.client);
      continue;
    }
    if (!(await stat(paths.conf).catch(() => null))) throw new Error(`node ${port} of ${spec.id} has never run; the restore waits for the instance to be built`);
    // A node that died (the health loop leaves an instance alone while a task runs) comes back from its own
    // files, already without its client port: a cluster node rejoins by its nodes.conf, announcing its
    // real ports (closedClusterPortArgs), or the cluster could not be re-formed around it afterwards.
    const cgroup = nodeCgroup(ctx, spec.id, port, nodeSettings(ctx, spec).maxmemoryBytes);
    const closed = spec.topology === 'native-cluster' ? closedClusterPortArgs(port, tlsPortOf(spec, port)) : ['--port', '0'];
    await startNode({ redisServer: ctx.redisServer, paths, host: ctx.bindHost, port, logger: ctx.logger, signal, extraArgs: closed, timeoutMs: 60_000, ...(cgroup ? { cgroup } : {}) });
    const client = await ctx.pool.get(port, secrets);
    await waitUntilLoaded(client, port, signal, 600_000);
    ctx.logger.warn({ instanceId: spec.id, port }, 'node was down at the restore; started without its client port');
    clients.set(port, client);
  }
  // Tenants out: no client port, the marker on it, and their open connections dropped.
  for (const [port, client] of clients) {
    const [, current] = (await client.call('CONFIG', 'GET', 'port')) as [string, string];
    if (current !== '0') await client.call('CONFIG', 'SET', 'port', '0');
    ctx.logger.info({ instanceId: spec.id, port }, 'client port closed for the restore');
  }
  await fence(ctx, spec, ports, signal);
  const users = ['default', ...(spec.accounts ?? []).map((a) => a.name)];
  for (const client of clients.values()) {
    for (const user of users) await client.call('CLIENT', 'KILL', 'USER', user).catch(() => undefined);
  }

  let masters: Redis[];
  let ownerOf: (keys: Buffer[]) => Promise<Redis[]>;
  if (spec.topology === 'native-cluster') {
    // Keys go to each slot's owner by the masters' claims; where two claim a slot (a master killed, its
    // replica promoted, the old one back and not yet told) the higher config epoch wins, and the other,
    // demoted by gossip, loses its data, keys copied into it included.
    const claims = await Promise.all([...clients.values()].map(async (client) => [(await readClusterView(client)).myself, client] as const));
    const owner = slotOwners(claims);
    const missing = Array.from({ length: SLOT_COUNT }, (_, slot) => slot).find((slot) => !owner.has(slot));
    if (missing !== undefined) throw new Error(`slot ${missing} of ${spec.id} has no running master; the restore waits for a whole cluster`);
    masters = claims.filter(([myself]) => isMaster(myself)).map(([, client]) => client);
    const any = masters[0]!;
    ownerOf = async (keys) => {
      const p = any.pipeline();
      for (const key of keys) p.call('CLUSTER', 'KEYSLOT', key);
      return values((await p.exec()) as Reply[], 'CLUSTER KEYSLOT').map((slot) => owner.get(Number(slot))!);
    };
  } else {
    const found: Redis[] = [];
    for (const client of clients.values()) if (((await client.call('ROLE')) as unknown[])[0] === 'master') found.push(client);
    if (found.length !== 1) throw new Error(`${spec.id} has ${found.length} masters; the restore waits for one`);
    masters = found;
    ownerOf = async (keys) => keys.map(() => found[0]!);
  }
  for (const m of masters) await m.call('FLUSHALL', 'SYNC');
  let copied = 0;
  for (const [i, file] of files.entries()) {
    const scratch = await startScratch(ctx, spec, i, file, signal);
    try {
      copied += await copyKeys(scratch.client, ownerOf, signal);
    } finally {
      await scratch.stop();
    }
  }
  ctx.logger.info({ instanceId: spec.id, files: files.length, keys: copied }, 'backup keys copied into the instance');
}

/** Driver.replaceData for the local driver. */
export async function replaceData(ctx: LocalContext, spec: LocalSpec, secrets: InstanceCredentials, files: readonly string[], signal: AbortSignal): Promise<void> {
  const swap = spec.topology === 'master-slave' && files.length === 1;
  if (!swap && spec.topology !== 'native-cluster' && spec.topology !== 'master-slave') {
    throw new PermanentDriverError(`restoring data into a ${spec.topology} instance is not supported by the local driver`);
  }
  if (spec.topology === 'native-cluster' && files.length === 0) throw new PermanentDriverError('a restore needs at least one file');
  // Every file is looked at before anything is stopped: a missing one never takes an instance down. Its
  // contents were checked with redis-check-rdb when it was taken, and the caller has matched its
  // checksum since (a second full parse here doubled a restore's time for nothing).
  for (const file of files) {
    const st = await stat(file).catch(() => null);
    if (!st?.isFile()) throw new PermanentDriverError(`backup file ${file} is missing`);
  }
  try {
    if (swap) await swapFiles(ctx, spec, secrets, files[0]!, signal);
    else await copyRestore(ctx, spec, secrets, files, signal);
  } catch (err) {
    // The step is retried, maybe by another service process (PostgreSQL mode), whose openAfterRestore
    // must be able to give the nodes their client ports back: a marker kept here until the step's bound
    // ran out held them for up to an hour. Meanwhile tenants find the ports closed, which is as safe.
    await releaseMarker(ctx, spec.id);
    throw err;
  }
  ctx.logger.info({ instanceId: spec.id, files: files.length, how: swap ? 'file swap' : 'key copy' }, 'instance data replaced from a backup; clients are let in by openAfterRestore');
}

/** Driver.openAfterRestore for the local driver: every running node without its client port gets it back. */
export async function openAfterRestore(ctx: LocalContext, spec: LocalSpec, secrets: InstanceCredentials, signal: AbortSignal): Promise<void> {
  try {
    for (const port of spec.shards.flatMap((s) => [s.master, s.replica])) {
      const paths = nodePaths(ctx.dataDir, spec.id, port);
      if (!(await isSocketOpen(paths.socket))) continue;
      // A frozen node is waited for up to the hung-node bound, then fenced (inspect-node.ts): the repair
      // that follows starts it again on its port. Not running (or fenced): nothing to reopen here.
      // inspectNode reports a node whose client port is closed (`port 0`) with tcpPort 0.
      const probe = await inspectNode(ctx, paths, port, secrets, signal, spec.internalPorts[port]);
      if (probe.kind !== 'ours' || probe.state.tcpPort !== 0) continue;
      await reopenClientPort(ctx, spec, probe.client, port, 'restore');
      // A cluster node started by the restore announced its ports by override: back to what it listens on.
      if (spec.topology === 'native-cluster') await announceRealPorts(probe.client, port, tlsPortOf(spec, port));
    }
  } finally {
    // Done, or failed: either way the retry (here or in another process) must find the ports free.
    await releaseMarker(ctx, spec.id);
  }
}

/** Closes the instance's restore marker in this process, if it holds one. */
async function releaseMarker(ctx: LocalContext, instanceId: string): Promise<void> {
  const marker = ctx.restoreMarkers.get(instanceId);
  if (!marker) return;
  ctx.restoreMarkers.delete(instanceId);
  await marker.close();
}
