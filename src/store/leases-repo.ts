import type { Kysely, Transaction } from 'kysely';
import type { Database } from './schema.ts';

type Q = Kysely<Database> | Transaction<Database>;

/**
 * Records that service process `id` is alive at `nowMs` (first call: it started), and where its driver
 * reaches nodes from (engine/nodes-reach.ts; '' when unknown).
 */
export async function heartbeat(db: Q, id: string, nowMs: number, nodesReach = ''): Promise<void> {
  await db
    .insertInto('service_processes')
    .values({ id, started_ms: nowMs, heartbeat_ms: nowMs, nodes_reach: nodesReach })
    .onConflict((oc) => oc.column('id').doUpdateSet({ heartbeat_ms: nowMs, nodes_reach: nodesReach }))
    .execute();
}

/** The service processes that beat since `sinceMs`, with where their drivers reach nodes from. */
export async function liveProcesses(db: Q, sinceMs: number): Promise<Array<{ id: string; nodes_reach: string }>> {
  return db.selectFrom('service_processes').select(['id', 'nodes_reach']).where('heartbeat_ms', '>=', sinceMs).orderBy('id').execute();
}

/** Gives up `owner`'s health leases of `instanceIds` at once (they have a task now: the task's process may claim it). */
export async function releaseHealthLeases(db: Q, owner: string, instanceIds: readonly string[]): Promise<void> {
  if (instanceIds.length > 0) await db.deleteFrom('health_leases').where('owner', '=', owner).where('instance_id', 'in', instanceIds).execute();
}

/** How many service processes beat since `sinceMs` (the live ones). */
export async function liveProcessCount(db: Q, sinceMs: number): Promise<number> {
  const r = await db
    .selectFrom('service_processes')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('heartbeat_ms', '>=', sinceMs)
    .executeTakeFirstOrThrow();
  return Number(r.n);
}

/** A process stopping: forgets it and gives up its health leases, so the others take its instances at once. */
export async function leaveProcess(db: Q, id: string): Promise<void> {
  await db.deleteFrom('health_leases').where('owner', '=', id).execute();
  await db.deleteFrom('service_processes').where('id', '=', id).execute();
}

/** Forgets processes silent since `beforeMs` and leases that ended then (housekeeping). */
export async function pruneLeases(db: Q, beforeMs: number): Promise<void> {
  await db.deleteFrom('service_processes').where('heartbeat_ms', '<', beforeMs).execute();
  await db.deleteFrom('health_leases').where('until_ms', '<', beforeMs).execute();
}

/** One round of sharing out health checks, for one process. */
export interface HealthShareRound {
  owner: string;
  nowMs: number;
  leaseMs: number;
  /** The instances to observe (the settled ones), all processes together. */
  instanceIds: readonly string[];
  /** How many of them this process should observe (its fair share; more when others cannot). */
  share: number;
}

/**
 * Shares health checks between live service processes with leases: renews this process's leases of
 * `instanceIds`, gives up those beyond its share (another process takes them) or no longer listed,
 * and claims free or expired leases up to its share. A lease is taken only when free or expired (a
 * conditional upsert, atomic on both dialects), so an instance has at most one observer at a time;
 * an observer that dies lets its leases run out and the others take them. Returns the instances this
 * process observes until its next round.
 */
export async function shareHealthChecks(db: Q, r: HealthShareRound): Promise<Set<string>> {
  const until = r.nowMs + r.leaseMs;
  const listed = new Set(r.instanceIds);
  const leases = await db.selectFrom('health_leases').select(['instance_id', 'owner', 'until_ms']).execute();
  const mine: string[] = [];
  const gone: string[] = [];
  const held = new Set<string>();
  for (const l of leases) {
    if (l.until_ms < r.nowMs) continue;
    held.add(l.instance_id);
    if (l.owner !== r.owner) continue;
    if (listed.has(l.instance_id)) mine.push(l.instance_id);
    else gone.push(l.instance_id);
  }
  const extra = mine.length > r.share ? mine.splice(r.share) : [];
  const drop = [...gone, ...extra];
  if (drop.length > 0) await db.deleteFrom('health_leases').where('owner', '=', r.owner).where('instance_id', 'in', drop).execute();
  const kept =
    mine.length === 0
      ? []
      : (
          await db
            .updateTable('health_leases')
            .set({ until_ms: until })
            .where('owner', '=', r.owner)
            .where('instance_id', 'in', mine)
            .returning('instance_id')
            .execute()
        ).map((x) => x.instance_id);
  const out = new Set(kept);
  const wanted = r.share - out.size;
  const free = r.instanceIds.filter((id) => !held.has(id)).slice(0, Math.max(0, wanted));
  if (free.length > 0) {
    const claimed = await db
      .insertInto('health_leases')
      .values(free.map((instance_id) => ({ instance_id, owner: r.owner, until_ms: until })))
      .onConflict((oc) =>
        oc
          .column('instance_id')
          .doUpdateSet({ owner: r.owner, until_ms: until })
          .where('health_leases.until_ms', '<', r.nowMs),
      )
      .returning('instance_id')
      .execute();
    for (const c of claimed) out.add(c.instance_id);
  }
  return out;
}
