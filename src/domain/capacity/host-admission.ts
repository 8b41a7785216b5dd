import { DomainError } from '../domain-error.ts';
import { toMb, type InstanceFootprint } from './instance-footprint.ts';

/** The operator's settings that size the host's budget (config.ts). */
export interface HostMemorySettings {
  hostMemoryMb: number;
  memoryReserveMb: number;
  memoryOvercommit: number;
}

/** JCS_MEMORY_OVERCOMMIT x (host memory - JCS_MEMORY_RESERVE_MB), in bytes. */
export function hostLimitBytes(s: HostMemorySettings): number {
  return Math.floor(s.memoryOvercommit * Math.max(0, s.hostMemoryMb - s.memoryReserveMb)) * 1024 * 1024;
}

/**
 * Refuses with QUOTA_EXCEEDED when promising `extraBytes` more would take the host's promised total
 * past its limit. `what` says who asks ("cacheInstance redis-x" or "resizing redis-x to …"), `footprint`
 * the shape asked for, so the message can show how the figure is made.
 */
export function checkHostMemory(
  s: HostMemorySettings,
  promisedBytes: number,
  extraBytes: number,
  what: string,
  footprint: InstanceFootprint,
): void {
  if (extraBytes <= 0) return;
  const limit = hostLimitBytes(s);
  if (promisedBytes + extraBytes <= limit) return;
  const free = Math.max(0, limit - promisedBytes);
  throw new DomainError(
    'QUOTA_EXCEEDED',
    `host memory exhausted: ${what} needs ${toMb(extraBytes)} MB more ` +
      `(its nodes would be promised ${footprint.nodes} x ${toMb(footprint.nodeBytes)} MB: maxmemory ${footprint.maxmemoryMb} MB plus client, script and process allowances), ` +
      `${toMb(promisedBytes)} MB is promised to the instances on this host, and the limit is ${toMb(limit)} MB ` +
      `= JCS_MEMORY_OVERCOMMIT ${s.memoryOvercommit} x (host memory ${s.hostMemoryMb} MB - JCS_MEMORY_RESERVE_MB ${s.memoryReserveMb} MB), ` +
      `so ${toMb(free)} MB is free; choose a smaller class or fewer shards, delete an instance, or ask the operator`,
  );
}
