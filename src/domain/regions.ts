import { DomainError } from './domain-error.ts';

/** Zones of a region are `<region>a`, `<region>b` and `<region>c` (reference §7). */
export const zonesOf = (region: string): string[] => ['a', 'b', 'c'].map((l) => `${region}${l}`);

export function assertRegion(regions: readonly string[], region: string): void {
  if (!regions.includes(region)) {
    throw new DomainError('INVALID_ARGUMENT', `regionId: unknown region "${region}"; known regions: ${regions.join(', ')}`);
  }
}

export function assertZone(region: string, field: string, zone: string): void {
  if (!zonesOf(region).includes(zone)) {
    throw new DomainError('INVALID_ARGUMENT', `${field}: unknown zone "${zone}" in ${region}; zones: ${zonesOf(region).join(', ')}`);
  }
}
