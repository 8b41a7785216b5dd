/**
 * The seam between the engine and whatever runs Redis. Every method is idempotent and level-based:
 * it reads the world, moves it toward `spec`, and is safe to call again after a crash at any point.
 * Timeouts, logging and init-once live in `wrapDriver` (drivers/wrap-driver.ts), not in each driver.
 */

/**
 * Topology of an instance, as the driver must build it. `cluster` is JD's proxy cluster: shards (each a
 * master and a replica) behind proxies that spread keys over them (twemproxy in the local driver).
 */
export type InstanceTopology = 'master-slave' | 'native-cluster' | 'cluster';

/**
 * Everything a driver needs to build or repair one instance, in logical terms: how many shards, what
 * each node promises, who may connect. Where nodes run and on which ports is the driver's business; the
 * endpoint it publishes comes back in StepResult and Observation. Built by the engine from the store.
 */
export interface InstanceSpec {
  /** Instance id, e.g. `redis-abc123xyz0`; names the instance's resources. */
  id: string;
  topology: InstanceTopology;
  /** Shards (exactly one for master-slave), each a master and one replica. */
  shardCount: number;
  /** `maxmemory` of each master and replica, in MB. */
  memoryMbPerShard: number;
  /** Requested `maxclients` per node; the driver may cap it to what the host allows (see Observation). */
  maxClients: number;
  /** SHA-256 hex of the customer's password, or null for password-free (`nopass`). */
  passwordSha256: string | null;
  /**
   * The customer's password in clear, for topology `cluster` only: a proxy that compares passwords in
   * clear (twemproxy's `redis_auth`) needs it. Absent for other topologies and password-free instances.
   */
  password?: string;
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
  /** The endpoint port asked for at create (JD's `port`); a driver that cannot honour it says so. */
  requestedPort?: number;
  /**
   * Redis parameters the tenant changed (modifyInstanceConfig), by redis.conf name, on every node, kept
   * across restarts and repairs. Only names of TENANT_CONFIG_NAMES; the domain has checked each value.
   * Default: none (Redis's defaults).
   */
  redisConfig?: Readonly<Record<string, string>>;
  /**
   * Commands (lower case) the tenant disabled (setDisableCommands): denied to `default` and to every
   * account, beside the fixed deny list. Default none.
   */
  disabledCommands?: readonly string[];
  /** The tenant's Redis accounts beside `default` (createAccount): ACL users on every node. Default none. */
  accounts?: readonly TenantAccount[];
}

/** One Redis account of the tenant: an ACL user with the tenant deny list, read-write or read-only. */
export interface TenantAccount {
  /** ACL user name (the domain's account-name rule keeps it apart from `default` and internal users). */
  name: string;
  /** SHA-256 hex of its password. */
  passwordSha256: string;
  /** Read-only accounts are denied every command of Redis's `@write` category. */
  readOnly: boolean;
}

/**
 * Redis parameters a tenant may change (JD's describeInstanceConfig list); the driver writes no other
 * name from `redisConfig` into a node. `maxmemory-policy` is not here: it is InstanceSpec.maxmemoryPolicy.
 */
export const TENANT_CONFIG_NAMES = [
  'timeout',
  'hash-max-ziplist-entries',
  'hash-max-ziplist-value',
  'list-max-ziplist-size',
  'list-compress-depth',
  'set-max-intset-entries',
  'zset-max-ziplist-entries',
  'zset-max-ziplist-value',
  'slowlog-log-slower-than',
  'slowlog-max-len',
  'notify-keyspace-events',
] as const;

/** Where tenants reach the instance. Fixed for the instance's life (a type change aside). */
export interface Endpoint {
  host: string;
  port: number;
}

/**
 * What a step of the driver achieved: `done` (with the endpoint, once there is one), or `progressing`:
 * nothing is wrong, but the world is not there yet (a large sync, a pod being scheduled): the engine
 * looks again after `retryAfterMs` without counting a failed attempt. Failures are thrown.
 */
export type StepResult =
  | { state: 'done'; endpoint: Endpoint | null }
  | { state: 'progressing'; retryAfterMs: number; reason: string; endpoint: Endpoint | null };

/** What a driver can enforce on its host; known once `init` has run (before that, nothing is claimed). */
export interface DriverCapabilities {
  /**
   * Whether IP white lists other than `0.0.0.0/0` are enforced. When not, `reason` says why in words
   * an API caller can act on (e.g. nftables missing, or no CAP_NET_ADMIN).
   */
  ipWhiteList: { enforced: boolean; reason: string };
  /**
   * Which service processes can reach the nodes, and so run an instance's tasks and health checks.
   * `this-host` (the default when absent): only processes on the host that runs them, and only those
   * sharing `placement` (the local driver: node processes, Unix sockets and files in one data directory);
   * every service process on one store must then share it, and a process that would not is refused at
   * start. `any-process`: any process on any host (a remote driver, e.g. Kubernetes through its API
   * server); the store's leases alone decide which process does what, and the endpoint's `host` is where
   * tenants connect (for `this-host` it is a local bind address, and tenants use the advertised host).
   */
  nodesReachableFrom?: 'this-host' | 'any-process';
  /** For `this-host`: what the processes must share (the local driver: host name and data directory). Default: the host name. */
  placement?: string;
}

/** What one node looks like right now, by its place in the healthy layout. */
export interface NodeObservation {
  /** The shard it belongs to, and its role there when all is well. */
  shard: number;
  slot: 'master' | 'replica';
  /** What it is now. */
  role: 'master' | 'replica' | 'down';
  /** A process id, or anything that changes when the node was restarted. */
  pid: number | null;
  /** Where it listens (`host:port`), for diagnostics. */
  address: string | null;
  /** For a replica: `master_link_status:up`. For a master: number of connected replicas. */
  linkUp: boolean;
  connectedReplicas: number;
  maxmemoryBytes: number | null;
  maxclients: number | null;
  usedMemoryBytes: number | null;
  /** Replication offset, for choosing the freshest copy after a failure. */
  replOffset: number | null;
  /**
   * Optional counters read in the same call as the rest (INFO clients and stats), for metrics and the
   * console; null (or absent, for a driver that does not read them) when the node is down. Clients as
   * Redis counts them: the control plane's own connection and the replication link included.
   */
  connectedClients?: number | null;
  /** `instantaneous_ops_per_sec`. */
  opsPerSec?: number | null;
  /** Totals since the node started: `keyspace_hits`, `keyspace_misses`, `evicted_keys`. */
  keyspaceHits?: number | null;
  keyspaceMisses?: number | null;
  evictedKeys?: number | null;
}

/** One node's diagnostics (Driver.inspectNodes). */
export interface NodeDiagnostics {
  shard: number;
  slot: 'master' | 'replica';
  role: 'master' | 'replica';
  /** Where it listens, `host:port`. */
  address: string;
  /** Its slow log, newest first. */
  slowLog: { id: number; startUnixS: number; durationUs: number; args: string[]; clientAddr: string; clientName: string }[];
  /** Its tenant client connections. */
  clients: { addr: string; name: string; ageS: number; idleS: number; db: number; lastCmd: string }[];
}

/** One proxy of a `cluster` instance (Observation.proxies). */
export interface ProxyObservation {
  /** 0 for the proxy on the published endpoint. */
  index: number;
  /** Where tenants reach it, `host:port`. */
  address: string;
  /** It runs with the current configuration and answered through it. */
  up: boolean;
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
  /** Every node of the spec: each shard's master, then its replica. */
  nodes: NodeObservation[];
  /** The proxies of a `cluster` instance (absent for other topologies). */
  proxies?: ProxyObservation[];
  /** The endpoint the instance is published on, or null when it has none yet. */
  endpoint: Endpoint | null;
  /** The maxclients actually applied after capping by the host's file-descriptor limit. */
  effectiveMaxClients: number;
  /** Sum of used_memory over masters, in bytes. */
  usedMemoryBytes: number;
}

/** A failure that retrying will not fix (bad binary, impossible settings). The engine stops retrying. */
export class PermanentDriverError extends Error {
  override readonly name = 'PermanentDriverError';
}

/**
 * Which keys a data purge deletes (JD's startClearData). `all`: every key of every database;
 * `expired`: none deleted by name, the scan itself makes Redis reap keys whose TTL has passed;
 * `match`: keys whose name matches `pattern` (Redis glob) and every condition.
 */
export interface PurgeFilter {
  mode: 'all' | 'expired' | 'match';
  /** Redis glob (`test*`, `*test`, `ab*cc*`); `*` for every name. */
  pattern: string;
  /**
   * All must hold. `ttl`: seconds left before expiry (a key without expiry matches no `ttl` condition:
   * a TTL filter selects keys that will expire); `idle`: seconds since the key was last read or written.
   */
  conditions: ReadonlyArray<{ on: 'ttl' | 'idle'; op: 'eq' | 'gt' | 'lt'; value: number }>;
}

/** One batch of a purge's scan over one shard. */
export interface PurgeScanResult {
  /** Where the next batch starts (opaque to the caller), or null when the shard is scanned through. */
  cursor: string | null;
  /** Keys the batch found whose name matches (opaque references, JSON-safe): what purgeDelete is given. */
  candidates: string[];
  /** Keys the batch looked at, matching or not (measures progress). */
  examined: number;
  /** Keys the shard's master holds now, over every database (measures progress). */
  shardKeys: number;
  /** Keys Redis reaped as expired during the batch (mode `expired`; 0 otherwise). */
  reaped: number;
}

/** What Driver.snapshotShard made: one shard's RDB file, and where it came from. */
export interface ShardSnapshot {
  /**
   * `replica`: the shard's replica, once it had caught up with every write the master had acknowledged
   * when the snapshot was asked for (the master a tenant writes to is not forked). `master`: there was
   * no healthy replica; `reason` says why.
   */
  source: 'replica' | 'master';
  reason: string;
  /** Size of the file, in bytes. */
  bytes: number;
  /** Keys in the file (what redis-check-rdb counted). */
  keys: number;
  /** SHA-256 (hex) of the file, computed while redis-check-rdb read it. */
  sha256: string;
  /** The shard master's used_memory when the snapshot was taken: what a restore target must hold. */
  usedMemoryBytes: number;
}

/** How far a long change (a reshard, a type change) of one instance has got, in what the driver moves. */
export interface ChangeProgress {
  /** Units moved so far, of `total` (both 0 before the move is planned). */
  done: number;
  total: number;
  /** `slots` (hash slots moved between shards) or `keys` (keys copied into the new topology). */
  unit: 'slots' | 'keys';
}

/** One key as a cache analysis saw it (Driver.analysisScan). */
export interface KeySample {
  db: number;
  /** The name, as UTF-8 (a binary name shows replacement characters). */
  name: string;
  /** Redis TYPE: string, list, hash, set, zset, stream. */
  type: string;
  /** Bytes for a string (STRLEN), elements for the other types (LLEN, HLEN, SCARD, ZCARD, XLEN). */
  size: number;
  /** MEMORY USAGE (sampled for aggregates), in bytes. */
  bytes: number;
  /** OBJECT FREQ on the shard's master (LFU's logarithmic counter), when asked for; null otherwise. */
  freq: number | null;
}

/** One batch of a cache analysis over one shard. */
export interface AnalysisScanResult {
  /** Where the next batch starts (opaque), or null when the shard is scanned through. */
  cursor: string | null;
  keys: KeySample[];
  /** Keys the shard holds now, over every database (measures progress). */
  shardKeys: number;
  /** The node that was scanned: the shard's replica when it serves, else its master. */
  slot: 'master' | 'replica';
  /**
   * True when this batch starts the shard over although a cursor was given (the node it was made on no
   * longer serves the shard): what the caller tallied for the shard must be dropped.
   */
  restarted: boolean;
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
  /**
   * Makes every node of `spec` exist, run, carry the spec's settings and password, and be linked; moves
   * data when the shard count or topology changed; removes nodes the spec no longer has.
   */
  ensurePresent(spec: InstanceSpec, signal: AbortSignal): Promise<StepResult>;
  /** Stops every node of the instance and removes its files and reservations. Safe when nothing exists. */
  ensureAbsent(instanceId: string, signal: AbortSignal): Promise<StepResult>;
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
  /**
   * Optional: what every answering node of the instance reports for diagnostics (slow log, client
   * connections), read over the control plane's own channel; the control plane's and the replication
   * links' own connections and commands are left out. Changes nothing. Nodes that do not answer are
   * missing from the answer.
   */
  inspectNodes?(spec: InstanceSpec, signal: AbortSignal): Promise<NodeDiagnostics[]>;
  /**
   * Optional: calls `listener` with an instance's id when the driver learns, without being asked, that
   * the instance probably changed (a node's process died). The engine then checks it at once instead of
   * at its next periodic check. Returns the unsubscribe function.
   */
  watch?(listener: (instanceId: string) => void): () => void;
  /**
   * Optional (data purge): scans the next batch of shard `shard`'s master from `cursor` (null: the
   * start), about `count` keys. Starts over when the shard's master changed since the cursor was made
   * (a purge deletes nothing twice: purgeDelete only deletes what still matches).
   */
  purgeScan?(spec: InstanceSpec, shard: number, cursor: string | null, filter: PurgeFilter, count: number, signal: AbortSignal): Promise<PurgeScanResult>;
  /**
   * Optional (data purge): on shard `shard`'s master, atomically (one script per batch) deletes each of
   * `keys` (candidates from purgeScan) that exists and meets `filter`'s conditions. `absent`: keys that no longer exist.
   */
  purgeDelete?(spec: InstanceSpec, shard: number, keys: readonly string[], filter: PurgeFilter, signal: AbortSignal): Promise<{ deleted: number; absent: number }>;
  /**
   * Optional (backups): writes an RDB snapshot of shard `shard` to the local file `dest` (created or
   * replaced; its directory exists), taken from the shard's replica when it is healthy (see
   * ShardSnapshot.source), and checks it with redis-check-rdb. Changes nothing the tenant can see.
   */
  snapshotShard?(spec: InstanceSpec, shard: number, dest: string, signal: AbortSignal): Promise<ShardSnapshot>;
  /**
   * Optional (restore): makes the local RDB files `files` (made by snapshotShard, one per shard of the
   * backed-up instance; the caller has matched their checksums; a missing one is refused before anything is
   * touched) the whole data of the instance: file i becomes shard i's for a master-slave instance of one
   * shard; the keys of a native-cluster backup go to the shard owning their slot (any shard count, or a
   * master-slave instance). Afterwards the instance holds exactly that data but tenants are refused with
   * an error that says a restore is under way, until openAfterRestore; a replica may still be re-syncing
   * (the next ensurePresent finishes it). The nodes must exist (ensurePresent first). Safe to repeat: a
   * repeat starts over from the files.
   */
  replaceData?(spec: InstanceSpec, files: readonly string[], signal: AbortSignal): Promise<void>;
  /** Optional (restore, after replaceData): lets tenants in again. Safe to repeat, and when nothing is closed. */
  openAfterRestore?(spec: InstanceSpec, signal: AbortSignal): Promise<void>;
  /**
   * Optional: how far the reshard or type change of `instanceId` that ensurePresent is making (or last
   * made) in this process has got, `done === total` once it finished; null when the latest ensurePresent
   * of the instance moved nothing. Cheap and synchronous: the engine polls it while a resize runs.
   */
  changeProgress?(instanceId: string): ChangeProgress | null;
  /**
   * Optional (cache analysis): the next batch of about `count` keys of shard `shard`, read from its replica
   * (its master when no replica serves) over the control plane's channel, with each key's type, size and
   * memory; with `frequency`, each key's OBJECT FREQ read on the shard's master (an LFU policy only). Never
   * blocks a node for more than a batch; changes nothing (no key's access time or counter is touched).
   */
  analysisScan?(spec: InstanceSpec, shard: number, cursor: string | null, count: number, opts: { frequency: boolean }, signal: AbortSignal): Promise<AnalysisScanResult>;
  /** Optional (cache analysis): INFO commandstats summed over the shards' masters, per command. */
  commandStats?(spec: InstanceSpec, signal: AbortSignal): Promise<Array<{ name: string; calls: number; usec: number }>>;
  /** Releases connections and timers; leaves every instance running. */
  close(): Promise<void>;
}
