/**
 * Where every hash slot should live: a pure function from "who owns what now" to "what to assign and
 * what to move". Level-based: run it on the current ownership at any point (fresh cluster, half-done
 * reshard, after a crash) and it returns only the remaining work.
 */
import { SLOT_COUNT } from './cluster-nodes.ts';

/** How many slots master `i` of `n` should own: an even split, the first `SLOT_COUNT % n` get one more. */
export function targetSlotCount(i: number, n: number): number {
  return Math.floor(SLOT_COUNT / n) + (i < SLOT_COUNT % n ? 1 : 0);
}

/** One slot to move from one node id to another. */
export interface SlotMove {
  slot: number;
  from: string;
  to: string;
}

export interface SlotPlan {
  /** Unassigned slots to add, by master id (sorted, so ADDSLOTSRANGE can use ranges). */
  assign: Map<string, number[]>;
  /** Slots to migrate, sorted by slot. */
  moves: SlotMove[];
}

/**
 * `owners` maps each assigned slot to its owner's id; `masters` are the spec's master ids in shard order.
 * Slots owned by ids outside `masters` (shards being removed) all move; spec masters over their target
 * give their highest slots; masters under target receive, in shard order, so each gets contiguous runs.
 */
export function planSlots(owners: ReadonlyMap<number, string>, masters: readonly string[]): SlotPlan {
  const n = masters.length;
  const index = new Map(masters.map((id, i) => [id, i]));
  const owned: number[][] = masters.map(() => []);
  const donated: SlotMove[] = [];
  const unassigned: number[] = [];
  for (let slot = 0; slot < SLOT_COUNT; slot++) {
    const owner = owners.get(slot);
    if (owner === undefined) unassigned.push(slot);
    else if (index.has(owner)) owned[index.get(owner)!]!.push(slot);
    else donated.push({ slot, from: owner, to: '' });
  }
  masters.forEach((id, i) => {
    const extra = owned[i]!.length - targetSlotCount(i, n);
    if (extra > 0) for (const slot of owned[i]!.slice(-extra)) donated.push({ slot, from: id, to: '' });
  });
  donated.sort((a, b) => a.slot - b.slot);

  const deficit = masters.map((_, i) => Math.max(0, targetSlotCount(i, n) - owned[i]!.length));
  const assign = new Map<string, number[]>();
  const moves: SlotMove[] = [];
  let receiver = 0;
  const nextReceiver = (): number => {
    while (receiver < n && deficit[receiver]! <= 0) receiver++;
    if (receiver >= n) throw new Error('slot plan: more slots to place than room on the masters');
    deficit[receiver]!--;
    return receiver;
  };
  // Unassigned slots first: adding is free, moving costs a migration.
  for (const slot of unassigned) {
    const id = masters[nextReceiver()]!;
    const list = assign.get(id) ?? [];
    list.push(slot);
    assign.set(id, list);
  }
  for (const move of donated) moves.push({ ...move, to: masters[nextReceiver()]! });
  return { assign, moves };
}

/** Compresses sorted slots into inclusive ranges, for ADDSLOTSRANGE. */
export function toRanges(slots: readonly number[]): Array<[number, number]> {
  const ranges: Array<[number, number]> = [];
  for (const s of slots) {
    const last = ranges[ranges.length - 1];
    if (last && last[1] === s - 1) last[1] = s;
    else ranges.push([s, s]);
  }
  return ranges;
}
