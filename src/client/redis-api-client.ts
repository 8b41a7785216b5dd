import { rfc3986Encode } from '../signing/percent-encoding.ts';
import { signRequest } from '../signing/sign-request.ts';
import { ApiError, ConnectionError } from './api-error.ts';
import type {
  DescribeInstanceEventsResult,
  CacheInstanceSpec,
  ChargeSpec,
  CreateCacheInstanceResult,
  DescribeCacheInstanceResult,
  DescribeCacheInstancesQuery,
  DescribeCacheInstancesResult,
  DescribeInstanceClassResult,
  DescribeIpWhiteListResult,
  DescribeUserQuotaResult,
  EmptyResult,
  ModifyCacheInstanceClassResult,
} from './api-types.ts';
import { encodeQuery, flattenDescribeQuery } from './flatten-query.ts';
import type { HttpAnswer, HttpFetch } from './node-http-fetch.ts';

export interface RedisApiClientOptions {
  /** Base URL of the service, e.g. `http://127.0.0.1:8000` (a path prefix is kept). */
  endpoint: string;
  accessKey: string;
  secretKey: string;
  /** Region of every call, e.g. `cn-north-1`. */
  region: string;
  /** Per-request timeout. Default 30 s. */
  timeoutMs?: number;
  /** How requests are sent: default the global fetch (the CLI passes nodeHttpFetch, lighter to load); tests inject one. */
  fetch?: HttpFetch;
  /** Sent unsigned, like the SDKs. Default `jcs-redis-client/0.1.0`. */
  userAgent?: string;
}

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';

function segment(text: string): string {
  // Same escaping as the JS SDK's path builder, so ":" in ":action" goes out as %3A.
  return rfc3986Encode(Buffer.from(text, 'utf8'));
}

/**
 * Typed client for the JCS for Redis operations the CLI uses (instances, classes, quota, IP white
 * list, events). Requests are signed with JDCLOUD2-HMAC-SHA256 exactly like jdcloud-sdk-js; errors come
 * back as `ApiError` (the service said no) or `ConnectionError` (the service could not be reached).
 */
export class RedisApiClient {
  private readonly base: URL;
  private readonly fetchImpl: HttpFetch;

  constructor(private readonly options: RedisApiClientOptions) {
    this.base = new URL(options.endpoint);
    if (this.base.protocol !== 'http:' && this.base.protocol !== 'https:') {
      throw new Error(`endpoint must be an http(s) URL, got "${options.endpoint}"`);
    }
    this.fetchImpl = options.fetch ?? fetch;
  }

  get region(): string {
    return this.options.region;
  }

  createCacheInstance(cacheInstance: CacheInstanceSpec, charge?: ChargeSpec): Promise<CreateCacheInstanceResult> {
    return this.call('POST', ['cacheInstance'], undefined, charge ? { cacheInstance, charge } : { cacheInstance });
  }

  deleteCacheInstance(cacheInstanceId: string): Promise<EmptyResult> {
    return this.call('DELETE', ['cacheInstance', cacheInstanceId]);
  }

  describeCacheInstance(cacheInstanceId: string): Promise<DescribeCacheInstanceResult> {
    return this.call('GET', ['cacheInstance', cacheInstanceId]);
  }

  describeCacheInstances(query: DescribeCacheInstancesQuery = {}): Promise<DescribeCacheInstancesResult> {
    return this.call('GET', ['cacheInstance'], encodeQuery(flattenDescribeQuery(query)));
  }

  describeInstanceClass(redisVersion?: string): Promise<DescribeInstanceClassResult> {
    return this.call('GET', ['instanceClass'], redisVersion === undefined ? undefined : encodeQuery([['redisVersion', redisVersion]]));
  }

  describeUserQuota(): Promise<DescribeUserQuotaResult> {
    return this.call('GET', ['quota']);
  }

  modifyCacheInstanceAttribute(
    cacheInstanceId: string,
    changes: { cacheInstanceName?: string; cacheInstanceDescription?: string },
  ): Promise<EmptyResult> {
    return this.call('PATCH', ['cacheInstance', cacheInstanceId], undefined, changes);
  }

  modifyCacheInstanceClass(
    cacheInstanceId: string,
    change: { cacheInstanceClass: string; shardNumber?: number },
  ): Promise<ModifyCacheInstanceClassResult> {
    return this.call('POST', ['cacheInstance', `${cacheInstanceId}:modifyCacheInstanceClass`], undefined, change);
  }

  /** An absent or empty password makes the instance password-free (reference §4.9). */
  resetCacheInstancePassword(cacheInstanceId: string, password?: string): Promise<EmptyResult> {
    const body = password === undefined ? {} : { password };
    return this.call('POST', ['cacheInstance', `${cacheInstanceId}:resetCacheInstancePassword`], undefined, body);
  }

  describeIpWhiteList(cacheInstanceId: string): Promise<DescribeIpWhiteListResult> {
    return this.call('GET', ['cacheInstance', cacheInstanceId, 'ipWhiteList']);
  }

  /** `["0.0.0.0/0"]` admits anyone (the default); `["127.0.0.1"]` no one (reference: modifyIpWhiteList). */
  modifyIpWhiteList(cacheInstanceId: string, ipWhiteList: string[]): Promise<EmptyResult> {
    return this.call('PATCH', ['cacheInstance', cacheInstanceId, 'ipWhiteList'], undefined, { ipWhiteList });
  }

  /** The instance's recent events, oldest first (an extension of this service, not a JD operation). */
  describeInstanceEvents(cacheInstanceId: string, limit?: number): Promise<DescribeInstanceEventsResult> {
    return this.call('GET', ['cacheInstance', cacheInstanceId, 'events'], limit === undefined ? undefined : encodeQuery([['limit', String(limit)]]));
  }

  private async call<T>(method: Method, resource: string[], query?: string, body?: object): Promise<T> {
    const basePath = this.base.pathname.replace(/\/+$/, '');
    const path = `${basePath}/v1/regions/${segment(this.options.region)}/${resource.map(segment).join('/')}`;
    // JSON.stringify drops undefined fields, so only what the caller set is sent (as the JS SDK does).
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string> = {
      accept: 'application/json',
      'content-type': 'application/json',
      // fetch derives Host from the URL the same way (port only when not the default one).
      host: this.base.host,
    };
    const signature = signRequest(
      { method, path, query, headers, body: payload },
      { accessKey: this.options.accessKey, secretKey: this.options.secretKey },
      { region: this.options.region },
    );
    const url = `${this.base.origin}${path}${query ? `?${query}` : ''}`;
    const { host: _host, ...sent } = headers;

    let response: HttpAnswer;
    let text: string;
    try {
      response = await this.fetchImpl(url, {
        method,
        headers: { ...sent, ...signature, 'user-agent': this.options.userAgent ?? 'jcs-redis-client/0.1.0' },
        body: payload,
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 30_000),
      });
      text = await response.text();
    } catch (err) {
      throw new ConnectionError(this.base.origin, describeFetchFailure(this.base.origin, err));
    }
    return parseEnvelope<T>(response, text);
  }
}

function describeFetchFailure(origin: string, err: unknown): string {
  if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')) {
    return `no answer from ${origin} in time`;
  }
  // undici reports "fetch failed" and puts the useful part (ECONNREFUSED, ENOTFOUND, …) in `cause`.
  const cause = err instanceof Error ? (err.cause as { code?: string; message?: string } | undefined) : undefined;
  const detail = cause?.code ?? cause?.message ?? (err instanceof Error ? err.message : String(err));
  return `cannot reach ${origin} (${detail}); is the service running?`;
}

interface Envelope {
  requestId?: string;
  result?: unknown;
  error?: { code?: number; status?: string; message?: string };
}

function parseEnvelope<T>(response: HttpAnswer, text: string): T {
  const headerRequestId = response.headers.get('x-jdcloud-request-id') ?? undefined;
  let parsed: Envelope | undefined;
  try {
    const value: unknown = JSON.parse(text);
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) parsed = value as Envelope;
  } catch {
    parsed = undefined;
  }
  const requestId = parsed?.requestId ?? headerRequestId;
  if (parsed?.error) {
    const e = parsed.error;
    throw new ApiError(
      typeof e.code === 'number' ? e.code : response.status,
      e.status ?? `HTTP_${response.status}`,
      e.message ?? response.statusText,
      requestId,
    );
  }
  if (!response.ok) {
    throw new ApiError(response.status, `HTTP_${response.status}`, snippet(text) || response.statusText, requestId);
  }
  if (!parsed) {
    throw new ApiError(response.status, 'INVALID_RESPONSE', `the service answered with something that is not JSON: ${snippet(text)}`, requestId);
  }
  return (parsed.result ?? {}) as T;
}

function snippet(text: string): string {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return oneLine.length > 200 ? `${oneLine.slice(0, 200)}…` : oneLine;
}
