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

export interface Database {
  clear_data: ClearDataTable;
  accounts: AccountsTable;
  instance_tags: InstanceTagsTable;
  instances: InstancesTable;
  ports: PortsTable;
  port_quarantine: PortQuarantineTable;
  instance_events: InstanceEventsTable;
  tasks: TasksTable;
  used_signatures: UsedSignaturesTable;
}
