// Observation 5 of issue 11, node half: a 1 GB class reached 2.0 GB through client query buffers and Lua
// used 0.5 GB outside maxmemory. Bare redis-server processes started here, with and without the lines
// of src/drivers/local/memory-guard.ts, in a memory cgroup of src/drivers/local/memory-cgroup.ts where
// the machine has one. Ports 25900-25999 belong to this file.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { luaMemoryProblems } from '../../src/drivers/local/lua-memory.ts';
import {
  ensureNodeCgroup,
  execInNodeCgroupArgv,
  listNodeCgroups,
  moveIntoNodeCgroup,
  nodeCgroupPids,
  openMemoryCgroups,
  readNodeCgroup,
  removeCgroupParent,
  removeNodeCgroup,
  setNodeCgroupLimit,
  type MemoryCgroups,
} from '../../src/drivers/local/memory-cgroup.ts';
import {
  MEMORY_GUARD_DENIED_COMMANDS,
  memoryGuardLines,
  memoryGuardSettings,
  nodeMemoryBudget,
  promisedNodeMemoryBytes,
} from '../../src/drivers/local/memory-guard.ts';
import { parseInfo } from '../../src/drivers/local/node-state.ts';
import { nodePaths } from '../../src/drivers/local/instance-paths.ts';
import { stopNode as stopDriverNode } from '../../src/drivers/local/redis-node.ts';
import { recordingLogger } from './local-harness.ts';

const MiB = 1024 * 1024;
const MAXMEMORY = 128 * MiB;
const BUDGET = nodeMemoryBudget(MAXMEMORY);
const dir = await mkdtemp(join(tmpdir(), 'jcs-memory-guard-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

interface BareNode {
  port: number;
  pid: number;
  child: ChildProcess;
  client: Redis;
}
const started: BareNode[] = [];

/** A bare redis-server on `port` with `lines` after a minimal conf; `argvPrefix` wraps the command (cgroup). */
async function startNode(port: number, lines: string[], wrap: (argv: string[]) => string[] = (a) => a): Promise<BareNode> {
  const nodeDir = join(dir, String(port));
  await mkdir(nodeDir, { recursive: true });
  const conf = join(nodeDir, 'redis.conf');
  await writeFile(
    conf,
    [`port ${port}`, 'bind 127.0.0.1', `dir "${nodeDir}"`, 'save ""', 'appendonly no', `maxmemory ${MAXMEMORY}`, 'maxmemory-policy volatile-lru', ...lines].join('\n') + '\n',
  );
  const [cmd, ...args] = wrap(['redis-server', conf]);
  const child = spawn(cmd!, args, { stdio: 'ignore' });
  const client = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => undefined);
  const deadline = Date.now() + 5_000;
  for (;;) {
    try {
      await client.connect();
      break;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await sleep(10);
    }
  }
  const node = { port, pid: child.pid!, child, client };
  started.push(node);
  return node;
}

async function stopNode(node: BareNode): Promise<void> {
  node.client.disconnect();
  if (node.child.exitCode === null && node.child.signalCode === null) {
    const exited = new Promise((r) => node.child.once('exit', r));
    node.child.kill('SIGKILL');
    await exited;
  }
}
afterEach(async () => {
  await Promise.all(started.splice(0).map(stopNode));
});

// Builds a table of 33 million integers: a 512 MiB Lua array, none of it under maxmemory.
const BUILD_500MB = 'local t = {} for i = 1, 33000000 do t[i] = i end return #t';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function memory(node: BareNode): Promise<{ used: number; evictedClients: number; peakRss: number; rss: number; info: Map<string, string> }> {
  const info = parseInfo(await node.client.info());
  const status = await readFile(`/proc/${node.pid}/status`, 'utf8');
  const kb = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1]) * 1024;
  return { used: Number(info.get('used_memory')), evictedClients: Number(info.get('evicted_clients')), peakRss: kb('VmHWM'), rss: kb('VmRSS'), info };
}

type Memory = Awaited<ReturnType<typeof memory>>;

/**
 * Opens `clients` raw connections to the node, each sending what `send` writes; after `holdMs` reads the
 * node's memory while they are still open, then closes them.
 */
async function flood(node: BareNode, clients: number, send: (s: Socket) => void, holdMs: number): Promise<Memory & { closedByServer: number }> {
  const sockets: Socket[] = [];
  let closedByServer = 0;
  for (let i = 0; i < clients; i++) {
    const s = connect(node.port, '127.0.0.1');
    s.on('error', () => undefined);
    s.on('close', () => closedByServer++);
    sockets.push(s);
    send(s);
  }
  await sleep(holdMs);
  const during = { ...(await memory(node)), closedByServer };
  for (const s of sockets) s.destroy();
  return during;
}

/** Each client announces a value of `announce` bytes in a SET and sends `sent` bytes of it, never the rest. */
const queryFlood = (node: BareNode, clients: number, announce: number, sent: number) =>
  flood(
    node,
    clients,
    (s) => {
      s.write(`*3\r\n$3\r\nSET\r\n$4\r\nflud\r\n$${announce}\r\n`);
      for (let left = sent; left > 0; left -= MiB) s.write(Buffer.alloc(Math.min(MiB, left), 120));
    },
    2_000,
  );

/** Each client pipelines `replies` GETs of a 1 MB value and never reads. */
const outputFlood = (node: BareNode, clients: number, replies: number) =>
  flood(
    node,
    clients,
    (s) => {
      s.pause();
      s.write('*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n'.repeat(replies));
    },
    2_000,
  );

describe('memory guard lines', () => {
  it('are accepted by redis-server 7 from the conf and live by CONFIG SET, and derive from maxmemory', async () => {
    const node = await startNode(25900, memoryGuardLines(MAXMEMORY));
    const get = async (name: string): Promise<string> => ((await node.client.config('GET', name)) as string[])[1]!;
    expect(await get('maxmemory-clients')).toBe(String(BUDGET.clientsBytes));
    expect(await get('proto-max-bulk-len')).toBe(String(8 * MiB));
    expect(await get('client-query-buffer-limit')).toBe(String(16 * MiB));
    expect(await get('client-output-buffer-limit')).toBe(
      `normal ${BUDGET.clientsBytes} 0 0 slave 268435456 67108864 60 pubsub ${8 * MiB} ${2 * MiB} 60`,
    );
    // A resize applies the next class's guard without a restart.
    for (const [name, value] of memoryGuardSettings(1024 * MiB)) expect(await node.client.config('SET', name, value)).toBe('OK');
    expect(await get('maxmemory-clients')).toBe(String(128 * MiB));
    expect(promisedNodeMemoryBytes(1024 * MiB)).toBe((1024 + 128 + 64 + 32 + 128) * MiB);
  });

  it('keeps a query-buffer flood from many clients within the promise; without it the node passes it', async () => {
    // 100 clients announce 8 MiB values (the largest the guard allows) and send half of each.
    const bare = await startNode(25901, []);
    await bare.client.set('kept', 'yes');
    const without = await queryFlood(bare, 100, 8 * MiB, 4 * MiB);
    const guarded = await startNode(25902, memoryGuardLines(MAXMEMORY));
    await guarded.client.set('kept', 'yes');
    const withGuard = await queryFlood(guarded, 100, 8 * MiB, 4 * MiB);
    console.log(
      `query flood on a ${MAXMEMORY / MiB} MB node (promise ${BUDGET.promisedBytes / MiB} MB): ` +
        `without guard used_memory ${Math.round(without.used / MiB)} MB, peak RSS ${Math.round(without.peakRss / MiB)} MB; ` +
        `with guard used_memory ${Math.round(withGuard.used / MiB)} MB, peak RSS ${Math.round(withGuard.peakRss / MiB)} MB, ${withGuard.evictedClients} clients evicted`,
    );
    expect(without.used).toBeGreaterThan(BUDGET.promisedBytes);
    expect(without.peakRss).toBeGreaterThan(BUDGET.promisedBytes);
    expect(withGuard.used).toBeLessThanOrEqual(MAXMEMORY + BUDGET.clientsBytes);
    expect(withGuard.peakRss).toBeLessThan(BUDGET.promisedBytes);
    expect(withGuard.evictedClients).toBeGreaterThan(50);
    expect(withGuard.closedByServer).toBeGreaterThan(50);
    expect(await guarded.client.get('kept')).toBe('yes');
  });

  it('keeps unread replies of many clients within the promise; without it the node passes it', async () => {
    const big = 'y'.repeat(MiB);
    const bare = await startNode(25903, []);
    await bare.client.set('big', big);
    const without = await outputFlood(bare, 40, 20);
    const guarded = await startNode(25904, memoryGuardLines(MAXMEMORY));
    await guarded.client.set('big', big);
    const withGuard = await outputFlood(guarded, 40, 20);
    console.log(
      `output flood on a ${MAXMEMORY / MiB} MB node: without guard used_memory ${Math.round(without.used / MiB)} MB, peak RSS ${Math.round(without.peakRss / MiB)} MB; ` +
        `with guard used_memory ${Math.round(withGuard.used / MiB)} MB, peak RSS ${Math.round(withGuard.peakRss / MiB)} MB, ${withGuard.evictedClients} clients evicted`,
    );
    expect(without.used).toBeGreaterThan(BUDGET.promisedBytes);
    expect(without.peakRss).toBeGreaterThan(BUDGET.promisedBytes);
    expect(withGuard.used).toBeLessThanOrEqual(MAXMEMORY + BUDGET.clientsBytes);
    expect(withGuard.peakRss).toBeLessThan(BUDGET.promisedBytes);
    expect(withGuard.evictedClients).toBeGreaterThan(20);
  });

  it('lets ordinary large work through: long pipelines, values up to proto-max-bulk-len, large replies', async () => {
    const node = await startNode(25905, memoryGuardLines(MAXMEMORY));
    const pipeline = node.client.pipeline();
    for (let i = 0; i < 20_000; i++) pipeline.set(`k${i}`, 'v'.repeat(512));
    const results = (await pipeline.exec())!;
    expect(results.every(([err]) => err === null)).toBe(true);
    const largest = 8 * MiB - 1024;
    expect(await node.client.set('largest', Buffer.alloc(largest, 97))).toBe('OK');
    expect(await node.client.strlen('largest')).toBe(largest);
    // A 20 MB reply (the client budget of this node is 32 MiB).
    for (let i = 0; i < 20; i++) await node.client.rpush('list', 'z'.repeat(MiB));
    expect((await node.client.lrange('list', 0, -1)).length).toBe(20);
    expect(Number((await memory(node)).info.get('evicted_clients'))).toBe(0);
    // One byte over the largest argument: Redis refuses the protocol and closes that connection only.
    const refused = new Redis({ port: node.port, maxRetriesPerRequest: 0, retryStrategy: () => null });
    refused.on('error', () => undefined);
    await expect(refused.set('too-big', Buffer.alloc(8 * MiB + 1, 97))).rejects.toThrow();
    refused.disconnect();
    expect(await node.client.exists('too-big')).toBe(0);
  });

  it('holds only while tenants cannot exempt themselves from client eviction', async () => {
    const denied = MEMORY_GUARD_DENIED_COMMANDS.map((c) => `-${c}`).join(' ');
    const node = await startNode(25906, [...memoryGuardLines(MAXMEMORY), `user default on nopass ~* &* +@all ${denied}`]);
    await expect(node.client.call('CLIENT', 'NO-EVICT', 'on')).rejects.toThrow(/NOPERM/);
  });
});

describe('Lua memory', () => {
  it('sits outside maxmemory; the observe check finds it and SCRIPT FLUSH ASYNC gives it back', async () => {
    const node = await startNode(25910, memoryGuardLines(MAXMEMORY));
    await node.client.set('kept', 'yes');
    expect(await node.client.eval(BUILD_500MB, 0)).toBe(33_000_000);
    const after = await memory(node);
    expect(Number(after.info.get('used_memory_vm_eval'))).toBeGreaterThan(500 * MiB);
    expect(after.used).toBeLessThan(MAXMEMORY);
    expect(after.rss).toBeGreaterThan(BUDGET.promisedBytes);
    const problems = luaMemoryProblems(after.info, MAXMEMORY);
    expect(problems).toEqual([expect.objectContaining({ vm: 'eval', action: 'script-flush', budgetBytes: BUDGET.scriptsBytes })]);
    expect(problems[0]!.message).toMatch(/^Lua scripts hold 51\d MB, above the 16 MB budget of a 128 MB node/);
    // What observe does with it, on its own channel:
    expect(await node.client.call('SCRIPT', 'FLUSH', 'ASYNC')).toBe('OK');
    let flushed = await memory(node);
    for (let i = 0; i < 100 && flushed.rss > 64 * MiB; i++) {
      await sleep(20);
      flushed = await memory(node);
    }
    expect(luaMemoryProblems(flushed.info, MAXMEMORY)).toEqual([]);
    expect(flushed.rss).toBeLessThan(64 * MiB);
    expect(await node.client.get('kept')).toBe('yes');
  });

  it('reports FUNCTION libraries over the budget, which nothing but a restart empties', async () => {
    const node = await startNode(25911, memoryGuardLines(MAXMEMORY));
    await node.client.call(
      'FUNCTION',
      'LOAD',
      "#!lua name=big\nredis.register_function('bigt', function(keys, args) local t = {} for i = 1, tonumber(args[1]) do t[i] = i end return #t end)",
    );
    expect(await node.client.call('FCALL', 'bigt', '0', '4000000')).toBe(4_000_000);
    const problems = luaMemoryProblems((await memory(node)).info, MAXMEMORY);
    expect(problems).toEqual([expect.objectContaining({ vm: 'functions', action: 'report' })]);
    expect(problems[0]!.message).toMatch(/^Lua functions hold \d+ MB, above the 16 MB budget/);
  });
});

describe('memory cgroup per node', () => {
  let cg: MemoryCgroups | null = null;
  let skipReason = '';
  const parentName = `jcs-redis-test-${process.pid}`;

  beforeAll(async () => {
    if (process.getuid?.() !== 0) {
      skipReason = 'not root';
      return;
    }
    const found = await openMemoryCgroups({ parentName });
    if (found.available) cg = found.cgroups;
    else skipReason = found.reason;
  });
  afterAll(async () => {
    if (!cg) return;
    for (const name of await listNodeCgroups(cg)) {
      for (const pid of await nodeCgroupPids(cg, name)) process.kill(pid, 'SIGKILL');
      for (let i = 0; i < 50 && !(await removeNodeCgroup(cg, name)); i++) await sleep(20);
    }
    expect(await removeCgroupParent(cg)).toBe(true);
  });

  it('runs the node in its own group with the promised limit; a 500 MB Lua table is stopped by the kernel', async (ctx) => {
    if (!cg) {
      console.log(`memory cgroup test skipped: ${skipReason}`);
      ctx.skip();
      return;
    }
    const name = 'redis-test-25920';
    const dirOf = await ensureNodeCgroup(cg, name, BUDGET.promisedBytes);
    const node = await startNode(25920, memoryGuardLines(MAXMEMORY), (argv) => execInNodeCgroupArgv(cg!, name, argv));
    const own = await readFile(`/proc/${node.pid}/cgroup`, 'utf8');
    expect(own).toMatch(new RegExp(`${cg.version === 1 ? ':memory:' : '^0::'}.*/${parentName}/${name}$`, 'm'));
    expect(await nodeCgroupPids(cg, name)).toEqual([node.pid]);
    expect((await readNodeCgroup(cg, name))!).toMatchObject({ limitBytes: BUDGET.promisedBytes, oomKills: 0 });
    expect(dirOf.endsWith(`/${parentName}/${name}`)).toBe(true);
    await node.client.set('kept', 'yes');

    const exited = new Promise<NodeJS.Signals | null>((r) => node.child.once('exit', (_code, signal) => r(signal)));
    await expect(node.client.eval(BUILD_500MB, 0)).rejects.toThrow();
    expect(await exited).toBe('SIGKILL');
    const state = (await readNodeCgroup(cg, name))!;
    console.log(`Lua 500 MB table in a ${BUDGET.promisedBytes / MiB} MB cgroup (cgroup v${cg.version}): node OOM-killed (oom_kill ${state.oomKills})`);
    expect(state.oomKills).toBe(1);
    expect(await removeNodeCgroup(cg, name)).toBe(true);
    expect(await listNodeCgroups(cg)).toEqual([]);
  });

  it('moves a running node in, changes its limit live, and is removed only once the node is gone', async (ctx) => {
    if (!cg) {
      console.log(`memory cgroup test skipped: ${skipReason}`);
      ctx.skip();
      return;
    }
    const name = 'redis-test-25921';
    await ensureNodeCgroup(cg, name, BUDGET.promisedBytes);
    const node = await startNode(25921, memoryGuardLines(MAXMEMORY));
    await moveIntoNodeCgroup(cg, name, node.pid);
    expect(await nodeCgroupPids(cg, name)).toEqual([node.pid]);
    const bigger = promisedNodeMemoryBytes(256 * MiB);
    await setNodeCgroupLimit(cg, name, bigger);
    expect((await readNodeCgroup(cg, name))!.limitBytes).toBe(bigger);
    await setNodeCgroupLimit(cg, name, BUDGET.promisedBytes);
    expect((await readNodeCgroup(cg, name))!.limitBytes).toBe(BUDGET.promisedBytes);
    expect(await node.client.ping()).toBe('PONG');
    expect(await removeNodeCgroup(cg, name)).toBe(false);
    await stopNode(node);
    expect(await removeNodeCgroup(cg, name)).toBe(true);
    expect(await removeNodeCgroup(cg, name)).toBe(true); // idempotent
    expect(() => execInNodeCgroupArgv(cg!, '../escape', ['redis-server'])).toThrow(/not a safe cgroup name/);
  });

  it('is removed when the driver stops a node that had already died (an instance deleted after a node crash)', async (ctx) => {
    if (!cg) {
      console.log(`memory cgroup test skipped: ${skipReason}`);
      ctx.skip();
      return;
    }
    const name = 'redis-test-25922';
    await ensureNodeCgroup(cg, name, BUDGET.promisedBytes);
    const node = await startNode(25922, memoryGuardLines(MAXMEMORY), (argv) => execInNodeCgroupArgv(cg!, name, argv));
    expect(await nodeCgroupPids(cg, name)).toEqual([node.pid]);
    await stopNode(node); // SIGKILL: no pidfile and no admin connection are left for the driver
    await stopDriverNode({ paths: nodePaths(dir, 'redis-test', 25922), host: '127.0.0.1', port: 25922, admin: null, logger: recordingLogger(), cgroup: { cg, name } });
    expect(await listNodeCgroups(cg)).not.toContain(name);
  });
});

describe('memory cgroup detection', () => {
  it('explains why not when no hierarchy offers the memory controller, and touches nothing', async () => {
    const fake = join(dir, 'fake-cgroup2');
    await mkdir(fake, { recursive: true });
    await writeFile(join(fake, 'cgroup.controllers'), 'cpu io pids\n');
    await writeFile(join(fake, 'cgroup.subtree_control'), 'cpu\n');
    const mountinfo = `30 23 0:26 / ${fake} rw,nosuid - cgroup2 cgroup2 rw\n`;
    const found = await openMemoryCgroups({ mountinfo, parentName: 'jcs-redis-probe' });
    expect(found).toEqual({
      available: false,
      reason: `cgroup2 at ${fake} has no memory controller (it is bound to a v1 hierarchy); no cgroup v1 memory hierarchy is mounted`,
    });
    await writeFile(join(fake, 'cgroup.controllers'), 'cpu memory\n');
    const notDelegated = await openMemoryCgroups({ mountinfo, parentName: 'jcs-redis-probe' });
    expect(notDelegated.available).toBe(false);
    expect(await readFile(join(fake, 'cgroup.subtree_control'), 'utf8')).toBe('cpu\n');
  });
});
