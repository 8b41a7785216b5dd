/**
 * A cache analysis on one local node (Driver.analysisScan / commandStats), through the control plane's own
 * admin connection. One Lua script per batch reads SCAN's next keys with their type, size and MEMORY
 * USAGE: a batch is a few hundred O(1) or O(samples) calls, so the node is never held for long, and the
 * script SELECTs its database itself because the admin connection is shared. `no-writes` lets it run on a
 * replica; `allow-cross-slot-keys` lets a cluster node read keys of all its slots in one script.
 */
import type { Redis } from 'ioredis';
import type { AnalysisScanResult, KeySample } from '../driver.ts';
import { nextScanStep } from './node-scan-cursor.ts';
import { parseInfo } from './node-state.ts';

/**
 * Key names are cut to this many bytes (a tenant may use names of megabytes): the analysis keeps and
 * reports at most this much of a name, marked with `…`, and reads no LFU counter for a cut name.
 */
export const MAX_NAME_BYTES = 1024;

const SCAN_SCRIPT = `#!lua flags=no-writes,allow-cross-slot-keys
redis.call('SELECT', ARGV[1])
local r = redis.call('SCAN', ARGV[2], 'COUNT', ARGV[3])
local out = {r[1]}
local len = { string = 'STRLEN', list = 'LLEN', hash = 'HLEN', set = 'SCARD', zset = 'ZCARD', stream = 'XLEN' }
for _, k in ipairs(r[2]) do
  local t = redis.call('TYPE', k)['ok']
  if len[t] then
    table.insert(out, string.sub(k, 1, ${MAX_NAME_BYTES + 1}))
    table.insert(out, t)
    table.insert(out, redis.call(len[t], k))
    table.insert(out, redis.call('MEMORY', 'USAGE', k, 'SAMPLES', '5') or 0)
  end
end
return out`;

/** OBJECT FREQ of each key, -1 for a key gone meanwhile. OBJECT never touches the key's counter. */
const FREQ_SCRIPT = `#!lua flags=no-writes,allow-cross-slot-keys
redis.call('SELECT', ARGV[1])
local out = {}
for i = 2, #ARGV do
  local f = redis.pcall('OBJECT', 'FREQ', ARGV[i])
  if type(f) == 'number' then table.insert(out, f) else table.insert(out, -1) end
end
return out`;

/** Where the batch reads: the node scanned, and (for frequencies) the shard's master. */
export interface AnalysisNodes {
  scan: { port: number; client: Redis; cluster: boolean };
  master: Redis | null;
}

/**
 * One batch on `nodes.scan`. A cursor made on another node starts the shard over (`restarted`): SCAN
 * cursors mean nothing on another node.
 */
export async function analyzeBatch(nodes: AnalysisNodes, databases: number, token: string | null, count: number): Promise<Omit<AnalysisScanResult, 'slot'> & { restarted: boolean }> {
  const { port, client, cluster } = nodes.scan;
  const step = await nextScanStep(client, port, databases, token);
  const { at, shardKeys, restarted } = step;
  if (!at) return { cursor: null, keys: [], shardKeys, restarted };
  // A cluster replica serves reads of its master's slots only to a connection that asked for them.
  if (cluster) await client.call('READONLY');
  const reply = (await client.callBuffer('EVAL', SCAN_SCRIPT, '0', String(at.db), at.scan, String(count))) as Array<Buffer | number>;
  const keys: KeySample[] = [];
  const whole: Array<{ key: KeySample; name: Buffer }> = [];
  for (let i = 1; i + 3 < reply.length; i += 4) {
    const raw = reply[i] as Buffer;
    const cut = raw.length > MAX_NAME_BYTES;
    const name = cut ? `${raw.subarray(0, MAX_NAME_BYTES).toString('utf8')}…` : raw.toString('utf8');
    const key: KeySample = { db: at.db, name, type: String(reply[i + 1]), size: Number(reply[i + 2]), bytes: Number(reply[i + 3]), freq: null };
    keys.push(key);
    if (!cut) whole.push({ key, name: raw });
  }
  if (nodes.master && whole.length > 0) {
    const freqs = (await nodes.master.call('EVAL', FREQ_SCRIPT, '0', String(at.db), ...whole.map((w) => w.name))) as number[];
    whole.forEach((w, i) => (w.key.freq = freqs[i] ?? -1));
  }
  return { cursor: step.after((reply[0] as Buffer).toString()), keys, shardKeys, restarted };
}

/** INFO commandstats of one node: calls and CPU microseconds per command (`cmdstat_get:calls=3,usec=12,…`). */
export async function commandStatsOf(client: Redis): Promise<Array<{ name: string; calls: number; usec: number }>> {
  const out: Array<{ name: string; calls: number; usec: number }> = [];
  for (const [field, value] of parseInfo(String(await client.call('INFO', 'commandstats')))) {
    const m = /^cmdstat_(.+)$/.exec(field);
    const calls = /calls=(\d+)/.exec(value);
    const usec = /usec=(\d+)/.exec(value);
    if (m && calls && usec) out.push({ name: m[1]!, calls: Number(calls[1]), usec: Number(usec[1]) });
  }
  return out;
}
