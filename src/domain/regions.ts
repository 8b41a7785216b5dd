import { DomainError } from './domain-error.ts';

/** Zones of a region are `<region>a`, `<region>b` and `<region>c` (reference §7). */
export const zonesOf = (region: string): string[] => ['a', 'b', 'c'].map((l) => `${region}${l}`);

/** JD's names of the regions it documents (reference §7); any other configured region is named by its id. */
const REGION_NAMES: Record<string, string> = {
  'cn-north-1': '华北-北京',
  'cn-east-1': '华东-宿迁',
  'cn-east-2': '华东-上海',
  'cn-south-1': '华南-广州',
};

export const regionName = (region: string): string => REGION_NAMES[region] ?? region;

/** `cn-north-1a` → `可用区A`, the way JD's console names a zone within its region. */
export const zoneName = (zone: string): string => `可用区${zone.slice(-1).toUpperCase()}`;

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
