/** Node's socket errors that mean the database server could not be reached or went away. */
const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

/** What pg says when a connection ends or cannot be had in time (it sets no code on these). */
const PG_MESSAGES = [/^Connection terminated/, /timeout exceeded when trying to connect/, /Client has encountered a connection error/, /Connection is closed/];

/**
 * Whether `err` says the store cannot be reached just now (a PostgreSQL server restarting or failing
 * over, a connection cut, SQLite's file locked past its busy timeout), as opposed to a bug or a bad
 * query: the caller may retry the same call later. PostgreSQL's own codes: class 08 (connection
 * exception), 57P01-57P03 (shutting down, cannot connect now), 53300 (too many connections).
 */
export function isStoreUnavailable(err: unknown): boolean {
  if (!err || typeof err !== 'object') return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') {
    if (SOCKET_CODES.has(code) || code.startsWith('08') || /^57P0[123]$/.test(code) || code === '53300') return true;
    if (code === 'SQLITE_BUSY') return true;
  }
  const message = (err as { message?: unknown }).message;
  return typeof message === 'string' && PG_MESSAGES.some((m) => m.test(message));
}
