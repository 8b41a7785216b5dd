import { afterAll, beforeAll, expect } from 'vitest';
import { processesUnder } from '../drivers/local-harness.ts';
import type { SdkRedis } from '../helpers/sdk-client.ts';
import { startTestService, type TestService } from '../helpers/test-service.ts';

/**
 * One real service for a whole test file, on the file's own instance port range: started before the
 * first test; after the last, the clients handed to `disconnectAtEnd` are closed, the service is
 * destroyed and no redis-server may be left running under its instances directory.
 */
export function serviceForFile(instancePorts: string): { readonly svc: TestService; readonly sdk: SdkRedis; disconnectAtEnd(c: { disconnect(): void }): void } {
  let svc: TestService | undefined;
  let sdk: SdkRedis | undefined;
  const clients: { disconnect(): void }[] = [];
  beforeAll(async () => {
    svc = await startTestService({ instancePorts });
    sdk = svc.sdk();
  });
  afterAll(async () => {
    for (const c of clients) c.disconnect();
    if (!svc) return;
    const dir = `${svc.dataDir}/instances`;
    await svc.destroy();
    expect(await processesUnder(dir)).toEqual([]);
  });
  return {
    get svc() {
      if (!svc) throw new Error('the service starts in beforeAll');
      return svc;
    },
    get sdk() {
      if (!sdk) throw new Error('the service starts in beforeAll');
      return sdk;
    },
    disconnectAtEnd: (c) => void clients.push(c),
  };
}
