/**
 * Exit codes of `jcs-redis`, distinct per kind of failure so scripts can tell "fix your command" from
 * "the service said no" from "the service is down". Documented in docs/cli.md.
 */
export const EXIT = {
  /** Success. */
  OK: 0,
  /** Anything unexpected (a bug): the message is printed as is. */
  UNEXPECTED: 1,
  /** Usage error: unknown command or flag, bad flag value, missing credentials. */
  USAGE: 2,
  /** The API answered with an error; its status and message are on stderr. */
  API_ERROR: 3,
  /** The service could not be reached (refused, DNS, timeout). */
  CONNECTION: 4,
  /** `--wait`: the instance went to `error`, or the wait timed out. */
  WAIT_FAILED: 5,
} as const;

/** A mistake in the command line; reported with exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}
