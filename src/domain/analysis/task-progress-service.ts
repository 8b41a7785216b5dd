import { findInstance } from '../../store/instances-repo.ts';
import type { Db } from '../../store/open-store.ts';
import { tasksWithProgress } from '../../store/task-progress-repo.ts';
import { DomainError } from '../domain-error.ts';
import type { RequestScope } from '../instances/instance-inputs.ts';
import { formatJdTime } from '../time-format.ts';

/** JD's task types (describeTaskProgressList) and the engine task kinds behind each. */
const KINDS_OF: Record<string, readonly string[]> = {
  // A resize and a type change are both modifyCacheInstanceClass: one `resize` task.
  resize: ['resize'],
  // JD's engine-version upgrade; this service has no such operation, so never such a task.
  upgrade: [],
};
export const TASK_TYPES = Object.keys(KINDS_OF);

/** JD's TaskProgress. */
export interface TaskProgressView {
  taskType: string;
  taskId: string;
  taskStatus: 'init' | 'running' | 'success' | 'fail';
  progressPercent: number;
  elapsedTimeSecond: number;
  startTime: string;
}

export type TaskProgressService = ReturnType<typeof createTaskProgressService>;

/**
 * describeTaskProgressList: the instance's resize tasks the engine still keeps (a day after they end),
 * newest first. Percent is measured: the slots (reshard) or keys (type change) the driver moved, of those
 * it had to move, at most 99 until the task is done; a resize that moves no data is 0 until it is done.
 */
export function createTaskProgressService(deps: { db: Db; now: () => Date }) {
  return {
    async list(scope: RequestScope, id: string, taskType: string | undefined): Promise<TaskProgressView[]> {
      if (taskType !== undefined && !TASK_TYPES.includes(taskType)) {
        throw new DomainError('INVALID_ARGUMENT', `taskType must be one of ${TASK_TYPES.join(', ')}, not ${JSON.stringify(taskType.slice(0, 40))}`);
      }
      const row = await findInstance(deps.db, scope.account, scope.region, id);
      if (!row) throw new DomainError('NOT_FOUND', `cacheInstance ${id} not found`);
      const types = taskType === undefined ? TASK_TYPES : [taskType];
      const nowMs = deps.now().getTime();
      const out: TaskProgressView[] = [];
      for (const type of types) {
        for (const t of await tasksWithProgress(deps.db, id, KINDS_OF[type]!)) {
          const started = t.started_ms === null ? null : Number(t.started_ms);
          const status = t.state === 'done' ? 'success' : t.state === 'failed' ? 'fail' : started === null ? 'init' : 'running';
          const total = Number(t.total ?? 0);
          const moved = total > 0 ? Math.min(99, Math.floor((100 * Number(t.done ?? 0)) / total)) : 0;
          const endMs = status === 'running' ? nowMs : Number(t.updated_ms);
          out.push({
            taskType: type,
            taskId: String(t.id),
            taskStatus: status,
            progressPercent: status === 'success' ? 100 : moved,
            elapsedTimeSecond: started === null ? 0 : Math.max(0, Math.floor((endMs - started) / 1000)),
            startTime: formatJdTime(new Date(started ?? Number(t.created_ms))),
          });
        }
      }
      return out;
    },
  };
}
