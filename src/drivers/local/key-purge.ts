/**
 * A data purge on one local node (Driver.purgeScan / purgeDelete), through the control plane's own admin
 * connection. Both steps are Lua scripts that SELECT their database inside the script (Redis 7: the
 * connection's own database is untouched), because the admin connection is shared with every other
 * control-plane call.
 */
import type { Redis } from 'ioredis';
import { PermanentDriverError, type PurgeFilter, type PurgeScanResult } from '../driver.ts';
import { nextScanStep } from './node-scan-cursor.ts';
import { parseInfo } from './node-state.ts';
import { globMatch } from './redis-glob.ts';

/** SCAN without MATCH: every key looked at is counted, and names are matched in redis-glob.ts. */
const SCAN_SCRIPT = `redis.call('SELECT', ARGV[1])
return redis.call('SCAN', ARGV[2], 'COUNT', ARGV[3])`;

/**
 * Deletes each key that exists and meets every condition, in one atomic script: a tenant's write between
 * the check and the delete cannot make the purge delete a key that stopped matching. allow-oom: a full
 * instance is exactly when a purge is needed; allow-cross-slot-keys, and the names passed as arguments
 * rather than KEYS: a batch holds keys of many slots of this node, which a cluster refuses as KEYS. TTL is in seconds as TTL reports it; a key without expiry matches no TTL condition.
 */
const DELETE_SCRIPT = `#!lua flags=allow-cross-slot-keys,allow-oom
redis.call('SELECT', ARGV[1])
local n = tonumber(ARGV[2])
local deleted, absent = 0, 0
for i = 3 + n * 3, #ARGV do
  local k = ARGV[i]
  local ttl = redis.call('TTL', k)
  if ttl == -2 then
    absent = absent + 1
  else
    local ok = true
    for c = 0, n - 1 do
      local on, op, v = ARGV[3 + c * 3], ARGV[4 + c * 3], tonumber(ARGV[5 + c * 3])
      local x
      if on == 'ttl' then
        x = ttl
        if ttl == -1 then ok = false end
      else
        x = redis.call('OBJECT', 'IDLETIME', k)
      end
      if op == 'eq' then ok = ok and x == v elseif op == 'gt' then ok = ok and x > v else ok = ok and x < v end
    end
    if ok then deleted = deleted + redis.call('UNLINK', k) end
  end
end
return {deleted, absent}`;

const expiredKeys = async (client: Redis): Promise<number> => Number(parseInfo(String(await client.call('INFO', 'stats'))).get('expired_keys') ?? 0);

/**
 * One scan batch on the node `port` (the shard's master now). A cursor made on another node starts over
 * here: SCAN cursors mean nothing on another node, and a purge deletes nothing twice anyway.
 */
export async function scanNode(client: Redis, port: number, databases: number, token: string | null, filter: PurgeFilter, count: number): Promise<PurgeScanResult> {
  const step = await nextScanStep(client, port, databases, token);
  const at = step.at;
  if (!at) return { cursor: null, candidates: [], examined: 0, shardKeys: step.shardKeys, reaped: 0 };
  const before = filter.mode === 'expired' ? await expiredKeys(client) : 0;
  const [next, keys] = (await client.callBuffer('EVAL', SCAN_SCRIPT, '0', String(at.db), at.scan, String(count))) as [Buffer, Buffer[]];
  const reaped = filter.mode === 'expired' ? Math.max(0, (await expiredKeys(client)) - before) : 0;
  const pattern = Buffer.from(filter.pattern, 'utf8');
  const candidates =
    filter.mode === 'expired' ? [] : keys.filter((k) => filter.mode === 'all' || globMatch(pattern, k)).map((k) => `${at.db}:${k.toString('base64')}`);
  return { cursor: step.after(next.toString()), candidates, examined: keys.length, shardKeys: step.shardKeys, reaped };
}

/** Deletes the candidates (`<db>:<base64 name>`, from scanNode) that exist and meet the filter's conditions. */
export async function deleteOnNode(client: Redis, candidates: readonly string[], filter: PurgeFilter): Promise<{ deleted: number; absent: number }> {
  const byDb = new Map<number, Buffer[]>();
  for (const c of candidates) {
    const m = /^(\d+):(.*)$/s.exec(c);
    if (!m) throw new Error(`not a purge candidate: ${c.slice(0, 40)}`);
    const db = Number(m[1]);
    byDb.set(db, [...(byDb.get(db) ?? []), Buffer.from(m[2]!, 'base64')]);
  }
  const conds = filter.mode === 'match' ? filter.conditions.flatMap((c) => [c.on, c.op, String(c.value)]) : [];
  let deleted = 0;
  let absent = 0;
  for (const [db, keys] of byDb) {
    const [d, a] = (await client.call('EVAL', DELETE_SCRIPT, '0', String(db), String(conds.length / 3), ...conds, ...keys).catch((err: Error) => {
      // Redis keeps no idle time under an LFU policy: retrying cannot help, the purge fails saying so.
      if (/LFU/.test(err.message)) throw new PermanentDriverError(`the idle filter needs an LRU or no eviction policy, the instance has an LFU one (${err.message})`);
      throw err;
    })) as [number, number];
    deleted += d;
    absent += a;
  }
  return { deleted, absent };
}
