import { readFile } from 'node:fs/promises';
import type { Redis } from 'ioredis';
import { PortInUseError, type NodeInternalPorts } from './local-spec.ts';
import type { LocalContext } from './local-context.ts';
import type { NodePaths } from './instance-paths.ts';
import type { InstanceCredentials } from './internal-secrets.ts';
import { readNodeState, type NodeState } from './node-state.ts';
import { isOurProcess, isPortHeld, isSocketOpen, readPidfile, stopLegacyNode, waitUntilLoaded } from './redis-node.ts';

/** Who holds a node's ports. */
export type NodeProbe =
  | { kind: 'free' }
  | { kind: 'ours'; client: Redis; state: NodeState }
  | { kind: 'foreign'; port: number; reason: string };

/**
 * Finds out whether our node runs: its unix socket (in the node's 0700 directory, where only we can create
 * one) answers, we can log in as the instance's admin user, and INFO's tcp_port / config_file are the
 * node's port and conf. A node that matches is adopted as is (never restarted). When the socket does not
 * answer, the node is not running, and each of its ports (client, TLS, bus) must be free: one held by some
 * other process is reported as foreign. Nothing here sends a credential over TCP.
 */
export async function inspectNode(
  ctx: LocalContext,
  paths: NodePaths,
  port: number,
  secrets: InstanceCredentials,
  signal: AbortSignal,
  internal?: NodeInternalPorts,
): Promise<NodeProbe> {
  if (await isSocketOpen(paths.socket)) {
    let client: Redis;
    try {
      client = await ctx.pool.get(port, secrets);
    } catch (err) {
      if (!(await isSocketOpen(paths.socket))) return inspectNode(ctx, paths, port, secrets, signal, internal); // it just went away
      // Our node (nobody else can own that socket), but it does not answer as it should (stopped, stuck,
      // or secrets lost): never kill it on a guess; the error is retryable and names the node for an operator.
      const pid = await readPidfile(paths.pidfile);
      throw new Error(`node on port ${port} (pid ${pid ?? 'unknown'}) is ours but does not answer: ${(err as Error).message}`);
    }
    await waitUntilLoaded(client, port, signal);
    const state = await readNodeState(client);
    if (state.tcpPort !== port || state.configFile !== paths.conf) {
      // Cannot happen unless the directory was tampered with by someone who can write it (root).
      throw new Error(`the node behind ${paths.socket} runs on port ${state.tcpPort} with ${state.configFile || 'no conf'}, not port ${port}`);
    }
    const pid = await readPidfile(paths.pidfile);
    if (state.pid !== pid) ctx.logger.warn({ port, pid: state.pid, pidfile: pid }, 'pidfile does not match the running node');
    return { kind: 'ours', client, state };
  }
  ctx.pool.drop(port);
  await stopIfLegacy(ctx, paths, port, signal);
  for (const p of [port, internal?.tls, internal?.bus]) {
    if (typeof p === 'number' && (await isPortHeld(ctx.bindHost, p))) {
      return { kind: 'foreign', port: p, reason: `port ${p} of node ${port} is held by another process` };
    }
  }
  return { kind: 'free' };
}

/**
 * A node started by an earlier version of the service has no unix socket (its conf predates it). It is
 * ours when its pidfile's process runs in its directory; it is stopped cleanly (SIGTERM: Redis writes its
 * AOF out and exits) so the caller starts it again with the current conf: TLS links and the socket.
 */
async function stopIfLegacy(ctx: LocalContext, paths: NodePaths, port: number, signal: AbortSignal): Promise<void> {
  const pid = await readPidfile(paths.pidfile);
  if (pid === null || !(await isOurProcess(pid, paths.dir))) return;
  const conf = await readFile(paths.conf, 'utf8').catch(() => '');
  if (/^unixsocket /m.test(conf)) return; // a current node that is starting or stopping: not legacy
  ctx.logger.warn({ port, pid }, 'node from an earlier version (no control socket, no TLS links): restarting it with the current conf');
  await stopLegacyNode(pid, signal);
}

/**
 * Throws PortInUseError (the engine moves the port, or puts the instance in error when it is the published
 * one) when a port of the node is held by something that is not this node.
 */
export function ensureNotForeign(ctx: LocalContext, probe: NodeProbe, port: number): void {
  if (probe.kind !== 'foreign') return;
  ctx.logger.warn({ port, held: probe.port, reason: probe.reason }, 'port held by a foreign process');
  throw new PortInUseError(probe.port);
}
