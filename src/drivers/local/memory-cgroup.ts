/**
 * A memory cgroup per node: the kernel's bound on everything a redis-server uses, including what Redis
 * does not count against `maxmemory` (the Lua heap, the copy-on-write of a fork). Redis 7.0 has no
 * Lua memory limit; measured on 7.0.15 (docs/capacity.md): a script building a 500 MB
 * table in a node limited to 400 MB is OOM-killed by the kernel, so the host keeps its memory and
 * the instance fails over to its replica, while without a cgroup the node simply holds the 512 MB.
 *
 * Optional: used where a memory controller is mounted and writable (root, or a delegated subtree).
 * Everything lives under one service-owned parent (`jcs-redis` by default) below the service's own
 * group; this file creates, changes and removes only that parent and the node groups in it.
 * cgroup v1 (the `memory` hierarchy) and v2 (the unified hierarchy with the `memory` controller).
 */
import { access, mkdir, readFile, readdir, rmdir, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';

export interface MemoryCgroups {
  version: 1 | 2;
  /** The service-owned parent directory, e.g. `/sys/fs/cgroup/memory/jcs-redis`. */
  parent: string;
}

export type MemoryCgroupsDetection = { available: true; cgroups: MemoryCgroups } | { available: false; reason: string };

export interface NodeCgroupState {
  usageBytes: number;
  limitBytes: number;
  /** Processes the kernel killed in this group because it hit its limit. */
  oomKills: number;
}

const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

function checkName(kind: string, name: string): string {
  // Names become directories under /sys/fs/cgroup: never let one climb out of the parent.
  if (!SAFE_NAME.test(name)) throw new Error(`${kind} "${name}" is not a safe cgroup name`);
  return name;
}

/** A node's group: `<parent>/<name>` (the local driver names it `<instanceId>-<port>`, as its directory). */
export function nodeCgroupDir(cg: MemoryCgroups, name: string): string {
  return join(cg.parent, checkName('node cgroup', name));
}

interface Mount {
  fstype: string;
  /** The hierarchy path mounted here (`/` unless a container sees only part of it). */
  root: string;
  mountpoint: string;
  superOptions: string[];
}

/** Parses /proc/self/mountinfo (fields after ` - ` are fstype, source, super options). */
export function parseMountinfo(text: string): Mount[] {
  const mounts: Mount[] = [];
  for (const line of text.split('\n')) {
    const [before, after] = line.split(' - ');
    if (!before || !after) continue;
    const fields = before.split(' ');
    const [root, mountpoint] = [fields[3], fields[4]];
    const [fstype, , options] = after.split(' ');
    if (!mountpoint || !fstype) continue;
    // mountinfo escapes spaces and other specials as octal (\040).
    const unescape = (t: string): string => t.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
    mounts.push({ fstype, root: unescape(root ?? '/'), mountpoint: unescape(mountpoint), superOptions: (options ?? '').split(',') });
  }
  return mounts;
}

const readText = (path: string): Promise<string | null> => readFile(path, 'utf8').then((t) => t, () => null);

/**
 * Finds a usable memory controller and creates the service's parent group in it (nothing else is
 * touched). v2 is preferred when its root delegates `memory`; else the v1 `memory` hierarchy.
 * Answers why not when neither can be used, for the start-up log and docs.
 */
export async function openMemoryCgroups(
  opts: { parentName?: string; mountinfo?: string; ownCgroups?: string } = {},
): Promise<MemoryCgroupsDetection> {
  const parentName = checkName('cgroup parent', opts.parentName ?? 'jcs-redis');
  const mountinfo = opts.mountinfo ?? (await readText('/proc/self/mountinfo'));
  if (mountinfo === null) return { available: false, reason: 'no /proc/self/mountinfo (not Linux?)' };
  const mounts = parseMountinfo(mountinfo);
  const reasons: string[] = [];
  // The parent goes below the service's own group, not the hierarchy's root: nodes stay inside whatever
  // bounds the operator (a systemd unit, a container) put the service in.
  const own = parseOwnCgroups(opts.ownCgroups ?? (await readText('/proc/self/cgroup')) ?? '');
  const below = (m: Mount, path: string | undefined): string => join(m.mountpoint, relative(m.root, path ?? m.root), parentName);

  for (const m of mounts.filter((x) => x.fstype === 'cgroup2')) {
    const home = join(m.mountpoint, relative(m.root, own.unified ?? m.root));
    const controllers = (await readText(join(m.mountpoint, 'cgroup.controllers')))?.trim().split(/\s+/) ?? [];
    const subtree = (await readText(join(home, 'cgroup.subtree_control')))?.trim().split(/\s+/) ?? [];
    if (!controllers.includes('memory')) {
      reasons.push(`cgroup2 at ${m.mountpoint} has no memory controller (it is bound to a v1 hierarchy)`);
      continue;
    }
    if (!subtree.includes('memory')) {
      // Enabling it would change a group the service did not create: the operator's call.
      reasons.push(`cgroup2 group ${home} does not enable memory for its children (cgroup.subtree_control)`);
      continue;
    }
    const parent = below(m, own.unified);
    const made = await makeParent(parent);
    if (made !== null) {
      reasons.push(made);
      continue;
    }
    // The parent holds no processes, so it may hand the memory controller to the node groups.
    const delegated = (await readText(join(parent, 'cgroup.subtree_control')))?.split(/\s+/) ?? [];
    if (!delegated.includes('memory')) {
      try {
        await writeFile(join(parent, 'cgroup.subtree_control'), '+memory');
      } catch (err) {
        reasons.push(`cannot enable memory in ${parent}: ${(err as Error).message}`);
        continue;
      }
    }
    return { available: true, cgroups: { version: 2, parent } };
  }

  const v1 = mounts.find((x) => x.fstype === 'cgroup' && x.superOptions.includes('memory'));
  if (v1) {
    const parent = below(v1, own.memory);
    const made = await makeParent(parent);
    if (made === null) return { available: true, cgroups: { version: 1, parent } };
    reasons.push(made);
  } else {
    reasons.push('no cgroup v1 memory hierarchy is mounted');
  }
  return { available: false, reason: reasons.join('; ') };
}

/** This process's group in the v1 memory hierarchy and in the unified one, from /proc/self/cgroup. */
function parseOwnCgroups(text: string): { memory?: string; unified?: string } {
  const out: { memory?: string; unified?: string } = {};
  for (const line of text.split('\n')) {
    const [, controllers, path] = /^\d+:([^:]*):(.*)$/.exec(line) ?? [];
    if (path === undefined) continue;
    if (controllers === '') out.unified = path;
    else if (controllers?.split(',').includes('memory')) out.memory = path;
  }
  return out;
}

/** null when the parent exists (or was made) and is writable; else why not. */
async function makeParent(parent: string): Promise<string | null> {
  try {
    await mkdir(parent);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EEXIST') {
      return `cannot create ${parent} (${code ?? (err as Error).message}); memory cgroups need root or a delegated subtree`;
    }
  }
  try {
    await access(join(parent, 'cgroup.procs'), 2 /* W_OK */);
    return null;
  } catch {
    return `${parent} is not writable by this process`;
  }
}

/** The files that hold a group's limit, in the order to write them when raising (reverse when lowering). */
function limitFiles(cg: MemoryCgroups): { memory: string; swap: string; swapValue: (limit: number) => string } {
  return cg.version === 1
    ? // memsw (memory + swap) must stay >= the memory limit; equal means the node never swaps.
      { memory: 'memory.limit_in_bytes', swap: 'memory.memsw.limit_in_bytes', swapValue: (l) => String(l) }
    : { memory: 'memory.max', swap: 'memory.swap.max', swapValue: () => '0' };
}

async function readNumber(path: string): Promise<number | null> {
  const text = (await readText(path))?.trim();
  if (text === undefined) return null;
  if (text === 'max') return Number.POSITIVE_INFINITY;
  const n = Number(text);
  return Number.isFinite(n) ? n : null;
}

const exists = (path: string): Promise<boolean> => access(path).then(() => true, () => false);

/** Sets a node group's limit (bytes). Lowering it below what the node uses fails (EBUSY) and leaves it unchanged. */
export async function setNodeCgroupLimit(cg: MemoryCgroups, name: string, limitBytes: number): Promise<void> {
  if (!Number.isSafeInteger(limitBytes) || limitBytes <= 0) throw new Error(`cgroup limit must be a positive integer, got ${limitBytes}`);
  const dir = nodeCgroupDir(cg, name);
  const files = limitFiles(cg);
  const swapPath = join(dir, files.swap);
  const hasSwap = await exists(swapPath);
  const current = (await readNumber(join(dir, files.memory))) ?? Number.POSITIVE_INFINITY;
  const writeMemory = (): Promise<void> => writeFile(join(dir, files.memory), String(limitBytes));
  const writeSwap = (): Promise<void> => (hasSwap ? writeFile(swapPath, files.swapValue(limitBytes)) : Promise.resolve());
  if (cg.version === 1 && limitBytes > current) {
    await writeSwap();
    await writeMemory();
  } else {
    await writeMemory();
    await writeSwap();
  }
}

/** Creates the node's group (idempotent) with its limit; returns its directory. */
export async function ensureNodeCgroup(cg: MemoryCgroups, name: string, limitBytes: number): Promise<string> {
  const dir = nodeCgroupDir(cg, name);
  await mkdir(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'EEXIST') throw err;
  });
  if (cg.version === 1) {
    // Charge what a moved process already uses to its new group too (v1 only; v2 never moves
    // charges). Deprecated in recent kernels but still honoured; a refusal only weakens accounting.
    await writeFile(join(dir, 'memory.move_charge_at_immigrate'), '3').catch(() => undefined);
  }
  await setNodeCgroupLimit(cg, name, limitBytes);
  return dir;
}

/** Moves a running process (all its threads) into the node's group. */
export async function moveIntoNodeCgroup(cg: MemoryCgroups, name: string, pid: number): Promise<void> {
  if (!Number.isSafeInteger(pid) || pid <= 0) throw new Error(`not a pid: ${pid}`);
  await writeFile(join(nodeCgroupDir(cg, name), 'cgroup.procs'), String(pid));
}

/**
 * An argv that starts `argv` already inside the node's group: a shell writes its own pid into the group,
 * then execs the command under the same pid. Use it to spawn redis-server, so that even the AOF it
 * loads at start is bounded (moving the pid after spawn leaves a few milliseconds outside).
 */
export function execInNodeCgroupArgv(cg: MemoryCgroups, name: string, argv: readonly string[]): string[] {
  if (argv.length === 0) throw new Error('argv must name a command');
  const procs = join(nodeCgroupDir(cg, name), 'cgroup.procs');
  return ['/bin/sh', '-c', 'echo $$ > "$0" && exec "$@"', procs, ...argv];
}

/** Usage, limit and OOM kills of a node's group; null when it does not exist. */
export async function readNodeCgroup(cg: MemoryCgroups, name: string): Promise<NodeCgroupState | null> {
  const dir = nodeCgroupDir(cg, name);
  const usage = await readNumber(join(dir, cg.version === 1 ? 'memory.usage_in_bytes' : 'memory.current'));
  if (usage === null) return null;
  const limit = (await readNumber(join(dir, limitFiles(cg).memory))) ?? Number.POSITIVE_INFINITY;
  const events = (await readText(join(dir, cg.version === 1 ? 'memory.oom_control' : 'memory.events'))) ?? '';
  const oom = /^oom_kill (\d+)$/m.exec(events);
  return { usageBytes: usage, limitBytes: limit, oomKills: oom ? Number(oom[1]) : 0 };
}

/** Pids in the node's group (empty when none or when the group does not exist). */
export async function nodeCgroupPids(cg: MemoryCgroups, name: string): Promise<number[]> {
  const text = (await readText(join(nodeCgroupDir(cg, name), 'cgroup.procs'))) ?? '';
  return text.split('\n').filter(Boolean).map(Number);
}

/**
 * Removes the node's group once its processes are gone; false (and nothing removed) while a process is
 * still in it. Idempotent: a missing group counts as removed.
 */
export async function removeNodeCgroup(cg: MemoryCgroups, name: string): Promise<boolean> {
  try {
    await rmdir(nodeCgroupDir(cg, name));
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return true;
    if (code === 'EBUSY') return false;
    throw err;
  }
}

/** Names of the node groups under the parent (for removing those whose node is gone). */
export async function listNodeCgroups(cg: MemoryCgroups): Promise<string[]> {
  const entries = await readdir(cg.parent, { withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isDirectory() && SAFE_NAME.test(e.name)).map((e) => e.name);
}

/** Removes the parent when no node group is left in it (tests and uninstall); false otherwise. */
export async function removeCgroupParent(cg: MemoryCgroups): Promise<boolean> {
  if ((await listNodeCgroups(cg)).length > 0) return false;
  try {
    await rmdir(cg.parent);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return true;
    if ((err as NodeJS.ErrnoException).code === 'EBUSY') return false;
    throw err;
  }
}
