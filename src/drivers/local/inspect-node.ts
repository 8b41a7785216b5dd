import type { Redis } from 'ioredis';
import { PortInUseError } from '../driver.ts';
import type { LocalContext } from './local-context.ts';
import type { NodePaths } from './instance-paths.ts';
import type { InternalSecrets } from './internal-secrets.ts';
import { readNodeState, type NodeState } from './node-state.ts';
import { isOurProcess, isPortOpen, readPidfile, waitUntilLoaded } from './redis-node.ts';

/** Who holds a node's port. */
export type NodeProbe =
  | { kind: 'free' }
  | { kind: 'ours'; client: Redis; state: NodeState }
  | { kind: 'foreign'; reason: string };

/**
 * Finds out whether our node runs on `port`: something listens, we can log in as the instance's admin
 * user (whose secret only this instance has), and INFO's tcp_port / config_file are the node's port and
 * conf (process_id is compared with the pidfile too; a mismatch is logged). A node that matches is
 * adopted as is (never restarted). Read-only.
 */
export async function inspectNode(
  ctx: LocalContext,
  paths: NodePaths,
  port: number,
  secrets: InternalSecrets,
  signal: AbortSignal,
): Promise<NodeProbe> {
  if (!(await isPortOpen(ctx.host, port))) {
    ctx.pool.drop(port);
    return { kind: 'free' };
  }
  let client: Redis;
  try {
    client = await ctx.pool.get(port, secrets.adminPassword);
  } catch (err) {
    if (!(await isPortOpen(ctx.host, port))) return { kind: 'free' }; // it just went away
    const pid = await readPidfile(paths.pidfile);
    if (pid !== null && (await isOurProcess(pid, paths.dir))) {
      // Our process, but it does not answer as it should (stopped, stuck, or secrets lost): never kill
      // it on a guess; the error is retryable and names the port and pid for an operator.
      throw new Error(`node on port ${port} (pid ${pid}) is ours but does not answer: ${(err as Error).message}`);
    }
    return { kind: 'foreign', reason: `port ${port} is held by another process (${(err as Error).message})` };
  }
  await waitUntilLoaded(client, port, signal);
  const state = await readNodeState(client);
  if (state.tcpPort !== port || state.configFile !== paths.conf) {
    return {
      kind: 'foreign',
      reason: `port ${port} is held by a redis-server that is not this node (config ${state.configFile || 'none'})`,
    };
  }
  const pid = await readPidfile(paths.pidfile);
  if (state.pid !== pid) {
    // It knows this instance's admin secret and runs this node's conf: it is ours. Calling it foreign
    // would make the engine move the node and leak this process; trust INFO's pid over the file.
    ctx.logger.warn({ port, pid: state.pid, pidfile: pid }, 'pidfile does not match the running node');
  }
  return { kind: 'ours', client, state };
}

/**
 * Throws PortInUseError (the engine moves the node to another port) when `port` is held by something that
 * is not this node; the detailed reason goes to the log, the error names the port.
 */
export function ensureNotForeign(ctx: LocalContext, probe: NodeProbe, port: number): void {
  if (probe.kind !== 'foreign') return;
  ctx.logger.warn({ port, reason: probe.reason }, 'port held by a foreign process');
  throw new PortInUseError(port);
}
