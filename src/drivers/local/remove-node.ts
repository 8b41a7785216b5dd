import { readdir, rm } from 'node:fs/promises';
import { instanceDir, nodePaths } from './instance-paths.ts';
import type { InstanceCredentials } from './internal-secrets.ts';
import { nodeCgroupRef, type LocalContext } from './local-context.ts';
import { stopNode } from './redis-node.ts';

/**
 * Stops the instance's node on `port` (as the admin user when it answers, else by its verified pid), forgets
 * its admin connection and removes its directory: a node of a removed shard or of a replaced topology.
 */
export async function removeNode(ctx: LocalContext, instanceId: string, secrets: InstanceCredentials, port: number, signal: AbortSignal): Promise<void> {
  const paths = nodePaths(ctx.dataDir, instanceId, port);
  const admin = await ctx.pool.get(port, secrets).catch(() => null);
  const cgroup = nodeCgroupRef(ctx, instanceId, port);
  await stopNode({ paths, host: ctx.bindHost, port, admin, logger: ctx.logger, signal, ...(cgroup ? { cgroup } : {}) });
  ctx.pool.drop(port);
  await rm(paths.dir, { recursive: true, force: true });
}

/** Client ports of the nodes whose directories exist under the instance's directory. */
export async function nodeDirPorts(ctx: LocalContext, instanceId: string): Promise<number[]> {
  return (await readdir(instanceDir(ctx.dataDir, instanceId)).catch(() => [] as string[])).filter((n) => /^\d+$/.test(n)).map(Number);
}
