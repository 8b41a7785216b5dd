/**
 * Attack (issue 11, observation 8): weak instance passwords (`12345678`, `password`) were accepted.
 * JD's rule ("包含且只支持字母及数字，不少于8字符不超过16字符"): 8 to 16 characters, only letters and
 * digits, at least one letter and one digit; empty or absent is password-free. Through the official
 * SDK, on create and on reset; the rule's own module is checked too (the console will reuse it).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isValidPassword, PASSWORD_PATTERN, PASSWORD_RULE, passwordProblem } from '../../src/domain/instances/password-rule.ts';
import { sdkError } from '../helpers/sdk-client.ts';
import { msSpec, startTestService, waitForStatus, type TestService } from '../helpers/test-service.ts';

/** Each breaks the rule in its own way. */
const REFUSED: [string, string][] = [
  ['only digits', '12345678'],
  ['only letters', 'password'],
  ['too short', 'abc'],
  ['17 characters', 'Abcd1234Abcd12345'],
  ['a space', 'Abcd 1234'],
  ['non-ASCII letters', 'Pässwörd12'],
  ['Chinese characters', '密码密码1234'],
  ['a symbol', 'Abcd1234!'],
];

describe('the password rule module', () => {
  it('accepts letters with digits of 8 to 16 characters, and empty (password-free)', () => {
    for (const ok of ['Abcd1234', 'a1b2c3d4', '1234567a', 'A'.repeat(15) + '1', '']) expect({ ok, valid: isValidPassword(ok) }).toEqual({ ok, valid: true });
  });

  it('refuses each weak or malformed password, saying why without echoing it', () => {
    for (const [why, bad] of REFUSED) {
      expect({ why, valid: isValidPassword(bad) }).toEqual({ why, valid: false });
      const problem = passwordProblem(bad);
      expect(problem).toBeDefined();
      expect(problem).not.toContain(bad);
    }
    expect(passwordProblem('12345678')).toMatch(/at least one letter and at least one digit/);
    expect(passwordProblem('abc')).toMatch(/8 to 16 characters long, got 3/);
    expect(passwordProblem('Abcd 1234')).toMatch(/only ASCII letters and digits/);
    expect(PASSWORD_RULE).toBe('8 to 16 letters and digits (ASCII), with at least one letter and one digit, or empty for password-free');
  });

  it('is one pattern that also holds under the u flag (as Ajv compiles it)', () => {
    const u = new RegExp(PASSWORD_PATTERN, 'u');
    for (const [, bad] of REFUSED) expect(u.test(bad)).toBe(false);
    expect(u.test('Abcd1234')).toBe(true);
  });
});

describe('through the official SDK', () => {
  let svc: TestService;
  beforeAll(async () => {
    svc = await startTestService({ instancePorts: '23400-23499' });
  });
  afterAll(async () => {
    await svc?.destroy();
  });

  it('createCacheInstance refuses every weak or malformed password with INVALID_ARGUMENT naming the field and the rule, and creates nothing', async () => {
    const sdk = svc.sdk();
    for (const [why, password] of REFUSED) {
      const err = await sdkError(sdk.createCacheInstance({ cacheInstance: msSpec({ password }) }));
      expect({ why, status: err.status, code: err.code }).toEqual({ why, status: 'INVALID_ARGUMENT', code: 400 });
      // Exactly the field and the rule: the refused value is never echoed.
      expect(err.message).toBe(`cacheInstance.password: must be ${PASSWORD_RULE}`);
    }
    expect((await sdk.describeCacheInstances({})).result.totalCount).toBe(0);
  });

  it('accepts Abcd1234 on create; resetCacheInstancePassword refuses the weak ones and accepts a good one', async () => {
    const sdk = svc.sdk();
    const id = (await sdk.createCacheInstance({ cacheInstance: msSpec({ password: 'Abcd1234' }) })).result.cacheInstanceId as string;
    await waitForStatus(sdk, id, ['running'], 30_000);
    for (const [why, password] of REFUSED) {
      const err = await sdkError(sdk.resetCacheInstancePassword({ cacheInstanceId: id, password }));
      expect({ why, status: err.status }).toEqual({ why, status: 'INVALID_ARGUMENT' });
      expect(err.message).toBe(`password: must be ${PASSWORD_RULE}`);
    }
    // Nothing was applied: the instance never left running.
    expect((await sdk.describeCacheInstance({ cacheInstanceId: id })).result.cacheInstance.cacheInstanceStatus).toBe('running');
    await sdk.resetCacheInstancePassword({ cacheInstanceId: id, password: 'Abcd12345' });
    await waitForStatus(sdk, id, ['running'], 30_000);
    // Empty is still password-free.
    await sdk.resetCacheInstancePassword({ cacheInstanceId: id, password: '' });
    await waitForStatus(sdk, id, ['running'], 30_000);
    expect((await sdk.describeCacheInstance({ cacheInstanceId: id })).result.cacheInstance.auth).toBe(false);
  }, 90_000);
});
