/**
 * One redis-server node: start, stop, identify and read. Topology code (master-slave.ts, and
 * native-cluster later) composes these; nothing here knows about roles beyond what INFO reports.
 */
import { spawn } from 'node:child_process';
import { connect, createServer } from 'node:net';
import { readdir, readFile, readlink, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { parseInfo } from './node-state.ts';
import type { NodePaths } from './instance-paths.ts';
import type { DriverLogger } from '../driver-logger.ts';
import { ensureNodeCgroup, execInNodeCgroupArgv, removeNodeCgroup, type MemoryCgroups } from './memory-cgroup.ts';

/** Poll interval while waiting for a port or a link: a local redis-server starts in ~10 ms. */
export const POLL_MS = 5;

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason as Error);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * True when some process listens on `port` at `host` (or on a wildcard that covers it). Found out by
 * trying to bind it ourselves, not by connecting: a connection would be seen by whoever listens (a
 * squatter learns we are looking), and a white-list firewall rule may refuse connections from this host.
 */
export function isPortHeld(host: string, port: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE' || err.code === 'EACCES') resolve(true);
      else reject(err);
    });
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(false)));
  });
}

/** True when something accepts connections on the unix socket `path`. */
export function isSocketOpen(path: string, timeoutMs = 250): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ path });
    const done = (open: boolean): void => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(timeoutMs, () => done(true)); // accepted-but-silent still means "there"
    socket.once('connect', () => done(true));
    socket.on('error', () => done(false));
  });
}

/** Waits until nothing listens on host:port; false when `timeoutMs` passed first. */
export async function waitPortClosed(host: string, port: number, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (await isPortHeld(host, port)) {
    if (Date.now() > deadline) return false;
    await sleep(POLL_MS, signal);
  }
  return true;
}

export async function readPidfile(pidfile: string): Promise<number | null> {
  const text = await readFile(pidfile, 'utf8').catch(() => null);
  const pid = text === null ? NaN : Number(text.trim());
  return Number.isInteger(pid) && pid > 0 ? pid : null;
}

export function isPidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * True when `pid` is the redis-server of the node whose directory is `nodeDir`. Guards every signal we
 * send against pid reuse: a stale pidfile must never make us kill an unrelated process. redis-server
 * rewrites its argv (so the conf path is not in /proc/<pid>/cmdline), but it runs with `dir` as its
 * working directory, which is unique to the node. Without /proc (not Linux) we trust the pidfile.
 */
export async function isOurProcess(pid: number, nodeDir: string): Promise<boolean> {
  if (!isPidAlive(pid)) return false;
  try {
    return (await readlink(`/proc/${pid}/cwd`)) === nodeDir;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // ENOENT: no such pid any more, or no /proc; EACCES: not our user's process, so not ours.
    if (code === 'ENOENT') return isPidAlive(pid) && !(await hasProcfs());
    return false;
  }
}

/**
 * The kernel's one-letter state of `pid` from /proc/<pid>/stat (`R` running, `S` sleeping, `D` waiting on
 * I/O, `T` stopped by a signal, `t` stopped by a tracer, `Z` exited but not reaped), or null when there is
 * no such process (or no /proc).
 */
export async function processState(pid: number): Promise<string | null> {
  const text = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => null);
  if (text === null) return null;
  // "pid (comm) S …": comm may itself hold spaces and parentheses, so the state follows the last ')'.
  return text.charAt(text.lastIndexOf(')') + 2) || null;
}

/** A state from `processState` in words, for logs and status reasons. */
export function describeProcessState(state: string | null): string {
  switch (state) {
    case null:
      return 'no longer exists';
    case 'T':
      return 'is stopped (SIGSTOP)';
    case 't':
      return 'is stopped by a debugger';
    case 'D':
      return 'is stuck in the kernel (uninterruptible wait)';
    case 'Z':
      return 'has exited';
    case 'R':
      return 'is running (busy)';
    default:
      return `is in state ${state}`;
  }
}

async function hasProcfs(): Promise<boolean> {
  return readlink('/proc/self/cwd').then(
    () => true,
    () => false,
  );
}

async function logTail(log: string, lines = 5): Promise<string> {
  const text = await readFile(log, 'utf8').catch(() => '');
  return text.trim().split('\n').slice(-lines).join(' | ');
}

/**
 * When the node last wrote its AOF (newest mtime in `appendonlydir`, ms since the epoch), or null when it
 * has none. Redis writes the AOF on every write command, so this is when its data last changed.
 */
export async function lastAofWriteMs(paths: NodePaths): Promise<number | null> {
  const dir = join(paths.dir, 'appendonlydir');
  const names = await readdir(dir).catch(() => [] as string[]);
  const times = await Promise.all(names.map((n) => stat(join(dir, n)).then((s) => s.mtimeMs, () => 0)));
  return times.length === 0 ? null : Math.max(...times);
}

/** A node could not start because one of its ports was taken just before it bound it. */
export class PortTakenAtStart extends Error {
  override readonly name = 'PortTakenAtStart';
}

export interface StartNodeOptions {
  redisServer: string;
  paths: NodePaths;
  host: string;
  port: number;
  logger: DriverLogger;
  signal: AbortSignal;
  /** Give up waiting for the port after this long (default 10 s: large AOFs load before PING answers). */
  timeoutMs?: number;
  /** Command-line settings for this start only (the conf file stays the durable truth). */
  extraArgs?: readonly string[];
  /** A memory cgroup to start the node in (created or updated with this limit first). */
  cgroup?: NodeCgroup;
}

/** A node's memory cgroup: the kernel's bound on all it uses, the Lua heap included. */
export interface NodeCgroup {
  cg: MemoryCgroups;
  name: string;
  limitBytes: number;
}

/**
 * Spawns `redis-server <conf>` detached (own session, no stdio, unref'd) so it outlives the control
 * plane, then waits until its unix socket accepts connections (redis opens its TCP listeners first, so
 * the node is then reachable everywhere). Returns the pid. The conf must already be written. Readiness
 * beyond that (AOF loading) is checked by the caller with `waitUntilLoaded`. When a listener's port was
 * taken between the caller's check and the start, throws PortTakenAtStart (the caller finds out which).
 */
export async function startNode(opts: StartNodeOptions): Promise<number> {
  let argv = [opts.redisServer, opts.paths.conf, ...(opts.extraArgs ?? [])];
  if (opts.cgroup) {
    await ensureNodeCgroup(opts.cgroup.cg, opts.cgroup.name, opts.cgroup.limitBytes);
    // The process enters its group before redis-server runs, so even loading its AOF is bounded.
    argv = execInNodeCgroupArgv(opts.cgroup.cg, opts.cgroup.name, argv);
  }
  const child = spawn(argv[0]!, argv.slice(1), {
    detached: true,
    stdio: 'ignore',
    cwd: opts.paths.dir,
  });
  child.unref();
  let exited: string | null = null;
  child.once('error', (err) => {
    exited = `spawn failed: ${err.message}`;
  });
  child.once('exit', (code, sig) => {
    exited = `exited with ${sig ?? `code ${code}`}`;
  });
  const deadline = Date.now() + (opts.timeoutMs ?? 10_000);
  for (;;) {
    if (exited !== null) {
      const tail = await logTail(opts.paths.log);
      if (/Address already in use/.test(tail)) throw new PortTakenAtStart(`redis-server on port ${opts.port} ${exited}: ${tail}`);
      throw new Error(`redis-server on port ${opts.port} ${exited}: ${tail}`);
    }
    if (await isSocketOpen(opts.paths.socket)) break;
    if (Date.now() > deadline) {
      if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
      throw new Error(`redis-server on port ${opts.port} did not open its port in time: ${await logTail(opts.paths.log)}`);
    }
    await sleep(POLL_MS, opts.signal);
  }
  if (child.pid === undefined) throw new Error(`redis-server on port ${opts.port} has no pid`);
  opts.logger.info({ port: opts.port, pid: child.pid }, 'redis-server started');
  return child.pid;
}

/**
 * Waits until the node has loaded its dataset (AOF at start, RDB during a full sync): until then most
 * commands answer LOADING. Polls every few ms; a small dataset loads in about one.
 */
export async function waitUntilLoaded(client: Redis, port: number, signal: AbortSignal, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const info = parseInfo(String(await client.call('INFO', 'persistence')));
    if (info.get('loading') !== '1' && info.get('async_loading') !== '1') return;
    if (Date.now() > deadline) throw new Error(`node on port ${port} is still loading its data after ${timeoutMs} ms`);
    await sleep(POLL_MS, signal);
  }
}

export interface StopNodeOptions {
  paths: NodePaths;
  host: string;
  port: number;
  /** Admin connection to the node, when one could be made: lets it shut down cleanly. */
  admin: Redis | null;
  logger: DriverLogger;
  signal?: AbortSignal;
  /** The node's memory cgroup, removed once the node is gone. */
  cgroup?: Pick<NodeCgroup, 'cg' | 'name'>;
}

/**
 * Stops a node: SHUTDOWN NOSAVE as admin, then SIGTERM and SIGKILL to the pidfile's pid (only if it is
 * our redis-server for this conf) while it lingers, until its port is closed. Safe when it is not running.
 */
export async function stopNode(opts: StopNodeOptions): Promise<void> {
  const pid = await readPidfile(opts.paths.pidfile);
  const ours = pid !== null && (await isOurProcess(pid, opts.paths.dir));
  if (opts.admin) {
    // NOW: do not wait for replicas to catch up; FORCE: exit even while the first AOF is being written
    // (a fresh replica rewrites its AOF right after its first sync). The reply never comes.
    await opts.admin.call('SHUTDOWN', 'NOSAVE', 'NOW', 'FORCE').catch(() => undefined);
  }
  // Neither a pid we can vouch for nor a connection we authenticated: nothing of ours runs here. The
  // node may have died (a crash, a kill): its memory cgroup is empty then, and goes with the node.
  if (!ours && !opts.admin) {
    if (opts.cgroup) await removeNodeCgroup(opts.cgroup.cg, opts.cgroup.name);
    return;
  }
  const steps: Array<NodeJS.Signals | null> = [null, 'SIGTERM', 'SIGKILL'];
  for (const sig of steps) {
    if (sig !== null && ours && isPidAlive(pid)) {
      opts.logger.warn({ port: opts.port, pid, signal: sig }, 'redis-server lingers; signalling it');
      try {
        process.kill(pid, sig);
      } catch {
        // Already gone between the check and the kill.
      }
    }
    const closed = await waitPortClosed(opts.host, opts.port, 2_000, opts.signal);
    if (closed && (!ours || (await waitPidGone(pid, 2_000, opts.signal)))) {
      if (opts.cgroup) await removeNodeCgroup(opts.cgroup.cg, opts.cgroup.name);
      return;
    }
    if (!ours) break;
  }
  throw new Error(`port ${opts.port} is still held after stopping the node (not our process, or unkillable)`);
}

/** SIGTERM to a verified node process, then waits for it to exit (SIGKILL after 10 s). */
export async function stopLegacyNode(pid: number, signal?: AbortSignal): Promise<void> {
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  if (await waitPidGone(pid, 10_000, signal)) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    return;
  }
  await waitPidGone(pid, 2_000, signal);
}

/**
 * Waits until `pid` has exited; an unreaped zombie counts as exited (its sockets are closed and its pid is
 * no longer in use by a live node). False when `timeoutMs` passed first.
 */
export async function waitProcessExited(pid: number, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isPidAlive(pid) && (await processState(pid)) !== 'Z') {
    if (Date.now() > deadline) return false;
    await sleep(POLL_MS, signal);
  }
  return true;
}

async function waitPidGone(pid: number, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isPidAlive(pid)) {
    if (Date.now() > deadline) return false;
    await sleep(POLL_MS, signal);
  }
  return true;
}
