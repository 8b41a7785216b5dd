import type { Db } from '../store/open-store.ts';
import { heartbeat, leaveProcess, liveProcessCount, liveProcesses, pruneLeases, releaseHealthLeases, shareHealthChecks } from '../store/leases-repo.ts';
import { reachConflict } from './nodes-reach.ts';

/**
 * Which settled instances this service process health-checks, when several share one PostgreSQL store:
 * each process beats every third of the lease, counts the live ones and holds leases on its fair share
 * (store/leases-repo.ts), so every instance is observed by exactly one live process and adding processes
 * spreads the checks. A process that dies stops renewing; after the lease the others take its instances.
 * When not shared (SQLite: one process) every instance is this process's and nothing is written.
 */
export class HealthShares {
  private mine = new Set<string>();
  private nextMs = 0;

  constructor(
    private readonly db: Db,
    private readonly owner: string,
    private readonly leaseMs: number,
    private readonly shared: boolean,
    /** Where this process's driver reaches nodes from (nodes-reach.ts), recorded with each beat. */
    private readonly nodesReach: () => string = () => '',
  ) {}

  /**
   * Announces this process before it takes any work, and refuses (throws, saying why) when a live process
   * reaches the nodes from elsewhere: the leases would hand it instances whose nodes it cannot reach.
   */
  async join(nowMs: number): Promise<void> {
    if (!this.shared) return;
    const mine = this.nodesReach();
    const conflict = reachConflict(mine, (await liveProcesses(this.db, nowMs - this.leaseMs)).filter((p) => p.id !== this.owner));
    if (conflict) throw new Error(conflict);
    await heartbeat(this.db, this.owner, nowMs, mine);
  }

  /** Whether this process checks the instance now. */
  owns(instanceId: string): boolean {
    return !this.shared || this.mine.has(instanceId);
  }

  /** The instances this process holds leases on. */
  held(): readonly string[] {
    return [...this.mine];
  }

  /** How many instances this process checks (all of `settledCount` when not shared). */
  count(settledCount: number): number {
    return this.shared ? this.mine.size : settledCount;
  }

  /** Renews and rebalances the leases every third of the lease time; `ids` are the settled instances. */
  async refresh(nowMs: number, ids: readonly string[]): Promise<void> {
    if (!this.shared || nowMs < this.nextMs) return;
    this.nextMs = nowMs + Math.floor(this.leaseMs / 3);
    await heartbeat(this.db, this.owner, nowMs, this.nodesReach());
    const live = Math.max(1, await liveProcessCount(this.db, nowMs - this.leaseMs));
    this.mine = await shareHealthChecks(this.db, { owner: this.owner, nowMs, leaseMs: this.leaseMs, instanceIds: ids, share: Math.ceil(ids.length / live) });
  }

  /**
   * Gives back at once the leases of instances this process holds that are no longer settled (a task
   * was committed for them) and that `busy` does not say are being checked now: the task's claim waits
   * for this (store/tasks-repo.ts), so a task never runs beside another process's repair.
   */
  async releaseUnsettled(settled: ReadonlySet<string>, busy: (instanceId: string) => boolean): Promise<void> {
    if (!this.shared) return;
    const done = [...this.mine].filter((id) => !settled.has(id) && !busy(id));
    if (done.length === 0) return;
    await releaseHealthLeases(this.db, this.owner, done);
    for (const id of done) this.mine.delete(id);
  }

  /** Forgets processes and leases long dead (housekeeping). */
  async prune(nowMs: number): Promise<void> {
    if (this.shared) await pruneLeases(this.db, nowMs - 10 * this.leaseMs);
  }

  /** A clean stop: the other processes take this one's instances at their next round. */
  async leave(): Promise<void> {
    this.mine.clear();
    if (this.shared) await leaveProcess(this.db, this.owner);
  }
}
