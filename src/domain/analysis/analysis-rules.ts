import { DomainError } from '../domain-error.ts';

/**
 * The rules of cache analysis settings (JD's createBigKeyAnalysis*, modifyAnalysisThreshold*,
 * modify*AnalysisTime), one place for the API's refusals: each names the field and the rule.
 */

/** Big-key thresholds: bytes for strings, elements for the other types; `top` keys kept per list. */
export interface Thresholds {
  stringSize: number;
  listSize: number;
  hashSize: number;
  setSize: number;
  zsetSize: number;
  top: number;
}

export const SIZE_FIELDS = ['stringSize', 'listSize', 'hashSize', 'setSize', 'zsetSize'] as const;
export type SizeField = (typeof SIZE_FIELDS)[number];

/** Until the tenant sets its own: 10 KB strings, 1000-element collections (JD's minimums), top 100. */
export const DEFAULT_THRESHOLDS: Thresholds = { stringSize: 10_240, listSize: 1_000, hashSize: 1_000, setSize: 1_000, zsetSize: 1_000, top: 100 };

/** JD's bounds of `top` (createBigKeyAnalysis, modifyAnalysisThreshold). */
export const TOP_MIN = 10;
export const TOP_MAX = 1_000;
/** A threshold above Redis's own limit of a string (512 MB) could never match. */
export const SIZE_MAX = 512 * 1024 * 1024;
/** JD's minimums of the second API family (createBigKeyAnalysis2, modifyAnalysisThreshold2). */
export const STRICT_MIN: Record<SizeField, number> = { stringSize: 10_240, listSize: 1_000, hashSize: 1_000, setSize: 1_000, zsetSize: 1_000 };
/** JD: at most 12 analyses an instance per day. */
export const ANALYSES_PER_DAY = 12;

export type ThresholdInput = Partial<Record<SizeField | 'top', number>>;

/**
 * The thresholds asked for, over `base` for fields not given. `strict`: JD's second family, whose
 * minimums are 10240 bytes and 1000 elements; otherwise any positive size.
 */
export function parseThresholds(input: ThresholdInput, base: Thresholds, strict: boolean): Thresholds {
  const out: Thresholds = { ...base };
  for (const f of SIZE_FIELDS) {
    const v = input[f];
    if (v === undefined) continue;
    const min = strict ? STRICT_MIN[f] : 1;
    if (!Number.isInteger(v) || v < min || v > SIZE_MAX) throw new DomainError('INVALID_ARGUMENT', `${f} must be an integer from ${min} to ${SIZE_MAX}, not ${v}`);
    out[f] = v;
  }
  if (input.top !== undefined) {
    if (!Number.isInteger(input.top) || input.top < TOP_MIN || input.top > TOP_MAX) {
      throw new DomainError('INVALID_ARGUMENT', `top must be an integer from ${TOP_MIN} to ${TOP_MAX}, not ${input.top}`);
    }
    out.top = input.top;
  }
  return out;
}

/** A daily window `HH:mm-HH:mm +hhmm` (JD's), or null for `-` (off). Minutes are of the day in the window's zone. */
export interface AnalysisWindow {
  startMin: number;
  endMin: number;
  /** The zone's offset from UTC, in minutes. */
  offsetMin: number;
}

const WINDOW = /^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d) ([+-])(0\d|1[0-4])([0-5]\d)$/;

/** Parses JD's analysisTime; throws naming the field and the format. */
export function parseAnalysisTime(field: string, value: string): AnalysisWindow | null {
  if (value === '-') return null;
  const m = WINDOW.exec(value);
  const rule = `${field} must be - (off) or a daily window HH:mm-HH:mm with its zone, such as "01:00-02:00 +0800"`;
  if (!m) throw new DomainError('INVALID_ARGUMENT', `${rule}, not ${JSON.stringify(value.slice(0, 40))}`);
  const startMin = Number(m[1]) * 60 + Number(m[2]);
  const endMin = Number(m[3]) * 60 + Number(m[4]);
  if (startMin === endMin) throw new DomainError('INVALID_ARGUMENT', `${rule}; its start and end must differ`);
  const offsetMin = (m[5] === '-' ? -1 : 1) * (Number(m[6]) * 60 + Number(m[7]));
  return { startMin, endMin, offsetMin };
}

/** The day (`yyyy-MM-dd`) of `ms` in a zone `offsetMin` from UTC. */
export function dayOf(ms: number, offsetMin: number): string {
  return new Date(ms + offsetMin * 60_000).toISOString().slice(0, 10);
}

/** JD's consoles count days in China Standard Time (+0800); the by-date lists do too. */
export const LIST_ZONE_MIN = 8 * 60;

/** Whether `ms` falls in the window; a window may wrap past midnight (`23:00-01:00`). */
export function inWindow(w: AnalysisWindow, ms: number): boolean {
  const local = new Date(ms + w.offsetMin * 60_000);
  const min = local.getUTCHours() * 60 + local.getUTCMinutes();
  return w.startMin < w.endMin ? min >= w.startMin && min < w.endMin : min >= w.startMin || min < w.endMin;
}

/** The day a window's run at `ms` belongs to: the day it started on (a wrapping window's tail belongs to the day before). */
export function windowDay(w: AnalysisWindow, ms: number): string {
  const local = new Date(ms + w.offsetMin * 60_000);
  const min = local.getUTCHours() * 60 + local.getUTCMinutes();
  const started = w.startMin > w.endMin && min < w.endMin ? ms - 86_400_000 : ms;
  return dayOf(started, w.offsetMin);
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** JD's `date` query (`yyyy-MM-dd`); throws naming the field. */
export function parseDay(value: string): string {
  const m = DATE.exec(value);
  const d = m ? new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]))) : null;
  if (!m || !d || d.toISOString().slice(0, 10) !== value) {
    throw new DomainError('INVALID_ARGUMENT', `date must be a day yyyy-MM-dd such as 2026-01-31, not ${JSON.stringify(value.slice(0, 40))}`);
  }
  return value;
}
