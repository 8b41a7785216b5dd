/**
 * The instance row's tenant-settings columns (store/migrations/0006-tenant-settings.ts) read and written
 * as domain values. A column that does not parse is a bug, not an input: it throws.
 */
import type { DisabledCommand } from './disabled-commands.ts';
import type { RedisAccount } from './redis-account-rules.ts';

export interface TenantSettingsRow {
  redis_config: string;
  disabled_commands: string;
  redis_accounts: string;
}

export function storedRedisConfig(row: TenantSettingsRow): Record<string, string> {
  return JSON.parse(row.redis_config) as Record<string, string>;
}

export function storedDisabledCommands(row: TenantSettingsRow): DisabledCommand[] {
  return JSON.parse(row.disabled_commands) as DisabledCommand[];
}

export function storedAccounts(row: TenantSettingsRow): RedisAccount[] {
  return JSON.parse(row.redis_accounts) as RedisAccount[];
}
