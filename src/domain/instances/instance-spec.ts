import type { InstanceSpec, InstanceTopology } from '../../drivers/driver.ts';
import type { PortsTable } from '../../store/schema.ts';
import type { InstanceRow } from './instance-mapper.ts';
import { storedIpWhiteList } from './ip-white-list.ts';

/** Roles of the port reservations of an instance with `shards` shards, in reservation order. */
export function portRoles(shards: number): string[] {
  return Array.from({ length: shards }, (_, s) => [`s${s}-master`, `s${s}-replica`]).flat();
}

/** Builds the driver's spec from the stored row and its port reservations. */
export function toInstanceSpec(row: InstanceRow, ports: PortsTable[]): InstanceSpec {
  const byRole = new Map(ports.map((p) => [p.role, p.port]));
  const shards = Array.from({ length: row.shard_number }, (_, s) => {
    const master = byRole.get(`s${s}-master`);
    const replica = byRole.get(`s${s}-replica`);
    if (master === undefined || replica === undefined) throw new Error(`instance ${row.id} has no ports reserved for shard ${s}`);
    return { master, replica };
  });
  return {
    id: row.id,
    topology: row.instance_type as InstanceTopology,
    shards,
    memoryMbPerShard: row.memory_mb_per_shard,
    maxClients: row.max_connections,
    passwordSha256: row.password_sha256,
    databases: row.db_num,
    maxmemoryPolicy: row.maxmemory_policy,
    ipWhiteList: storedIpWhiteList(row.ip_white_list),
  };
}
