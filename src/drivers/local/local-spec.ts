/**
 * The local driver's own view of an instance: the logical spec (drivers/driver.ts) with the host ports
 * the driver reserved for each node. Topology code (master-slave.ts, native-cluster.ts) works on this;
 * the engine and the domain never see ports (local-driver.ts maps one to the other).
 */
import type { InstanceSpec, NodeObservation } from '../driver.ts';

/** One shard: a master and its replica, each identified by its client port. */
export interface ShardPorts {
  /** Port of the shard's master. For master-slave, shard 0's master port is the published port. */
  master: number;
  /** Port of the shard's replica. */
  replica: number;
}

/**
 * Internal ports of one node, reached only by the instance's own nodes over mutually authenticated TLS
 * (a certificate from the service's CA); tenants use the client port.
 */
export interface NodeInternalPorts {
  /** TLS port: replication and key moves between the instance's nodes. */
  tls: number;
  /** Cluster bus port (native-cluster), also TLS; null for master-slave. */
  bus: number | null;
}

/** One proxy of a proxy cluster: where tenants reach it, and its statistics port (loopback only). */
export interface ProxyPorts {
  port: number;
  statsPort: number;
}

/** A logical spec with its ports. */
export interface LocalSpec extends Omit<InstanceSpec, 'shardCount' | 'requestedPort'> {
  /** One entry per shard (exactly one for master-slave). */
  shards: ShardPorts[];
  /** The proxies of a proxy cluster (`cluster`); absent for other topologies. */
  proxies?: ProxyPorts[];
  /** Internal ports of every node, keyed by the node's client port. */
  internalPorts: Record<number, NodeInternalPorts>;
}

/** What one redis-server node looks like right now, by its client port. */
export interface LocalNodeObservation extends Omit<NodeObservation, 'shard' | 'slot' | 'address'> {
  port: number;
}

/** What the topology code reports for an instance (local-driver.ts turns it into an Observation). */
export interface LocalObservation {
  healthy: boolean;
  problems: string[];
  drift?: string[];
  /** In plan order: each shard's master, then its replica. */
  nodes: LocalNodeObservation[];
  /** A proxy cluster's proxies, by port. */
  proxies?: { port: number; up: boolean }[];
  effectiveMaxClients: number;
  usedMemoryBytes: number;
}

/**
 * A port of the spec is held by something that is not this instance's node. local-driver.ts moves an
 * internal port, or a client port nobody knows yet; the published port of a live instance never moves.
 */
export class PortInUseError extends Error {
  override readonly name = 'PortInUseError';
  constructor(readonly port: number) {
    super(`port ${port} is in use by another process`);
  }
}
