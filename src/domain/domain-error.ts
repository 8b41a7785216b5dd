import { isStoreUnavailable } from '../store/store-unavailable.ts';

/**
 * Stable error codes of the service. Domain code throws `DomainError(code, message)`; the API maps the
 * code to the HTTP status and JD Cloud envelope in exactly one place (api/error-envelope.ts).
 * docs/errors.md documents every code; a test keeps the two in sync.
 */
export const ERROR_STATUS = {
  INVALID_ARGUMENT: 400,
  FAILED_PRECONDITION: 400,
  OUT_OF_RANGE: 400,
  ACCESS_ERROR: 401,
  HTTP_FORBIDDEN: 403,
  NOT_FOUND: 404,
  ALREADY_EXISTS: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  QUOTA_EXCEEDED: 429,
  INTERNAL: 500,
  NOT_IMPLEMENTED: 501,
  UNAVAILABLE: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export class DomainError extends Error {
  override readonly name = 'DomainError';
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }

  get httpStatus(): number {
    return ERROR_STATUS[this.code];
  }
}

/**
 * A failure of the store's connection (its server restarting, a cut link) as the retryable
 * UNAVAILABLE, so a client is told to retry rather than given an internal error; undefined for any
 * other error. The message names no host, URL or query.
 */
export function storeUnavailable(err: unknown): DomainError | undefined {
  return isStoreUnavailable(err) ? new DomainError('UNAVAILABLE', 'the service cannot reach its database just now; retry in a moment') : undefined;
}
