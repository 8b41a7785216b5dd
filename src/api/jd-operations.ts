/**
 * The 62 operations of JD Cloud's Redis OpenAPI v1 as the official JS SDK calls them
 * (`jdcloud-sdk-js` 1.2.202, `src/repo/redis/v1/redis.js`, redis client 2.6.24; reference §5), in the
 * SDK's order. The wire contract, not this service's coverage: routes/not-implemented-routes.ts
 * answers 501 for every one no route module implements, and docs/api.md's coverage table is checked
 * against this list (test/api/api-coverage.fast.test.ts).
 */
export interface JdOperation {
  name: string;
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  /** JD's path template, `{param}` for path parameters and `:action` for custom actions. */
  path: string;
}

export const JD_OPERATIONS: readonly JdOperation[] = [
  { name: 'describeAvailableRegion', method: 'GET', path: '/v1/regions/{regionId}/availableRegion' },
  { name: 'describeAvailableResource', method: 'GET', path: '/v1/regions/{regionId}/availableResource' },
  { name: 'describeAvailableResource2', method: 'GET', path: '/v1/regions/{regionId}/availableResource2' },
  { name: 'describeCacheInstances', method: 'GET', path: '/v1/regions/{regionId}/cacheInstance' },
  { name: 'createCacheInstance', method: 'POST', path: '/v1/regions/{regionId}/cacheInstance' },
  { name: 'describeCacheInstance', method: 'GET', path: '/v1/regions/{regionId}/cacheInstance/{cacheInstanceId}' },
  { name: 'modifyCacheInstanceAttribute', method: 'PATCH', path: '/v1/regions/{regionId}/cacheInstance/{cacheInstanceId}' },
  { name: 'deleteCacheInstance', method: 'DELETE', path: '/v1/regions/{regionId}/cacheInstance/{cacheInstanceId}' },
  { name: 'modifyCacheInstanceClass', method: 'POST', path: '/v1/regions/{regionId}/cacheInstance/{cacheInstanceId}:modifyCacheInstanceClass' },
  { name: 'resetCacheInstancePassword', method: 'POST', path: '/v1/regions/{regionId}/cacheInstance/{cacheInstanceId}:resetCacheInstancePassword' },
  { name: 'describeInstanceConfig', method: 'GET', path: '/v1/regions/{regionId}/cacheInstance/{cacheInstanceId}/instanceConfig' },
  { name: 'modifyInstanceConfig', method: 'POST', path: '/v1/regions/{regionId}/cacheInstance/{cacheInstanceId}/instanceConfig' },
  { name: 'describeAnalysisTime', method: 'GET', path: '/v1/regions/{regionId}/cacheInstance/{cacheInstanceId}/analysisTime' },
  { name: 'modifyAnalysisTime', method: 'POST', path: '/v1/regions/{regionId}/cacheInstance/{cacheInstanceId}/analysisTime' },
  { name: 'describeCacheAnalysisList', method: 'GET', path: '/v1/regions/{regionId}/cacheInstance/{cacheInstanceId}/cacheAnalysis' },
  { name: 'createCacheAnalysis', method: 'POST', path: '/v1/regions/{regionId}/cacheInstance/{cacheInstanceId}/cacheAnalysis' },
  { name: 'describeCacheAnalysisResult', method: 'GET', path: '/v1/regions/{regionId}/cacheInstance/{cacheInstanceId}/cacheAnalysis/{taskId}' },
  { name: 'describeClientList', method: 'GET', path: '/v1/regions/{regionId}/cacheInstance/{cacheInstanceId}/clientList' },
  { name: 'describeClientIpDetail', method: 'POST', path: '/v1/regions/{regionId}/cacheInstance/{cacheInstanceId}/clientIpDetail' },
  { name: 'describeBackups', method: 'GET', path: '/v1/regions/{regionId}/cacheInstance/{cacheInstanceId}/backup' },
  { name: 'createBackup', method: 'POST', path: '/v1/regions/{regionId}/cacheInstance/{cacheInstanceId}/backup' },
  { name: 'describeBackupPolicy', method: 'GET', path: '/v1/regions/{regionId}/cacheInstance/{cacheInstanceId}/backupPolicy' },
  { name: 'modifyBackupPolicy', method: 'PATCH', path: '/v1/regions/{regionId}/cacheInstance/{cacheInstanceId}/backupPolicy' },
  { name: 'restoreInstance', method: 'POST', path: '/v1/regions/{regionId}/cacheInstance/{cacheInstanceId}/restore' },
  { name: 'describeDownloadUrl', method: 'GET', path: '/v1/regions/{regionId}/cacheInstance/{cacheInstanceId}/backup:describeDownloadUrl' },
  { name: 'describeClusterInfo', method: 'GET', path: '/v1/regions/{regionId}/cacheInstance/{cacheInstanceId}/clusterInfo' },
  { name: 'describeIpWhiteList', method: 'GET', path: '/v1/regions/{regionId}/cacheInstance/{cacheInstanceId}/ipWhiteList' },
  { name: 'modifyIpWhiteList', method: 'PATCH', path: '/v1/regions/{regionId}/cacheInstance/{cacheInstanceId}/ipWhiteList' },
  { name: 'describeSlowLog', method: 'GET', path: '/v1/regions/{regionId}/cacheInstance/{cacheInstanceId}/slowLog' },
  { name: 'describeTaskProgressList', method: 'GET', path: '/v1/regions/{regionId}/cacheInstance/{cacheInstanceId}/taskProgress' },
  { name: 'getDisableCommands', method: 'GET', path: '/v1/regions/{regionId}/cacheInstance/{cacheInstanceId}/disableCommands' },
  { name: 'setDisableCommands', method: 'POST', path: '/v1/regions/{regionId}/cacheInstance/{cacheInstanceId}/disableCommands' },
  { name: 'describeAccounts', method: 'GET', path: '/v1/regions/{regionId}/cacheInstance/{cacheInstanceId}/account' },
  { name: 'createAccount', method: 'POST', path: '/v1/regions/{regionId}/cacheInstance/{cacheInstanceId}/account' },
  { name: 'modifyAccount', method: 'PATCH', path: '/v1/regions/{regionId}/cacheInstance/{cacheInstanceId}/account' },
  { name: 'deleteAccount', method: 'DELETE', path: '/v1/regions/{regionId}/cacheInstance/{cacheInstanceId}/account' },
  { name: 'modifyAccounts', method: 'PATCH', path: '/v1/regions/{regionId}/cacheInstance/{cacheInstanceId}/accounts' },
  { name: 'startClearData', method: 'POST', path: '/v1/regions/{regionId}/cacheInstance/{cacheInstanceId}/startClearData' },
  { name: 'stopClearData', method: 'POST', path: '/v1/regions/{regionId}/cacheInstance/{cacheInstanceId}/stopClearData' },
  { name: 'describeClearData', method: 'GET', path: '/v1/regions/{regionId}/cacheInstance/{cacheInstanceId}/describeClearData' },
  { name: 'describeBigKeyList', method: 'GET', path: '/v1/regions/{regionId}/cacheInstance/{cacheInstanceId}/bigKey' },
  { name: 'createBigKeyAnalysis', method: 'POST', path: '/v1/regions/{regionId}/cacheInstance/{cacheInstanceId}/bigKey' },
  { name: 'describeBigKeyDetail', method: 'GET', path: '/v1/regions/{regionId}/cacheInstance/{cacheInstanceId}/bigKeyDetail' },
  { name: 'describeBigKeyAnalysisTime', method: 'GET', path: '/v1/regions/{regionId}/cacheInstance/{cacheInstanceId}/bigKeyAutoAnalysisTime' },
  { name: 'modifyBigKeyAnalysisTime', method: 'POST', path: '/v1/regions/{regionId}/cacheInstance/{cacheInstanceId}/bigKeyAutoAnalysisTime' },
  { name: 'stopCacheAnalysis', method: 'POST', path: '/v1/regions/{regionId}/cacheInstance/{cacheInstanceId}/stopCacheAnalysis' },
  { name: 'describeAnalysisThreshold', method: 'GET', path: '/v1/regions/{regionId}/cacheInstance/{cacheInstanceId}/cacheAnalysisThreshold' },
  { name: 'modifyAnalysisThreshold', method: 'POST', path: '/v1/regions/{regionId}/cacheInstance/{cacheInstanceId}/cacheAnalysisThreshold' },
  { name: 'createBigKeyAnalysis2', method: 'POST', path: '/v1/regions/{regionId}/cacheInstance/{cacheInstanceId}/bigKeyAnalysis' },
  { name: 'describeBigKeyList2', method: 'GET', path: '/v1/regions/{regionId}/cacheInstance/{cacheInstanceId}/bigKeyAnalysisResultList' },
  { name: 'describeBigKeyDetail2', method: 'GET', path: '/v1/regions/{regionId}/cacheInstance/{cacheInstanceId}/bigKeyAnalysisDetail' },
  { name: 'describeBigKeyAnalysisTime2', method: 'GET', path: '/v1/regions/{regionId}/cacheInstance/{cacheInstanceId}/bigKeyAnalysisTime' },
  { name: 'modifyBigKeyAnalysisTime2', method: 'POST', path: '/v1/regions/{regionId}/cacheInstance/{cacheInstanceId}/bigKeyAnalysisTime' },
  { name: 'describeAnalysisThreshold2', method: 'GET', path: '/v1/regions/{regionId}/cacheInstance/{cacheInstanceId}/bigKeyAnalysisThreshold' },
  { name: 'modifyAnalysisThreshold2', method: 'POST', path: '/v1/regions/{regionId}/cacheInstance/{cacheInstanceId}/bigKeyAnalysisThreshold' },
  { name: 'describeHotKeyResult2', method: 'GET', path: '/v1/regions/{regionId}/cacheInstance/{cacheInstanceId}/hotKeyAnalysisResult' },
  { name: 'describeHotKeyDetail2', method: 'GET', path: '/v1/regions/{regionId}/cacheInstance/{cacheInstanceId}/hotKeyDetail' },
  { name: 'describeHotKeySummary', method: 'GET', path: '/v1/regions/{regionId}/cacheInstance/{cacheInstanceId}/hotKeyAnalysisSummary' },
  { name: 'describeHotKeyDetail', method: 'GET', path: '/v1/regions/{regionId}/cacheInstance/{cacheInstanceId}/hotKeyAnalysisDetail' },
  { name: 'describeInstanceClass', method: 'GET', path: '/v1/regions/{regionId}/instanceClass' },
  { name: 'describeUserQuota', method: 'GET', path: '/v1/regions/{regionId}/quota' },
  { name: 'describeSpecConfig', method: 'GET', path: '/v1/regions/{regionId}/specConfig' },
];

/**
 * The Fastify route URL of a JD path template: `{param}` becomes `:param`, and a custom action after a
 * colon in the last segment becomes the `/~action` segment that action-url.ts rewrites it to.
 */
export function routeUrlOf(path: string): string {
  return path.replace(/:([A-Za-z]+)$/, '/~$1').replace(/\{(\w+)\}/g, ':$1');
}
