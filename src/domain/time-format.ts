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
