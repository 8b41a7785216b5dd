import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { InstanceSettingsService } from '../../domain/settings/instance-settings-service.ts';
import { ACCOUNT_NAME_RULE, ACCOUNT_PRIVILEGES } from '../../domain/settings/redis-account-rules.ts';
import { InstanceParams, bare, envelope } from '../schemas.ts';
import { callerScope, INSTANCE_PATH } from './caller-scope.ts';

/*
 * Request and response schemas of the tenant-settings operations (reference §5 ops 11-12, 31-37).
 * `description` is the rule a validation error names; the domain checks every value again (names,
 * ranges, privileges), so these only keep shapes and sizes in bounds.
 */
const accountName = Type.String({ minLength: 1, maxLength: 64, description: ACCOUNT_NAME_RULE });
const accountPassword = Type.String({ maxLength: 64, description: '8 to 16 letters and digits (ASCII), with at least one letter and one digit' });
const accountPrivilege = Type.String({ maxLength: 32, description: ACCOUNT_PRIVILEGES.join(' or ') });
const accountDescription = Type.String({ maxLength: 256, description: 'at most 256 characters' });
const AccountChange = Type.Object({
  accountName,
  accountPassword: Type.Optional(accountPassword),
  accountPrivilege: Type.Optional(accountPrivilege),
  accountDescription: Type.Optional(accountDescription),
});

const ModifyConfigBody = Type.Object({
  instanceConfig: Type.Array(
    Type.Object({
      configName: Type.String({ minLength: 1, maxLength: 64, description: 'a parameter name from describeInstanceConfig' }),
      configValue: Type.String({ maxLength: 64, description: 'at most 64 characters' }),
    }),
    { minItems: 1, maxItems: 32, description: '1 to 32 {configName, configValue} items' },
  ),
});
const SetDisableCommandsBody = Type.Object({
  disableCommands: Type.Optional(Type.Array(Type.String({ maxLength: 32, description: 'a command name' }), { maxItems: 32, description: 'at most 32 command names' })),
});
const DeleteAccountQuery = Type.Object({ accountName });
const ModifyAccountsBody = Type.Object({ accounts: Type.Array(AccountChange, { minItems: 1, maxItems: 20, description: '1 to 20 accounts' }) });

const ConfigItem = Type.Object({
  configName: Type.String(),
  configValue: Type.String(),
  configDefaultValue: Type.String(),
  configValueType: Type.String(),
  configValueMin: Type.Integer(),
  configValueMax: Type.Integer(),
  configValueOptional: Type.Union([Type.Array(Type.String()), Type.Null()]),
  configValueOutputBuffer: Type.String(),
  configDescription: Type.String(),
  configUnSupport: Type.Boolean(),
});
const Responses = {
  config: envelope(Type.Object({ instanceConfig: Type.Array(ConfigItem), unSupportConfigs: Type.Array(Type.String()) })),
  disableCommands: envelope(Type.Object({ disableCommandLists: Type.Array(Type.Object({ commandName: Type.String(), disableTime: Type.String() })) })),
  accounts: envelope(
    Type.Object({
      isSupport: Type.Boolean(),
      accountLists: Type.Array(Type.Object({ accountName: Type.String(), accountType: Type.String(), accountPrivilege: Type.String(), accountDescription: Type.String() })),
    }),
  ),
};

const tags = ['instanceSettings'];

/**
 * Configuration, disabled commands and Redis accounts of an instance. Every handler is scoped to the
 * caller's account and the path region (another account's instance is NOT_FOUND); answers never carry
 * a password or its hash.
 */
export function registerInstanceSettingsRoutes(appIn: FastifyInstance, settings: InstanceSettingsService): void {
  const app = appIn.withTypeProvider<TypeBoxTypeProvider>();

  app.get(`${INSTANCE_PATH}/instanceConfig`, { schema: { operationId: 'describeInstanceConfig', tags, params: InstanceParams, response: Responses.config } }, async (request) => ({
    requestId: request.id,
    result: await settings.describeConfig(callerScope(request), request.params.cacheInstanceId),
  }));

  app.post(`${INSTANCE_PATH}/instanceConfig`, { schema: { operationId: 'modifyInstanceConfig', tags, params: InstanceParams, body: ModifyConfigBody, response: bare } }, async (request) => {
    await settings.modifyConfig(callerScope(request), request.params.cacheInstanceId, request.body.instanceConfig);
    return { requestId: request.id };
  });

  app.get(`${INSTANCE_PATH}/disableCommands`, { schema: { operationId: 'getDisableCommands', tags, params: InstanceParams, response: Responses.disableCommands } }, async (request) => ({
    requestId: request.id,
    result: await settings.getDisableCommands(callerScope(request), request.params.cacheInstanceId),
  }));

  app.post(
    `${INSTANCE_PATH}/disableCommands`,
    { schema: { operationId: 'setDisableCommands', tags, params: InstanceParams, body: SetDisableCommandsBody, response: bare } },
    async (request) => {
      await settings.setDisableCommands(callerScope(request), request.params.cacheInstanceId, request.body.disableCommands ?? []);
      return { requestId: request.id };
    },
  );

  app.get(`${INSTANCE_PATH}/account`, { schema: { operationId: 'describeAccounts', tags, params: InstanceParams, response: Responses.accounts } }, async (request) => ({
    requestId: request.id,
    result: await settings.describeAccounts(callerScope(request), request.params.cacheInstanceId),
  }));

  app.post(`${INSTANCE_PATH}/account`, { schema: { operationId: 'createAccount', tags, params: InstanceParams, body: AccountChange, response: bare } }, async (request) => {
    await settings.createAccount(callerScope(request), request.params.cacheInstanceId, request.body);
    return { requestId: request.id };
  });

  app.patch(`${INSTANCE_PATH}/account`, { schema: { operationId: 'modifyAccount', tags, params: InstanceParams, body: AccountChange, response: bare } }, async (request) => {
    await settings.modifyAccount(callerScope(request), request.params.cacheInstanceId, request.body);
    return { requestId: request.id };
  });

  app.delete(
    `${INSTANCE_PATH}/account`,
    { schema: { operationId: 'deleteAccount', tags, params: InstanceParams, querystring: DeleteAccountQuery, response: bare } },
    async (request) => {
      await settings.deleteAccount(callerScope(request), request.params.cacheInstanceId, request.query.accountName);
      return { requestId: request.id };
    },
  );

  app.patch(`${INSTANCE_PATH}/accounts`, { schema: { operationId: 'modifyAccounts', tags, params: InstanceParams, body: ModifyAccountsBody, response: bare } }, async (request) => {
    await settings.modifyAccounts(callerScope(request), request.params.cacheInstanceId, request.body.accounts);
    return { requestId: request.id };
  });
}
