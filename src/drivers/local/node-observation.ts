import { type LocalNodeObservation } from './local-spec.ts';
import type { NodeState } from './node-state.ts';

/** What the driver reports for a node it read: a master's link is up when a replica is attached. */
export function toNodeObservation(port: number, state: NodeState): LocalNodeObservation {
  return {
    port,
    role: state.role,
    pid: state.pid,
    linkUp: state.role === 'master' ? state.replicaPorts.length > 0 : state.linkUp,
    connectedReplicas: state.connectedReplicas,
    maxmemoryBytes: state.maxmemoryBytes,
    maxclients: state.maxclients,
    usedMemoryBytes: state.usedMemoryBytes,
    replOffset: state.replOffset,
    connectedClients: state.connectedClients,
    opsPerSec: state.opsPerSec,
    keyspaceHits: state.keyspaceHits,
    keyspaceMisses: state.keyspaceMisses,
    evictedKeys: state.evictedKeys,
  };
}

/** What the driver reports for a node it could not reach. */
export function downNode(port: number): LocalNodeObservation {
  return {
    port,
    role: 'down',
    pid: null,
    linkUp: false,
    connectedReplicas: 0,
    maxmemoryBytes: null,
    maxclients: null,
    usedMemoryBytes: null,
    replOffset: null,
    connectedClients: null,
    opsPerSec: null,
    keyspaceHits: null,
    keyspaceMisses: null,
    evictedKeys: null,
  };
}
