// slotOwners (cluster-nodes.ts), which the reshard's plan and a cluster restore both read: each slot goes
// to the master claiming it with the highest config epoch; replicas' claims and a stale master's lose.
import { describe, expect, it } from 'vitest';
import { parseClusterNodes, slotOwners, type ClusterNodeEntry } from '../../src/drivers/local/cluster-nodes.ts';

/** The `myself` entry of a node whose CLUSTER NODES line is `line`. */
function myself(id: string, flags: string, epoch: number, slots: string): ClusterNodeEntry {
  const line = `${id} 127.0.0.1:7000@17000 ${flags} - 0 0 ${epoch} connected${slots ? ` ${slots}` : ''}`;
  return parseClusterNodes(line)[0]!;
}

describe('slotOwners', () => {
  it('gives each slot to its master', () => {
    const owners = slotOwners([
      [myself('a', 'myself,master', 1, '0-2'), 'A'],
      [myself('b', 'myself,master', 2, '3-5'), 'B'],
    ]);
    expect([...owners.entries()].sort(([x], [y]) => x - y)).toEqual([
      [0, 'A'], [1, 'A'], [2, 'A'], [3, 'B'], [4, 'B'], [5, 'B'],
    ]);
  });

  it('gives a slot two masters claim to the higher config epoch, whichever is read first', () => {
    const stale = [myself('old', 'myself,master', 3, '0-3'), 'old'] as const;
    const promoted = [myself('new', 'myself,master', 7, '0-1'), 'new'] as const;
    for (const claims of [[stale, promoted], [promoted, stale]]) {
      const owners = slotOwners(claims);
      expect([0, 1, 2, 3].map((s) => owners.get(s))).toEqual(['new', 'new', 'old', 'old']);
    }
  });

  it("ignores a replica's entry and leaves unclaimed slots out", () => {
    const owners = slotOwners([
      [myself('r', 'myself,slave', 9, ''), 'R'],
      [myself('a', 'myself,master', 1, '10'), 'A'],
    ]);
    expect([...owners.keys()]).toEqual([10]);
    expect(owners.get(10)).toBe('A');
  });
});
