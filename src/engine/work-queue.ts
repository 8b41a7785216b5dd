/**
 * The engine's one bounded work queue, after controller-runtime's: items are keyed by instance, so one
 * instance never has two items running and a key offered again while queued is not queued twice; each
 * lane (tasks, health checks) has its own bound inside a total bound, so health checks of slow or hung
 * instances can never hold the slots a create needs; inside a lane, groups (accounts) take turns, so one
 * tenant's many instances cannot starve another's one.
 */

export type Lane = 'task' | 'health';

export interface WorkItem {
  /** The instance: at most one item per key runs at a time, whatever its lane. */
  key: string;
  lane: Lane;
  /** Who the work is for (the account): groups of a lane take turns. */
  group: string;
  run(): Promise<void>;
}

export interface WorkQueueOptions {
  /** Items running at once, all lanes together. */
  total: number;
  /** Items running at once per lane (each ≤ total). */
  perLane: Record<Lane, number>;
  /** Called when an item's run rejects (items are expected to handle their own errors). */
  onError(item: WorkItem, err: unknown): void;
}

export class WorkQueue {
  /** Per lane: group → its queued items, in offer order; `turns` is the rotation of groups. */
  private readonly queued: Record<Lane, { byGroup: Map<string, WorkItem[]>; turns: string[] }> = {
    task: { byGroup: new Map(), turns: [] },
    health: { byGroup: new Map(), turns: [] },
  };
  private readonly queuedKeys = new Set<string>();
  private readonly running = new Map<string, WorkItem>();
  private readonly runningPerLane: Record<Lane, number> = { task: 0, health: 0 };
  private readonly settled = new Set<() => void>();

  constructor(private readonly o: WorkQueueOptions) {}

  /** Queues the item; false when an item with the same key and lane is already queued. */
  offer(item: WorkItem): boolean {
    const id = `${item.lane}\u0000${item.key}`;
    if (this.queuedKeys.has(id)) return false;
    this.queuedKeys.add(id);
    const lane = this.queued[item.lane];
    const list = lane.byGroup.get(item.group);
    if (list) list.push(item);
    else {
      lane.byGroup.set(item.group, [item]);
      lane.turns.push(item.group);
    }
    this.pump();
    return true;
  }

  /** True when an item of `key` runs now. */
  isRunning(key: string): boolean {
    return this.running.has(key);
  }

  /** True when an item of `key` runs or waits in `lane`. */
  holds(key: string, lane: Lane): boolean {
    return this.queuedKeys.has(`${lane}\u0000${key}`) || this.running.get(key)?.lane === lane;
  }

  get size(): { running: number; queued: number } {
    return { running: this.running.size, queued: this.queuedKeys.size };
  }

  /** Resolves once nothing runs (queued items that cannot start are not waited for). */
  whenIdle(): Promise<void> {
    if (this.running.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.settled.add(resolve));
  }

  /** Drops every queued item (running ones finish). */
  clear(): void {
    for (const lane of Object.values(this.queued)) {
      lane.byGroup.clear();
      lane.turns.length = 0;
    }
    this.queuedKeys.clear();
  }

  private pump(): void {
    // Tasks first: a health check never takes the slot a task could use.
    for (const lane of ['task', 'health'] as const) {
      while (this.running.size < this.o.total && this.runningPerLane[lane] < this.o.perLane[lane]) {
        const item = this.next(lane);
        if (!item) break;
        this.start(item);
      }
    }
  }

  /** The next startable item of the lane: groups in turn, skipping keys that already run. */
  private next(lane: Lane): WorkItem | null {
    const q = this.queued[lane];
    for (let i = 0; i < q.turns.length; i++) {
      const group = q.turns.shift()!;
      const list = q.byGroup.get(group)!;
      const at = list.findIndex((it) => !this.running.has(it.key));
      if (at < 0) {
        q.turns.push(group);
        continue;
      }
      const [item] = list.splice(at, 1);
      if (list.length > 0) q.turns.push(group);
      else q.byGroup.delete(group);
      this.queuedKeys.delete(`${lane}\u0000${item!.key}`);
      return item!;
    }
    return null;
  }

  private start(item: WorkItem): void {
    this.running.set(item.key, item);
    this.runningPerLane[item.lane]++;
    void item
      .run()
      .catch((err: unknown) => this.o.onError(item, err))
      .finally(() => {
        this.running.delete(item.key);
        this.runningPerLane[item.lane]--;
        if (this.running.size === 0) {
          for (const resolve of this.settled) resolve();
          this.settled.clear();
        }
        this.pump();
      });
  }
}
