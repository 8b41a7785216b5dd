/**
 * Reading a Redis Cluster node's view of the cluster: `CLUSTER NODES` and `CLUSTER INFO`. Read-only;
 * topology code (native-cluster.ts) decides what to do with it.
 */
import type { Redis } from 'ioredis';
import { parseInfo } from './node-state.ts';

/** Number of hash slots in every Redis Cluster. */
export const SLOT_COUNT = 16384;

/** One line of `CLUSTER NODES`, as the node that printed it sees that node. */
export interface ClusterNodeEntry {
  id: string;
  /** Client port (what a plain connection sees; a node with a TLS bus also has a TLS port). */
  port: number;
  /** Cluster bus port. */
  busPort: number;
  flags: ReadonlySet<string>;
  /** For a replica: its master's id. */
  masterId: string | null;
  configEpoch: number;
  connected: boolean;
  /** Slots this entry serves, as inclusive ranges. */
  slots: Array<[number, number]>;
  /** Only on the `myself` line: slot → id of the node it is being imported from. */
  importing: Map<number, string>;
  /** Only on the `myself` line: slot → id of the node it is being migrated to. */
  migrating: Map<number, string>;
}

/** What one node says about the cluster and itself. */
export interface ClusterView {
  myself: ClusterNodeEntry;
  nodes: ClusterNodeEntry[];
  /** `cluster_state:ok`. */
  stateOk: boolean;
  slotsAssigned: number;
  knownNodes: number;
  currentEpoch: number;
}

/** Parses the text of `CLUSTER NODES`. */
export function parseClusterNodes(text: string): ClusterNodeEntry[] {
  const entries: ClusterNodeEntry[] = [];
  for (const line of text.split('\n')) {
    const parts = line.trim().split(' ');
    if (parts.length < 8) continue;
    const [id, addr, flags, master, , , epoch, link, ...slotParts] = parts as [string, string, string, string, string, string, string, string, ...string[]];
    // `ip:port@cport[,hostname]`; a node in handshake may show `:0@0` until its address is known.
    const port = Number(addr.slice(addr.lastIndexOf(':', addr.indexOf('@')) + 1, addr.indexOf('@')));
    const bus = Number(/@(\d+)/.exec(addr)?.[1]);
    const entry: ClusterNodeEntry = {
      id,
      port: Number.isInteger(port) ? port : 0,
      busPort: Number.isInteger(bus) ? bus : 0,
      flags: new Set(flags.split(',')),
      masterId: master === '-' ? null : master,
      configEpoch: Number(epoch),
      connected: link === 'connected',
      slots: [],
      importing: new Map(),
      migrating: new Map(),
    };
    for (const s of slotParts) {
      const open = /^\[(\d+)-([<>])-([0-9a-f]+)\]$/.exec(s);
      if (open) {
        (open[2] === '<' ? entry.importing : entry.migrating).set(Number(open[1]), open[3]!);
        continue;
      }
      const [from, to] = s.split('-').map(Number) as [number, number | undefined];
      entry.slots.push([from, to ?? from]);
    }
    entries.push(entry);
  }
  return entries;
}

/** Number of slots in a list of ranges. */
export function slotCount(ranges: ReadonlyArray<[number, number]>): number {
  return ranges.reduce((n, [a, b]) => n + b - a + 1, 0);
}

/** Expands ranges into a list of slots. */
export function expandSlots(ranges: ReadonlyArray<[number, number]>): number[] {
  const out: number[] = [];
  for (const [a, b] of ranges) for (let s = a; s <= b; s++) out.push(s);
  return out;
}

export const isMaster = (e: ClusterNodeEntry): boolean => e.flags.has('master');

/**
 * Each slot's owner among the masters' own claims (`myself` of each node's view, with what the caller
 * keeps for it). Two masters may both claim a slot for a while (one came back after its replica was
 * promoted, or after a restore that failed, and gossip has not demoted it yet): the higher config epoch
 * owns it, as in Redis; the other is demoted by gossip and loses its data.
 */
export function slotOwners<T>(claims: Iterable<readonly [ClusterNodeEntry, T]>): Map<number, T> {
  const owners = new Map<number, T>();
  const epochs = new Map<number, number>();
  for (const [myself, owner] of claims) {
    if (!isMaster(myself)) continue;
    for (const slot of expandSlots(myself.slots)) {
      if ((epochs.get(slot) ?? -1) >= myself.configEpoch) continue;
      owners.set(slot, owner);
      epochs.set(slot, myself.configEpoch);
    }
  }
  return owners;
}
/** A node the viewer considers failed or unreachable (its slots are not served). */
export const isFailing = (e: ClusterNodeEntry): boolean => e.flags.has('fail') || e.flags.has('noaddr') || e.flags.has('handshake');

/** Reads a node's view in one round trip. */
export async function readClusterView(client: Redis): Promise<ClusterView> {
  const results = await client.pipeline().call('CLUSTER', 'NODES').call('CLUSTER', 'INFO').exec();
  if (!results) throw new Error('pipeline returned nothing');
  for (const [err] of results) if (err) throw err;
  const nodes = parseClusterNodes(String(results[0]?.[1]));
  const info = parseInfo(String(results[1]?.[1]));
  const myself = nodes.find((n) => n.flags.has('myself'));
  if (!myself) throw new Error('CLUSTER NODES has no myself line');
  return {
    myself,
    nodes,
    stateOk: info.get('cluster_state') === 'ok',
    slotsAssigned: Number(info.get('cluster_slots_assigned') ?? 0),
    knownNodes: Number(info.get('cluster_known_nodes') ?? 0),
    currentEpoch: Number(info.get('cluster_current_epoch') ?? 0),
  };
}

/** True when the node at `client` runs with `cluster-enabled yes`. */
export async function isClusterEnabled(client: Redis): Promise<boolean> {
  return parseInfo(String(await client.call('INFO', 'cluster'))).get('cluster_enabled') === '1';
}
