import type { InstanceSpec, InstanceTopology } from '../../drivers/driver.ts';
import { storedAccounts, storedDisabledCommands, storedRedisConfig } from '../settings/tenant-settings.ts';
import type { InstanceRow } from './instance-mapper.ts';
import { storedIpWhiteList } from './ip-white-list.ts';
import type { PasswordSeal } from './password-seal.ts';

/**
 * Builds the driver's spec from the stored row: logical nodes only (the driver places them). `seal` opens
 * the kept password that a proxy cluster's proxies need (password-seal.ts).
 */
export function toInstanceSpec(row: InstanceRow, seal: PasswordSeal): InstanceSpec {
  return {
    id: row.id,
    topology: row.instance_type as InstanceTopology,
    shardCount: row.shard_number,
    memoryMbPerShard: row.memory_mb_per_shard,
    maxClients: row.max_connections,
    passwordSha256: row.password_sha256,
    ...(row.instance_type === 'cluster' && row.proxy_password ? { password: seal.open(row.id, row.proxy_password) } : {}),
    databases: row.db_num,
    maxmemoryPolicy: row.maxmemory_policy,
    ipWhiteList: storedIpWhiteList(row.ip_white_list),
    ...(row.requested_port === null ? {} : { requestedPort: row.requested_port }),
    redisConfig: storedRedisConfig(row),
    disabledCommands: storedDisabledCommands(row).map((c) => c.command.toLowerCase()),
    accounts: storedAccounts(row).map((a) => ({ name: a.name, passwordSha256: a.passwordSha256, readOnly: a.privilege === 'RoleReadOnly' })),
  };
}

