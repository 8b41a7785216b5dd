import type { SdkBody, SdkRedis } from './sdk-client.ts';

/** The official SDK's tenant-settings and diagnostics operations (issue 16), beside the instance ones SdkRedis lists. */
export interface SettingsSdk extends SdkRedis {
  describeInstanceConfig(params: unknown): Promise<SdkBody>;
  modifyInstanceConfig(params: unknown): Promise<SdkBody>;
  getDisableCommands(params: unknown): Promise<SdkBody>;
  setDisableCommands(params: unknown): Promise<SdkBody>;
  describeAccounts(params: unknown): Promise<SdkBody>;
  createAccount(params: unknown): Promise<SdkBody>;
  modifyAccount(params: unknown): Promise<SdkBody>;
  deleteAccount(params: unknown): Promise<SdkBody>;
  modifyAccounts(params: unknown): Promise<SdkBody>;
  describeSlowLog(params: unknown): Promise<SdkBody>;
  describeClientList(params: unknown): Promise<SdkBody>;
  describeClientIpDetail(params: unknown): Promise<SdkBody>;
  describeClusterInfo(params: unknown): Promise<SdkBody>;
}
