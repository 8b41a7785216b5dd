import { describe, expect, it } from 'vitest';
import { secretsIn, SUITE_SECRETS, TEST_SK } from '../helpers/test-service.ts';

// The log scan in TestService.destroy() is the suite-wide check that no secret reaches a log line;
// this keeps the scanner itself honest.
describe('secret scan of service logs', () => {
  it('finds a secret anywhere in a log line and nothing in a clean log', () => {
    expect(secretsIn('{"msg":"request","url":"/v1/regions/cn-north-1/quota"}')).toEqual([]);
    expect(secretsIn(`{"msg":"oops","secretKey":"${TEST_SK}"}`)).toEqual([TEST_SK]);
    expect(secretsIn('{"password":"Abcd1234"}')).toEqual(['Abcd1234']);
    expect(SUITE_SECRETS.length).toBeGreaterThan(5);
  });
});
