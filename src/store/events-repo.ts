import type { Kysely, Selectable, Transaction } from 'kysely';
import type { Database, InstanceEventsTable } from './schema.ts';

type Q = Kysely<Database> | Transaction<Database>;
export type EventRow = Selectable<InstanceEventsTable>;

/** Appends an event of the instance (in the caller's transaction, when there is one). */
export async function insertEvent(db: Q, e: { instanceId: string; atMs: number; type: string; data: Record<string, unknown> }): Promise<void> {
  await db.insertInto('instance_events').values({ instance_id: e.instanceId, at_ms: e.atMs, type: e.type, data: JSON.stringify(e.data) }).execute();
}

/** The instance's latest events, oldest first. */
export async function recentEvents(db: Q, instanceId: string, limit = 100): Promise<EventRow[]> {
  const rows = await db.selectFrom('instance_events').selectAll().where('instance_id', '=', instanceId).orderBy('id', 'desc').limit(limit).execute();
  return rows.reverse();
}

/** Keeps at most `keep` events per instance and none older than `beforeMs` (housekeeping). */
export async function pruneEvents(db: Q, beforeMs: number, keep: number): Promise<void> {
  await db.deleteFrom('instance_events').where('at_ms', '<', beforeMs).execute();
  const crowded = await db
    .selectFrom('instance_events')
    .select('instance_id')
    .groupBy('instance_id')
    .having((eb) => eb.fn.countAll(), '>', keep)
    .execute();
  for (const { instance_id } of crowded) {
    const cut = await db
      .selectFrom('instance_events')
      .select('id')
      .where('instance_id', '=', instance_id)
      .orderBy('id', 'desc')
      .offset(keep)
      .limit(1)
      .executeTakeFirst();
    if (cut) await db.deleteFrom('instance_events').where('instance_id', '=', instance_id).where('id', '<=', cut.id).execute();
  }
}
