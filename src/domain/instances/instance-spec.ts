import type { InstanceSpec, InstanceTopology, NodeInternalPorts } from '../../drivers/driver.ts';
import type { PortsTable } from '../../store/schema.ts';
import type { InstanceRow } from './instance-mapper.ts';
import { storedIpWhiteList } from './ip-white-list.ts';

/** The role whose port is the instance's published endpoint: fixed for the instance's whole life. */
export const PUBLISHED_ROLE = 's0-master';

/**
 * Roles of the port reservations of an instance, in reservation order: per shard the client ports of
 * master and replica, their internal TLS ports (replication, MIGRATE) and, for a cluster, their bus ports.
 */
export function portRoles(shards: number, topology: string): string[] {
  const cluster = topology === 'native-cluster';
  return Array.from({ length: shards }, (_, s) =>
    (['master', 'replica'] as const).flatMap((n) => [`s${s}-${n}`, `s${s}-${n}-tls`, ...(cluster ? [`s${s}-${n}-bus`] : [])]),
  ).flat();
}

/** True for roles the driver may move to another port when a foreign process holds theirs. */
export function isInternalRole(role: string): boolean {
  return role.endsWith('-tls') || role.endsWith('-bus');
}

/** Builds the driver's spec from the stored row and its port reservations. */
export function toInstanceSpec(row: InstanceRow, ports: PortsTable[]): InstanceSpec {
  const byRole = new Map(ports.map((p) => [p.role, p.port]));
  const cluster = row.instance_type === 'native-cluster';
  const internalPorts: Record<number, NodeInternalPorts> = {};
  const node = (s: number, n: 'master' | 'replica'): number => {
    const client = byRole.get(`s${s}-${n}`);
    const tls = byRole.get(`s${s}-${n}-tls`);
    const bus = cluster ? byRole.get(`s${s}-${n}-bus`) : null;
    if (client === undefined || tls === undefined || bus === undefined) throw new Error(`instance ${row.id} has no ports reserved for shard ${s}'s ${n}`);
    internalPorts[client] = { tls, bus };
    return client;
  };
  const shards = Array.from({ length: row.shard_number }, (_, s) => ({ master: node(s, 'master'), replica: node(s, 'replica') }));
  return {
    id: row.id,
    topology: row.instance_type as InstanceTopology,
    shards,
    internalPorts,
    memoryMbPerShard: row.memory_mb_per_shard,
    maxClients: row.max_connections,
    passwordSha256: row.password_sha256,
    databases: row.db_num,
    maxmemoryPolicy: row.maxmemory_policy,
    ipWhiteList: storedIpWhiteList(row.ip_white_list),
  };
}
