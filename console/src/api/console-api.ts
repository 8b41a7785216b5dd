import { ApiError } from '../../../src/client/api-error.ts';
import type {
  CacheInstance,
  CacheInstanceSpec,
  CreateCacheInstanceResult,
  DescribeCacheInstancesQuery,
  DescribeCacheInstancesResult,
  InstanceClass,
  InstanceEvent,
  Quota,
} from '../../../src/client/api-types.ts';
import { flattenDescribeQuery } from '../../../src/client/flatten-query.ts';
import type { InstanceSample } from '../../../src/engine/instance-samples.ts';
import { deriveSigningKey, signWebRequest } from './web-signer.ts';

export { ApiError };
export type { InstanceSample, NodeSample } from '../../../src/engine/instance-samples.ts';
export type { InstanceEvent };

export interface AvailableRegion {
  regionId: string;
  regionName?: string;
  quota?: { max: number; used: number };
  availableZones?: { azId: string; azName?: string }[];
}

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';

/**
 * The signed JCS for Redis API, called from the browser. The secret key is held in this object's
 * closure only (never in storage, a URL or a log); `forget()` on sign-out drops it and every key
 * derived from it. Each request is signed afresh (new nonce), so none is ever replayed.
 */
export class ConsoleApi {
  private secret: string | undefined;
  private readonly keys = new Map<string, Promise<CryptoKey>>();

  constructor(
    readonly accessKey: string,
    secretKey: string,
    /** Region used for calls that are not about one region (the region list). */
    readonly homeRegion: string,
  ) {
    this.secret = secretKey;
  }

  /** Drops the secret key and the signing keys derived from it; every later call fails. */
  forget(): void {
    this.secret = undefined;
    this.keys.clear();
  }

  availableRegions(): Promise<{ availableRegions: AvailableRegion[] }> {
    return this.call('GET', this.homeRegion, ['availableRegion']);
  }

  list(region: string, query: DescribeCacheInstancesQuery): Promise<DescribeCacheInstancesResult> {
    return this.call('GET', region, ['cacheInstance'], { query: flattenDescribeQuery(query) });
  }

  describe(region: string, id: string): Promise<{ cacheInstance: CacheInstance }> {
    return this.call('GET', region, ['cacheInstance', id]);
  }

  quota(region: string): Promise<{ quota: Quota }> {
    return this.call('GET', region, ['quota']);
  }

  instanceClasses(region: string, redisVersion: string): Promise<{ instanceClasses: InstanceClass[] }> {
    return this.call('GET', region, ['instanceClass'], { query: [['redisVersion', redisVersion]] });
  }

  create(region: string, cacheInstance: CacheInstanceSpec): Promise<CreateCacheInstanceResult> {
    return this.call('POST', region, ['cacheInstance'], { body: { cacheInstance } });
  }

  modifyAttribute(region: string, id: string, changes: { cacheInstanceName?: string; cacheInstanceDescription?: string }): Promise<object> {
    return this.call('PATCH', region, ['cacheInstance', id], { body: changes });
  }

  resize(region: string, id: string, cacheInstanceClass: string, shardNumber?: number): Promise<object> {
    return this.call('POST', region, ['cacheInstance', `${id}:modifyCacheInstanceClass`], { body: { cacheInstanceClass, shardNumber } });
  }

  /** An empty password makes the instance password-free. */
  resetPassword(region: string, id: string, password: string): Promise<object> {
    return this.call('POST', region, ['cacheInstance', `${id}:resetCacheInstancePassword`], { body: password ? { password } : {} });
  }

  ipWhiteList(region: string, id: string): Promise<{ ipWhiteList: string[] }> {
    return this.call('GET', region, ['cacheInstance', id, 'ipWhiteList']);
  }

  modifyIpWhiteList(region: string, id: string, ipWhiteList: string[]): Promise<object> {
    return this.call('PATCH', region, ['cacheInstance', id, 'ipWhiteList'], { body: { ipWhiteList } });
  }

  remove(region: string, id: string): Promise<object> {
    return this.call('DELETE', region, ['cacheInstance', id]);
  }

  /** The instance's latest `limit` events, oldest first (GET …/events, a jcs extension signed like the JD operations). */
  events(region: string, id: string, limit: number): Promise<{ events: InstanceEvent[] }> {
    return this.call('GET', region, ['cacheInstance', id, 'events'], { query: [['limit', String(limit)]] });
  }

  /** Chart samples the health loop took (jcs extension, same signature as the JD operations). */
  samples(region: string, id: string, sinceMs: number): Promise<{ samples: InstanceSample[]; intervalMs: number }> {
    return this.call('GET', region, ['samples'], { query: [['sinceMs', String(Math.floor(sinceMs))]], prefix: ['jcs', 'v1', 'regions', region, 'cacheInstance', id] });
  }

  private signingKey(region: string): (date8: string) => Promise<CryptoKey> {
    return (date8) => {
      const secret = this.secret;
      if (secret === undefined) return Promise.reject(new Error('signed out'));
      const id = `${date8}/${region}`;
      let key = this.keys.get(id);
      if (!key) {
        key = deriveSigningKey(secret, date8, region);
        this.keys.set(id, key);
      }
      return key;
    };
  }

  private async call<T>(method: Method, region: string, resource: string[], opts: { query?: [string, string][]; body?: object; prefix?: string[] } = {}): Promise<T> {
    const body = opts.body === undefined ? '' : JSON.stringify(opts.body);
    const signed = await signWebRequest(
      {
        method,
        segments: [...(opts.prefix ?? ['v1', 'regions', region]), ...(opts.prefix ? [] : []), ...resource],
        query: opts.query ?? [],
        host: location.host,
        body,
        date: new Date(),
        nonce: crypto.randomUUID(),
      },
      this.accessKey,
      region,
      this.signingKey(region),
    );
    const response = await fetch(signed.pathAndQuery, {
      method,
      headers: signed.headers,
      ...(opts.body === undefined ? {} : { body }),
      // The signature is the only credential: no cookie goes with any request.
      credentials: 'omit',
      cache: 'no-store',
    });
    const text = await response.text();
    let parsed: { requestId?: string; result?: unknown; error?: { code?: number; status?: string; message?: string } } | undefined;
    try {
      parsed = JSON.parse(text) as typeof parsed;
    } catch {
      parsed = undefined;
    }
    if (parsed?.error || !response.ok) {
      const e = parsed?.error;
      throw new ApiError(e?.code ?? response.status, e?.status ?? `HTTP_${response.status}`, e?.message ?? (text.slice(0, 200) || response.statusText), parsed?.requestId);
    }
    return (parsed?.result ?? {}) as T;
  }
}
