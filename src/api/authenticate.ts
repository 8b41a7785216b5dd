import type { FastifyRequest } from 'fastify';
import { DomainError } from '../domain/domain-error.ts';
import { parseAuthorizationHeader } from '../signing/authorization-header.ts';
import type { NonceCache } from '../signing/nonce-cache.ts';
import { verifyRequest } from '../signing/verify-request.ts';

export interface AuthDeps {
  /**
   * Looks up an account's secret key; undefined for an unknown access key. May answer synchronously
   * (a cache hit), which spares the request a turn through the promise queue.
   */
  lookupSecret: (accessKey: string) => string | undefined | Promise<string | undefined>;
  nonces: NonceCache;
  now?: () => Date;
}

/**
 * Verifies the request's signature over the original URL and raw body; returns the access key, or
 * throws ACCESS_ERROR. Answers synchronously when the secret is at hand (the usual case), so a
 * request does not wait a turn of the promise queue for it.
 */
export function authenticate(deps: AuthDeps, request: FastifyRequest, rawBody: Buffer): string | Promise<string> {
  // parseAuthorizationHeader remembers its last answer, so verifyRequest's own parse of the same
  // header below costs nothing.
  const header = request.headers.authorization;
  const accessKey = typeof header === 'string' ? parseAuthorizationHeader(header)?.accessKey : undefined;
  const found = accessKey ? deps.lookupSecret(accessKey) : undefined;
  if (found instanceof Promise) return found.then((secret) => verify(deps, request, rawBody, accessKey, secret));
  return verify(deps, request, rawBody, accessKey, found);
}

function verify(deps: AuthDeps, request: FastifyRequest, rawBody: Buffer, accessKey: string | undefined, secret: string | undefined): string {
  const result = verifyRequest(
    { method: request.method, rawUrl: request.originalUrl, headers: request.headers, body: rawBody },
    (ak) => (ak === accessKey ? secret : undefined),
    { now: deps.now?.() ?? new Date(), nonces: deps.nonces },
  );
  if (!result.ok) throw new DomainError('ACCESS_ERROR', result.reason);
  return result.accessKey;
}
