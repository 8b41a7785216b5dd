import pino from 'pino';

/** The logger type used across layers: pino's, which Fastify also uses. */
export type Logger = pino.Logger;

/**
 * Creates the process logger. Redaction is a second line of defence: no code path should log a
 * password or secret key in the first place.
 */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      redact: {
        paths: ['*.password', '*.secretKey', '*.secret_key', '*.proxy_password', 'req.headers.authorization', 'password', 'secretKey', 'proxy_password'],
        censor: '[redacted]',
      },
    },
    destination,
  );
}
