import type { Socket } from 'node:net';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { newRequestId } from '../domain/ids.ts';
import { DomainError, ERROR_STATUS, storeUnavailable, type ErrorCode } from '../domain/domain-error.ts';

/** The JD Cloud error body: `code` equals the HTTP status, `status` is the stable code. */
export interface ErrorEnvelope {
  requestId: string;
  error: { code: number; status: ErrorCode; message: string };
}

interface AjvLikeError {
  instancePath?: string;
  keyword?: string;
  params?: Record<string, unknown>;
  message?: string;
  parentSchema?: { description?: string };
}

/** `/cacheInstance/azId/master` → `cacheInstance.azId.master`, `/ipWhiteList/3` → `ipWhiteList[3]`; query and params keep their own name. */
function fieldOf(err: AjvLikeError, context: string | undefined): string {
  const path = (err.instancePath ?? '').replace(/^\//, '').replace(/\/(\d+)(?=\/|$)/g, '[$1]').replace(/\//g, '.');
  const missing = err.keyword === 'required' ? String(err.params?.missingProperty ?? '') : '';
  const full = [path, missing].filter(Boolean).join('.');
  return full || (context === 'body' ? 'body' : context ?? 'request');
}

/** One message per validation failure that names the field and the rule it broke. */
export function validationMessage(errors: AjvLikeError[], context: string | undefined): string {
  // A union of literals fails each branch first and then `anyOf`, which carries the rule's description.
  const err = errors.find((e) => e.keyword === 'anyOf' && e.instancePath === errors[0]?.instancePath) ?? errors[0];
  if (!err) return 'invalid request';
  const field = fieldOf(err, context);
  if (err.keyword === 'required') return `${field}: required`;
  const rule = err.parentSchema?.description;
  return rule ? `${field}: must be ${rule.replace(/^must be /, '')}` : `${field}: ${err.message ?? 'invalid'}`;
}

/** Maps Fastify's own errors (bad JSON, size, media type) onto the JD Cloud codes. */
function fromFastifyError(err: FastifyError): DomainError | undefined {
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new DomainError('PAYLOAD_TOO_LARGE', 'request body is larger than the limit of 64 KiB');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new DomainError('UNSUPPORTED_MEDIA_TYPE', 'content-type must be application/json');
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return new DomainError('INVALID_ARGUMENT', 'path: a path segment is longer than 100 characters');
    case 'FST_ERR_BAD_URL':
      return new DomainError('INVALID_ARGUMENT', 'path: not a valid URL (bad percent-encoding?)');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new DomainError('INVALID_ARGUMENT', `malformed request body: ${err.message}`);
    default:
      if (err.statusCode === 400 || err.statusCode === 413 || err.statusCode === 415) {
        return new DomainError('INVALID_ARGUMENT', err.message);
      }
      return undefined;
  }
}

/**
 * The only place errors become HTTP answers. Domain and validation errors keep their message;
 * anything else is logged in full and answered as a generic 500 that leaks nothing.
 */
export function sendError(err: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  let domain: DomainError | undefined;
  if (err instanceof DomainError) domain = err;
  else if (err && typeof err === 'object' && 'validation' in err && Array.isArray((err as { validation: unknown }).validation)) {
    const v = err as { validation: AjvLikeError[]; validationContext?: string };
    domain = new DomainError('INVALID_ARGUMENT', validationMessage(v.validation, v.validationContext));
  } else if (err && typeof err === 'object' && 'code' in err && typeof (err as FastifyError).code === 'string') {
    domain = fromFastifyError(err as FastifyError);
  }
  domain ??= storeUnavailable(err);
  if (domain?.code === 'UNAVAILABLE' && !(err instanceof DomainError)) request.log.warn({ err: (err as Error).message }, 'the store is unavailable');
  if (!domain) {
    request.log.error({ err }, 'unexpected error');
    domain = new DomainError('INTERNAL', 'internal error; the service logged the details under this requestId');
  } else if (domain.code === 'INTERNAL') {
    request.log.error({ err }, 'internal error');
  }
  const body: ErrorEnvelope = {
    requestId: request.id,
    error: { code: ERROR_STATUS[domain.code], status: domain.code, message: domain.message },
  };
  // Set here too, not only in the onSend hook: router-level errors (frameworkErrors) skip the hooks.
  return reply.code(ERROR_STATUS[domain.code]).header('x-jdcloud-request-id', request.id).send(body);
}

/**
 * Answers what Node's HTTP parser refuses before any request exists (Fastify's clientErrorHandler):
 * headers over 16 KiB (an over-long URL), a request that did not arrive within the timeouts, bytes
 * that are not HTTP. Same envelope as everything else, then the connection is closed.
 */
export function writeClientError(err: Error & { code?: string }, socket: Socket): void {
  // A reset connection has no one to answer.
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const message =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? 'request: the URL and headers together are larger than 16 KiB'
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? 'request: the request did not arrive in time; send its headers within the headers timeout and all of it within the request timeout'
        : 'request: not a valid HTTP/1.1 request';
  const requestId = newRequestId();
  const body = JSON.stringify({ requestId, error: { code: 400, status: 'INVALID_ARGUMENT', message } } satisfies ErrorEnvelope);
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 400 Bad Request\r\ncontent-type: application/json; charset=utf-8\r\nx-jdcloud-request-id: ${requestId}\r\n` +
        `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}
