/**
 * The programmatic test dependency (`import { startService } from 'jcs-redis'`): a service in a temp
 * directory on a free port with new keys, usable by the official SDK at once; stop() removes the
 * instances it started (processes, port) and every file.
 */
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { portOpen, processesWorkingIn } from '../helpers/leftovers.ts';
import { startService } from '../../src/index.ts';
import { sdkClient } from '../helpers/sdk-client.ts';
import { msSpec, waitForStatus } from '../helpers/test-service.ts';


describe('startService()', () => {
  it('serves the SDK with its own keys, and stop() leaves nothing behind', async () => {
    const svc = await startService({ env: { ...process.env, JCS_INSTANCE_PORTS: '28550-28599' } });
    // Its last-resort cleanup on process exit (the logger may add a flush hook of its own, which stays).
    const exitHooks = process.listenerCount('exit');
    expect(svc.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(svc.accessKey).not.toBe('');
    expect(svc.region).toBe('cn-north-1');
    const sdk = sdkClient(svc.endpoint, svc.accessKey, svc.secretKey, svc.region);
    const id = (await sdk.createCacheInstance({ cacheInstance: msSpec({ cacheInstanceName: 'ephemeral' }) })).result.cacheInstanceId as string;
    expect(await waitForStatus(sdk, id, ['running', 'error'])).toBe('running');
    const port = (await sdk.describeCacheInstance({ cacheInstanceId: id })).result.cacheInstance.port as number;
    expect(processesWorkingIn(svc.dataDir)).toHaveLength(2);
    expect(await portOpen(port)).toBe(true);

    await svc.stop();
    await svc.stop(); // twice is fine
    expect(existsSync(svc.dataDir)).toBe(false);
    expect(processesWorkingIn(svc.dataDir)).toEqual([]);
    expect(await portOpen(port)).toBe(false);
    expect(process.listenerCount('exit')).toBe(exitHooks - 1);
  });
});
