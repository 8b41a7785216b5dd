import type { Redis } from 'ioredis';
import { TENANT_CONFIG_NAMES } from '../driver.ts';
import { ADMIN_USER, passwordRule } from './acl-rules.ts';
import { memoryGuardSettings } from './memory-guard.ts';

/** What one running node reports about itself (INFO, CONFIG GET, ACL GETUSER default). Read-only. */
export interface NodeState {
  pid: number;
  tcpPort: number;
  configFile: string;
  role: 'master' | 'replica';
  /** For a replica: the port it replicates from (its master's TLS port). */
  masterPort: number | null;
  /** For a replica: `master_link_status:up` and no sync in progress. */
  linkUp: boolean;
  /** For a replica: a full sync is being received. */
  syncInProgress: boolean;
  /** For a replica whose link is down: seconds since it went down (-1: never connected). */
  linkDownSinceSeconds: number;
  /**
   * For a master: ports of connected replicas. Any state counts: after a diskless sync the master marks
   * a replica `online` only at its first REPLCONF ACK (up to a second later); the replica's own
   * `master_link_status` is the authoritative "link up".
   */
  replicaPorts: number[];
  connectedReplicas: number;
  replOffset: number;
  loading: boolean;
  /**
   * An AOF rewrite runs or waits to run. After a full sync a node rebuilds its AOF this way, and until
   * that finishes, writes it accepts are not yet in the AOF its restart would load.
   */
  aofRewriting: boolean;
  /** `aof_last_write_status` is not ok: the node cannot persist (disk full, unwritable directory). */
  aofWriteFailing: boolean;
  maxmemoryBytes: number;
  maxclients: number;
  maxmemoryPolicy: string;
  usedMemoryBytes: number;
  /** INFO clients and stats, read in the same call (metrics and the console's charts). */
  connectedClients: number;
  opsPerSec: number;
  keyspaceHits: number;
  keyspaceMisses: number;
  evictedKeys: number;
  defaultUser: { enabled: boolean; nopass: boolean; passwords: string[] };
  /** INFO server, replication, memory, persistence, clients and stats, as read (Lua heap sizes live here). */
  info: ReadonlyMap<string, string>;
  /** `ACL LIST`: every user the node knows, with its rules. */
  aclList: string[];
  /** The certificate file the node's TLS links run with (its name carries the CA generation). */
  tlsCertFile: string;
  /** The node's values of the parameters tenants may change (TENANT_CONFIG_NAMES), as CONFIG GET prints them. */
  tenantConfig: ReadonlyMap<string, string>;
}

/** INFO of the given sections, parsed (parseInfo). */
export async function readInfo(client: Redis, ...sections: string[]): Promise<Map<string, string>> {
  return parseInfo(String(await client.call('INFO', ...sections)));
}

/** Parses INFO text into a map (section headers and blank lines dropped). */
export function parseInfo(text: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const line of text.split('\r\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const i = line.indexOf(':');
    if (i > 0) map.set(line.slice(0, i), line.slice(i + 1));
  }
  return map;
}

function pairs(reply: unknown): Map<string, unknown> {
  const map = new Map<string, unknown>();
  if (Array.isArray(reply)) for (let i = 0; i + 1 < reply.length; i += 2) map.set(String(reply[i]), reply[i + 1]);
  return map;
}

function num(value: string | undefined): number {
  const n = Number(value);
  return Number.isFinite(n) ? n : 0;
}

/** Reads a node's state in one round trip. */
export async function readNodeState(client: Redis): Promise<NodeState> {
  const results = await client
    .pipeline()
    .call('INFO', 'server', 'replication', 'memory', 'persistence', 'clients', 'stats')
    .call('CONFIG', 'GET', 'port', 'maxmemory', 'maxclients', 'maxmemory-policy', 'tls-cert-file', ...TENANT_CONFIG_NAMES)
    .call('ACL', 'LIST')
    .exec();
  if (!results) throw new Error('pipeline returned nothing');
  for (const [err] of results) if (err) throw err;
  const info = parseInfo(String(results[0]?.[1]));
  const config = pairs(results[1]?.[1]);
  const aclList = ((results[2]?.[1] as unknown[] | undefined) ?? []).map(String);
  // The default user's flags and password hashes, from its ACL LIST line (`user default on #<hash> …`).
  const tokens = (aclList.find((l) => l.startsWith('user default ')) ?? '').split(' ').slice(2);
  const role = info.get('role') === 'master' ? 'master' : 'replica';
  const replicaPorts: number[] = [];
  for (const [key, value] of info) {
    if (!/^slave\d+$/.test(key)) continue;
    const fields = new Map(value.split(',').map((kv) => kv.split('=') as [string, string]));
    replicaPorts.push(num(fields.get('port')));
  }
  return {
    pid: num(info.get('process_id')),
    // A client port closed (`port 0`, as a restore leaves it while it loads) shows in INFO as the TLS
    // port: 0 says what it is, and the repair reopens it (reopen-client-port.ts).
    tcpPort: config.get('port') === '0' ? 0 : num(info.get('tcp_port')),
    configFile: info.get('config_file') ?? '',
    role,
    masterPort: role === 'replica' ? num(info.get('master_port')) : null,
    linkUp: role === 'replica' && info.get('master_link_status') === 'up' && info.get('master_sync_in_progress') === '0',
    replicaPorts,
    syncInProgress: info.get('master_sync_in_progress') === '1',
    linkDownSinceSeconds: Number(info.get('master_link_down_since_seconds') ?? -1),
    connectedReplicas: num(info.get('connected_slaves')),
    replOffset: num(info.get('master_repl_offset')),
    loading: info.get('loading') === '1',
    aofRewriting: info.get('aof_rewrite_in_progress') === '1' || info.get('aof_rewrite_scheduled') === '1',
    aofWriteFailing: (info.get('aof_last_write_status') ?? 'ok') !== 'ok',
    maxmemoryBytes: num(config.get('maxmemory') as string | undefined),
    maxclients: num(config.get('maxclients') as string | undefined),
    maxmemoryPolicy: String(config.get('maxmemory-policy') ?? ''),
    usedMemoryBytes: num(info.get('used_memory')),
    connectedClients: num(info.get('connected_clients')),
    opsPerSec: num(info.get('instantaneous_ops_per_sec')),
    keyspaceHits: num(info.get('keyspace_hits')),
    keyspaceMisses: num(info.get('keyspace_misses')),
    evictedKeys: num(info.get('evicted_keys')),
    defaultUser: {
      enabled: tokens.includes('on'),
      nopass: tokens.includes('nopass'),
      passwords: tokens.filter((t) => /^#[0-9a-f]{64}$/.test(t)).map((t) => t.slice(1)),
    },
    info,
    aclList,
    tlsCertFile: String(config.get('tls-cert-file') ?? ''),
    tenantConfig: new Map(TENANT_CONFIG_NAMES.filter((n) => config.has(n)).map((n) => [n, String(config.get(n))])),
  };
}

/** True when the node's default user accepts exactly the spec's password (or none, for null). */
export function passwordMatches(state: NodeState, passwordSha256: string | null): boolean {
  const u = state.defaultUser;
  if (!u.enabled) return false;
  if (passwordSha256 === null) return u.nopass;
  return !u.nopass && u.passwords.length === 1 && u.passwords[0] === passwordSha256;
}

/** The class settings a node must carry. */
export interface NodeSettings {
  maxmemoryBytes: number;
  maxClients: number;
  maxmemoryPolicy: string;
}

export function settingsMatch(state: NodeState, settings: NodeSettings): boolean {
  return (
    state.maxmemoryBytes === settings.maxmemoryBytes &&
    state.maxclients === settings.maxClients &&
    state.maxmemoryPolicy === settings.maxmemoryPolicy
  );
}

/**
 * Whether a node's value of a tenant parameter is the one asked for. Redis prints
 * notify-keyspace-events in its own order and folds the classes into `A` (`KEA` comes back `AKE`), so
 * those are compared as sets of classes.
 */
export function sameConfigValue(name: string, want: string, got: string | undefined): boolean {
  if (got === undefined) return false;
  if (name !== 'notify-keyspace-events') return want === got;
  const classes = (v: string): string => [...new Set(v.replace('A', 'g$lshzxetd'))].sort().join('');
  return classes(want) === classes(got);
}

/**
 * The tenant parameters whose value on the node differs from `wanted`, as name → wanted value. A name
 * outside TENANT_CONFIG_NAMES is refused before anything reaches CONFIG SET.
 */
export function tenantConfigDifference(state: NodeState, wanted: Readonly<Record<string, string>> = {}): Map<string, string> {
  for (const name of Object.keys(wanted)) {
    if (!(TENANT_CONFIG_NAMES as readonly string[]).includes(name)) throw new Error(`"${name}" is not a parameter tenants may set`);
  }
  return new Map(Object.entries(wanted).filter(([name, value]) => !sameConfigValue(name, value, state.tenantConfig.get(name))));
}

/**
 * Applies the class settings live, with the client-memory bounds that follow from maxmemory. Redis 7
 * applies a multi-parameter CONFIG SET atomically.
 */
export async function applyNodeSettings(client: Redis, settings: NodeSettings): Promise<void> {
  await client.call(
    'CONFIG',
    'SET',
    'maxmemory',
    String(settings.maxmemoryBytes),
    'maxclients',
    String(settings.maxClients),
    'maxmemory-policy',
    settings.maxmemoryPolicy,
    ...memoryGuardSettings(settings.maxmemoryBytes).flat(),
  );
}

/**
 * Puts the node's ACL users back to exactly what the control plane wrote: each user's rules re-applied
 * from scratch (`reset` first, so nothing added since survives) and any other user deleted, which also
 * disconnects whoever logged in as it. The admin user is only added to, never reset: the control plane
 * is logged in as it on this very connection.
 */
export async function applyAclUsers(client: Redis, rules: ReadonlyMap<string, string>): Promise<void> {
  const list = ((await client.call('ACL', 'LIST')) as unknown[]).map(String);
  const names = list.map((line) => line.split(' ')[1] ?? '').filter((n) => n !== '' && !rules.has(n));
  const p = client.multi();
  for (const name of names) p.call('ACL', 'DELUSER', name);
  for (const [name, r] of rules) p.call('ACL', 'SETUSER', name, ...(name === ADMIN_USER ? [] : ['reset']), ...r.split(' '));
  const replies = (await p.exec()) ?? [];
  for (const [err] of replies) if (err) throw err;
}

/**
 * Replaces the default user's password live. Open connections stay authenticated (Redis checks the
 * password only at AUTH); new ones need the new password, the old one is refused.
 */
export async function applyNodePassword(client: Redis, passwordSha256: string | null): Promise<void> {
  // `on` too: a default user found disabled is part of the drift being repaired.
  await client.call('ACL', 'SETUSER', 'default', 'on', 'resetpass', passwordRule(passwordSha256));
}
