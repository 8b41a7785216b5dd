import { DomainError } from '../domain-error.ts';
import { toMb } from './instance-footprint.ts';

/** An account's quotas in one region (config.ts). */
export interface AccountQuotas {
  /** JCS_QUOTA. */
  instances: number;
  /** JCS_QUOTA_NODES. */
  nodes: number;
  /** JCS_QUOTA_MEMORY_MB; 0 means none. */
  memoryMb: number;
}

export interface QuotaAmounts {
  instances: number;
  nodes: number;
  bytes: number;
}

/**
 * Refuses with QUOTA_EXCEEDED, naming the quota, what is used and what is asked, when `asked` on top
 * of `used` passes one of the quotas. Only growth is checked: shrinking is always allowed, also
 * when the account is over a quota the operator lowered.
 */
export function checkAccountQuotas(q: AccountQuotas, used: QuotaAmounts, asked: QuotaAmounts, region: string): void {
  if (asked.instances > 0 && used.instances + asked.instances > q.instances) {
    throw new DomainError(
      'QUOTA_EXCEEDED',
      `quota exceeded: ${used.instances} of ${q.instances} instances in ${region} are in use; delete one or ask the operator to raise JCS_QUOTA`,
    );
  }
  if (asked.nodes > 0 && used.nodes + asked.nodes > q.nodes) {
    throw new DomainError(
      'QUOTA_EXCEEDED',
      `quota exceeded: JCS_QUOTA_NODES allows ${q.nodes} nodes in ${region}; ${used.nodes} are in use and this needs ${asked.nodes} more ` +
        `(a master and a replica per shard); choose fewer shards, delete an instance, or ask the operator to raise JCS_QUOTA_NODES`,
    );
  }
  const limitBytes = q.memoryMb * 1024 * 1024;
  if (q.memoryMb > 0 && asked.bytes > 0 && used.bytes + asked.bytes > limitBytes) {
    throw new DomainError(
      'QUOTA_EXCEEDED',
      `quota exceeded: JCS_QUOTA_MEMORY_MB allows ${q.memoryMb} MB of promised memory in ${region}; ${toMb(used.bytes)} MB is in use and this needs ` +
        `${toMb(asked.bytes)} MB more (every node's maxmemory plus its client, script and process allowances); ` +
        `choose a smaller class or fewer shards, delete an instance, or ask the operator to raise JCS_QUOTA_MEMORY_MB`,
    );
  }
}
