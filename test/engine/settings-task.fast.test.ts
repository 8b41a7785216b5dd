/**
 * The `settings` task (issue 16) on the engine with the fake driver: a stored change reaches the driver's
 * spec (hashes, never a clear password), survives failing steps, and is resumed by a new engine after the
 * first one stopped mid-task, like every durable task.
 */
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createInstanceSettingsService } from '../../src/domain/settings/instance-settings-service.ts';
import { wrapDriver } from '../../src/drivers/wrap-driver.ts';
import { Engine } from '../../src/engine/engine.ts';
import { defaultTaskHandlers } from '../../src/engine/handlers/default-handlers.ts';
import { ACCOUNTS, engineHarness, type EngineHarness, TEST_SEAL } from './engine-harness.ts';
import { FakeDriver } from './fake-driver.ts';

let h: EngineHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const scope = { account: ACCOUNTS[0]!, region: 'cn-north-1' };

async function runningInstance(harness: EngineHarness): Promise<string> {
  const { id } = await harness.create(scope.account);
  await harness.waitFor('running', async () => (await harness.status(id)) === 'running');
  return id;
}

describe('settings task', () => {
  it('puts the stored settings in the driver spec and goes configuring -> running, through failing steps', async () => {
    const harness = (h = await engineHarness({ logLevel: 'warn' }));
    const settings = createInstanceSettingsService({ db: harness.db, logger: pino({ level: 'silent' }), notifyEngine: () => harness.engine.notify(), now: () => new Date() });
    const id = await runningInstance(harness);
    harness.fake.fault(id, { fail: 'node went away', failTimes: 2, ops: ['ensurePresent'] });
    await settings.createAccount(scope, id, { accountName: 'app', accountPassword: 'Passw0rd1', accountPrivilege: 'RoleReadOnly' });
    expect(await harness.status(id)).toBe('configuring');
    await harness.waitFor('running again', async () => (await harness.status(id)) === 'running');
    const spec = harness.fake.specOf(id)!;
    expect(spec.accounts).toEqual([{ name: 'app', passwordSha256: expect.stringMatching(/^[0-9a-f]{64}$/) as unknown, readOnly: true }]);
    expect(JSON.stringify(spec)).not.toContain('Passw0rd1');
    await settings.setDisableCommands(scope, id, ['keys']);
    await harness.waitFor('running again', async () => (await harness.status(id)) === 'running');
    await settings.modifyConfig(scope, id, [{ configName: 'timeout', configValue: '60' }]);
    await harness.waitFor('running again', async () => (await harness.status(id)) === 'running');
    expect(harness.fake.specOf(id)).toMatchObject({ disabledCommands: ['keys'], redisConfig: { timeout: '60' } });
  });

  it('is resumed by a new engine after the first one stopped in the middle of it', async () => {
    const harness = (h = await engineHarness({ logLevel: 'warn' }));
    const settings = createInstanceSettingsService({ db: harness.db, logger: pino({ level: 'silent' }), notifyEngine: () => harness.engine.notify(), now: () => new Date() });
    const id = await runningInstance(harness);
    harness.fake.fault(id, { hang: true, ops: ['ensurePresent'] });
    await settings.modifyConfig(scope, id, [{ configName: 'slowlog-max-len', configValue: '256' }]);
    await harness.waitFor('the task to start', () => harness.fake.callsOf(id, 'ensurePresent').length >= 2);
    await harness.engine.stop(200);
    expect(await harness.status(id)).toBe('configuring');

    const fresh = new FakeDriver();
    const logger = pino({ level: 'silent' });
    const second = new Engine({ db: harness.db, passwordSeal: TEST_SEAL, driver: wrapDriver(fresh, { logger, timeoutMs: 5_000 }), logger, handlers: defaultTaskHandlers, healthIntervalMs: 100 });
    second.start();
    try {
      await harness.waitFor('running after the restart', async () => (await harness.status(id)) === 'running');
      expect(fresh.specOf(id)?.redisConfig).toEqual({ 'slowlog-max-len': '256' });
    } finally {
      await second.stop(1_000);
    }
  });
});
