import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../../store/schema.ts';
import type { Logger } from '../../logger.ts';
import { insertEvent } from '../../store/events-repo.ts';

/**
 * Instance statuses of the API (reference §4.0). `configuring` is used while a password reset applies,
 * `restoring` while restoreInstance replaces the data.
 */
export type InstanceStatus = 'creating' | 'running' | 'changing' | 'configuring' | 'restoring' | 'deleting' | 'error';

/** The transitions the service allows; anything else is a bug and is refused loudly. */
const ALLOWED: Record<InstanceStatus, InstanceStatus[]> = {
  creating: ['running', 'error', 'deleting'],
  running: ['changing', 'configuring', 'restoring', 'deleting', 'error'],
  changing: ['running', 'error'],
  configuring: ['running', 'error'],
  restoring: ['running', 'error'],
  deleting: ['error'],
  error: ['running', 'deleting', 'changing', 'configuring'],
};

/**
 * The one place instance status changes: checks the transition, writes it with the reason, and logs
 * `old → new`. Returns false (and changes nothing) when the row is no longer in `from`, so a racing
 * writer never clobbers a newer status.
 */
export async function transitionStatus(
  db: Kysely<Database> | Transaction<Database>,
  logger: Logger,
  instanceId: string,
  from: InstanceStatus,
  to: InstanceStatus,
  reason: string,
): Promise<boolean> {
  if (from !== to && !ALLOWED[from].includes(to)) {
    throw new Error(`illegal status transition ${from} → ${to} for ${instanceId}`);
  }
  const res = await db
    .updateTable('instances')
    .set({ status: to, status_reason: reason })
    .where('id', '=', instanceId)
    .where('status', '=', from)
    .executeTakeFirst();
  const changed = res.numUpdatedRows > 0n;
  if (changed && from !== to) {
    logger.info({ instanceId, from, to, reason }, `instance ${instanceId}: ${from} → ${to} (${reason})`);
    // In the same transaction as the change: the history never shows a status that did not happen.
    await insertEvent(db, { instanceId, atMs: Date.now(), type: 'status', data: { from, to, reason } });
  }
  return changed;
}
