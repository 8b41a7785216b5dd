import { describe, expect, it } from 'vitest';
import { coveringCidrs, instanceRules, removalScript, ruleNames, ruleProblems, tableObjects } from '../../src/drivers/local/firewall/nft-ruleset.ts';
import { normalizeIpWhiteList } from '../../src/domain/instances/ip-white-list.ts';
import { DomainError } from '../../src/domain/domain-error.ts';

// Pure parts of the IP white list: validation (domain) and rule rendering (driver). The rules
// themselves are exercised in a network namespace by nft-firewall.test.ts.

describe('normalizeIpWhiteList', () => {
  it('accepts CIDRs and bare addresses, clears host bits, drops duplicates, keeps order', () => {
    expect(normalizeIpWhiteList(['10.0.0.1/16', '100.1.1.1/32', '192.168.1.7', '10.0.255.255/16', '0.0.0.0/0'])).toEqual([
      '10.0.0.0/16',
      '100.1.1.1/32',
      '192.168.1.7/32',
      '0.0.0.0/0',
    ]);
  });

  it.each([
    '1.2.3.4/33',
    '300.1.1.1/8',
    'abc',
    '01.2.3.4/8',
    '1.2.3.4/',
    '1.2.3/24',
    ' 1.2.3.4',
    '1.2.3.4/8; drop',
    '::1/128',
  ])('refuses %j naming the entry and the rule', (bad) => {
    const err = catchDomain(() => normalizeIpWhiteList(['10.0.0.0/8', bad]));
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.message).toMatch(/^ipWhiteList\[1\]: .* must be an IPv4 address or CIDR x\.x\.x\.x\/n/);
  });

  it('refuses a non-array, a non-string entry, an empty list and too many entries', () => {
    expect(catchDomain(() => normalizeIpWhiteList('10.0.0.0/8')).message).toMatch(/^ipWhiteList: must be an array/);
    expect(catchDomain(() => normalizeIpWhiteList([5])).message).toMatch(/^ipWhiteList\[0\]: must be a string/);
    expect(catchDomain(() => normalizeIpWhiteList([])).message).toMatch(/^ipWhiteList: must not be empty/);
    const many = Array.from({ length: 1001 }, (_, i) => `10.${i >> 8}.${i & 255}.0/24`);
    expect(catchDomain(() => normalizeIpWhiteList(many)).message).toBe('ipWhiteList: at most 1000 entries, got 1001');
    expect(normalizeIpWhiteList(many.slice(0, 1000))).toHaveLength(1000);
  });
});

describe('nft ruleset', () => {
  it('keeps only covering, non-loopback CIDRs (nft refuses overlapping intervals)', () => {
    expect(coveringCidrs(['10.1.0.0/16', '10.0.0.0/8', '127.0.0.1/32', '10.2.3.4/32', '192.168.0.0/24', '192.168.0.0/24'])).toEqual([
      '10.0.0.0/8',
      '192.168.0.0/24',
    ]);
    expect(coveringCidrs(['127.0.0.1/32'])).toEqual([]);
  });

  it('renders one transaction that rebuilds the instance chain and both sets', () => {
    const r = instanceRules({ instanceId: 'redis-abc123', ports: [24001, 24000, 24001], ipWhiteList: ['10.213.1.2/32'], trustedSources: [] });
    if (r.open) throw new Error('expected rules');
    expect(r.ports).toEqual([24000, 24001]);
    expect(r.script).toContain('add element inet jcs_redis a_redis-abc123 { 10.213.1.2/32 }');
    expect(r.script).toContain('add element inet jcs_redis p_redis-abc123 { 24000, 24001 }');
    expect(r.script).toContain('flush chain inet jcs_redis i_redis-abc123');
    expect(r.script).toMatch(/add rule inet jcs_redis i_redis-abc123 meta l4proto tcp reject with tcp reset comment "jcs-redis [0-9a-f]{16}"\n$/);
    expect(r.script).not.toContain('127.0.0.1');
    // A loopback-only list admits no one: the set stays empty and no element line is written.
    const none = instanceRules({ instanceId: 'redis-abc123', ports: [24000], ipWhiteList: ['127.0.0.1/32'], trustedSources: [] });
    expect(none.open ? '' : none.script).not.toContain('add element inet jcs_redis a_');
  });

  it('writes nothing for an open list, and refuses ids that could inject into the script', () => {
    expect(instanceRules({ instanceId: 'redis-x', ports: [1], ipWhiteList: ['0.0.0.0/0', '10.0.0.0/8'], trustedSources: [] }).open).toBe(true);
    expect(() => ruleNames('redis-x }; flush ruleset')).toThrow(/cannot name firewall objects/);
  });

  it('writes into another table when given one (the ephemeral mode), and refuses a table name that could inject', () => {
    const r = instanceRules({ instanceId: 'redis-abc123', ports: [24000], ipWhiteList: ['10.0.0.0/8'], trustedSources: [], table: 'jcs_redis_e_0a1b2c' });
    if (r.open) throw new Error('expected rules');
    const lines = r.script.split('\n').filter(Boolean);
    expect(lines.filter((line) => !/ inet jcs_redis_e_0a1b2c( |$)/.test(line))).toEqual([]);
    expect(lines.length).toBeGreaterThan(5);
    expect(removalScript(ruleNames('redis-abc123', 'jcs_redis_e_0a1b2c'), { portSet: [24000] })).toBe('delete set inet jcs_redis_e_0a1b2c p_redis-abc123\n');
    for (const bad of ['jcs_redis; flush ruleset', 'Upper', '', 'x'.repeat(33), '1abc']) expect(() => ruleNames('redis-abc123', bad), bad).toThrow(/cannot name an nftables table/);
  });

  it('reads a listing back and names each difference', () => {
    const rules = instanceRules({ instanceId: 'redis-abc123', ports: [24000], ipWhiteList: ['10.0.0.0/8', '1.2.3.4/32'], trustedSources: [] });
    if (rules.open) throw new Error('expected rules');
    const listing = (allow: unknown[], ruleCount: number, comment: string) => ({
      nftables: [
        { metainfo: { version: '1.0.6' } },
        { table: { family: 'inet', name: 'jcs_redis' } },
        { set: { name: 'a_redis-abc123', type: 'ipv4_addr', elem: allow } },
        { set: { name: 'p_redis-abc123', type: 'inet_service', elem: [24000] } },
        { chain: { name: 'i_redis-abc123', type: 'filter', hook: 'input', prio: 0, policy: 'accept' } },
        ...Array.from({ length: ruleCount }, (_, i) => ({ rule: { chain: 'i_redis-abc123', ...(i === ruleCount - 1 ? { comment } : {}), expr: [] } })),
      ],
    });
    const good = tableObjects(listing(['1.2.3.4', { prefix: { addr: '10.0.0.0', len: 8 } }], rules.ruleCount, `jcs-redis ${rules.fingerprint}`));
    expect(ruleProblems('redis-abc123', rules, good.get('redis-abc123')!)).toEqual([]);
    const widened = tableObjects(listing(['1.2.3.4', { prefix: { addr: '10.0.0.0', len: 7 } }], rules.ruleCount, `jcs-redis ${rules.fingerprint}`));
    expect(ruleProblems('redis-abc123', rules, widened.get('redis-abc123')!)).toEqual(['firewall: set a_redis-abc123 differs from the IP white list']);
    const flushed = tableObjects(listing(['1.2.3.4', { prefix: { addr: '10.0.0.0', len: 8 } }], 0, ''));
    expect(ruleProblems('redis-abc123', rules, flushed.get('redis-abc123')!)).toEqual(['firewall: rules of chain i_redis-abc123 differ from the IP white list']);
    expect(ruleProblems('redis-abc123', rules, {})).toHaveLength(3);
    const open = instanceRules({ instanceId: 'redis-abc123', ports: [24000], ipWhiteList: ['0.0.0.0/0'], trustedSources: [] });
    expect(ruleProblems('redis-abc123', open, good.get('redis-abc123')!)).toEqual([
      'firewall: stale rules for redis-abc123 remain although its IP white list admits anyone',
    ]);
    expect(removalScript(ruleNames('redis-abc123'), good.get('redis-abc123')!)).toBe(
      'flush chain inet jcs_redis i_redis-abc123\ndelete chain inet jcs_redis i_redis-abc123\n' +
        'delete set inet jcs_redis a_redis-abc123\ndelete set inet jcs_redis p_redis-abc123\n',
    );
    expect(removalScript(ruleNames('redis-abc123'), {})).toBe('');
  });
});

function catchDomain(fn: () => unknown): DomainError {
  try {
    fn();
  } catch (err) {
    if (err instanceof DomainError) return err;
    throw err;
  }
  throw new Error('expected a DomainError');
}
