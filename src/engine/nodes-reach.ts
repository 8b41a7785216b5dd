import { hostname } from 'node:os';
import type { DriverCapabilities } from '../drivers/driver.ts';

/**
 * What a service process records about where its driver reaches nodes from (service_processes.nodes_reach):
 * `*` for a driver whose nodes any process reaches, else `this-host:` and the placement every process on
 * the store must share (the local driver: host name and data directory).
 */
export function nodesReachOf(caps: DriverCapabilities): string {
  return caps.nodesReachableFrom === 'any-process' ? '*' : `this-host:${caps.placement ?? hostname()}`;
}

const described = (reach: string): string => (reach === '*' ? 'from any process' : `only from ${reach.slice('this-host:'.length)}`);

/**
 * Why this process must not take work beside the live ones, or null when it may. Tasks and health
 * checks go to any live process (the leases pick one), which is right only when every process reaches
 * every node: all `*`, or all on the one host and data directory of a this-host driver. A process of a
 * version before 0012 recorded nothing (''): it is not held against anyone.
 */
export function reachConflict(mine: string, live: ReadonlyArray<{ id: string; nodes_reach: string }>): string | null {
  const other = live.find((p) => p.nodes_reach !== '' && p.nodes_reach !== mine);
  if (!other) return null;
  return (
    `service process ${other.id} on this store reaches its driver's nodes ${described(other.nodes_reach)}, this one ${described(mine)}: ` +
    'every process on one store must reach every node (with the local driver: the same host and JCS_DATA_DIR; see docs/deploy.md)'
  );
}
