/**
 * The seam between the engine and whatever runs Redis. Every method is idempotent and level-based:
 * it reads the world, moves it toward `spec`, and is safe to call again after a crash at any point.
 * Timeouts, logging and init-once live in `wrapDriver` (drivers/wrap-driver.ts), not in each driver.
 */

/** Topology of an instance, as the driver must build it. */
export type InstanceTopology = 'master-slave' | 'native-cluster';

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

/** Everything a driver needs to build or repair one instance. Built by the engine from the store. */
export interface InstanceSpec {
  /** Instance id, e.g. `redis-abc123xyz0`; names the data directory. */
  id: string;
  topology: InstanceTopology;
  /** One entry per shard (exactly one for master-slave). */
  shards: ShardPorts[];
  /** Internal ports of every node, keyed by the node's client port. */
  internalPorts: Record<number, NodeInternalPorts>;
  /** `maxmemory` of each master and replica, in MB. */
  memoryMbPerShard: number;
  /** Requested `maxclients` per node; the driver may cap it to what the host allows (see Observation). */
  maxClients: number;
  /** SHA-256 hex of the customer's password, or null for password-free (`nopass`). */
  passwordSha256: string | null;
  /** `databases` setting (default 16). */
  databases: number;
  /** `maxmemory-policy` (default `volatile-lru`). */
  maxmemoryPolicy: string;
  /**
   * IPv4 CIDRs (`a.b.c.d/n`, host bits clear, no duplicates) that may connect to the instance's client
   * ports; `['0.0.0.0/0']` (the default) admits anyone. Loopback entries admit no one (JD: `127.0.0.1`
   * means "nobody").
   */
  ipWhiteList: string[];
}

/** What a driver can enforce on its host; known once `init` has run (before that, nothing is claimed). */
export interface DriverCapabilities {
  /**
   * Whether IP white lists other than `0.0.0.0/0` are enforced. When not, `reason` says why in words
   * an API caller can act on (e.g. nftables missing, or no CAP_NET_ADMIN).
   */
  ipWhiteList: { enforced: boolean; reason: string };
}

/** What one redis-server node looks like right now. */
export interface NodeObservation {
  port: number;
  role: 'master' | 'replica' | 'down';
  pid: number | null;
  /** For a replica: `master_link_status:up`. For a master: number of connected replicas. */
  linkUp: boolean;
  connectedReplicas: number;
  maxmemoryBytes: number | null;
  maxclients: number | null;
  usedMemoryBytes: number | null;
  /** Replication offset, for choosing the freshest copy after a failure. */
  replOffset: number | null;
}

/** The result of `observe`: healthy means "running, verified" for the instance's topology. */
export interface Observation {
  healthy: boolean;
  /** Human-readable reasons why not healthy (empty when healthy). */
  problems: string[];
  /**
   * Changes the driver would make although the instance serves as it should (a certificate from the
   * previous CA generation after a rotation): the engine converges them without calling it unhealthy.
   */
  drift?: string[];
  nodes: NodeObservation[];
  /** The maxclients actually applied after capping by the host's file-descriptor limit. */
  effectiveMaxClients: number;
  /** Sum of used_memory over masters, in bytes. */
  usedMemoryBytes: number;
}

/** A failure that retrying will not fix (bad binary, impossible settings). The engine stops retrying. */
export class PermanentDriverError extends Error {
  override readonly name = 'PermanentDriverError';
}

export interface Driver {
  /** Short name for logs, e.g. `local`. */
  readonly name: string;
  /** Topologies this driver can build; the API does not offer classes of other types. */
  readonly topologies: readonly InstanceTopology[];
  /** What this host can enforce; filled by `init`. */
  readonly capabilities: DriverCapabilities;
  /** Checks the environment once (binary present and recent enough, data dir writable). */
  init(signal: AbortSignal): Promise<void>;
  /** Makes every node of `spec` exist, run, carry the spec's settings and password, and be linked. */
  ensurePresent(spec: InstanceSpec, signal: AbortSignal): Promise<void>;
  /** Stops every node of the instance and removes its files. Safe when nothing exists. */
  ensureAbsent(instanceId: string, signal: AbortSignal): Promise<void>;
  /** Reads the instance's current state with its own credentials; never changes anything. */
  observe(spec: InstanceSpec, signal: AbortSignal): Promise<Observation>;
  /** Applies memory / maxclients / policy live, without restart or data loss. */
  applySettings(spec: InstanceSpec, signal: AbortSignal): Promise<void>;
  /** Applies `spec.passwordSha256` live on every node; open connections stay authenticated. */
  setPassword(spec: InstanceSpec, signal: AbortSignal): Promise<void>;
  /**
   * Makes only `spec.ipWhiteList` able to reach the instance's client ports (atomically; nodes are not
   * touched). `ensurePresent` applies it too and `observe` reports rules that drifted. Throws when the
   * list is not `0.0.0.0/0` and `capabilities.ipWhiteList.enforced` is false.
   */
  applyIpWhiteList(spec: InstanceSpec, signal: AbortSignal): Promise<void>;
  /** Releases connections and timers; leaves every instance running. */
  close(): Promise<void>;
}

/**
 * A port of the spec is held by something that is not this instance's node. The engine moves an internal
 * port, or a client port of an instance that never ran; the published port of a live instance never moves.
 */
export class PortInUseError extends Error {
  override readonly name = 'PortInUseError';
  constructor(readonly port: number) {
    super(`port ${port} is in use by another process`);
  }
}
