/**
 * Proxy clusters in the chaos run (issue 18): their create spec and shard counts, the twemproxy kill, and
 * the end checks that differ from a master-slave instance's (twemproxy answers neither INFO nor ROLE, so
 * the shards are asked directly; each shard has its own master; nutcracker processes are leaks too).
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { ChaosInstance } from './chaos-instance.ts';
import { authWorks, checkAckedKeys, type DataCheck } from './chaos-data-check.ts';
import { plainClient } from './chaos-writer.ts';

export const PROXY_CLASS = 'redis.s.micro.basic';
/** Shard counts a proxy cluster is created with and resized between (an online reshard each time). */
export const PROXY_SHARDS = [2, 4] as const;

/** The create fields of a proxy cluster (with `shards` shards). */
export const proxySpec = (shards: number): Record<string, unknown> => ({ cacheInstanceClass: PROXY_CLASS, shardNumber: shards, redisVersion: '4.0' });

/** A resize of a proxy cluster: to the other shard count of PROXY_SHARDS, at random. */
export const proxyResize = (inst: ChaosInstance): Record<string, unknown> => ({
  cacheInstanceId: inst.id,
  cacheInstanceClass: PROXY_CLASS,
  shardNumber: PROXY_SHARDS[Math.floor(Math.random() * PROXY_SHARDS.length)],
});

function readOr(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

function cwdOf(pid: number | string): string {
  try {
    return readlinkSync(`/proc/${pid}/cwd`);
  } catch {
    return '';
  }
}

/** The proxies' directories of an instance (`px<port>`). */
export function proxyDirs(dataDir: string, instanceId: string): string[] {
  const dir = join(dataDir, 'instances', instanceId);
  try {
    return readdirSync(dir).filter((n) => /^px\d+$/.test(n)).map((n) => join(dir, n));
  } catch {
    return [];
  }
}

/** SIGKILLs one twemproxy of the instance (only a live process working in its directory); its port, or null. */
export function killProxy(dataDir: string, inst: ChaosInstance): number | null {
  const dirs = proxyDirs(dataDir, inst.id);
  if (dirs.length === 0) return null;
  const dir = dirs[Math.floor(Math.random() * dirs.length)]!;
  const pid = Number(readOr(join(dir, 'nutcracker.pid')).trim());
  if (!(pid > 0) || cwdOf(pid) !== dir) return null;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    return null;
  }
  return Number(dir.slice(dir.lastIndexOf('px') + 2));
}

/** Every nutcracker whose working directory is under `<dataDir>/instances/`. */
export function nutcrackersUnder(dataDir: string): { pid: number; dir: string }[] {
  const root = join(dataDir, 'instances') + '/';
  const found: { pid: number; dir: string }[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || readOr(`/proc/${entry}/comm`).trim() !== 'nutcracker') continue;
    const dir = cwdOf(entry).replace(/ \(deleted\)$/, '');
    if (dir.startsWith(root)) found.push({ pid: Number(entry), dir });
  }
  return found;
}

/**
 * Proxy leaks: a nutcracker outside the live instances' proxy directories (`live`: instance id → its
 * proxies' ports from the store), a live proxy without exactly one process, a proxy directory of no proxy.
 */
export function proxyLeaks(dataDir: string, live: ReadonlyMap<string, readonly number[]>): string[] {
  const problems: string[] = [];
  const expected = new Set<string>();
  for (const [id, ports] of live) for (const port of ports) expected.add(join(dataDir, 'instances', id, `px${port}`));
  const byDir = new Map<string, number[]>();
  for (const p of nutcrackersUnder(dataDir)) {
    if (!expected.has(p.dir)) problems.push(`leaked nutcracker pid ${p.pid} in ${p.dir}`);
    byDir.set(p.dir, [...(byDir.get(p.dir) ?? []), p.pid]);
  }
  for (const dir of expected) {
    const pids = byDir.get(dir) ?? [];
    if (pids.length !== 1) problems.push(`proxy ${dir} has ${pids.length} nutcracker processes (${pids.join(', ') || 'none'})`);
  }
  for (const id of live.keys()) for (const dir of proxyDirs(dataDir, id)) if (!expected.has(dir)) problems.push(`proxy directory ${dir} is not a proxy of ${id}`);
  return problems;
}

/**
 * A settled proxy cluster: every proxy (`proxyPorts`) answers with the current password and refuses stale
 * ones; every shard node has the class's memory per shard and the current password; shard `s`'s master
 * (`masters[s]`) answers ROLE master and its replica ROLE slave; every acknowledged key reads back through
 * the published proxy.
 */
export async function checkProxyInstance(
  inst: ChaosInstance,
  host: string,
  password: string | null,
  memoryMb: number,
  shards: readonly { master: number; replica: number }[],
  proxyPorts: readonly number[],
): Promise<DataCheck> {
  const out: DataCheck = { violations: [], checked: 0, excused: 0, excusedLost: 0 };
  const v = (msg: string): void => void out.violations.push(`${inst.id}: ${msg}`);
  const stale = [null, ...inst.history.filter((p) => p !== password && p !== null)];
  for (const port of proxyPorts) {
    if (!(await authWorks(host, port, password))) v(`proxy ${port} does not answer with the current password`);
    if (password !== null) for (const s of stale) if (await authWorks(host, port, s)) v(`proxy ${port} still accepts a stale ${s === null ? 'empty password' : 'password'}`);
  }
  for (const [i, shard] of shards.entries()) {
    for (const [port, want] of [[shard.master, 'master'], [shard.replica, 'slave']] as const) {
      const node = plainClient(host, port);
      try {
        await node.connect();
        if (password !== null) await node.call('AUTH', password);
        const max = Number(/maxmemory:(\d+)/.exec(String(await node.info('memory')))?.[1]);
        if (max !== memoryMb * 1024 * 1024) v(`shard ${i} node ${port}: maxmemory is ${max}, the class promises ${memoryMb} MB per shard`);
        const role = ((await node.call('ROLE')) as unknown[])[0];
        if (role !== want) v(`shard ${i} node ${port} answers ROLE ${String(role)}, expected ${want}`);
      } catch (err) {
        v(`shard ${i} node ${port} does not answer with the current password: ${(err as Error).message}`);
      } finally {
        node.disconnect();
      }
      if (password !== null) for (const s of stale) if (await authWorks(host, port, s)) v(`shard ${i} node ${port} still accepts a stale ${s === null ? 'empty password' : 'password'}`);
    }
  }
  const client = plainClient(host, inst.port);
  try {
    await client.connect();
    if (password !== null) await client.call('AUTH', password);
    const keys = await checkAckedKeys(inst, client, inst.keysChecked);
    out.checked += keys.checked;
    out.excused += keys.excused;
    out.excusedLost += keys.excusedLost;
    if (keys.missing.length > 0) v(`${keys.missing.length} acknowledged keys are missing: ${keys.missing.slice(0, 5).join(', ')}`);
  } catch (err) {
    v(`cannot be read through its proxy with its current password: ${(err as Error).message}`);
  } finally {
    client.disconnect();
  }
  return out;
}

/** The store's port roles of a proxy cluster: its shards' master and replica ports in shard order, and its proxies' ports. */
export function proxyLayout(roles: readonly { role: string; port: number }[]): { shards: { master: number; replica: number }[]; proxies: number[] } {
  const at = (role: string): number | undefined => roles.find((r) => r.role === role)?.port;
  const shards: { master: number; replica: number }[] = [];
  for (let s = 0; at(`px-s${s}-master`) !== undefined; s++) shards.push({ master: at(`px-s${s}-master`)!, replica: at(`px-s${s}-replica`) ?? 0 });
  const proxies = roles.filter((r) => /^px-proxy\d+$/.test(r.role)).map((r) => r.port);
  return { shards, proxies };
}
