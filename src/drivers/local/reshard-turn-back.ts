/**
 * A change of shard count past its copy whose target changed: a resize refused late (the engine restores
 * the old class, say after a shard kept failing mid-change) must not leave the instance stuck between two
 * rings. Which ring holds the data decides:
 * - the switch began but no proxy runs the new ring yet: the old ring still does; shards that received
 *   copies drop every key the old ring does not give them, shards only the new ring has are emptied, and
 *   the old ring's proxies start again (or the change goes on from there to the spec's shard count);
 * - a proxy runs the new ring (or the cleanup began): it does; every shard drops the keys that ring does
 *   not give it, shards only the spec has are emptied, and a new change runs from that ring to the spec's.
 * Nodes the spec does not have stop once no ring needs them. Dropping keys is a SCAN of every shard in one step.
 */
import type { Redis } from 'ioredis';
import type { InstanceCredentials } from './internal-secrets.ts';
import { KetamaRing } from './ketama-ring.ts';
import type { LocalContext } from './local-context.ts';
import type { LocalSpec } from './local-spec.ts';
import { servedRing, writeMarker, type ReshardMarker } from './proxy-reshard.ts';
import { nodeDirPorts, removeNode } from './remove-node.ts';

const SCAN_COUNT = 1_000;

/** Deletes from `client` (shard `index` of `ring`) every key the ring gives another shard. */
async function dropForeign(client: Redis, index: number, ring: KetamaRing, signal: AbortSignal): Promise<void> {
  let cursor = '0';
  do {
    signal.throwIfAborted();
    const [next, keys] = (await client.scanBuffer(cursor, 'COUNT', SCAN_COUNT)) as [Buffer, Buffer[]];
    cursor = next.toString();
    const foreign = keys.filter((k) => ring.shardOf(k) !== index);
    if (foreign.length > 0) await client.unlink(...foreign);
  } while (cursor !== '0');
}

/** Returns the marker to run next (from the ring that holds the data to the spec's), or null when the proxies can start on the spec's ring as they are. */
export async function turnBack(ctx: LocalContext, spec: LocalSpec, secrets: InstanceCredentials, marker: ReshardMarker, signal: AbortSignal): Promise<ReshardMarker | null> {
  const target = spec.shards.map((s) => s.master);
  const served = await servedRing(ctx, spec.id);
  const newRingServes = marker.phase === 'cleanup' || (served !== null && served.length === marker.to.length && served.every((p, i) => p === marker.to[i]));
  const holding = newRingServes ? marker.to : marker.from;
  const ring = new KetamaRing(holding.length);
  const clients = await Promise.all(holding.map((port) => ctx.pool.get(port, secrets)));
  await Promise.all(clients.map((c, i) => dropForeign(c, i, ring, signal)));
  // Writes on the giving shards may still wait from the switch's pause.
  await Promise.all(clients.map((c) => c.call('CLIENT', 'UNPAUSE')));
  const others = [...marker.from, ...marker.to].filter((p) => !holding.includes(p) && target.includes(p));
  await Promise.all(others.map(async (port) => (await ctx.pool.get(port, secrets)).flushall()));
  ctx.logger.warn({ instanceId: spec.id, from: marker.from.length, to: marker.to.length, back: target.length, holding: holding.length }, 'change of shard count turned back');
  const sameAsTarget = holding.length === target.length && holding.every((p, i) => p === target[i]);
  if (sameAsTarget && !newRingServes) {
    // Back where it started: the new ring's own shards go (a further change would stop them in its cleanup).
    const keep = new Set(spec.shards.flatMap((s) => [s.master, s.replica]));
    await Promise.all((await nodeDirPorts(ctx, spec.id)).filter((p) => !keep.has(p)).map((port) => removeNode(ctx, spec.id, secrets, port, signal)));
    return null;
  }
  const next: ReshardMarker = { from: holding, to: target, phase: 'copy' };
  await writeMarker(ctx, spec.id, next);
  return next;
}
