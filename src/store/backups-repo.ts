import type { Insertable, Kysely, Selectable, Transaction, Updateable } from 'kysely';
import type { BackupPoliciesTable, BackupsTable, Database, RestoresTable } from './schema.ts';

type Q = Kysely<Database> | Transaction<Database>;
export type BackupRow = Selectable<BackupsTable>;
export type BackupPolicyRow = Selectable<BackupPoliciesTable>;
export type RestoreRow = Selectable<RestoresTable>;

export async function insertBackup(db: Q, row: Insertable<BackupsTable>): Promise<void> {
  await db.insertInto('backups').values(row).execute();
}

export async function getBackup(db: Q, baseId: string): Promise<BackupRow | undefined> {
  return db.selectFrom('backups').selectAll().where('base_id', '=', baseId).executeTakeFirst();
}

/** Updates a backup; false when it is gone (retention removed it). */
export async function updateBackup(db: Q, baseId: string, patch: Updateable<BackupsTable>): Promise<boolean> {
  const res = await db.updateTable('backups').set(patch).where('base_id', '=', baseId).executeTakeFirst();
  return res.numUpdatedRows > 0n;
}

export interface BackupListQuery {
  account: string;
  instanceId: string;
  startMs?: number;
  endMs?: number;
  baseId?: string;
  offset: number;
  limit: number;
}

/** One page of an instance's backups, newest first, and how many match in all. */
export async function listBackups(db: Q, q: BackupListQuery): Promise<{ rows: BackupRow[]; total: number }> {
  let base = db.selectFrom('backups').where('account', '=', q.account).where('instance_id', '=', q.instanceId);
  if (q.startMs !== undefined) base = base.where('start_ms', '>=', q.startMs);
  if (q.endMs !== undefined) base = base.where('start_ms', '<=', q.endMs);
  if (q.baseId !== undefined) base = base.where('base_id', '=', q.baseId);
  const total = await base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  const rows = await base.selectAll().orderBy('start_ms', 'desc').orderBy('base_id').offset(q.offset).limit(q.limit).execute();
  return { rows, total: Number(total.n) };
}

/** Backups of an instance (any status) and bytes of an account's backups: what the quotas count. */
export async function backupUsage(db: Q, account: string, instanceId: string): Promise<{ instanceBackups: number; accountBytes: number }> {
  const perInstance = await db.selectFrom('backups').select((eb) => eb.fn.countAll<number>().as('n')).where('instance_id', '=', instanceId).executeTakeFirstOrThrow();
  const bytes = await db.selectFrom('backups').select((eb) => eb.fn.sum<number>('size').as('b')).where('account', '=', account).executeTakeFirstOrThrow();
  return { instanceBackups: Number(perInstance.n), accountBytes: Number(bytes.b ?? 0) };
}

/** Finished backups started before `beforeMs` (retention), oldest first. */
export async function expiredBackups(db: Q, beforeMs: number, limit: number): Promise<BackupRow[]> {
  return db.selectFrom('backups').selectAll().where('start_ms', '<', beforeMs).where('status', '!=', 0).orderBy('start_ms').limit(limit).execute();
}

export async function deleteBackupRow(db: Q, baseId: string): Promise<void> {
  await db.deleteFrom('backups').where('base_id', '=', baseId).execute();
}

export async function getBackupPolicy(db: Q, instanceId: string): Promise<BackupPolicyRow | undefined> {
  return db.selectFrom('backup_policies').selectAll().where('instance_id', '=', instanceId).executeTakeFirst();
}

export async function upsertBackupPolicy(db: Q, row: Insertable<BackupPoliciesTable>): Promise<void> {
  await db
    .insertInto('backup_policies')
    .values(row)
    .onConflict((oc) => oc.column('instance_id').doUpdateSet({ auto_backup: row.auto_backup, backup_time: row.backup_time, backup_period: row.backup_period, updated_ms: row.updated_ms }))
    .execute();
}

/** Policies with automatic backups on, with their instance's account, region and status. */
export async function activeBackupPolicies(db: Q): Promise<Array<BackupPolicyRow & { account: string; region: string; status: string; instance_type: string; shard_number: number; memory_mb_per_shard: number }>> {
  return db
    .selectFrom('backup_policies as p')
    .innerJoin('instances as i', 'i.id', 'p.instance_id')
    .selectAll('p')
    .select(['i.account', 'i.region', 'i.status', 'i.instance_type', 'i.shard_number', 'i.memory_mb_per_shard'])
    .where('p.auto_backup', '=', 1)
    .execute();
}

export async function getRestore(db: Q, instanceId: string): Promise<RestoreRow | undefined> {
  return db.selectFrom('restores').selectAll().where('instance_id', '=', instanceId).executeTakeFirst();
}

/** Records a restore in place of any earlier one of the instance (inside the caller's transaction). */
export async function replaceRestore(db: Q, row: Insertable<RestoresTable>): Promise<void> {
  await db.deleteFrom('restores').where('instance_id', '=', row.instance_id).execute();
  await db.insertInto('restores').values(row).execute();
}

export async function setRestorePhase(db: Q, instanceId: string, taskId: number, phase: string): Promise<void> {
  await db.updateTable('restores').set({ phase }).where('instance_id', '=', instanceId).where('task_id', '=', taskId).execute();
}

export async function deleteRestore(db: Q, instanceId: string, taskId: number): Promise<void> {
  await db.deleteFrom('restores').where('instance_id', '=', instanceId).where('task_id', '=', taskId).execute();
}

/** Whether the instance has a backup running (status 0). */
export async function runningBackupOf(db: Q, instanceId: string): Promise<BackupRow | undefined> {
  return db.selectFrom('backups').selectAll().where('instance_id', '=', instanceId).where('status', '=', 0).executeTakeFirst();
}

/** Running backups whose task is no longer pending (its instance was deleted, or the task ended without them). */
export async function orphanedRunningBackups(db: Q): Promise<BackupRow[]> {
  return db
    .selectFrom('backups as b')
    .leftJoin('tasks as t', 't.id', 'b.task_id')
    .selectAll('b')
    .where('b.status', '=', 0)
    .where((eb) => eb.or([eb('t.id', 'is', null), eb('t.state', '!=', 'pending')]))
    .execute();
}

/** Whether the instance has an automatic backup for `day` already. */
export async function hasAutoBackup(db: Q, instanceId: string, day: string): Promise<boolean> {
  return (await db.selectFrom('backups').select('base_id').where('instance_id', '=', instanceId).where('auto_day', '=', day).executeTakeFirst()) !== undefined;
}
