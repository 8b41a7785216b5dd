import type { Insertable, Kysely, Selectable, Transaction, Updateable } from 'kysely';
import type { ClearDataTable, Database } from './schema.ts';

type Q = Kysely<Database> | Transaction<Database>;
export type ClearDataRow = Selectable<ClearDataTable>;

/** The instance's latest purge, if it ever had one. */
export async function getClearData(db: Q, instanceId: string): Promise<ClearDataRow | undefined> {
  return db.selectFrom('clear_data').selectAll().where('instance_id', '=', instanceId).executeTakeFirst();
}

/** Records a new purge in place of the instance's previous one (call inside the caller's transaction). */
export async function replaceClearData(db: Q, row: Insertable<ClearDataTable>): Promise<void> {
  await db.deleteFrom('clear_data').where('instance_id', '=', row.instance_id).execute();
  await db.insertInto('clear_data').values(row).execute();
}

/** Updates the purge run by task `taskId`; false (nothing changed) when a newer purge replaced it. */
export async function updateClearData(db: Q, instanceId: string, taskId: number, patch: Updateable<ClearDataTable>): Promise<boolean> {
  const res = await db.updateTable('clear_data').set(patch).where('instance_id', '=', instanceId).where('task_id', '=', taskId).executeTakeFirst();
  return res.numUpdatedRows > 0n;
}

/** Asks a running purge to stop at its next batch; false when none runs. */
export async function requestClearDataStop(db: Q, instanceId: string): Promise<boolean> {
  const res = await db
    .updateTable('clear_data')
    .set({ stop_requested: 1 })
    .where('instance_id', '=', instanceId)
    .where('status', '=', 'running')
    .executeTakeFirst();
  return res.numUpdatedRows > 0n;
}
