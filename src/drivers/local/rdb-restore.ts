/**
 * Restore: each shard's master is given a new AOF directory whose base is the backup's RDB file (Redis 7
 * loads a multi-part AOF whose base is an RDB; a plain dump.rdb is ignored while `appendonly yes`), and
 * its replica loses its data so it re-syncs in full. The nodes are stopped first and stay down until the
 * caller's ensurePresent starts them: clients are refused meanwhile, and none of their writes is lost
 * after being acknowledged. Each step is safe to repeat after a crash; the directory swap is a rename.
 */
import { constants } from 'node:fs';
import { copyFile, mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PermanentDriverError } from '../driver.ts';
import { instanceDir, nodePaths } from './instance-paths.ts';
import { readInternalSecrets } from './internal-secrets.ts';
import { nodeCgroupRef, type LocalContext } from './local-context.ts';
import type { LocalSpec } from './local-spec.ts';
import { isSocketOpen, stopNode } from './redis-node.ts';

/** Redis's defaults for `appenddirname` and `appendfilename`, which the generated conf keeps. */
const AOF_DIR = 'appendonlydir';
const AOF_NAME = 'appendonly.aof';

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

/** Makes `rdb` the only thing the node in `nodeDir` loads at its next start. */
async function installBase(nodeDir: string, rdb: string): Promise<void> {
  await mkdir(nodeDir, { recursive: true, mode: 0o700 });
  const staging = join(nodeDir, `${AOF_DIR}.restore`);
  await rm(staging, { recursive: true, force: true });
  await mkdir(staging, { mode: 0o700 });
  const base = `${AOF_NAME}.1.base.rdb`;
  const incr = `${AOF_NAME}.1.incr.aof`;
  // A copy, never a link: the backup store's file must not change whatever Redis later does with its base.
  // FICLONE makes it a cheap reflink where the filesystem has them.
  await copyFile(rdb, join(staging, base), constants.COPYFILE_FICLONE);
  await writeFile(join(staging, incr), '', { mode: 0o600 });
  await writeFile(join(staging, `${AOF_NAME}.manifest`), `file ${base} seq 1 type b\nfile ${incr} seq 1 type i\n`, { mode: 0o600 });
  await rm(join(nodeDir, 'dump.rdb'), { force: true });
  await rm(join(nodeDir, AOF_DIR), { recursive: true, force: true });
  await rename(staging, join(nodeDir, AOF_DIR));
}

/** Driver.replaceData for the local driver. */
export async function replaceData(ctx: LocalContext, spec: LocalSpec, files: readonly string[], signal: AbortSignal): Promise<void> {
  if (files.length !== spec.shards.length) {
    throw new PermanentDriverError(`instance ${spec.id} has ${spec.shards.length} shard(s); the restore brings ${files.length} file(s)`);
  }
  if (spec.topology !== 'master-slave') {
    throw new PermanentDriverError(`restoring data into a ${spec.topology} instance is not supported by the local driver yet`);
  }
  // Every file is looked at before anything is stopped: a missing one never takes an instance down. Its
  // contents were checked with redis-check-rdb when it was taken, and the caller has matched its
  // checksum since (a second full parse here doubled a restore's time for nothing).
  for (const file of files) {
    const st = await stat(file).catch(() => null);
    if (!st?.isFile()) throw new PermanentDriverError(`backup file ${file} is missing`);
  }
  await stopNodes(ctx, spec, signal);
  for (const [i, shard] of spec.shards.entries()) {
    // Replica first: were a crash to come between the two, the old master data is still whole.
    await wipeNodeData(nodePaths(ctx.dataDir, spec.id, shard.replica).dir);
    await installBase(nodePaths(ctx.dataDir, spec.id, shard.master).dir, files[i]!);
  }
  ctx.logger.info({ instanceId: spec.id, shards: files.length }, 'instance data replaced from a backup; nodes start at the next converge');
}
