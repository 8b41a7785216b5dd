import { DomainError } from './domain-error.ts';

/** JD Cloud's time format: ISO 8601 UTC without milliseconds, `YYYY-MM-DDTHH:mm:ssZ`. */
export function formatJdTime(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Adds whole months (or years as 12 months) in UTC, clamping to the month's last day like billing does. */
export function addChargePeriod(start: Date, unit: 'month' | 'year', duration: number): Date {
  const months = unit === 'year' ? duration * 12 : duration;
  const d = new Date(start.getTime());
  const day = d.getUTCDate();
  d.setUTCDate(1);
  d.setUTCMonth(d.getUTCMonth() + months);
  const lastDay = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate();
  d.setUTCDate(Math.min(day, lastDay));
  return d;
}

/** An ISO 8601 / RFC 3339 time a client sent in `field`, in ms since the epoch; undefined when absent or empty. */
export function parseJdTime(value: string | undefined, field: string): number | undefined {
  if (value === undefined || value === '') return undefined;
  const ms = /^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:?\d\d)$/.test(value) ? Date.parse(value) : NaN;
  if (!Number.isFinite(ms)) throw new DomainError('INVALID_ARGUMENT', `${field}: must be an ISO 8601 time such as 2026-01-02T03:04:05Z, got "${value}"`);
  return ms;
}
