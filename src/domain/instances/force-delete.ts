import type { Logger } from '../../logger.ts';
import type { Db } from '../../store/open-store.ts';
import { getInstanceById } from '../../store/instances-repo.ts';
import { finishTask, insertTask, pendingTasks } from '../../store/tasks-repo.ts';
import { DomainError } from '../domain-error.ts';
import { transitionStatus, type InstanceStatus } from './instance-status.ts';

/**
 * `jcs-redis admin delete-instance ID --force`: the operator's delete, of any account's instance in any
 * status, prepaid ones before they expire included (tenants cannot: JD's rule). Pending tasks of the
 * instance are ended as superseded and a `delete` task is written in the same transaction, so the engine
 * (of a running service, or of the next one started) removes every node and file as for any delete.
 * Returns the status the instance had; throws NOT_FOUND for an unknown id.
 */
export async function forceDeleteInstance(db: Db, logger: Logger, id: string, nowMs: number): Promise<{ previous: InstanceStatus; account: string; alreadyDeleting: boolean }> {
  return db.transaction().execute(async (trx) => {
    const row = await getInstanceById(trx, id);
    if (!row) throw new DomainError('NOT_FOUND', `no instance ${id} in this data directory`);
    const previous = row.status as InstanceStatus;
    if (previous === 'deleting') return { previous, account: row.account, alreadyDeleting: true };
    for (const task of await pendingTasks(trx, id)) await finishTask(trx, task.id, 'failed', 'superseded by an operator delete (--force)', nowMs);
    // changing and configuring may not go straight to deleting: through error, each step recorded.
    let from = previous;
    if (from === 'changing' || from === 'configuring') {
      await transitionStatus(trx, logger, id, from, 'error', 'operator delete (--force)');
      from = 'error';
    }
    if (!(await transitionStatus(trx, logger, id, from, 'deleting', 'operator delete (--force)'))) {
      throw new DomainError('FAILED_PRECONDITION', `instance ${id} changed status meanwhile; try again`);
    }
    await insertTask(trx, { instanceId: id, kind: 'delete', payload: {}, nowMs });
    return { previous, account: row.account, alreadyDeleting: false };
  });
}
