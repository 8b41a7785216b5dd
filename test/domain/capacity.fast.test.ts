// The pure rules of admission control (src/domain/capacity) and their settings (src/config.ts).
// The same rules through the SDK against the real service: test/security/memory-admission.test.ts.
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { checkAccountQuotas } from '../../src/domain/capacity/account-quotas.ts';
import { capacityUsage } from '../../src/domain/capacity/capacity-usage.ts';
import { checkHostMemory, hostLimitBytes } from '../../src/domain/capacity/host-admission.ts';
import { instanceFootprint } from '../../src/domain/capacity/instance-footprint.ts';
import { DomainError } from '../../src/domain/domain-error.ts';

const MiB = 1024 * 1024;
const double = (maxmemoryBytes: number): number => 2 * maxmemoryBytes;

function refusal(fn: () => void): DomainError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(DomainError);
    return err as DomainError;
  }
  throw new Error('expected a refusal');
}

describe('capacity rules', () => {
  it('counts a master and a replica per shard, each promised what the driver says', () => {
    expect(instanceFootprint(32, 1024, double)).toEqual({ nodes: 64, nodeBytes: 2048 * MiB, bytes: 64 * 2048 * MiB, maxmemoryMb: 1024 });
  });

  it('sums every account for the host, and only the asking account and region for its quotas', () => {
    const usage = capacityUsage(
      [
        { account: 'A', region: 'cn-north-1', memoryMbPerShard: 1024, shards: 3, instances: 2 },
        { account: 'A', region: 'cn-east-2', memoryMbPerShard: 1024, shards: 1, instances: 1 },
        { account: 'B', region: 'cn-north-1', memoryMbPerShard: 2048, shards: 1, instances: 1 },
      ],
      'A',
      'cn-north-1',
      double,
    );
    expect(usage.hostBytes).toBe((3 * 2 * 2048 + 1 * 2 * 2048 + 1 * 2 * 4096) * MiB);
    expect(usage.account).toEqual({ instances: 2, nodes: 6, bytes: 6 * 2048 * MiB });
  });

  it('sizes the host budget as overcommit x (host - reserve), and lets shrinking through when over it', () => {
    const s = { hostMemoryMb: 10_000, memoryReserveMb: 1_000, memoryOvercommit: 1.5 };
    expect(hostLimitBytes(s)).toBe(13_500 * MiB);
    const f = instanceFootprint(1, 1024, double);
    expect(() => checkHostMemory(s, 13_000 * MiB, 500 * MiB, 'x', f)).not.toThrow();
    const err = refusal(() => checkHostMemory(s, 13_000 * MiB, 501 * MiB, 'creating x', f));
    expect(err.code).toBe('QUOTA_EXCEEDED');
    expect(err.message).toContain('creating x needs 501 MB more (its nodes would be promised 2 x 2048 MB');
    expect(err.message).toContain('the limit is 13500 MB = JCS_MEMORY_OVERCOMMIT 1.5 x (host memory 10000 MB - JCS_MEMORY_RESERVE_MB 1000 MB), so 500 MB is free');
    expect(() => checkHostMemory(s, 20_000 * MiB, -100 * MiB, 'shrinking', f)).not.toThrow();
    expect(() => checkHostMemory(s, 20_000 * MiB, 0, 'same size', f)).not.toThrow();
  });

  it('checks instances, then nodes, then memory (0: no memory quota), only where the request grows', () => {
    const q = { instances: 3, nodes: 10, memoryMb: 0 };
    const used = { instances: 2, nodes: 8, bytes: 8 * 2048 * MiB };
    expect(refusal(() => checkAccountQuotas(q, { ...used, instances: 3 }, { instances: 1, nodes: 2, bytes: 1 }, 'r')).message).toMatch(/3 of 3 instances in r/);
    expect(refusal(() => checkAccountQuotas(q, used, { instances: 1, nodes: 4, bytes: 1 }, 'r')).message).toContain(
      'JCS_QUOTA_NODES allows 10 nodes in r; 8 are in use and this needs 4 more',
    );
    expect(() => checkAccountQuotas(q, used, { instances: 1, nodes: 2, bytes: 1e15 }, 'r')).not.toThrow();
    const withMemory = { ...q, memoryMb: 20_000 };
    expect(refusal(() => checkAccountQuotas(withMemory, used, { instances: 0, nodes: 0, bytes: 4_000 * MiB }, 'r')).message).toContain(
      'JCS_QUOTA_MEMORY_MB allows 20000 MB of promised memory in r; 16384 MB is in use and this needs 4000 MB more',
    );
    // An account over quotas the operator lowered may still shrink.
    expect(() => checkAccountQuotas({ instances: 1, nodes: 1, memoryMb: 1 }, used, { instances: 0, nodes: -2, bytes: -MiB }, 'r')).not.toThrow();
  });

  it('reads the settings with their defaults and refuses nonsense at start', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({ quota: 20, quotaNodes: 256, quotaMemoryMb: 0, memoryReserveMb: 1024, memoryOvercommit: 1 });
    expect(c.hostMemoryMb).toBeGreaterThan(c.memoryReserveMb);
    expect(loadConfig({ JCS_HOST_MEMORY_MB: '4096', JCS_MEMORY_OVERCOMMIT: '1.25' })).toMatchObject({ hostMemoryMb: 4096, memoryOvercommit: 1.25 });
    expect(() => loadConfig({ JCS_HOST_MEMORY_MB: '1024' })).toThrow(/JCS_MEMORY_RESERVE_MB \(1024\) must be below the host memory \(1024 MB\)/);
    expect(() => loadConfig({ JCS_MEMORY_OVERCOMMIT: '0' })).toThrow(/JCS_MEMORY_OVERCOMMIT must be a number > 0/);
    expect(() => loadConfig({ JCS_QUOTA_NODES: '-1' })).toThrow(/JCS_QUOTA_NODES/);
    expect(() => loadConfig({ JCS_QUOTA_MEMORY_MB: 'lots' })).toThrow(/JCS_QUOTA_MEMORY_MB/);
  });
});
