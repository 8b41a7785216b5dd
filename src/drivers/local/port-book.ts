/**
 * Where the local driver keeps its port reservations: the store, shared by every service process (main.ts
 * hands in the store's implementation). Roles name a logical node's port: `<topology>-s<shard>-<node>`
 * for the client port, plus `-tls` (internal TLS port) and, for clusters, `-bus` (cluster bus port).
 */
import type { InstanceSpec, InstanceTopology } from '../driver.ts';

export interface PortBook {
  /** The instance's reserved ports by role. */
  list(instanceId: string): Promise<Map<string, number>>;
  /**
   * Reserves one port per role not yet reserved, at random among free, not quarantined ports outside
   * `avoid`; `exact` asks for given ports. Returns every reservation of the instance. Throws an error
   * named `NoFreePortsError` when the range cannot hold them (nothing is reserved then).
   */
  reserve(instanceId: string, roles: readonly string[], opts?: { exact?: ReadonlyMap<string, number>; avoid?: ReadonlySet<number> }): Promise<Map<string, number>>;
  /** Gives up the reservations of `roles` (all when absent); their ports go into quarantine. */
  release(instanceId: string, roles?: readonly string[]): Promise<void>;
  /** Reserves another port for `role`, dropping its current one without quarantine (someone else holds it). */
  move(instanceId: string, role: string, avoid: ReadonlySet<number>): Promise<number>;
  /** The range, for messages. */
  readonly range: { from: number; to: number };
}

/** The book's "range exhausted" error (the store defines the class; the driver knows it by name). */
export const isNoFreePorts = (err: unknown): boolean => err instanceof Error && err.name === 'NoFreePortsError';

const PREFIX: Record<InstanceTopology, string> = { 'master-slave': 'ms', 'native-cluster': 'nc', cluster: 'px' };

/** The client-port role of shard `s`'s master or replica in `topology`. */
export function nodeRole(topology: InstanceTopology, s: number, node: 'master' | 'replica'): string {
  return `${PREFIX[topology]}-s${s}-${node}`;
}

/**
 * Proxies of a proxy cluster: one per shard, as JD runs them (reference §6.2: `redis.c1.*` list as many
 * proxies as shards; describeSpecConfig's `ipNumberList` [8, 14, 26] for [2, 4, 8] shards is 3 per shard
 * plus 2: master, replica and proxy per shard, and the load balancer's).
 */
export const proxyCount = (spec: Pick<InstanceSpec, 'topology' | 'shardCount'>): number => (spec.topology === 'cluster' ? spec.shardCount : 0);

/** The client-port role of proxy `k` of a proxy cluster; `-stats` is its statistics port (loopback). */
export const proxyRole = (k: number): string => `px-proxy${k}`;

/** The role of the published endpoint: shard 0's master, or a proxy cluster's first proxy. */
export const publishedRole = (topology: InstanceTopology): string => (topology === 'cluster' ? proxyRole(0) : nodeRole(topology, 0, 'master'));

/** Every role an instance of `spec` needs, in reservation order. */
export function rolesOf(spec: Pick<InstanceSpec, 'topology' | 'shardCount'>): string[] {
  const cluster = spec.topology === 'native-cluster';
  const roles: string[] = [];
  for (let s = 0; s < spec.shardCount; s++) {
    for (const n of ['master', 'replica'] as const) {
      const base = nodeRole(spec.topology, s, n);
      roles.push(base, `${base}-tls`, ...(cluster ? [`${base}-bus`] : []));
    }
  }
  for (let k = 0; k < proxyCount(spec); k++) roles.push(proxyRole(k), `${proxyRole(k)}-stats`);
  return roles;
}

/** True for a role whose port only the instance's own nodes (or the host's loopback) use. */
export const isInternalRole = (role: string): boolean => role.endsWith('-tls') || role.endsWith('-bus') || role.endsWith('-stats');
