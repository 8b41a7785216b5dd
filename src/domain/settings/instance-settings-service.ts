/**
 * What a tenant sets on a running instance (issue 16): Redis parameters (describe/modifyInstanceConfig),
 * extra disabled commands (get/setDisableCommands) and Redis accounts (describe/create/modify/delete
 * Account, modifyAccounts). Every handler is scoped to the caller's account and region: another
 * account's instance is NOT_FOUND. A change that reaches Redis is stored with a `settings` task in one
 * transaction and the instance goes `running → configuring`; the engine applies it live on every node
 * through the control plane's own channel and goes back to `running` once every node carries it.
 */
import { createHash } from 'node:crypto';
import type { Logger } from '../../logger.ts';
import type { Db } from '../../store/open-store.ts';
import { findInstance, updateInstance, type InstanceRecord } from '../../store/instances-repo.ts';
import type { InstancesTable } from '../../store/schema.ts';
import { insertTask } from '../../store/tasks-repo.ts';
import { DomainError } from '../domain-error.ts';
import type { RequestScope } from '../instances/instance-inputs.ts';
import { transitionStatus } from '../instances/instance-status.ts';
import { formatJdTime } from '../time-format.ts';
import { nextDisabledCommands } from './disabled-commands.ts';
import { CONFIG_PARAMS, UNSUPPORTED_CONFIGS, checkConfigValue } from './redis-config-catalogue.ts';
import {
  MAX_ACCOUNTS,
  checkAccountName,
  checkAccountPassword,
  checkDescription,
  checkPrivilege,
  type RedisAccount,
} from './redis-account-rules.ts';
import { storedAccounts, storedDisabledCommands, storedRedisConfig } from './tenant-settings.ts';

export interface InstanceSettingsDeps {
  db: Db;
  logger: Logger;
  /** Wakes the engine after a task was committed. */
  notifyEngine: () => void;
  now: () => Date;
}

/** The task kind that applies stored tenant settings (engine/handlers/settings-handler.ts). */
export const SETTINGS_TASK = 'settings';

/** One item of describeInstanceConfig, in JD's ConfigItem fields. */
export interface ConfigItemView {
  configName: string;
  configValue: string;
  configDefaultValue: string;
  configValueType: string;
  configValueMin: number;
  configValueMax: number;
  configValueOptional: string[] | null;
  configValueOutputBuffer: string;
  configDescription: string;
  configUnSupport: boolean;
}

/** Account changes as the API passes them (fields already of the right JSON type). */
export interface AccountInput {
  accountName: string;
  accountPassword?: string;
  accountPrivilege?: string;
  accountDescription?: string;
}

const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

export type InstanceSettingsService = ReturnType<typeof createInstanceSettingsService>;

export function createInstanceSettingsService(deps: InstanceSettingsDeps) {
  const { db, logger } = deps;

  async function mustFind(scope: RequestScope, id: string): Promise<InstanceRecord> {
    const row = await findInstance(db, scope.account, scope.region, id);
    if (!row) throw new DomainError('NOT_FOUND', `cacheInstance ${id} not found`);
    return row;
  }

  /**
   * Reads the row, builds the change from it and stores it, in one transaction (SQLite runs one at a
   * time), so two changes of the same JSON column never lose one another. A change that reaches Redis is
   * stored with a settings task and `running → configuring`; one that does not (a description) is only
   * stored. Validation errors thrown by `build` leave nothing behind.
   */
  async function change(
    scope: RequestScope,
    id: string,
    action: string,
    build: (row: InstanceRecord) => { patch: Partial<InstancesTable>; reachesRedis: boolean },
  ): Promise<void> {
    const queued = await db.transaction().execute(async (trx) => {
      const row = await findInstance(trx, scope.account, scope.region, id);
      if (!row) throw new DomainError('NOT_FOUND', `cacheInstance ${id} not found`);
      const { patch, reachesRedis } = build(row);
      if (!reachesRedis) {
        if (row.status === 'deleting') throw new DomainError('FAILED_PRECONDITION', `cannot ${action} cacheInstance ${id} while it is deleting`);
        await updateInstance(trx, id, patch);
        return false;
      }
      if (row.status !== 'running') {
        throw new DomainError('FAILED_PRECONDITION', `cannot ${action} cacheInstance ${id} while it is ${row.status}; allowed when running`);
      }
      if (!(await transitionStatus(trx, logger, id, 'running', 'configuring', action))) {
        throw new DomainError('FAILED_PRECONDITION', `cannot ${action} cacheInstance ${id}: its status just changed`);
      }
      await updateInstance(trx, id, patch);
      await insertTask(trx, { instanceId: id, kind: SETTINGS_TASK, payload: { action }, nowMs: deps.now().getTime() });
      return true;
    });
    if (!queued) return;
    logger.info({ instanceId: id, action }, 'instance settings change accepted');
    deps.notifyEngine();
  }

  /** Applies one account change to `accounts` (a copy); `field` prefixes error messages. */
  function modifiedAccount(accounts: RedisAccount[], input: AccountInput, field: string): { accounts: RedisAccount[]; reachesRedis: boolean } {
    const name = checkAccountName(input.accountName, `${field}accountName`);
    const i = accounts.findIndex((a) => a.name === name);
    if (i < 0) throw new DomainError('NOT_FOUND', `${field}accountName: no account "${name}" on this instance`);
    const before = accounts[i]!;
    const after: RedisAccount = {
      ...before,
      ...(input.accountPassword !== undefined ? { passwordSha256: sha256(checkAccountPassword(input.accountPassword, `${field}accountPassword`)) } : {}),
      ...(input.accountPrivilege !== undefined ? { privilege: checkPrivilege(input.accountPrivilege, `${field}accountPrivilege`) } : {}),
      ...(input.accountDescription !== undefined ? { description: checkDescription(input.accountDescription, `${field}accountDescription`) } : {}),
    };
    const next = [...accounts];
    next[i] = after;
    return { accounts: next, reachesRedis: after.passwordSha256 !== before.passwordSha256 || after.privilege !== before.privilege };
  }

  return {
    async describeConfig(scope: RequestScope, id: string): Promise<{ instanceConfig: ConfigItemView[]; unSupportConfigs: string[] }> {
      const row = await mustFind(scope, id);
      const set = storedRedisConfig(row);
      const instanceConfig = CONFIG_PARAMS.map((p) => ({
        configName: p.name,
        configValue: p.name === 'maxmemory-policy' ? row.maxmemory_policy : (set[p.name] ?? p.defaultValue),
        configDefaultValue: p.defaultValue,
        configValueType: p.type,
        configValueMin: p.min ?? 0,
        configValueMax: p.max ?? 0,
        configValueOptional: p.optional ? [...p.optional] : null,
        configValueOutputBuffer: '',
        configDescription: p.description,
        configUnSupport: false,
      }));
      return { instanceConfig, unSupportConfigs: [...UNSUPPORTED_CONFIGS] };
    },

    /** Every item is checked before anything is stored: one bad value refuses the whole call. */
    async modifyConfig(scope: RequestScope, id: string, items: readonly { configName: string; configValue: string }[]): Promise<void> {
      if (items.length === 0) throw new DomainError('INVALID_ARGUMENT', 'instanceConfig: give at least one {configName, configValue}');
      const checked = items.map((it, i) => ({ name: it.configName, value: checkConfigValue(it.configName, it.configValue, `instanceConfig[${i}].configValue`) }));
      await change(scope, id, 'modify the configuration of', (row) => {
        const config = storedRedisConfig(row);
        let policy = row.maxmemory_policy;
        for (const { name, value } of checked) {
          if (name === 'maxmemory-policy') policy = value;
          else config[name] = value;
        }
        return { patch: { redis_config: JSON.stringify(config), maxmemory_policy: policy }, reachesRedis: true };
      });
    },

    async getDisableCommands(scope: RequestScope, id: string): Promise<{ disableCommandLists: { commandName: string; disableTime: string }[] }> {
      const row = await mustFind(scope, id);
      return { disableCommandLists: storedDisabledCommands(row).map((c) => ({ commandName: c.command, disableTime: c.disableTime })) };
    },

    /** Replaces the list: an empty one enables every command again (the fixed deny list stays). */
    async setDisableCommands(scope: RequestScope, id: string, commands: readonly string[]): Promise<void> {
      const now = formatJdTime(deps.now());
      await change(scope, id, 'set the disabled commands of', (row) => ({
        patch: { disabled_commands: JSON.stringify(nextDisabledCommands(commands, storedDisabledCommands(row), now)) },
        reachesRedis: true,
      }));
    },

    async describeAccounts(scope: RequestScope, id: string) {
      const row = await mustFind(scope, id);
      const accountLists = [
        { accountName: 'default', accountType: 'default', accountPrivilege: 'RoleReadWrite', accountDescription: 'the instance password (resetCacheInstancePassword)' },
        ...storedAccounts(row).map((a) => ({ accountName: a.name, accountType: 'normal', accountPrivilege: a.privilege, accountDescription: a.description })),
      ];
      return { isSupport: true, accountLists };
    },

    async createAccount(scope: RequestScope, id: string, input: AccountInput): Promise<void> {
      const name = checkAccountName(input.accountName, 'accountName');
      const password = checkAccountPassword(input.accountPassword ?? '', 'accountPassword');
      const privilege = checkPrivilege(input.accountPrivilege ?? 'RoleReadWrite', 'accountPrivilege');
      const description = checkDescription(input.accountDescription ?? '', 'accountDescription');
      const passwordSha256 = sha256(password);
      await change(scope, id, 'create an account on', (row) => {
        const accounts = storedAccounts(row);
        if (accounts.some((a) => a.name === name)) throw new DomainError('ALREADY_EXISTS', `accountName: account "${name}" already exists on cacheInstance ${id}`);
        if (accounts.length >= MAX_ACCOUNTS) throw new DomainError('QUOTA_EXCEEDED', `accountName: cacheInstance ${id} already has ${MAX_ACCOUNTS} accounts besides default`);
        accounts.push({ name, passwordSha256, privilege, description });
        return { patch: { redis_accounts: JSON.stringify(accounts) }, reachesRedis: true };
      });
    },

    async modifyAccount(scope: RequestScope, id: string, input: AccountInput): Promise<void> {
      await change(scope, id, 'modify an account of', (row) => {
        const { accounts, reachesRedis } = modifiedAccount(storedAccounts(row), input, '');
        return { patch: { redis_accounts: JSON.stringify(accounts) }, reachesRedis };
      });
    },

    /** All or nothing: every entry must name an existing account, each at most once. */
    async modifyAccounts(scope: RequestScope, id: string, inputs: readonly AccountInput[]): Promise<void> {
      if (inputs.length === 0) throw new DomainError('INVALID_ARGUMENT', 'accounts: give at least one account');
      const names = inputs.map((a) => a.accountName);
      const dup = names.find((n, i) => names.indexOf(n) !== i);
      if (dup !== undefined) throw new DomainError('INVALID_ARGUMENT', `accounts: account "${dup}" is named more than once`);
      await change(scope, id, 'modify accounts of', (row) => {
        let accounts = storedAccounts(row);
        let reachesRedis = false;
        inputs.forEach((input, i) => {
          const r = modifiedAccount(accounts, input, `accounts[${i}].`);
          accounts = r.accounts;
          reachesRedis ||= r.reachesRedis;
        });
        return { patch: { redis_accounts: JSON.stringify(accounts) }, reachesRedis };
      });
    },

    /** The ACL user goes from every node, and whoever is logged in as it is disconnected. */
    async deleteAccount(scope: RequestScope, id: string, accountName: string): Promise<void> {
      const name = checkAccountName(accountName, 'accountName');
      await change(scope, id, 'delete an account of', (row) => {
        const accounts = storedAccounts(row);
        if (!accounts.some((a) => a.name === name)) throw new DomainError('NOT_FOUND', `accountName: no account "${name}" on cacheInstance ${id}`);
        return { patch: { redis_accounts: JSON.stringify(accounts.filter((a) => a.name !== name)) }, reachesRedis: true };
      });
    },
  };
}
