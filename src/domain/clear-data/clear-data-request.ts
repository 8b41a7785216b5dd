/**
 * startClearData's inputs (reference §5 op 38; JD's StartClearDataRequest and KeyFilter models) and the
 * rules this service applies to them. JD publishes the clearType values `AllData` and `ExpiredData` and
 * says keyPattern and keyFilter are ignored for those two; the value for a purge by name and filters is
 * not published, so it is `KeyPattern` here (docs/api.md says so). JD publishes no qpsLimit range either:
 * the one below is this service's, stated in every refusal.
 */
import { DomainError } from '../domain-error.ts';

export const CLEAR_TYPES = ['AllData', 'ExpiredData', 'KeyPattern'] as const;
export type ClearType = (typeof CLEAR_TYPES)[number];

export const FILTER_TYPES = ['ttl', 'idle'] as const;
export const FILTER_OPERATORS = ['eq', 'gt', 'lt'] as const;

/** Deletions per second at most. Default when absent: QPS_DEFAULT. */
export const QPS_MIN = 1;
export const QPS_MAX = 100_000;
export const QPS_DEFAULT = 1_000;
export const MAX_KEY_FILTERS = 8;
export const MAX_KEY_PATTERN = 1_024;
/** A filter value is seconds; ten years is more than any TTL or idle time means. */
export const MAX_FILTER_VALUE = 315_360_000;

export interface KeyFilter {
  filterType: (typeof FILTER_TYPES)[number];
  operator: (typeof FILTER_OPERATORS)[number];
  value: number;
}

/** A purge as asked, checked. */
export interface ClearDataRequest {
  clearType: ClearType;
  keyPattern: string;
  keyFilter: KeyFilter[];
  qpsLimit: number;
}

/** The body as the API schema let it through (types checked; values not yet). */
export interface ClearDataInput {
  clearType: string;
  keyPattern?: string;
  keyFilter?: Array<{ filterType: string; operator: string; value: number }>;
  qpsLimit?: number;
}

const oneOf = <T extends string>(list: readonly T[], v: string): v is T => (list as readonly string[]).includes(v);

/** Checks a startClearData body; throws INVALID_ARGUMENT / OUT_OF_RANGE naming the field and the rule. */
export function parseClearDataRequest(input: ClearDataInput): ClearDataRequest {
  const { clearType } = input;
  if (!oneOf(CLEAR_TYPES, clearType)) {
    throw new DomainError('INVALID_ARGUMENT', `clearType: must be one of ${CLEAR_TYPES.join(', ')}, got "${clearType.slice(0, 40)}"`);
  }
  const qpsLimit = input.qpsLimit ?? QPS_DEFAULT;
  if (!Number.isInteger(qpsLimit) || qpsLimit < QPS_MIN || qpsLimit > QPS_MAX) {
    throw new DomainError('OUT_OF_RANGE', `qpsLimit: must be an integer from ${QPS_MIN} to ${QPS_MAX} (deletions per second), got ${qpsLimit}`);
  }
  const keyFilter = (input.keyFilter ?? []).map((f, i) => {
    const at = `keyFilter[${i}]`;
    if (!oneOf(FILTER_TYPES, f.filterType)) throw new DomainError('INVALID_ARGUMENT', `${at}.filterType: must be ttl or idle`);
    if (!oneOf(FILTER_OPERATORS, f.operator)) throw new DomainError('INVALID_ARGUMENT', `${at}.operator: must be eq, gt or lt`);
    if (!Number.isInteger(f.value) || f.value < 0 || f.value > MAX_FILTER_VALUE) {
      throw new DomainError('OUT_OF_RANGE', `${at}.value: must be an integer from 0 to ${MAX_FILTER_VALUE} (seconds)`);
    }
    return { filterType: f.filterType, operator: f.operator, value: f.value };
  });
  if (keyFilter.length > MAX_KEY_FILTERS) throw new DomainError('INVALID_ARGUMENT', `keyFilter: at most ${MAX_KEY_FILTERS} filters`);
  const keyPattern = input.keyPattern ?? '';
  if (keyPattern.length > MAX_KEY_PATTERN) throw new DomainError('INVALID_ARGUMENT', `keyPattern: at most ${MAX_KEY_PATTERN} characters`);
  if (clearType !== 'KeyPattern') {
    // JD ignores them for these two types; refused rather than silently dropped, so nobody believes a
    // pattern narrowed an AllData purge.
    if (keyPattern !== '' && keyPattern !== '*') {
      throw new DomainError('INVALID_ARGUMENT', `keyPattern: not used by clearType ${clearType}; give clearType KeyPattern to purge by name`);
    }
    if (keyFilter.length > 0) throw new DomainError('INVALID_ARGUMENT', `keyFilter: not used by clearType ${clearType}; give clearType KeyPattern to purge by filter`);
    return { clearType, keyPattern: '', keyFilter: [], qpsLimit };
  }
  if (keyPattern === '' && keyFilter.length === 0) {
    throw new DomainError('INVALID_ARGUMENT', 'keyPattern: clearType KeyPattern needs a keyPattern (e.g. test*) or at least one keyFilter');
  }
  return { clearType, keyPattern: keyPattern || '*', keyFilter, qpsLimit };
}
