import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { createAccount } from '../../src/domain/accounts/account-service.ts';
import { sdkError } from '../helpers/sdk-client.ts';
import { msSpec, startTestService, waitForStatus, type TestService } from '../helpers/test-service.ts';

// The white list operations where no firewall can be used (no root needed): the service runs in this
// process, in the machine's own network namespace, so it is pointed at a missing nft binary (or, as
// root, at nft without privileges) and must refuse any list it cannot enforce, storing nothing.
// Enforcement itself is tested inside namespaces: ip-white-list-netns.test.ts.

const storedList = async (svc: TestService, id: string): Promise<string> =>
  (await svc.db.selectFrom('instances').select('ip_white_list').where('id', '=', id).executeTakeFirstOrThrow()).ip_white_list;
const taskCount = async (svc: TestService, id: string): Promise<number> =>
  (await svc.db.selectFrom('tasks').select('id').where('instance_id', '=', id).execute()).length;

describe('IP white lists without a usable firewall', () => {
  let svc: TestService;
  let id: string;

  beforeAll(async () => {
    svc = await startTestService({ instancePorts: '24200-24249', env: { JCS_NFT: '/nonexistent/jcs-test/nft' } });
    const res = await svc.sdk().createCacheInstance({ cacheInstance: msSpec({ password: 'Abcd1234' }) });
    id = res.result.cacheInstanceId as string;
    await waitForStatus(svc.sdk(), id, ['running']);
  });

  afterAll(async () => {
    await svc?.destroy();
  });

  it('describes the default list of a new instance', async () => {
    expect((await svc.sdk().describeIpWhiteList({ cacheInstanceId: id })).result).toEqual({ ipWhiteList: ['0.0.0.0/0'] });
  });

  it('refuses a list it cannot enforce with FAILED_PRECONDITION, storing nothing', async () => {
    const tasks = await taskCount(svc, id);
    const err = await sdkError(svc.sdk().modifyIpWhiteList({ cacheInstanceId: id, ipWhiteList: ['10.0.0.0/8'] }));
    expect(err.status).toBe('FAILED_PRECONDITION');
    expect(err.code).toBe(400);
    expect(err.message).toMatch(/^ipWhiteList: this service cannot enforce IP white lists: nftables is not installed \(nft not found at "\/nonexistent\/jcs-test\/nft"\)/);
    expect(err.message).toContain('only ["0.0.0.0/0"] is accepted');
    expect(await storedList(svc, id)).toBe('["0.0.0.0/0"]');
    expect(await taskCount(svc, id)).toBe(tasks);
    expect((await svc.sdk().describeIpWhiteList({ cacheInstanceId: id })).result).toEqual({ ipWhiteList: ['0.0.0.0/0'] });
  });

  it('accepts exactly ["0.0.0.0/0"], which needs no firewall', async () => {
    const res = await svc.sdk().modifyIpWhiteList({ cacheInstanceId: id, ipWhiteList: ['0.0.0.0/0'] });
    expect(res.requestId).toBeTruthy();
    await svc.engine.idle();
    expect((await svc.sdk().describeCacheInstance({ cacheInstanceId: id })).result.cacheInstance.cacheInstanceStatus).toBe('running');
    // Open, but not exactly the default: still refused, since it would be stored and never enforced as written.
    const err = await sdkError(svc.sdk().modifyIpWhiteList({ cacheInstanceId: id, ipWhiteList: ['0.0.0.0/0', '10.0.0.0/8'] }));
    expect(err.status).toBe('FAILED_PRECONDITION');
  });

  it.each([
    [['1.2.3.4/33'], /^ipWhiteList\[0\]: "1\.2\.3\.4\/33" must be an IPv4 address or CIDR x\.x\.x\.x\/n/],
    [['10.0.0.0/8', '300.1.1.1/8'], /^ipWhiteList\[1\]: "300\.1\.1\.1\/8" must be an IPv4 address or CIDR/],
    [['abc'], /^ipWhiteList\[0\]: "abc" must be/],
    [[{}], /^ipWhiteList\[0\]: must be an IPv4 CIDR x\.x\.x\.x\/n, at most 64 characters/],
    [Array.from({ length: 1001 }, (_, i) => `10.0.${i >> 8}.${i & 255}`), /^ipWhiteList: must be an array of 1 to 1000 IPv4 CIDRs/],
    ['10.0.0.0/8', /^ipWhiteList: must be an array of 1 to 1000 IPv4 CIDRs/],
    [[], /^ipWhiteList: must not be empty/],
  ])('refuses bad input %# with INVALID_ARGUMENT naming the entry', async (ipWhiteList, message) => {
    const err = await sdkError(svc.sdk().modifyIpWhiteList({ cacheInstanceId: id, ipWhiteList }));
    expect(err.status).toBe('INVALID_ARGUMENT');
    expect(err.message).toMatch(message);
    expect(await storedList(svc, id)).toBe('["0.0.0.0/0"]');
  });

  it('refuses a body without ipWhiteList', async () => {
    const err = await sdkError(svc.sdk().modifyIpWhiteList({ cacheInstanceId: id }));
    expect(err.status).toBe('INVALID_ARGUMENT');
    expect(err.message).toBe('ipWhiteList: required');
  });

  it("answers NOT_FOUND for another account's instance, for both operations", async () => {
    await createAccount(svc.db, { accessKey: 'WLOTHERAK', secretKey: 'WLOTHERSK' });
    const other = svc.sdk('WLOTHERAK', 'WLOTHERSK');
    expect((await sdkError(other.describeIpWhiteList({ cacheInstanceId: id }))).status).toBe('NOT_FOUND');
    expect((await sdkError(other.modifyIpWhiteList({ cacheInstanceId: id, ipWhiteList: ['0.0.0.0/0'] }))).status).toBe('NOT_FOUND');
    expect((await sdkError(svc.sdk().describeIpWhiteList({ cacheInstanceId: 'redis-nosuch000' }))).status).toBe('NOT_FOUND');
  });
});

describe.skipIf(process.getuid?.() !== 0)(`IP white lists with nft but no privilege${process.getuid?.() === 0 ? '' : ' (skipped: needs root to drop privileges)'}`, () => {
  let svc: TestService;

  beforeAll(async () => {
    // nft as user nobody: `nft -c` fails with "Operation not permitted", and nothing is changed.
    const dataDir = mkdtempSync(join(tmpdir(), 'jcs-test-'));
    const wrapper = join(dataDir, 'nft-as-nobody');
    writeFileSync(wrapper, '#!/bin/sh\nexec setpriv --reuid=65534 --regid=65534 --clear-groups nft "$@"\n');
    chmodSync(wrapper, 0o755);
    svc = await startTestService({ instancePorts: '24250-24299', env: { JCS_NFT: wrapper }, dataDir });
  });

  afterAll(async () => {
    await svc?.destroy();
  });

  it('refuses with FAILED_PRECONDITION naming the missing privilege', async () => {
    const res = await svc.sdk().createCacheInstance({ cacheInstance: msSpec({ password: 'Abcd1234' }) });
    const id = res.result.cacheInstanceId as string;
    const err = await sdkError(svc.sdk().modifyIpWhiteList({ cacheInstanceId: id, ipWhiteList: ['192.168.0.0/16'] }));
    expect(err.status).toBe('FAILED_PRECONDITION');
    expect(err.message).toMatch(/this process may not change nftables rules \(nft refused the rules: .*Operation not permitted\); run the service as root or with CAP_NET_ADMIN/);
    expect(await storedList(svc, id)).toBe('["0.0.0.0/0"]');
    await waitForStatus(svc.sdk(), id, ['running']);
    expect((await svc.sdk().deleteCacheInstance({ cacheInstanceId: id })).requestId).toBeTruthy();
    await waitForStatus(svc.sdk(), id, ['gone']);
  });
});

describe('JCS_BIND_HOST', () => {
  it('takes 0.0.0.0 or one IPv4 address, defaults to loopback, and refuses anything else', () => {
    expect(loadConfig({}).bindHost).toBe('127.0.0.1');
    expect(loadConfig({ JCS_BIND_HOST: '0.0.0.0' }).bindHost).toBe('0.0.0.0');
    expect(loadConfig({ JCS_BIND_HOST: '10.1.2.3' }).bindHost).toBe('10.1.2.3');
    for (const bad of ['::', 'localhost', '10.1.2.300', '']) {
      expect(() => loadConfig({ JCS_BIND_HOST: bad })).toThrow(/JCS_BIND_HOST must be 0.0.0.0 or one IPv4 address/);
    }
  });
});
