/** The path of one instance's operations; each route module appends its own suffix. */
export const INSTANCE_PATH = '/v1/regions/:regionId/cacheInstance/:cacheInstanceId';

/**
 * What every signed operation is scoped to: the verified caller's account and the path's region
 * (authenticate has already checked that the credential scope names the same region).
 */
export function callerScope(request: { account: string; params: { regionId: string } }): { account: string; region: string } {
  return { account: request.account, region: request.params.regionId };
}
