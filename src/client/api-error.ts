/** The service answered with the JD Cloud error envelope `{requestId, error: {code, status, message}}`. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    /** HTTP status (JD Cloud's `error.code`, "same as http code"). */
    readonly httpStatus: number,
    /** JD Cloud status string, e.g. `NOT_FOUND`, `ACCESS_ERROR`, `INVALID_ARGUMENT`. */
    readonly status: string,
    message: string,
    readonly requestId: string | undefined,
  ) {
    super(message);
  }
}

/** The service could not be reached at all (refused, DNS, reset, no answer in time). */
export class ConnectionError extends Error {
  override readonly name = 'ConnectionError';
  constructor(
    readonly endpoint: string,
    message: string,
  ) {
    super(message);
  }
}
