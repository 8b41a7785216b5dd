import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';

/** A redis-server process whose working directory is a node directory under `<dataDir>/instances/`. */
export interface InstanceProcess {
  pid: number;
  /** The node directory (`.../instances/<id>/<port>`), with any ` (deleted)` suffix removed. */
  dir: string;
  /** True when the directory was removed while the process kept running. */
  deleted: boolean;
}

/**
 * Every redis-server on this host that runs in a node directory under `dataDir`, found through /proc
 * rather than pidfiles: a process whose pidfile or directory is gone is exactly the leak to find.
 */
export function redisProcessesUnder(dataDir: string): InstanceProcess[] {
  const root = join(dataDir, 'instances') + '/';
  const found: InstanceProcess[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() !== 'redis-server') continue;
      const cwd = readlinkSync(`/proc/${entry}/cwd`);
      const deleted = cwd.endsWith(' (deleted)');
      const dir = deleted ? cwd.slice(0, -' (deleted)'.length) : cwd;
      if (dir.startsWith(root)) found.push({ pid: Number(entry), dir, deleted });
    } catch {
      // exited while we looked, or not ours to read
    }
  }
  return found;
}

/**
 * Resources that do not belong to a live instance: a redis-server process, a reserved port or a data
 * directory (instance or node) outside `live` (instance id → its reserved ports) and `liveNodes`
 * (instance id → its nodes' client ports, which name their directories), and a live node without
 * exactly one process. Returns one readable line per problem.
 */
export function findLeaks(
  dataDir: string,
  live: ReadonlyMap<string, readonly number[]>,
  liveNodes: ReadonlyMap<string, readonly number[]>,
  reserved: readonly { port: number; instance_id: string }[],
): string[] {
  const problems: string[] = [];
  const root = join(dataDir, 'instances');
  const expectedDirs = new Set<string>();
  for (const [id, ports] of liveNodes) for (const port of ports) expectedDirs.add(join(root, id, String(port)));

  const byDir = new Map<string, number[]>();
  for (const p of redisProcessesUnder(dataDir)) {
    if (p.deleted || !expectedDirs.has(p.dir)) problems.push(`leaked redis-server pid ${p.pid} in ${p.dir}${p.deleted ? ' (directory deleted)' : ''}`);
    byDir.set(p.dir, [...(byDir.get(p.dir) ?? []), p.pid]);
  }
  for (const dir of expectedDirs) {
    const pids = byDir.get(dir) ?? [];
    if (pids.length !== 1) problems.push(`node ${dir} has ${pids.length} redis-server processes (${pids.join(', ') || 'none'})`);
  }

  for (const r of reserved) {
    if (!live.get(r.instance_id)?.includes(r.port)) problems.push(`port ${r.port} is reserved for ${r.instance_id}, which is not a live instance`);
  }

  let ids: string[] = [];
  try {
    ids = readdirSync(root);
  } catch {
    // no instance was ever created
  }
  for (const id of ids) {
    const ports = liveNodes.get(id);
    if (!ports) {
      problems.push(`data directory ${join(root, id)} belongs to no live instance`);
      continue;
    }
    for (const name of readdirSync(join(root, id))) {
      if (/^\d+$/.test(name) && !ports.includes(Number(name))) problems.push(`node directory ${join(root, id, name)} is not a node of ${id}`);
    }
  }
  return problems;
}
