import type { FastifyRequest } from 'fastify';
import { DomainError } from '../domain/domain-error.ts';
import { parseAuthorizationHeader } from '../signing/authorization-header.ts';
import { verifyRequest } from '../signing/verify-request.ts';

export interface AuthDeps {
  /**
   * Looks up an account's secret key; undefined for an unknown access key. May answer synchronously
   * (a cache hit), which spares the request a turn through the promise queue.
   */
  lookupSecret: (accessKey: string) => string | undefined | Promise<string | undefined>;
  /**
   * Replay protection (domain/replay-guard.ts): true the first time a signature is seen, false for a
   * replay. `durable` asks for an answer that survives a restart before the request runs.
   */
  replays: { admit(signature: string, expiresAtMs: number, durable: boolean): boolean | Promise<boolean> };
  now?: () => Date;
}

const REPLAYED =
  'this signed request was already accepted once (replay): every request needs its own signature. ' +
  'Sign x-jdcloud-nonce with a fresh nonce, or, if your client does not sign it, do not send the same request twice in one second';

/**
 * Verifies the request's signature over the original URL and raw body, checks that the credential
 * scope's region is the path's regionId, and admits the signature once (replay protection); returns
 * the access key, or throws ACCESS_ERROR. Answers synchronously when it can (a cached secret and a
 * read), so such a request does not wait a turn of the promise queue.
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

function verify(deps: AuthDeps, request: FastifyRequest, rawBody: Buffer, accessKey: string | undefined, secret: string | undefined): string | Promise<string> {
  const result = verifyRequest(
    { method: request.method, rawUrl: request.originalUrl, headers: request.headers, body: rawBody },
    (ak) => (ak === accessKey ? secret : undefined),
    { now: deps.now?.() ?? new Date() },
  );
  if (!result.ok) throw new DomainError('ACCESS_ERROR', result.reason);
  // The signing key is derived from the scope's region: a request signed for one region must not act
  // in another (JD's SDKs always sign with the path's region).
  const pathRegion = (request.params as { regionId?: string } | undefined)?.regionId;
  if (pathRegion !== undefined && pathRegion !== result.region) {
    throw new DomainError('ACCESS_ERROR', `credential scope region "${result.region}" does not match regionId "${pathRegion}" in the path`);
  }
  const admitted = deps.replays.admit(result.signature, result.expiresAtMs, request.method !== 'GET' && request.method !== 'HEAD');
  if (admitted === true) return result.accessKey;
  if (admitted === false) throw new DomainError('ACCESS_ERROR', REPLAYED);
  return admitted.then((ok) => {
    if (!ok) throw new DomainError('ACCESS_ERROR', REPLAYED);
    return result.accessKey;
  });
}
