import type { ChaosInstance } from './chaos-instance.ts';
import type { Redis } from 'ioredis';
import { plainClient } from './chaos-writer.ts';

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
 * the rules protect is there with its value.
 */
export async function checkInstanceData(inst: ChaosInstance, host: string, password: string | null, memoryMb: number): Promise<DataCheck> {
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

    const keys = await checkAckedKeys(inst, client, inst.keysChecked);
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
  client: Redis,
  countFrom = 0,
): Promise<{ checked: number; excused: number; excusedLost: number; missing: string[] }> {
  const out = { checked: 0, excused: 0, excusedLost: 0, missing: [] as string[] };
  const writer = inst.writer;
  if (!writer) return out;
  for (let i = 0; i < writer.acks.length; i += 500) {
    const batch = writer.acks.slice(i, i + 500);
    const values = await client.mget(...batch.map((a) => writer.key(a.seq)));
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
async function authWorks(host: string, port: number, password: string | null): Promise<boolean> {
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
