import type { ChaosInstance } from './chaos-instance.ts';
import { clusterClient, plainClient, withTimeout, type ChaosClient } from './chaos-writer.ts';

export interface DataCheck {
  violations: string[];
  /** Acknowledged keys that had to be there (and were checked). */
  checked: number;
  /** Acknowledged keys a kill within the next second excuses. */
  excused: number;
  /** Of the excused, how many were in fact lost. */
  excusedLost: number;
}

/**
 * Checks one live instance as its customer would: `password` (the store's current one) opens it, every
 * stale password and no password are refused, its maxmemory is the class's, and every acknowledged key
 * the rules protect is there with its value. For a native cluster the keys are read through a
 * cluster-aware client opened with `password`, and every node of `nodePorts` (masters and replicas) must
 * answer with it, refuse stale passwords and have the class's memory per shard.
 */
export async function checkInstanceData(
  inst: ChaosInstance,
  host: string,
  password: string | null,
  memoryMb: number,
  /** Every node's port (the store's reservations); only a cluster's other nodes are checked. */
  nodePorts: readonly number[] = [inst.port],
): Promise<DataCheck> {
  const out: DataCheck = { violations: [], checked: 0, excused: 0, excusedLost: 0 };
  const v = (msg: string): void => void out.violations.push(`${inst.id}: ${msg}`);
  const client = plainClient(host, inst.port);
  try {
    await client.connect();
    if (password !== null) await client.call('AUTH', password);
    await client.ping();
  } catch (err) {
    v(`does not answer with its current password: ${(err as Error).message}`);
    client.disconnect();
    return out;
  }
  try {
    if (password !== null) {
      // No password at all must be refused too, whether or not the instance was ever password-free.
      for (const stale of [null, ...inst.history.filter((p) => p !== password && p !== null)]) {
        const ok = await authWorks(host, inst.port, stale);
        if (ok) v(`still accepts a stale ${stale === null ? 'empty password' : 'password'}`);
      }
    }
    const maxmemory = Number(/maxmemory:(\d+)/.exec(String(await client.info('memory')))?.[1]);
    if (maxmemory !== memoryMb * 1024 * 1024) v(`maxmemory is ${maxmemory}, the class promises ${memoryMb} MB`);

    let keys: Awaited<ReturnType<typeof checkAckedKeys>>;
    if (inst.cluster) {
      const cluster = clusterClient(host, inst.port, password);
      try {
        // Every other node (the store's ports: masters and replicas of every shard) answers with the
        // current password, refuses stale ones and has the class's memory per shard.
        for (const nodePort of nodePorts.filter((p) => p !== inst.port)) {
          const node = plainClient(host, nodePort);
          try {
            await node.connect();
            if (password !== null) await node.call('AUTH', password);
            const nodeMax = Number(/maxmemory:(\d+)/.exec(String(await node.info('memory')))?.[1]);
            if (nodeMax !== memoryMb * 1024 * 1024) v(`node ${nodePort}: maxmemory is ${nodeMax}, the class promises ${memoryMb} MB per shard`);
          } catch (err) {
            v(`node ${nodePort} does not answer with the current password: ${(err as Error).message}`);
          } finally {
            node.disconnect();
          }
          if (password !== null) {
            for (const stale of [null, ...inst.history.filter((p) => p !== password && p !== null)]) {
              if (await authWorks(host, nodePort, stale)) v(`node ${nodePort} still accepts a stale ${stale === null ? 'empty password' : 'password'}`);
            }
          }
        }
        await withTimeout(cluster.connect(), 5_000);
        keys = await checkAckedKeys(inst, cluster, inst.keysChecked);
      } catch (err) {
        v(`cannot be read through a cluster client with its current password: ${(err as Error).message}`);
        return out;
      } finally {
        cluster.disconnect();
      }
    } else keys = await checkAckedKeys(inst, client, inst.keysChecked);
    out.checked += keys.checked;
    out.excused += keys.excused;
    out.excusedLost += keys.excusedLost;
    const missing = keys.missing;
    if (missing.length > 0) v(`${missing.length} acknowledged keys are missing: ${missing.slice(0, 5).join(', ')}`);
  } finally {
    client.disconnect();
  }
  return out;
}

/**
 * Reads back every key the instance's writer had acknowledged; `missing` lists protected keys not there.
 * Counts only keys from index `countFrom` on, so keys read back twice are counted once.
 */
export async function checkAckedKeys(
  inst: ChaosInstance,
  client: ChaosClient,
  countFrom = 0,
): Promise<{ checked: number; excused: number; excusedLost: number; missing: string[] }> {
  const out = { checked: 0, excused: 0, excusedLost: 0, missing: [] as string[] };
  const writer = inst.writer;
  if (!writer) return out;
  for (let i = 0; i < writer.acks.length; i += 500) {
    const batch = writer.acks.slice(i, i + 500);
    const keys = batch.map((a) => writer.key(a.seq));
    // A cluster refuses MGET across slots: one GET per key (ioredis pipelines them per node).
    const values = inst.cluster ? await Promise.all(keys.map((k) => withTimeout(client.get(k), 5_000))) : await client.mget(...keys);
    batch.forEach((a, j) => {
      const present = values[j] === String(a.seq);
      const counted = i + j >= countFrom;
      if (inst.mustSurvive(a.ackedAt)) {
        if (counted) out.checked++;
        if (!present) out.missing.push(`${writer.key(a.seq)} (acked ${new Date(a.ackedAt).toISOString()})`);
      } else if (counted) {
        out.excused++;
        if (!present) out.excusedLost++;
      }
    });
  }
  return out;
}

/** True when a fresh connection with `password` (null: none) can run PING. */
export async function authWorks(host: string, port: number, password: string | null): Promise<boolean> {
  const c = plainClient(host, port);
  try {
    await c.connect();
    if (password !== null) await c.call('AUTH', password);
    await c.ping();
    return true;
  } catch {
    return false;
  } finally {
    c.disconnect();
  }
}
