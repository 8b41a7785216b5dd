/** Test-side helpers for the local driver: admin connections, hard kills, leftover and cleanup scans. */
import { mkdtemp, readdir, readFile, readlink, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect } from 'vitest';
import { Redis } from 'ioredis';
import type { DriverLogger } from '../../src/drivers/driver-logger.ts';
import type { LocalSpec, NodeInternalPorts } from '../../src/drivers/local/local-spec.ts';
import type { PortBook } from '../../src/drivers/local/port-book.ts';
import { createLocalNodes } from '../../src/drivers/local/local-nodes.ts';

/**
 * Internal ports for a spec built by hand: each node's TLS port is its client port + `tlsOffset`, its bus
 * port (clusters) + `busOffset`. Driver tests keep these in 28000-32767, outside every file's client range
 * and below the kernel's ephemeral range.
 */
export function internalPortsFor(shards: LocalSpec['shards'], tlsOffset: number, busOffset: number | null = null): Record<number, NodeInternalPorts> {
  const out: Record<number, NodeInternalPorts> = {};
  for (const s of shards) {
    for (const port of [s.master, s.replica]) out[port] = { tls: port + tlsOffset, bus: busOffset === null ? null : port + busOffset };
  }
  return out;
}

export const HOST = '127.0.0.1';

/** A logger that keeps every line, so tests can assert on logs (and that no secret is in them). */
export function recordingLogger(): DriverLogger & { lines: string[] } {
  const lines: string[] = [];
  const record =
    (level: string) =>
    (obj: object, msg?: string): void => {
      lines.push(`${level} ${msg ?? ''} ${JSON.stringify(obj)}`);
    };
  return { lines, debug: record('debug'), info: record('info'), warn: record('warn'), error: record('error') };
}

/**
 * A port book in memory over [from, to] (no quarantine), for driver tests without a store; one book can
 * serve several driver objects (a restart of the control plane keeps the store).
 */
export function memoryPortBook(from: number, to: number): PortBook {
  const book = new Map<string, Map<string, number>>();
  const taken = (): Set<number> => new Set([...book.values()].flatMap((m) => [...m.values()]));
  const of = (id: string): Map<string, number> => book.get(id) ?? book.set(id, new Map()).get(id)!;
  const pick = (avoid: ReadonlySet<number>): number => {
    const used = taken();
    const free: number[] = [];
    for (let p = from; p <= to; p++) if (!used.has(p) && !avoid.has(p)) free.push(p);
    if (free.length === 0) throw Object.assign(new Error(`no free ports in ${from}-${to}`), { name: 'NoFreePortsError' });
    return free[Math.floor(Math.random() * free.length)]!;
  };
  return {
    range: { from, to },
    list: (id) => Promise.resolve(new Map(of(id))),
    reserve(id, roles, opts = {}) {
      const mine = of(id);
      for (const role of roles) {
        if (mine.has(role)) continue;
        const exact = opts.exact?.get(role);
        mine.set(role, exact ?? pick(opts.avoid ?? new Set()));
      }
      return Promise.resolve(new Map(mine));
    },
    release(id, roles) {
      const mine = of(id);
      for (const role of roles ?? [...mine.keys()]) mine.delete(role);
      return Promise.resolve();
    },
    move(id, role, avoid) {
      const mine = of(id);
      mine.delete(role);
      const port = pick(avoid);
      mine.set(role, port);
      return Promise.resolve(port);
    },
  };
}

/** The control plane's own channel to a node: its unix socket, as the admin user. */
export async function adminConnection(dataDir: string, instanceId: string, port: number): Promise<Redis> {
  const secrets = JSON.parse(await readFile(join(dataDir, 'instances', instanceId, 'internal-secrets.json'), 'utf8')) as {
    adminPassword: string;
  };
  const client = new Redis({
    path: join(dataDir, 'instances', instanceId, String(port), 'redis.sock'),
    username: 'jcs-admin',
    password: secrets.adminPassword,
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  client.on('error', () => undefined); // a refused connect rejects connect() below
  await client.connect();
  return client;
}

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export async function portOpen(port: number): Promise<boolean> {
  const { connect } = await import('node:net');
  return new Promise((resolve) => {
    const s = connect({ host: HOST, port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}

async function waitFor(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/**
 * The pid in a node's pidfile. Never 0 or negative: `process.kill(0, …)` signals our own process group
 * (an empty pidfile, read while redis-server writes it, once killed the whole test run).
 */
export async function nodePid(dataDir: string, instanceId: string, port: number): Promise<number> {
  const text = await readFile(join(dataDir, 'instances', instanceId, String(port), 'redis.pid'), 'utf8');
  const pid = Number(text.trim());
  if (!Number.isInteger(pid) || pid <= 0) throw new Error(`pidfile of port ${port} holds "${text}", not a pid`);
  return pid;
}

/** kill -9 the node's pid (from its pidfile) and wait until pid and port are gone. */
export async function killNode(dataDir: string, instanceId: string, port: number): Promise<void> {
  const pid = await nodePid(dataDir, instanceId, port);
  process.kill(pid, 'SIGKILL');
  await waitFor(`pid ${pid} to die`, () => !pidAlive(pid));
  await waitFor(`port ${port} to close`, async () => !(await portOpen(port)));
}

/** Processes whose working directory is under `dir`: redis-server runs in its node directory. */
export async function processesUnder(dir: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const cwd = await readlink(`/proc/${entry}/cwd`).catch(() => null);
    if (cwd !== null && (cwd === dir || cwd.startsWith(`${dir}/`) || cwd.startsWith(`${dir} (deleted)`))) {
      pids.push(Number(entry));
    }
  }
  return pids;
}

export async function leftovers(dataDir: string, instanceId: string, ports: number[]): Promise<string[]> {
  const found: string[] = [];
  const dir = join(dataDir, 'instances', instanceId);
  if (await stat(dir).catch(() => null)) found.push(`directory ${dir}`);
  for (const pid of await processesUnder(dir)) found.push(`process ${pid}`);
  for (const port of ports) if (await portOpen(port)) found.push(`port ${port} open`);
  return found;
}

/** Last resort after a suite: SIGKILL every process still running in the test's data directory. */
export async function killEverythingUnder(dataDir: string): Promise<number> {
  const pids = await processesUnder(dataDir);
  for (const pid of pids) process.kill(pid, 'SIGKILL');
  return pids.length;
}

/**
 * A block of `size` consecutive free ports inside [from, to], chosen at random among the blocks, so two
 * runs of this file at the same time (a developer's and a full-suite run) rarely collide.
 */
export async function freePortBlock(from: number, to: number, size: number): Promise<number> {
  const blocks = Array.from({ length: Math.floor((to - from + 1) / size) }, (_, i) => from + i * size);
  for (let i = blocks.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [blocks[i], blocks[j]] = [blocks[j]!, blocks[i]!];
  }
  for (const base of blocks) {
    const open = await Promise.all(Array.from({ length: size }, (_, k) => portOpen(base + k)));
    if (!open.some(Boolean)) return base;
  }
  throw new Error(`no block of ${size} free ports in ${from}-${to}`);
}

/**
 * Cleans up after earlier runs of this file that were killed before their afterAll (SIGKILL, OOM): each
 * run writes `owner.pid` in its data dir; a dir whose owner is dead has its redis-servers killed and is
 * removed. A dir whose owner still runs (a concurrent run) is left alone.
 */
export async function reapAbandonedRuns(parent: string, prefix: string): Promise<void> {
  for (const name of await readdir(parent)) {
    if (!name.startsWith(prefix)) continue;
    const dir = join(parent, name);
    const owner = Number(await readFile(join(dir, 'owner.pid'), 'utf8').catch(() => 'NaN'));
    if (!Number.isInteger(owner) || pidAlive(owner)) continue;
    await killEverythingUnder(dir);
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * A local driver on a data directory of its own under the system temp dir, for a whole test file: after
 * the file it is closed, whatever still runs under the directory is killed and the directory removed, and
 * anything that was still running fails the file (each test removes what it made, so it is a leak).
 */
export async function driverForFile(prefix: string): Promise<{ dataDir: string; logger: ReturnType<typeof recordingLogger>; driver: ReturnType<typeof createLocalNodes> }> {
  const dataDir = await mkdtemp(join(tmpdir(), prefix));
  const logger = recordingLogger();
  const driver = createLocalNodes({ dataDir, logger });
  await driver.init(AbortSignal.timeout(20_000));
  afterAll(async () => {
    await driver.close();
    const killed = await killEverythingUnder(dataDir);
    await rm(dataDir, { recursive: true, force: true });
    expect(killed).toBe(0);
  });
  return { dataDir, logger, driver };
}
