import { readFile } from 'node:fs/promises';
import type { Redis } from 'ioredis';
import { PortInUseError, type NodeInternalPorts } from './local-spec.ts';
import type { LocalContext } from './local-context.ts';
import type { NodePaths } from './instance-paths.ts';
import type { InstanceCredentials } from './internal-secrets.ts';
import { readNodeState, type NodeState } from './node-state.ts';
import { PROBE_TIMEOUT_MS } from './hung-nodes.ts';
import {
  describeProcessState,
  isOurProcess,
  isPortHeld,
  processState,
  readPidfile,
  stopLegacyNode,
  waitProcessExited,
  waitUntilLoaded,
} from './redis-node.ts';

/** Who holds a node's ports. */
export type NodeProbe =
  | { kind: 'free' }
  | { kind: 'ours'; client: Redis; state: NodeState }
  | { kind: 'foreign'; port: number; reason: string };

/**
 * Finds out whether our node runs: its unix socket (in the node's 0700 directory, where only we can create
 * one) answers, we can log in as the instance's admin user, and INFO's tcp_port / config_file are the
 * node's port (or 0: closed by a restore that did not finish) and conf. A node that matches is adopted
 * as is (never restarted). When nothing listens on
 * the socket, the node is not running, and each of its ports (client, TLS, bus) must be free: one held by
 * some other process is reported as foreign. Nothing here sends a credential over TCP.
 *
 * A node that accepts but does not answer (hung-nodes.ts) is waited for: if it answers within the bound
 * (`ctx.hung.boundMs` of silence, counted from the first unanswered read or PING) it is adopted as usual;
 * if not, it is fenced (`fenceNode`: SIGKILL, only our verified process) and then reported free, so the
 * caller repairs it like a node that died.
 */
export async function inspectNode(
  ctx: LocalContext,
  paths: NodePaths,
  port: number,
  secrets: InstanceCredentials,
  signal: AbortSignal,
  internal?: NodeInternalPorts,
): Promise<NodeProbe> {
  const live = await ctx.hung.probe(paths.dir, paths.socket);
  signal.throwIfAborted();
  if (live.kind === 'silent') {
    await waitOrFence(ctx, paths, port, secrets.instanceId, signal);
    return inspectNode(ctx, paths, port, secrets, signal, internal); // it answered, or it is gone now
  }
  if (live.kind === 'answers') {
    let client: Redis;
    try {
      client = await ctx.pool.get(port, secrets);
    } catch (err) {
      // It just went away, or stopped answering right after the PING: look again.
      if ((await ctx.hung.probe(paths.dir, paths.socket)).kind !== 'answers') return inspectNode(ctx, paths, port, secrets, signal, internal);
      // Our node (nobody else can own that socket), it answers, but refuses the admin login (secrets
      // lost?): never kill it on a guess; the error is retryable and names the node for an operator.
      const pid = await readPidfile(paths.pidfile);
      throw new Error(`node on port ${port} (pid ${pid ?? 'unknown'}) is ours but refuses the control plane's login: ${(err as Error).message}`);
    }
    await waitUntilLoaded(client, port, signal);
    const state = await readNodeState(client);
    // A restore closed the client port (`port 0`, rdb-restore.ts) and did not reopen it: still our node,
    // reported with tcpPort 0 by readNodeState (the caller reopens it with reopenClientPort).
    if ((state.tcpPort !== port && state.tcpPort !== 0) || state.configFile !== paths.conf) {
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

/** Unique value for a read that lost its race against its timeout. */
export const TIMED_OUT: unique symbol = Symbol('timed out');

/** `work`'s value, or TIMED_OUT when it has not settled within `ms` (the work itself goes on). */
export async function within<T>(work: Promise<T>, ms: number): Promise<T | typeof TIMED_OUT> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<typeof TIMED_OUT>((resolve) => {
    timer = setTimeout(() => resolve(TIMED_OUT), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * For observe: `read` on the node's admin connection, unless the node does not answer. A node already
 * known to be silent is reported at once, without sending it anything; a read unanswered after
 * PROBE_TIMEOUT_MS makes it known silent from the read's start. Either way this throws with how long it
 * has been silent, so a hung node holds observe for at most the probe timeout (not the 3 s admin command
 * timeout), and never the reads of the other nodes, which run alongside.
 */
export async function readAnswering<T>(
  ctx: LocalContext,
  paths: NodePaths,
  port: number,
  secrets: InstanceCredentials,
  read: (client: Redis) => Promise<T>,
): Promise<T> {
  if (ctx.hung.silence(paths.dir)) throw new Error(await silenceMessage(ctx, paths, port));
  const startedAt = Date.now();
  const work = ctx.pool.get(port, secrets).then(read);
  const result = await within(work, PROBE_TIMEOUT_MS);
  if (result !== TIMED_OUT) return result;
  // A late answer ends the silence; no answer leaves it watched (hung-nodes.ts) until it ends or is fenced.
  work.then(
    () => ctx.hung.answered(paths.dir),
    () => undefined,
  );
  ctx.hung.suspect(paths.dir, paths.socket, startedAt);
  throw new Error(await silenceMessage(ctx, paths, port));
}

/** "node on port P (pid N) accepts connections but has not answered for 2.1 s (it is stopped (SIGSTOP)); …". */
async function silenceMessage(ctx: LocalContext, paths: NodePaths, port: number): Promise<string> {
  const silentMs = ctx.hung.silence(paths.dir)?.silentMs ?? 0;
  const pid = await readPidfile(paths.pidfile);
  const state = describeProcessState(pid === null ? null : await processState(pid));
  const bound = ctx.hung.boundMs;
  return (
    `node on port ${port} (pid ${pid ?? 'unknown'}) accepts connections but has not answered for ${seconds(silentMs)} (it ${state}); ` +
    (bound > 0 ? `it is fenced once silent for ${seconds(bound)}` : 'fencing is off (JCS_HUNG_NODE_MS=0)')
  );
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

/**
 * The node is silent: waits until it answers or goes away (then returns: the caller looks again), or
 * until it has been silent for the bound, and then fences it. With fencing off, throws (retryable).
 */
async function waitOrFence(ctx: LocalContext, paths: NodePaths, port: number, instanceId: string, signal: AbortSignal): Promise<void> {
  const silence = ctx.hung.silence(paths.dir);
  if (!silence) return;
  if (ctx.hung.boundMs === 0) throw new Error(await silenceMessage(ctx, paths, port));
  if (silence.silentMs < ctx.hung.boundMs) {
    ctx.logger.warn({ instanceId, port, silentMs: silence.silentMs, boundMs: ctx.hung.boundMs }, 'node accepts connections but does not answer; waiting for it up to the bound');
  }
  if ((await ctx.hung.until(paths.dir, signal)) === 'ended') {
    ctx.logger.info({ instanceId, port, silentMs: Date.now() - silence.since }, 'node answers again (or went away) before the bound: not fenced');
    return;
  }
  await fenceNode(ctx, paths, port, instanceId, signal);
}

/**
 * Fences a node that has not answered for the bound, so that it can never serve again, least of all as
 * a second master next to the node the repair promotes: SIGKILL (a stopped process dies too, without
 * running another instruction) to the pidfile's pid, and only when that pid runs in the node's directory
 * (`isOurProcess`: never a stranger on a reused pid) and the node is still silent at that instant (it
 * did not wake while we checked). Returns once the process has exited, so its ports are free and the
 * caller sees the node as dead. What it acknowledged before it froze is in its AOF or on its replica.
 */
async function fenceNode(ctx: LocalContext, paths: NodePaths, port: number, instanceId: string, signal: AbortSignal): Promise<void> {
  const pid = await readPidfile(paths.pidfile);
  if (pid === null || !(await isOurProcess(pid, paths.dir))) {
    const who = pid === null ? 'no process' : `pid ${pid}, which is not the node's redis-server`;
    throw new Error(`${await silenceMessage(ctx, paths, port)}, but its pidfile names ${who}: not fenced; an operator must stop it`);
  }
  const state = await processState(pid);
  // Checked after the awaits, right before the kill: a node that answered meanwhile is left alone.
  const silence = ctx.hung.silence(paths.dir);
  if (!silence) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // Exited between the check and the kill.
  }
  ctx.logger.warn(
    { instanceId, port, pid, silentMs: silence.silentMs, boundMs: ctx.hung.boundMs, processState: state },
    'node did not answer within the bound: fenced with SIGKILL; it is repaired like a node that died',
  );
  ctx.hung.forget(paths.dir);
  ctx.pool.drop(port);
  if (!(await waitProcessExited(pid, 5_000, signal))) throw new Error(`node on port ${port} (pid ${pid}) was sent SIGKILL but has not exited`);
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
