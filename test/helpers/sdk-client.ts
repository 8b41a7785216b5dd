// The official JD Cloud SDK, as users run it: only the endpoint points at jcs-redis.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
// The SDK logs every request through a global logger (console.log by default): keep test output readable.
(require('jdcloud-sdk-js/src/lib/core') as { config: { logger: (s: string) => void } }).config.logger = () => undefined;
const RedisService = require('jdcloud-sdk-js/src/services/redis') as unknown;

/** The parts of the SDK's Redis client the tests use; every method resolves with the parsed body. */
export interface SdkRedis {
  createCacheInstance(params: unknown, regionId?: string): Promise<SdkBody>;
  deleteCacheInstance(params: unknown, regionId?: string): Promise<SdkBody>;
  describeCacheInstance(params: unknown, regionId?: string): Promise<SdkBody>;
  describeCacheInstances(params: unknown, regionId?: string): Promise<SdkBody>;
  describeInstanceClass(params: unknown, regionId?: string): Promise<SdkBody>;
  describeUserQuota(params: unknown, regionId?: string): Promise<SdkBody>;
  modifyCacheInstanceAttribute(params: unknown, regionId?: string): Promise<SdkBody>;
  modifyCacheInstanceClass(params: unknown, regionId?: string): Promise<SdkBody>;
  resetCacheInstancePassword(params: unknown, regionId?: string): Promise<SdkBody>;
  describeIpWhiteList(params: unknown, regionId?: string): Promise<SdkBody>;
  modifyIpWhiteList(params: unknown, regionId?: string): Promise<SdkBody>;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type SdkBody = { requestId: string; result?: any; error?: { code: number; status: string; message: string } };

export function sdkClient(url: string, accessKey: string, secretKey: string, regionId = 'cn-north-1'): SdkRedis {
  const host = new URL(url).host;
  const Ctor = RedisService as unknown as new (opts: unknown) => SdkRedis;
  return new Ctor({ credentials: { accessKeyId: accessKey, secretAccessKey: secretKey }, regionId, endpoint: { host, protocol: 'http' } });
}

/** Awaits an SDK call expected to fail and returns its parsed error body. */
export async function sdkError(call: Promise<SdkBody>): Promise<NonNullable<SdkBody['error']> & { requestId: string }> {
  try {
    await call;
  } catch (err) {
    const body = err as SdkBody;
    if (body.error) return { ...body.error, requestId: body.requestId };
    throw err;
  }
  throw new Error('expected the SDK call to fail');
}
