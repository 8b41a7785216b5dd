/**
 * The rules behind the tenant-settings operations (issue 16), in process: parameter values, disabled
 * commands, account names and passwords, and how the driver turns them into ACL rules and conf lines.
 * The end-to-end behaviour on real Redis is in test/api/instance-settings.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { TENANT_CONFIG_NAMES } from '../../src/drivers/driver.ts';
import { aclUserRules, customerCommandRules } from '../../src/drivers/local/acl-rules.ts';
import { tenantConfigLines } from '../../src/drivers/local/node-conf.ts';
import { sameConfigValue, tenantConfigDifference, type NodeState } from '../../src/drivers/local/node-state.ts';
import { DomainError } from '../../src/domain/domain-error.ts';
import { nextDisabledCommands } from '../../src/domain/settings/disabled-commands.ts';
import { checkAccountName, checkAccountPassword, checkDescription, checkPrivilege } from '../../src/domain/settings/redis-account-rules.ts';
import { CONFIG_PARAMS, UNSUPPORTED_CONFIGS, checkConfigValue, findConfigParam } from '../../src/domain/settings/redis-config-catalogue.ts';

const refusal = (fn: () => unknown): { code: string; message: string } => {
  try {
    fn();
  } catch (err) {
    if (err instanceof DomainError) return { code: err.code, message: err.message };
    throw err;
  }
  throw new Error('expected a DomainError');
};

describe('parameter catalogue', () => {
  it('offers exactly the parameters the driver writes, plus the eviction policy', () => {
    expect(CONFIG_PARAMS.map((p) => p.name).filter((n) => n !== 'maxmemory-policy').sort()).toEqual([...TENANT_CONFIG_NAMES].sort());
    for (const p of CONFIG_PARAMS) expect(UNSUPPORTED_CONFIGS as readonly string[]).not.toContain(p.name);
  });

  it('keeps every default inside its own rule', () => {
    for (const p of CONFIG_PARAMS) expect(checkConfigValue(p.name, p.defaultValue, 'f')).toBe(p.defaultValue);
  });

  it('checks integers against the range and writes them as Redis prints them', () => {
    expect(checkConfigValue('timeout', ' 0300 ', 'f')).toBe('300');
    expect(checkConfigValue('list-max-ziplist-size', '-5', 'f')).toBe('-5');
    expect(refusal(() => checkConfigValue('timeout', '7201', 'x.configValue'))).toEqual({ code: 'OUT_OF_RANGE', message: 'x.configValue: timeout must be an integer from 0 to 7200, got "7201"' });
    for (const bad of ['', '1.5', 'ten', '99999999999', '0x10']) expect(refusal(() => checkConfigValue('timeout', bad, 'f')).code).toBe('OUT_OF_RANGE');
  });

  it('checks enumerations and keyspace event classes', () => {
    expect(checkConfigValue('maxmemory-policy', 'noeviction', 'f')).toBe('noeviction');
    expect(refusal(() => checkConfigValue('maxmemory-policy', 'lru', 'f')).message).toMatch(/^f: maxmemory-policy must be one of volatile-lru, /);
    expect(checkConfigValue('notify-keyspace-events', 'KEA', 'f')).toBe('KEA');
    expect(checkConfigValue('notify-keyspace-events', '', 'f')).toBe('');
    expect(refusal(() => checkConfigValue('notify-keyspace-events', 'KK', 'f')).message).toMatch(/each at most once/);
    expect(refusal(() => checkConfigValue('notify-keyspace-events', 'Km', 'f')).code).toBe('INVALID_ARGUMENT');
  });

  it('names the configName field for a parameter it does not offer', () => {
    expect(refusal(() => checkConfigValue('maxmemory', '1', 'instanceConfig[2].configValue')).message).toMatch(/^instanceConfig\[2\]\.configName: "maxmemory" cannot be changed on this service; changeable: maxmemory-policy, timeout/);
    expect(refusal(() => checkConfigValue('dir', '/tmp', 'instanceConfig[0].configValue')).message).toMatch(/^instanceConfig\[0\]\.configName: "dir" is not a parameter/);
    expect(findConfigParam('dir')).toBeUndefined();
  });
});

describe('disabled commands', () => {
  it('folds case and duplicates, keeps the first disable time, refuses what is not offered', () => {
    const current = [{ command: 'KEYS', disableTime: '2026-01-01T00:00:00Z' }];
    expect(nextDisabledCommands(['keys', 'FlushAll', 'KEYS'], current, '2026-02-02T00:00:00Z')).toEqual([
      { command: 'KEYS', disableTime: '2026-01-01T00:00:00Z' },
      { command: 'FLUSHALL', disableTime: '2026-02-02T00:00:00Z' },
    ]);
    expect(nextDisabledCommands([], current, 'now')).toEqual([]);
    expect(refusal(() => nextDisabledCommands(['KEYS', 'config'], [], 'now')).message).toMatch(/^disableCommands\[1\]: must be one of KEYS, /);
  });
});

describe('account rules', () => {
  it('accepts JD-style names and refuses default, internal-looking and malformed ones', () => {
    expect(checkAccountName('app_1', 'accountName')).toBe('app_1');
    for (const bad of ['a', 'App', '1app', 'jcs-admin', 'a'.repeat(17), 'x y']) expect(refusal(() => checkAccountName(bad, 'accountName')).message).toMatch(/^accountName: must be 2 to 16 characters/);
    expect(refusal(() => checkAccountName('default', 'accountName')).message).toMatch(/resetCacheInstancePassword/);
  });

  it('needs a password by the instance password rule, a known privilege and a short description', () => {
    expect(checkAccountPassword('Passw0rd1', 'p')).toBe('Passw0rd1');
    expect(refusal(() => checkAccountPassword('', 'p')).message).toMatch(/^p: must be 8 to 16 letters and digits.*\(an account needs a password\)$/);
    expect(refusal(() => checkAccountPassword('password', 'p')).message).toMatch(/at least one letter and at least one digit/);
    expect(checkPrivilege('RoleReadOnly', 'x')).toBe('RoleReadOnly');
    expect(refusal(() => checkPrivilege('root', 'x')).message).toBe('x: must be RoleReadOnly or RoleReadWrite, got "root"');
    expect(refusal(() => checkDescription('d'.repeat(257), 'x')).message).toMatch(/at most 256/);
  });
});

describe('what the driver writes', () => {
  const internal = { replicationSha256: 'a'.repeat(64), adminSha256: 'b'.repeat(64) };

  it('gives every tenant user the deny list and the disabled commands; read-only loses @write', () => {
    const rules = aclUserRules('c'.repeat(64), internal, { disabledCommands: ['keys'], accounts: [{ name: 'ro', passwordSha256: 'd'.repeat(64), readOnly: true }, { name: 'rw', passwordSha256: 'e'.repeat(64), readOnly: false }] });
    expect([...rules.keys()]).toEqual(['default', 'jcs-replication', 'jcs-admin', 'ro', 'rw']);
    for (const name of ['default', 'ro', 'rw']) expect(rules.get(name)).toContain('-config -acl');
    for (const name of ['default', 'ro', 'rw']) expect(rules.get(name)!.endsWith(' -keys')).toBe(true);
    expect(rules.get('ro')).toBe(`on #${'d'.repeat(64)} sanitize-payload ~* &* ${customerCommandRules(['keys'], true)}`);
    expect(rules.get('ro')).toMatch(/^on #d+ sanitize-payload ~\* &\* \+@all -@write /);
    expect(rules.get('rw')).not.toContain('-@write');
    expect(rules.get('jcs-admin')).not.toContain('-keys');
  });

  it('refuses names that would change an ACL rule or a conf file', () => {
    expect(() => aclUserRules(null, internal, { accounts: [{ name: 'default', passwordSha256: 'd'.repeat(64), readOnly: false }] })).toThrow(/not a tenant account name/);
    expect(() => aclUserRules(null, internal, { accounts: [{ name: 'x on nopass', passwordSha256: 'd'.repeat(64), readOnly: false }] })).toThrow();
    expect(() => customerCommandRules(['keys +@all'])).toThrow(/not a command name/);
    expect(() => tenantConfigLines({ dir: '/etc' })).toThrow(/not a parameter tenants may set/);
    const state = { tenantConfig: new Map([['timeout', '0']]) } as unknown as NodeState;
    expect(() => tenantConfigDifference(state, { dir: '/etc' })).toThrow(/not a parameter tenants may set/);
    expect([...tenantConfigDifference(state, { timeout: '300' })]).toEqual([['timeout', '300']]);
    expect(tenantConfigDifference(state, { timeout: '0' }).size).toBe(0);
    expect(() => tenantConfigLines({ timeout: '1\nsave 1 1' })).toThrow(/line breaks/);
    expect(tenantConfigLines({ timeout: '300', 'notify-keyspace-events': '' })).toEqual(['timeout "300"', 'notify-keyspace-events ""']);
  });

  it('compares keyspace event classes the way Redis folds them', () => {
    expect(sameConfigValue('notify-keyspace-events', 'KEA', 'AKE')).toBe(true);
    expect(sameConfigValue('notify-keyspace-events', 'Ex', 'xE')).toBe(true);
    expect(sameConfigValue('notify-keyspace-events', 'Ex', 'E')).toBe(false);
    expect(sameConfigValue('timeout', '300', '300')).toBe(true);
    expect(sameConfigValue('timeout', '300', undefined)).toBe(false);
  });
});
