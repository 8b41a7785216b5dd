import type { Insertable, Kysely, Selectable, Transaction, Updateable } from 'kysely';
import type { AnalysisSettingsTable, CacheAnalysesTable, Database } from './schema.ts';

type Q = Kysely<Database> | Transaction<Database>;
export type CacheAnalysisRow = Selectable<CacheAnalysesTable>;
export type AnalysisSettingsRow = Selectable<AnalysisSettingsTable>;

export async function insertCacheAnalysis(db: Q, row: Insertable<CacheAnalysesTable>): Promise<void> {
  await db.insertInto('cache_analyses').values(row).execute();
}

export async function getCacheAnalysis(db: Q, instanceId: string, id: string): Promise<CacheAnalysisRow | undefined> {
  return db.selectFrom('cache_analyses').selectAll().where('instance_id', '=', instanceId).where('id', '=', id).executeTakeFirst();
}

/** The analysis run by engine task `taskId`. */
export async function analysisOfTask(db: Q, instanceId: string, taskId: number): Promise<CacheAnalysisRow | undefined> {
  return db.selectFrom('cache_analyses').selectAll().where('instance_id', '=', instanceId).where('task_id', '=', taskId).executeTakeFirst();
}

/** The instance's running analysis, if any (one at a time). */
export async function runningAnalysis(db: Q, instanceId: string): Promise<CacheAnalysisRow | undefined> {
  return db.selectFrom('cache_analyses').selectAll().where('instance_id', '=', instanceId).where('status', '=', 'running').executeTakeFirst();
}

/** Analyses of the instance, newest first: of one day, or since `sinceMs`, or all. */
export async function listCacheAnalyses(db: Q, instanceId: string, where: { day?: string; sinceMs?: number } = {}): Promise<CacheAnalysisRow[]> {
  let q = db.selectFrom('cache_analyses').selectAll().where('instance_id', '=', instanceId);
  if (where.day !== undefined) q = q.where('day', '=', where.day);
  if (where.sinceMs !== undefined) q = q.where('started_ms', '>=', where.sinceMs);
  return q.orderBy('started_ms', 'desc').orderBy('id', 'desc').execute();
}

/** Manual and automatic analyses the instance started on `day`. */
export async function countAnalysesOfDay(db: Q, instanceId: string, day: string): Promise<number> {
  const r = await db.selectFrom('cache_analyses').select((eb) => eb.fn.countAll<number>().as('n')).where('instance_id', '=', instanceId).where('day', '=', day).executeTakeFirstOrThrow();
  return Number(r.n);
}

/** Updates the analysis of task `taskId` while it runs; false when it is no longer running. */
export async function updateRunningAnalysis(db: Q, id: string, patch: Updateable<CacheAnalysesTable>): Promise<boolean> {
  const res = await db.updateTable('cache_analyses').set(patch).where('id', '=', id).where('status', '=', 'running').executeTakeFirst();
  return res.numUpdatedRows > 0n;
}

/** Asks the instance's running analysis to stop; false when none runs. */
export async function requestAnalysisStop(db: Q, instanceId: string): Promise<boolean> {
  const res = await db.updateTable('cache_analyses').set({ stop_requested: 1 }).where('instance_id', '=', instanceId).where('status', '=', 'running').executeTakeFirst();
  return res.numUpdatedRows > 0n;
}

/** Forgets analyses that started before `beforeMs` (JD keeps results 30 days). */
export async function pruneCacheAnalyses(db: Q, beforeMs: number): Promise<void> {
  await db.deleteFrom('cache_analyses').where('started_ms', '<', beforeMs).where('status', '!=', 'running').execute();
}

export async function getAnalysisSettings(db: Q, instanceId: string): Promise<AnalysisSettingsRow | undefined> {
  return db.selectFrom('analysis_settings').selectAll().where('instance_id', '=', instanceId).executeTakeFirst();
}

/** Sets the instance's window and thresholds; a new window's first automatic run is still to come. */
export async function upsertAnalysisSettings(db: Q, row: Omit<Insertable<AnalysisSettingsTable>, 'last_auto_day'>): Promise<void> {
  await db
    .insertInto('analysis_settings')
    .values({ ...row, last_auto_day: '' })
    .onConflict((oc) => oc.column('instance_id').doUpdateSet({ analysis_time: row.analysis_time, thresholds: row.thresholds }))
    .execute();
}

/** Instances with an automatic analysis window (not `-`), with the day of their last automatic run. */
export async function scheduledAnalyses(db: Q): Promise<AnalysisSettingsRow[]> {
  return db.selectFrom('analysis_settings').selectAll().where('analysis_time', '!=', '-').execute();
}

/** Claims `day`'s automatic run of the instance; false when it was claimed already (another process, an earlier turn). */
export async function claimAutoDay(db: Q, instanceId: string, day: string): Promise<boolean> {
  const res = await db.updateTable('analysis_settings').set({ last_auto_day: day }).where('instance_id', '=', instanceId).where('last_auto_day', '!=', day).executeTakeFirst();
  return res.numUpdatedRows > 0n;
}
