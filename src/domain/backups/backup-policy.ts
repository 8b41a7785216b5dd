/**
 * JD's automatic backup policy: a daily window written `HH:mm-HH:mm +0800` (the time zone as an offset,
 * as JD writes it) and the days of the week it runs on (`Monday,Wednesday`). Pure functions of the
 * policy and a clock, so the schedule is tested with a fake one.
 */
import { DomainError } from '../domain-error.ts';

export const WEEK_DAYS = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'] as const;
export type WeekDay = (typeof WEEK_DAYS)[number];

export const BACKUP_TIME_RULE = 'HH:mm-HH:mm followed by a UTC offset, such as 01:00-02:00 +0800 (start before end, end at most 24:00)';

/** The policy an instance has before modifyBackupPolicy: off, with JD's console default window, every day. */
export const DEFAULT_POLICY = { autoBackup: false, backupTime: '01:00-02:00 +0800', backupPeriod: WEEK_DAYS.join(',') } as const;

export interface BackupWindow {
  /** Minutes after local midnight. */
  startMin: number;
  endMin: number;
  /** The zone's offset from UTC, in minutes (`+0800` → 480). */
  offsetMin: number;
}

export interface BackupSchedule {
  window: BackupWindow;
  days: ReadonlySet<WeekDay>;
}

/** Parses `backupTime`; throws INVALID_ARGUMENT naming the field and the rule. */
export function parseBackupTime(text: string, field = 'backupTime'): BackupWindow {
  const m = /^(\d{2}):(\d{2})-(\d{2}):(\d{2}) ([+-])(\d{2}):?(\d{2})$/.exec(text);
  const bad = (): never => {
    throw new DomainError('INVALID_ARGUMENT', `${field}: must be ${BACKUP_TIME_RULE}, got "${text}"`);
  };
  if (!m) return bad();
  const [sh, sm, eh, em, sign, oh, om] = [Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4]), m[5], Number(m[6]), Number(m[7])];
  if (sh > 23 || sm > 59 || em > 59 || eh > 24 || (eh === 24 && em !== 0) || oh > 14 || om > 59) return bad();
  const startMin = sh * 60 + sm;
  const endMin = eh * 60 + em;
  if (endMin <= startMin) return bad();
  return { startMin, endMin, offsetMin: (sign === '-' ? -1 : 1) * (oh * 60 + om) };
}

/** Parses `backupPeriod` (JD's day names, comma-separated, each once); throws naming the field and the rule. */
export function parseBackupPeriod(text: string, field = 'backupPeriod'): Set<WeekDay> {
  const names = text.split(',').map((d) => d.trim());
  const days = new Set<WeekDay>();
  for (const name of names) {
    if (!(WEEK_DAYS as readonly string[]).includes(name) || days.has(name as WeekDay)) {
      throw new DomainError('INVALID_ARGUMENT', `${field}: must be a comma list of distinct days from ${WEEK_DAYS.join(', ')}, got "${text}"`);
    }
    days.add(name as WeekDay);
  }
  return days;
}

export function parseSchedule(backupTime: string, backupPeriod: string): BackupSchedule {
  return { window: parseBackupTime(backupTime), days: parseBackupPeriod(backupPeriod) };
}

const DAY_MS = 86_400_000;

/** The local calendar day (in the window's zone) of `ms`: its date, weekday and minute of the day. */
function localDay(ms: number, offsetMin: number): { date: string; weekDay: WeekDay; minute: number; midnightMs: number } {
  const local = ms + offsetMin * 60_000;
  const d = new Date(local);
  const midnightLocal = local - (local % DAY_MS + DAY_MS) % DAY_MS;
  // getUTCDay: 0 Sunday … 6 Saturday; JD's list starts on Monday.
  const weekDay = WEEK_DAYS[(d.getUTCDay() + 6) % 7]!;
  return { date: d.toISOString().slice(0, 10), weekDay, minute: Math.floor((local - midnightLocal) / 60_000), midnightMs: midnightLocal - offsetMin * 60_000 };
}

/** The chosen day whose window `nowMs` falls in (`YYYY-MM-DD` in the policy's zone), or null outside every window. */
export function dueDay(schedule: BackupSchedule, nowMs: number): string | null {
  const day = localDay(nowMs, schedule.window.offsetMin);
  const { startMin, endMin } = schedule.window;
  return schedule.days.has(day.weekDay) && day.minute >= startMin && day.minute < endMin ? day.date : null;
}

/**
 * The next window that will run a backup: today's when `nowMs` is before its end and today has no
 * automatic backup yet (`doneDay` is the last day that had one), else the next chosen day's.
 */
export function nextWindow(schedule: BackupSchedule, nowMs: number, doneDay: string | null): { startMs: number; endMs: number } {
  const { startMin, endMin, offsetMin } = schedule.window;
  for (let i = 0; i <= 7; i++) {
    const day = localDay(nowMs + i * DAY_MS, offsetMin);
    if (!schedule.days.has(day.weekDay) || day.date === doneDay) continue;
    const startMs = day.midnightMs + startMin * 60_000;
    const endMs = day.midnightMs + endMin * 60_000;
    if (endMs <= nowMs) continue;
    return { startMs, endMs };
  }
  throw new Error('a schedule with at least one day always has a next window');
}

/** JD's nextBackupTime: `start~end`, ISO 8601 in UTC. */
export function formatWindow(w: { startMs: number; endMs: number }): string {
  const iso = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
  return `${iso(w.startMs)}~${iso(w.endMs)}`;
}
