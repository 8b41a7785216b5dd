import type { Db } from '../../store/open-store.ts';
import { recentEvents } from '../../store/events-repo.ts';
import { findInstance } from '../../store/instances-repo.ts';
import { DomainError } from '../domain-error.ts';

/** One entry of an instance's history (engine events and status changes, engine/engine-events.ts). */
export interface InstanceEvent {
  /** ISO 8601, UTC, milliseconds. */
  time: string;
  /** `status`, `task-started`, `task-finished`, `task-failed`, `unhealthy`, `repaired`, … */
  type: string;
  /** The event's own fields: `from`/`to`/`reason` of a status change, `kind`/`error` of a task, … */
  data: Record<string, unknown>;
}

/**
 * The recent history of one of the caller's instances (at most `limit`, oldest first), as the engine
 * recorded it (kept 7 days, 200 per instance). Another account's instance is NOT_FOUND.
 */
export async function listInstanceEvents(db: Db, scope: { account: string; region: string }, id: string, limit: number): Promise<InstanceEvent[]> {
  if (!(await findInstance(db, scope.account, scope.region, id))) throw new DomainError('NOT_FOUND', `cacheInstance ${id} not found`);
  return (await recentEvents(db, id, limit)).map((e) => ({
    time: new Date(e.at_ms).toISOString(),
    type: e.type,
    data: JSON.parse(e.data) as Record<string, unknown>,
  }));
}
