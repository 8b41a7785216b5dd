/**
 * The Redis parameters a tenant may change (describeInstanceConfig / modifyInstanceConfig), as JD reports
 * them: JD's Redis 4.0 list (API docs of describeInstanceConfig and the Go SDK's ConfigItem), plus
 * `timeout` and `slowlog-max-len`, which JD's console offers too. Ranges follow JD's documented ones;
 * where JD's example answer and its text disagree the wider range that keeps the default inside is used
 * (docs/instance-settings.md lists each choice). Redis 7 still takes the `ziplist` names as aliases of
 * its `listpack` parameters.
 */
import { DomainError } from '../domain-error.ts';

/** One parameter, in the fields of JD's ConfigItem. */
export interface ConfigParam {
  name: string;
  type: 'int' | 'string' | 'byteArray';
  defaultValue: string;
  /** For `int`: the inclusive range. */
  min?: number;
  max?: number;
  /** For `string`: the values allowed; for `byteArray`: the letters a value is made of. */
  optional?: readonly string[];
  description: string;
}

/** Eviction policies (Redis 4.0 and later); stored as the instance's maxmemory policy, not as a parameter. */
export const EVICTION_POLICIES = ['volatile-lru', 'allkeys-lru', 'volatile-lfu', 'allkeys-lfu', 'volatile-random', 'allkeys-random', 'volatile-ttl', 'noeviction'] as const;

const KEYSPACE_EVENT_CLASSES = ['K', 'E', 'g', '$', 'l', 's', 'h', 'z', 'x', 'e', 'A'] as const;

const int = (name: string, defaultValue: number, min: number, max: number, description: string): ConfigParam => ({
  name,
  type: 'int',
  defaultValue: String(defaultValue),
  min,
  max,
  description,
});

/** Every parameter a tenant may change, in the order describeInstanceConfig lists them. */
export const CONFIG_PARAMS: readonly ConfigParam[] = [
  { name: 'maxmemory-policy', type: 'string', defaultValue: 'volatile-lru', optional: EVICTION_POLICIES, description: 'eviction policy once memory reaches the class limit' },
  int('timeout', 0, 0, 7200, 'seconds an idle client connection is kept open; 0 keeps it open for ever'),
  int('hash-max-ziplist-entries', 512, 1, 10000, 'a hash with at most this many fields is stored compactly (ziplist/listpack)'),
  int('hash-max-ziplist-value', 64, 1, 10000, 'a hash whose values are all at most this many bytes is stored compactly'),
  int('list-max-ziplist-size', -2, -5, 10000, 'size of each list node: positive = entries, -1 to -5 = 4 KB to 64 KB'),
  int('list-compress-depth', 0, 0, 10000, 'list nodes at each end left uncompressed; 0 turns compression off'),
  int('set-max-intset-entries', 512, 1, 10000, 'a set of integers with at most this many members is stored as an intset'),
  int('zset-max-ziplist-entries', 128, 1, 10000, 'a sorted set with at most this many members is stored compactly'),
  int('zset-max-ziplist-value', 64, 1, 10000, 'a sorted set whose members are all at most this many bytes is stored compactly'),
  // 1000 µs at the least, as JD's describeInstanceConfig answers: lower, the control plane's own health
  // checks (every 500 ms on every node) would fill the slow log and push the tenant's entries out.
  int('slowlog-log-slower-than', 10000, 1000, 1000000, 'commands slower than this many microseconds are logged in the slow log'),
  int('slowlog-max-len', 128, 0, 10000, 'entries the slow log keeps on each node'),
  {
    name: 'notify-keyspace-events',
    type: 'byteArray',
    defaultValue: '',
    optional: KEYSPACE_EVENT_CLASSES,
    description: 'keyspace notifications: a combination of K, E, g, $, l, s, h, z, x, e, A (case-sensitive), or empty for none',
  },
];

/** Redis parameters JD does not let tenants change here, listed by describeInstanceConfig. */
export const UNSUPPORTED_CONFIGS = [
  'maxmemory',
  'maxclients',
  'databases',
  'appendonly',
  'appendfsync',
  'save',
  'client-output-buffer-limit',
  'list-max-ziplist-entries',
  'list-max-ziplist-value',
  'lua-time-limit',
] as const;

const byName = new Map(CONFIG_PARAMS.map((p) => [p.name, p]));

export function findConfigParam(name: string): ConfigParam | undefined {
  return byName.get(name);
}

/** The rule a value of `p` must follow, in words for an error message. */
export function configRule(p: ConfigParam): string {
  if (p.type === 'int') return `an integer from ${p.min} to ${p.max}`;
  if (p.type === 'string') return `one of ${p.optional!.join(', ')}`;
  return `empty or a combination of ${p.optional!.join(', ')}`;
}

/**
 * The value to store for `name` (an integer written the way Redis prints it), or a DomainError naming
 * `field` and the rule. (`field` is e.g. `instanceConfig[0].configValue`.)
 */
export function checkConfigValue(name: string, value: string, field: string): string {
  const p = byName.get(name);
  if (!p) {
    const unsupported = (UNSUPPORTED_CONFIGS as readonly string[]).includes(name);
    throw new DomainError(
      'INVALID_ARGUMENT',
      `${field.replace(/configValue$/, 'configName')}: "${name}" ${unsupported ? 'cannot be changed on this service' : 'is not a parameter'}; changeable: ${CONFIG_PARAMS.map((c) => c.name).join(', ')}`,
    );
  }
  if (p.type === 'int') {
    const n = /^-?\d{1,10}$/.test(value.trim()) ? Number(value.trim()) : NaN;
    if (!Number.isInteger(n) || n < p.min! || n > p.max!) throw new DomainError('OUT_OF_RANGE', `${field}: ${name} must be ${configRule(p)}, got "${value}"`);
    return String(n);
  }
  if (p.type === 'string') {
    if (!p.optional!.includes(value)) throw new DomainError('INVALID_ARGUMENT', `${field}: ${name} must be ${configRule(p)}, got "${value}"`);
    return value;
  }
  if ([...value].some((c) => !p.optional!.includes(c)) || new Set(value).size !== value.length) {
    throw new DomainError('INVALID_ARGUMENT', `${field}: ${name} must be ${configRule(p)}, each at most once, got "${value}"`);
  }
  return value;
}
