import type { InstancesTable } from '../../src/store/schema.ts';

/**
 * A complete instances row for seeding the store directly (list tests, the API benchmark). Rows
 * seeded this way have no processes behind them: keep them out of `running`/`error` in a store that
 * an engine watches, or it will try to repair them.
 */
export function instanceRow(overrides: Partial<InstancesTable> & Pick<InstancesTable, 'id' | 'account'>): InstancesTable {
  return {
    region: 'cn-north-1',
    name: 'seeded',
    description: '',
    instance_class: 'redis.m.micro.basic',
    instance_type: 'master-slave',
    redis_version: '4.0',
    shard_number: 1,
    memory_mb_per_shard: 1024,
    max_connections: 10000,
    status: 'creating',
    status_reason: '',
    password_sha256: null,
    az_master: 'cn-north-1a',
    az_slave: 'cn-north-1b',
    vpc_id: 'vpc-a',
    subnet_id: 'subnet-a',
    ipv6_on: 0,
    db_num: 16,
    maxmemory_policy: 'volatile-lru',
    charge_mode: 'postpaid_by_duration',
    charge_unit: null,
    charge_duration: null,
    auto_renew: 0,
    charge_start_time: '2026-01-01T00:00:00Z',
    charge_expired_time: null,
    resource_group_id: '',
    order_num: '1',
    buy_id: 'B1',
    create_time: '2026-01-01T00:00:00Z',
    created_ms: 0,
    ip_white_list: '["0.0.0.0/0"]',
    redis_config: '{}',
    disabled_commands: '[]',
    redis_accounts: '[]',
    endpoint_port: null,
    requested_port: null,
    ...overrides,
  };
}
