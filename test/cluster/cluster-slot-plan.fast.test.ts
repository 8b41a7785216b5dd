// The slot planner is pure: fresh clusters, grow, shrink, and re-running on a half-done plan.
import { describe, expect, it } from 'vitest';
import { planSlots, targetSlotCount, toRanges } from '../../src/drivers/local/cluster-slot-plan.ts';

const SLOTS = 16384;

function owners(ranges: Array<[string, number, number]>): Map<number, string> {
  const map = new Map<number, string>();
  for (const [id, from, to] of ranges) for (let s = from; s <= to; s++) map.set(s, id);
  return map;
}

/** Ownership after applying a plan. */
function apply(before: Map<number, string>, plan: ReturnType<typeof planSlots>): Map<number, string> {
  const after = new Map(before);
  for (const [id, slots] of plan.assign) for (const s of slots) after.set(s, id);
  for (const m of plan.moves) {
    expect(after.get(m.slot)).toBe(m.from);
    after.set(m.slot, m.to);
  }
  return after;
}

function counts(map: Map<number, string>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const id of map.values()) out[id] = (out[id] ?? 0) + 1;
  return out;
}

describe('planSlots', () => {
  it('splits a fresh cluster evenly into contiguous ranges', () => {
    const plan = planSlots(new Map(), ['a', 'b', 'c']);
    expect(plan.moves).toEqual([]);
    expect(toRanges(plan.assign.get('a')!)).toEqual([[0, 5461]]);
    expect(toRanges(plan.assign.get('b')!)).toEqual([[5462, 10922]]);
    expect(toRanges(plan.assign.get('c')!)).toEqual([[10923, 16383]]);
    expect([0, 1, 2].map((i) => targetSlotCount(i, 3))).toEqual([5462, 5461, 5461]);
  });

  it('grows 3 → 6 by moving only the excess, and the result is even', () => {
    const before = owners([['a', 0, 5461], ['b', 5462, 10922], ['c', 10923, 16383]]);
    const plan = planSlots(before, ['a', 'b', 'c', 'd', 'e', 'f']);
    expect(plan.assign.size).toBe(0);
    expect(plan.moves).toHaveLength(SLOTS - 3 * 2731);
    expect(plan.moves.every((m) => ['d', 'e', 'f'].includes(m.to))).toBe(true);
    const after = apply(before, plan);
    // 16384 = 6 × 2730 + 4: four masters carry one slot more.
    expect(Object.values(counts(after)).sort()).toEqual([2730, 2730, 2731, 2731, 2731, 2731]);
    // Level-based: planning again on the result has nothing left to do.
    expect(planSlots(after, ['a', 'b', 'c', 'd', 'e', 'f']).moves).toEqual([]);
  });

  it('shrinks 6 → 3 by emptying the removed masters only', () => {
    const six = apply(new Map(), planSlots(new Map(), ['a', 'b', 'c', 'd', 'e', 'f']));
    const plan = planSlots(six, ['a', 'b', 'c']);
    expect(plan.moves.every((m) => ['d', 'e', 'f'].includes(m.from) && ['a', 'b', 'c'].includes(m.to))).toBe(true);
    const after = apply(six, plan);
    expect(counts(after)).toEqual({ a: 5462, b: 5461, c: 5461 });
  });

  it('finishes a half-done move and re-adds slots nobody owns', () => {
    const half = owners([['a', 0, 4000], ['b', 5462, 10922], ['c', 10923, 16383], ['d', 4001, 4999]]);
    const plan = planSlots(half, ['a', 'b', 'c', 'd']);
    // Slots 5000-5461 belong to no one (their owner was forgotten): added, not migrated.
    expect([...plan.assign.values()].flat()).toEqual(Array.from({ length: 462 }, (_, i) => 5000 + i));
    const after = apply(half, plan);
    expect(after.size).toBe(SLOTS);
    expect(Object.values(counts(after)).sort()).toEqual([4096, 4096, 4096, 4096]);
  });
});
