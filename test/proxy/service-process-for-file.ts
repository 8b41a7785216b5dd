import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect } from 'vitest';
import { processesUnder } from '../drivers/local-harness.ts';
import type { SettingsSdk } from '../helpers/settings-sdk.ts';
import { sdkClient } from '../helpers/sdk-client.ts';
import { freePort, ServiceProcess } from '../helpers/service-process.ts';
import { killInstanceProcesses, removeInstanceCgroups, TEST_AK, TEST_SK } from '../helpers/test-service.ts';

/**
 * One service for a whole test file as a separate process (so the file can SIGKILL it), in a fresh data
 * directory, on the file's own instance port range. After the last test it is killed, every process under
 * the directory is gone (asserted) and the directory removed.
 */
export function serviceProcessForFile(prefix: string, instancePorts: string, env: Record<string, string> = {}): { readonly dataDir: string; readonly svc: ServiceProcess; readonly sdk: SettingsSdk } {
  let dataDir = '';
  let svc: ServiceProcess | undefined;
  let sdk: SettingsSdk | undefined;
  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), prefix));
    svc = new ServiceProcess(dataDir, await freePort(), instancePorts, env);
    await svc.start();
    sdk = sdkClient(svc.url, TEST_AK, TEST_SK) as SettingsSdk;
  });
  afterAll(async () => {
    await svc?.stop('SIGKILL');
    killInstanceProcesses(dataDir);
    await removeInstanceCgroups(dataDir);
    expect(await processesUnder(dataDir)).toEqual([]);
    rmSync(dataDir, { recursive: true, force: true });
  });
  const started = <T>(x: T | undefined): T => {
    if (x === undefined) throw new Error('the service starts in beforeAll');
    return x;
  };
  return {
    get dataDir() {
      return dataDir;
    },
    get svc() {
      return started(svc);
    },
    get sdk() {
      return started(sdk);
    },
  };
}
