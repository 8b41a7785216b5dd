import type { Logger } from '../../logger.ts';
import { getClearData, replaceClearData, requestClearDataStop, type ClearDataRow } from '../../store/clear-data-repo.ts';
import { findInstance } from '../../store/instances-repo.ts';
import type { Db } from '../../store/open-store.ts';
import { lockCapacity } from '../../store/store-locks.ts';
import { insertTask } from '../../store/tasks-repo.ts';
import { DomainError } from '../domain-error.ts';
import type { RequestScope } from '../instances/instance-inputs.ts';
import { formatJdTime } from '../time-format.ts';
import { parseClearDataRequest, type ClearDataInput, type KeyFilter } from './clear-data-request.ts';

export interface ClearDataServiceDeps {
  db: Db;
  logger: Logger;
  /** Wakes the engine after a task was committed. */
  notifyEngine: () => void;
  now: () => Date;
}

/** describeClearData's answer (JD's ClearDataTaskInfo). */
export interface ClearDataView {
  clearType: string;
  keyPattern: string;
  keyFilter: KeyFilter[];
  qpsLimit: number;
  progress: number;
  effectKeys: number;
  status: string;
  message: string;
  lastTransitionTime: string;
}

/** The engine task kind that runs a purge (engine/handlers/clear-data-handler.ts). */
export const CLEAR_DATA_TASK = 'clearData';

function toView(row: ClearDataRow): ClearDataView {
  return {
    clearType: row.clear_type,
    keyPattern: row.key_pattern,
    keyFilter: JSON.parse(row.key_filter) as KeyFilter[],
    qpsLimit: row.qps_limit,
    progress: row.progress,
    effectKeys: Number(row.effect_keys),
    status: row.status,
    message: row.message,
    lastTransitionTime: formatJdTime(new Date(Number(row.transition_ms))),
  };
}

export type ClearDataService = ReturnType<typeof createClearDataService>;

/**
 * Data purges (startClearData, stopClearData, describeClearData): the request and a durable engine task
 * are written in one transaction; the engine deletes on every shard's master, at most qpsLimit keys a
 * second, and records its progress here. One purge per instance at a time; the latest is kept.
 */
export function createClearDataService(deps: ClearDataServiceDeps) {
  const { db, logger } = deps;

  async function mustFind(scope: RequestScope, id: string) {
    const row = await findInstance(db, scope.account, scope.region, id);
    if (!row) throw new DomainError('NOT_FOUND', `cacheInstance ${id} not found`);
    return row;
  }

  return {
    async start(scope: RequestScope, id: string, input: ClearDataInput): Promise<void> {
      const request = parseClearDataRequest(input);
      const instance = await mustFind(scope, id);
      if (instance.status !== 'running') {
        throw new DomainError('FAILED_PRECONDITION', `cannot purge the data of cacheInstance ${id} while it is ${instance.status}; allowed when running`);
      }
      const nowMs = deps.now().getTime();
      await db.transaction().execute(async (trx) => {
        // Checked inside the transaction, after taking the capacity lock: two starts at once (also in two
        // service processes on PostgreSQL) cannot both begin a purge.
        await lockCapacity(trx);
        const current = await getClearData(trx, id);
        if (current?.status === 'running') {
          throw new DomainError('FAILED_PRECONDITION', `a data purge of cacheInstance ${id} is already running; stop it with stopClearData or wait for it to finish`);
        }
        const taskId = await insertTask(trx, { instanceId: id, kind: CLEAR_DATA_TASK, payload: {}, nowMs });
        await replaceClearData(trx, {
          instance_id: id,
          task_id: taskId,
          clear_type: request.clearType,
          key_pattern: request.keyPattern,
          key_filter: JSON.stringify(request.keyFilter),
          qps_limit: request.qpsLimit,
          status: 'running',
          message: '',
          progress: 0,
          effect_keys: 0,
          state: '{}',
          stop_requested: 0,
          started_ms: nowMs,
          transition_ms: nowMs,
        });
      });
      logger.info({ instanceId: id, clearType: request.clearType, filters: request.keyFilter.length, qpsLimit: request.qpsLimit }, 'data purge accepted');
      deps.notifyEngine();
    },

    /** Asks the running purge to stop; it ends `failed` with the keys deleted so far (JD has no `stopped`). */
    async stop(scope: RequestScope, id: string): Promise<void> {
      await mustFind(scope, id);
      if (!(await requestClearDataStop(db, id))) {
        throw new DomainError('FAILED_PRECONDITION', `no data purge of cacheInstance ${id} is running`);
      }
      logger.info({ instanceId: id }, 'data purge stop requested');
      deps.notifyEngine();
    },

    /** The latest purge, or null when the instance never had one. */
    async describe(scope: RequestScope, id: string): Promise<ClearDataView | null> {
      await mustFind(scope, id);
      const row = await getClearData(db, id);
      return row ? toView(row) : null;
    },
  };
}
