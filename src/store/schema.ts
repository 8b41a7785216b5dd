import type { Generated } from 'kysely';

/** Table and row types of the store. Rows are not domain objects: see domain/instances/instance-mapper.ts. */
export interface AccountsTable {
  access_key: string;
  /** Kept in clear because HMAC verification needs it; the database file is mode 0600. */
  secret_key: string;
  created_at: string;
}

export interface InstancesTable {
  id: string;
  account: string;
  region: string;
  name: string;
  description: string;
  instance_class: string;
  instance_type: string;
  redis_version: string;
  shard_number: number;
  memory_mb_per_shard: number;
  max_connections: number;
  status: string;
  status_reason: string;
  /** SHA-256 hex of the password; null means password-free. Never the clear password. */
  password_sha256: string | null;
  /** The password in clear for a proxy cluster (twemproxy needs it), else null (migration 0009). */
  proxy_password?: string | null;
  az_master: string;
  az_slave: string;
  vpc_id: string;
  subnet_id: string;
  ipv6_on: number;
  db_num: number;
  maxmemory_policy: string;
  charge_mode: string;
  charge_unit: string | null;
  charge_duration: number | null;
  auto_renew: number;
  charge_start_time: string;
  charge_expired_time: string | null;
  resource_group_id: string;
  order_num: string;
  buy_id: string;
  create_time: string;
  /** Milliseconds since the epoch, for stable sorting of equal-second createTimes. */
  created_ms: number;
  /** The port the driver publishes the instance on; null until it has one. */
  endpoint_port: number | null;
  /** The endpoint's host as an `any-process` driver publishes it (0012); null: the advertised host. */
  endpoint_host?: string | null;
  /** The endpoint port asked for at create (JD's `port`), or null. */
  requested_port: number | null;
  /** JSON array of normalized IPv4 CIDRs that may connect; `["0.0.0.0/0"]` admits anyone. */
  ip_white_list: string;
  /** JSON object, redis.conf name → value, of the Redis parameters the tenant changed. */
  redis_config: string;
  /** JSON array of `{command, disableTime}`: commands the tenant disabled for every account. */
  disabled_commands: string;
  /** JSON array of `{name, passwordSha256, privilege, description}`: the tenant's Redis accounts beside `default`. */
  redis_accounts: string;
}

export interface PortsTable {
  port: number;
  instance_id: string;
  /**
   * `s<shard>-master` / `s<shard>-replica` (client ports), `…-tls` (internal TLS port of that node),
   * `…-bus` (cluster bus port), or any of these behind `retired-` while a reshard drains the node.
   */
  role: string;
}

/** What happened to an instance (status changes, tasks, repairs), newest last; pruned per instance. */
export interface InstanceEventsTable {
  id: Generated<number>;
  instance_id: string;
  at_ms: number;
  /** `status`, `task-started`, `task-finished`, `task-failed`, `repair`, … (engine/engine-events.ts). */
  type: string;
  /** JSON with the event's fields. */
  data: string;
}

/** Ports released lately, and until when no instance may reserve them again. */
export interface PortQuarantineTable {
  port: number;
  until_ms: number;
}

export interface TasksTable {
  id: Generated<number>;
  instance_id: string;
  kind: string;
  /** JSON with the task's parameters (never a clear password). */
  payload: string;
  state: string;
  attempts: number;
  last_error: string;
  next_run_ms: number;
  created_ms: number;
  updated_ms: number;
  /** The service process that holds the task (engine/engine.ts), or '' when none does. */
  lease_owner: Generated<string>;
  /** Until when that process holds it: after this another process may claim it (a dead holder). */
  lease_until_ms: Generated<number>;
}

/** One row per rule that serialises its writers with a row lock (store/store-locks.ts). */
export interface StoreLocksTable {
  name: string;
  taken: number;
}

/** Live service processes: each renews its heartbeat while it runs (store/leases-repo.ts). */
export interface ServiceProcessesTable {
  id: string;
  started_ms: number;
  heartbeat_ms: number;
  /** Where its driver reaches nodes from: `*` (any process), else the host and data directory (0012; '' before). */
  nodes_reach: Generated<string>;
}

/** Which service process health-checks an instance, until when (store/leases-repo.ts). */
export interface HealthLeasesTable {
  instance_id: string;
  owner: string;
  until_ms: number;
}

/** User tags given at create, one row each, so tag filters are plain SQL on every dialect. */
export interface InstanceTagsTable {
  instance_id: string;
  key: string;
  value: string;
}

/**
 * Signatures of accepted API requests, for replay protection (domain/replay-guard.ts). Primary key
 * (expires_ms, signature): a signature covers its request's date, so it always comes with the same
 * expiry.
 */
export interface UsedSignaturesTable {
  /** Milliseconds since the epoch after which the request fails the clock-skew check anyway. */
  expires_ms: number;
  /** The first 32 hex characters (128 bits) of the request's signature. */
  signature: string;
}

/** The latest data purge of an instance (startClearData) and where its task stands. */
export interface ClearDataTable {
  instance_id: string;
  /** The engine task (tasks.id) that runs it. */
  task_id: number;
  /** JD's clearType, keyPattern, keyFilter (JSON array) and qpsLimit as asked. */
  clear_type: string;
  key_pattern: string;
  key_filter: string;
  qps_limit: number;
  /** `running`, `success` or `failed` (JD's). */
  status: string;
  message: string;
  /** Percent done, measured from the keys scanned (engine/handlers/clear-data-handler.ts). */
  progress: number;
  /** Keys deleted so far. */
  effect_keys: number;
  /** JSON: per-shard cursors and counts, and the batch being deleted (engine/handlers/clear-data-state.ts). */
  state: string;
  /** 1 once stopClearData asked the task to stop. */
  stop_requested: number;
  started_ms: number;
  /** When `status` last changed. */
  transition_ms: number;
}

/** One backup (createBackup or the schedule): what describeBackups shows and where its files are. */
export interface BackupsTable {
  /** JD's baseId. */
  base_id: string;
  account: string;
  region: string;
  /** The instance it was taken of; the row outlives the instance until retention removes it. */
  instance_id: string;
  file_name: string;
  /** JD's backupType: 1 manual, 0 automatic. */
  backup_type: number;
  /** JD's backupStatus: 0 running, 1 failed, 2 succeeded. */
  status: number;
  /** Why it failed (empty otherwise). */
  message: string;
  start_ms: number;
  end_ms: number | null;
  /** Bytes of all its files. */
  size: number;
  shard_num: number;
  shard_memory_mb: number;
  instance_type: string;
  /** Which node each shard's snapshot came from (`replica`, or `master` when no replica was healthy), comma-joined by shard. */
  source: string;
  /** The largest shard master's used_memory when its snapshot was taken: what a restore target must hold per shard. */
  data_bytes: number;
  /** JSON array of `{shard, key, bytes, sha256, keys}`, one per shard, in the backup file store. */
  files: string;
  task_id: number;
  /** `YYYY-MM-DD` (in the policy's time zone) of a scheduled backup; null for a manual one. */
  auto_day: string | null;
}

/** An instance's automatic backup policy (modifyBackupPolicy); no row: JD's default. */
export interface BackupPoliciesTable {
  instance_id: string;
  auto_backup: number;
  /** JD's `HH:mm-HH:mm +0800` window. */
  backup_time: string;
  /** Comma list of JD's day names, `Monday`…`Sunday`. */
  backup_period: string;
  updated_ms: number;
}

/** The restore in progress on an instance (restoreInstance or a create from a backup) and its step. */
export interface RestoresTable {
  instance_id: string;
  task_id: number;
  base_id: string;
  /** `fetching` until the nodes were given the backup's data, then `placed`. */
  phase: string;
  started_ms: number;
}

/** How far a resize task's data move has got, as the driver reported it (engine/handlers/resize-progress.ts). */
export interface TaskProgressTable {
  /** The engine task (tasks.id). */
  task_id: number;
  instance_id: string;
  /** Units moved of the units to move (`slots` for a reshard, `keys` for a type change); 0 of 0 before any. */
  done: number;
  total: number;
  unit: string;
  /** When the engine first ran the task; updated at each report. */
  started_ms: number;
  updated_ms: number;
}

/** One cache analysis run (createCacheAnalysis, createBigKeyAnalysis*, or the daily automatic one). */
export interface CacheAnalysesTable {
  /** JD's taskId. */
  id: string;
  instance_id: string;
  /** The engine task (tasks.id) that runs it. */
  task_id: number;
  /** 1 when started by the daily automatic analysis. */
  automatic: number;
  /** `running`, `success`, `error` or `manual_stop`. */
  status: string;
  message: string;
  /** JSON: the big-key thresholds and top size it runs with. */
  thresholds: string;
  /** JSON: per-shard cursors and the running tallies (engine/handlers/cache-analysis-state.ts). */
  state: string;
  /** JSON: the finished result (big keys, hot keys, command tops, distributions, per node counts). */
  result: string;
  stop_requested: number;
  /** The day it started (`yyyy-MM-dd`, UTC+8 as JD's consoles count days), for the by-date lists. */
  day: string;
  started_ms: number;
  /** 0 while running. */
  finished_ms: number;
}

/** An instance's analysis settings, once the tenant changed them (defaults otherwise). */
export interface AnalysisSettingsTable {
  instance_id: string;
  /** JD's `HH:mm-HH:mm +0800` window for the daily automatic analysis, or `-` (off). */
  analysis_time: string;
  /** JSON: stringSize, listSize, hashSize, setSize, zsetSize, top. */
  thresholds: string;
  /** The last day (`yyyy-MM-dd`, in the window's zone) an automatic analysis was started. */
  last_auto_day: string;
}

export interface Database {
  backups: BackupsTable;
  backup_policies: BackupPoliciesTable;
  restores: RestoresTable;
  task_progress: TaskProgressTable;
  cache_analyses: CacheAnalysesTable;
  analysis_settings: AnalysisSettingsTable;
  clear_data: ClearDataTable;
  accounts: AccountsTable;
  instance_tags: InstanceTagsTable;
  instances: InstancesTable;
  ports: PortsTable;
  port_quarantine: PortQuarantineTable;
  instance_events: InstanceEventsTable;
  tasks: TasksTable;
  used_signatures: UsedSignaturesTable;
  store_locks: StoreLocksTable;
  service_processes: ServiceProcessesTable;
  health_leases: HealthLeasesTable;
}
