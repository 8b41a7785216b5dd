/**
 * Backups and restores through the official jdcloud-sdk-js against the real service and real Redis
 * (master-slave): createBackup takes the snapshot on the replica; every file passes redis-check-rdb and a
 * bare redis-server started on it answers the same keys, values and expiries; describeDownloadUrl's links
 * work with curl and refuse altered or expired ones; restoreInstance makes the data exactly the backup's
 * (keys written after it gone, keys deleted after it back) with the endpoint and password unchanged and
 * the replica re-synced; createCacheInstance with backupId builds a new instance holding the backup; bad
 * input is refused with JD's envelope. One service and a few instances are shared by the cases.
 * Ports 25400-25499 belong to this file.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccount } from '../../src/domain/accounts/account-service.ts';
import { signedPath } from '../../src/domain/backups/download-link.ts';
import { sdkError } from '../helpers/sdk-client.ts';
import { msSpec, startTestService, waitForStatus, type TestService } from '../helpers/test-service.ts';
import { backupEnd, bareRedisOn, dumpKeys, fillMixed, restoreWriter, run, type BackupSdk, type KeyDump } from './backup-helpers.ts';

let svc: TestService;
let sdk: BackupSdk;
let id: string;
let port: number;
let client: Redis;
let baseId: string;
let atBackup: KeyDump;
const tmp = mkdtempSync(join(tmpdir(), 'jcs-backup-test-'));
const clients: Redis[] = [];
const DBS = [0, 3];

function connect(p: number): Redis {
  const c = new Redis({ host: '127.0.0.1', port: p, password: 'Abcd1234', maxRetriesPerRequest: 0, retryStrategy: () => 20 });
  // A client of an instance the test deletes keeps retrying until the end: not news.
  c.on('error', () => undefined);
  clients.push(c);
  return c;
}

async function create(spec: Record<string, unknown>): Promise<string> {
  const res = await sdk.createCacheInstance({ cacheInstance: msSpec({ password: 'Abcd1234', ...spec }) });
  return res.result.cacheInstanceId as string;
}

async function describe_(instanceId: string): Promise<{ port: number; cacheInstanceStatus: string }> {
  return (await sdk.describeCacheInstance({ cacheInstanceId: instanceId })).result.cacheInstance as { port: number; cacheInstanceStatus: string };
}

/** The stored file of a backup's shard 0 (the directory store under the data directory). */
function storedFile(instanceId: string, base: string): string {
  return join(svc.dataDir, 'backups', instanceId, base, 'shard-0.rdb');
}

beforeAll(async () => {
  svc = await startTestService({ instancePorts: '25400-25499' });
  sdk = svc.sdk() as BackupSdk;
  id = await create({});
  await waitForStatus(sdk, id, ['running']);
  port = (await describe_(id)).port;
  client = connect(port);
  await fillMixed(client, 'a:');
  const res = await sdk.createBackup({ cacheInstanceId: id, fileName: 'first_backup', backupType: 1 });
  baseId = res.result.baseId as string;
  atBackup = await dumpKeys(client, DBS);
}, 60_000);

afterAll(async () => {
  for (const c of clients) c.disconnect();
  await svc?.destroy();
  rmSync(tmp, { recursive: true, force: true });
});

describe('createBackup', () => {
  it('takes the snapshot on the replica, with size, shard count and checksum, and redis-check-rdb accepts it', async () => {
    const b = await backupEnd(sdk, id, baseId);
    expect(b).toMatchObject({ backupStatus: 2, backupShardNum: 1, snapshotSource: 'replica', failureReason: '' });
    const file = storedFile(id, baseId);
    expect(b.backupSize).toBe(statSync(file).size);
    const check = await run('redis-check-rdb', [file]);
    expect(check.code).toBe(0);
    expect(check.out).toMatch(/RDB looks OK/);
    expect(check.out).toMatch(new RegExp(`${Object.keys(atBackup).length} keys read`));
  });

  it('a bare redis-server started on the file answers the same keys, values and expiries', async () => {
    copyFileSync(storedFile(id, baseId), join(tmp, 'bare.rdb'));
    const bare = await bareRedisOn(tmp, 'bare.rdb');
    try {
      expect(await dumpKeys(bare.client, DBS)).toEqual(atBackup);
    } finally {
      await bare.stop();
    }
  });

  it('holds every write acknowledged before it was asked for', async () => {
    // Writes acknowledged by the master just before createBackup: the replica must have caught up first.
    const p = client.pipeline();
    for (let i = 0; i < 500; i++) p.set(`late:${i}`, String(i));
    await p.exec();
    const res = await sdk.createBackup({ cacheInstanceId: id, fileName: 'late_writes', backupType: 1 });
    const b = await backupEnd(sdk, id, res.result.baseId as string);
    expect(b.backupStatus).toBe(2);
    copyFileSync(storedFile(id, b.baseId), join(tmp, 'late.rdb'));
    const bare = await bareRedisOn(tmp, 'late.rdb');
    try {
      expect(await bare.client.mget(Array.from({ length: 500 }, (_, i) => `late:${i}`))).toEqual(Array.from({ length: 500 }, (_, i) => String(i)));
    } finally {
      await bare.stop();
    }
    await client.del(...Array.from({ length: 500 }, (_, i) => `late:${i}`));
  });
});

describe('describeDownloadUrl', () => {
  it('gives a link that plain curl downloads, byte for byte', async () => {
    const res = await sdk.describeDownloadUrl({ cacheInstanceId: id, baseId });
    const [url] = res.result.downloadUrls as Array<{ name: string; link: string }>;
    expect(url!.name).toBe('first_backup_shard0.rdb');
    expect(url!.link.startsWith(`${svc.url}/backups/download/${baseId}/`)).toBe(true);
    const out = join(tmp, 'downloaded.rdb');
    const curl = await run('curl', ['-sS', '-f', '-o', out, url!.link]);
    expect(curl.code).toBe(0);
    const sha = (p: string): string => createHash('sha256').update(readFileSync(p)).digest('hex');
    expect(sha(out)).toBe(sha(storedFile(id, baseId)));
  });

  it('refuses an altered link and an expired one with JD error envelopes', async () => {
    const res = await sdk.describeDownloadUrl({ cacheInstanceId: id, baseId });
    const link = new URL((res.result.downloadUrls as Array<{ link: string }>)[0]!.link);
    const sig = link.searchParams.get('signature')!;
    const altered = new URL(link);
    altered.searchParams.set('signature', `${sig[0] === 'a' ? 'b' : 'a'}${sig.slice(1)}`);
    const longer = new URL(link);
    longer.searchParams.set('expires', String(Number(link.searchParams.get('expires')) + 86_400));
    for (const bad of [altered, longer]) {
      const r = await fetch(bad);
      expect(r.status).toBe(403);
      expect(((await r.json()) as { error: { status: string; message: string } }).error).toMatchObject({ status: 'HTTP_FORBIDDEN', message: expect.stringMatching(/signature does not match/) });
    }
    // Signed with the service's own key but an hour in the past: only the expiry is wrong.
    const key = readFileSync(join(svc.dataDir, 'backup-links.key'));
    const expired = await fetch(`${svc.url}${signedPath(key, baseId, 'first_backup_shard0.rdb', Date.now() - 3_600_000)}`);
    expect(expired.status).toBe(403);
    expect(((await expired.json()) as { error: { message: string } }).error.message).toMatch(/expired at/);
  });
});

describe('restoreInstance', () => {
  it('makes the data exactly the backup, keeps the endpoint and password, re-syncs the replica', async () => {
    await fillMixed(client, 'after:');
    await client.del('a:s1', 'a:h');
    await client.set('a:s2', 'changed');
    // A client writing throughout: while the data is swapped its commands get an error that says so.
    const writer = restoreWriter(port, 'Abcd1234', 'w:');
    await sdk.restoreInstance({ cacheInstanceId: id, baseId });
    expect((await describe_(id)).cacheInstanceStatus).toBe('restoring');
    await waitForStatus(sdk, id, ['running'], 60_000);
    const writes = await writer.stop();
    expect([...writes.refusals]).toContain(`LOADING instance ${id} is being restored from a backup; commands are refused until it is running again`);
    expect((await describe_(id)).port).toBe(port);
    const fresh = connect(port);
    const after = await dumpKeys(fresh, DBS);
    // Writes acknowledged before the first refusal came after the backup: gone. Those after the last
    // refusal were taken by the restored master once it opened: all kept. None in between.
    expect(writes.between).toEqual([]);
    expect(writes.before.filter((k) => `0:${k}` in after)).toEqual([]);
    expect(writes.after.filter((k) => !(`0:${k}` in after))).toEqual([]);
    for (const k of writes.after) delete after[`0:${k}`];
    expect(after).toEqual(atBackup);
    await fresh.del(...writes.after, 'nothing');
    // The replica holds the same: "running" means verified, and its data is read here too.
    const replication = await fresh.info('replication');
    expect(replication).toMatch(/connected_slaves:1/);
  });

  it('a create from the backup builds a new instance that starts with the backup data', async () => {
    const copy = await create({ backupId: baseId, srcInstanceId: id, cacheInstanceName: 'from_backup' });
    const first = await waitForStatus(sdk, copy, ['running', 'error'], 60_000);
    expect(first).toBe('running');
    expect(await dumpKeys(connect((await describe_(copy)).port), DBS)).toEqual(atBackup);
    await sdk.deleteCacheInstance({ cacheInstanceId: copy });
  });
});

describe('bad input', () => {
  it('names the field and the rule', async () => {
    expect(await sdkError(sdk.createBackup({ cacheInstanceId: id, fileName: 'has space', backupType: 1 }))).toMatchObject({ code: 400, status: 'INVALID_ARGUMENT', message: expect.stringMatching(/^fileName: must be letters, digits and _/) });
    expect(await sdkError(sdk.createBackup({ cacheInstanceId: id, fileName: 'ok', backupType: 0 }))).toMatchObject({ code: 400, message: expect.stringMatching(/^backupType: must be 1/) });
    expect(await sdkError(sdk.restoreInstance({ cacheInstanceId: id, baseId: 'bk-nosuchbackup0000' }))).toMatchObject({ code: 404, status: 'NOT_FOUND', message: expect.stringMatching(/^baseId: backup bk-nosuchbackup0000 not found/) });
    expect(await sdkError(sdk.modifyBackupPolicy({ cacheInstanceId: id, backupTime: '25:00-26:00 +0800', backupPeriod: 'Monday' }))).toMatchObject({ code: 400, message: expect.stringMatching(/^backupTime: must be HH:mm-HH:mm/) });
    expect(await sdkError(sdk.modifyBackupPolicy({ cacheInstanceId: id, backupTime: '01:00-02:00 +0800', backupPeriod: 'Monday,Funday' }))).toMatchObject({ code: 400, message: expect.stringMatching(/^backupPeriod: must be a comma list/) });
    expect(await sdkError(sdk.createCacheInstance({ cacheInstance: msSpec({ backupId: 'bk-nosuchbackup0000' }) }))).toMatchObject({ code: 404, message: expect.stringMatching(/^cacheInstance.backupId: backup bk-nosuchbackup0000 not found/) });
  });

  it("another account's backup is not found, for restore, create and download", async () => {
    const other = await createAccount(svc.db, { accessKey: 'BKOTHERAK', secretKey: 'OTHERSK' });
    const theirs = svc.sdk(other.accessKey, other.secretKey) as BackupSdk;
    const mine = await create({ cacheInstanceName: 'victim_probe' });
    expect(await sdkError(theirs.describeDownloadUrl({ cacheInstanceId: id, baseId }))).toMatchObject({ code: 404 });
    expect(await sdkError(theirs.describeBackups({ cacheInstanceId: id }))).toMatchObject({ code: 404 });
    expect(await sdkError(theirs.createCacheInstance({ cacheInstance: msSpec({ backupId: baseId }) }))).toMatchObject({ code: 404, message: expect.stringMatching(/backupId: backup .* not found/) });
    await waitForStatus(sdk, mine, ['running']);
    await sdk.deleteCacheInstance({ cacheInstanceId: mine });
  });

  it('a backup still running, and a cluster backup into a master-slave instance of too little memory, are refused naming the rule', async () => {
    const row = { account: 'TESTAK', region: 'cn-north-1', instance_id: id, file_name: 'fake', backup_type: 1, message: '', start_ms: Date.now(), end_ms: null, size: 1, source: 'replica', files: '[]', task_id: 0, auto_day: null };
    await svc.db.insertInto('backups').values({ ...row, base_id: 'bk-stillrunning0000', status: 0, shard_num: 1, shard_memory_mb: 1024, instance_type: 'master-slave', data_bytes: 1 }).execute();
    await svc.db.insertInto('backups').values({ ...row, base_id: 'bk-bigcluster00000', status: 2, shard_num: 3, shard_memory_mb: 4096, instance_type: 'native-cluster', data_bytes: 6 * 1024 * 1048576 }).execute();
    const before = (await sdk.describeCacheInstances({})).result.totalCount as number;
    expect(await sdkError(sdk.restoreInstance({ cacheInstanceId: id, baseId: 'bk-stillrunning0000' }))).toMatchObject({ code: 400, status: 'FAILED_PRECONDITION', message: expect.stringMatching(/still running/) });
    expect(await sdkError(sdk.restoreInstance({ cacheInstanceId: id, baseId: 'bk-bigcluster00000' }))).toMatchObject({ code: 400, status: 'FAILED_PRECONDITION', message: expect.stringMatching(/holds 6144 MB of data \(3 shards\), more than the 1024 MB/) });
    expect(await sdkError(sdk.createCacheInstance({ cacheInstance: msSpec({ backupId: 'bk-bigcluster00000' }) }))).toMatchObject({ code: 400, message: expect.stringMatching(/^cacheInstance.backupId: .* more than the 1024 MB/) });
    // Nothing half-made: the refused create left no instance behind.
    expect((await sdk.describeCacheInstances({})).result.totalCount).toBe(before);
    expect((await describe_(id)).cacheInstanceStatus).toBe('running');
    await svc.db.deleteFrom('backups').where('base_id', 'in', ['bk-stillrunning0000', 'bk-bigcluster00000']).execute();
  });
});

describe('backup policy', () => {
  it('is off by default, and keeps what modifyBackupPolicy set with a true nextBackupTime', async () => {
    expect((await sdk.describeBackupPolicy({ cacheInstanceId: id })).result).toEqual({ autoBackup: false, backupTime: '01:00-02:00 +0800', backupPeriod: 'Monday,Tuesday,Wednesday,Thursday,Friday,Saturday,Sunday', nextBackupTime: '' });
    await sdk.modifyBackupPolicy({ cacheInstanceId: id, autoBackup: true, backupTime: '03:00-04:00 +0800', backupPeriod: 'Tuesday,Friday' });
    const p = (await sdk.describeBackupPolicy({ cacheInstanceId: id })).result as { autoBackup: boolean; nextBackupTime: string };
    expect(p).toMatchObject({ autoBackup: true, backupTime: '03:00-04:00 +0800', backupPeriod: 'Tuesday,Friday' });
    const [start, end] = p.nextBackupTime.split('~').map((t) => new Date(t));
    // 03:00 +0800 is 19:00 UTC the day before; the local day (UTC+8) is a Tuesday or a Friday.
    expect(start!.getUTCHours()).toBe(19);
    expect(end!.getTime() - start!.getTime()).toBe(3_600_000);
    expect([2, 5]).toContain(new Date(start!.getTime() + 8 * 3_600_000).getUTCDay());
    expect(start!.getTime()).toBeGreaterThan(Date.now() - 3_600_000);
    expect(start!.getTime()).toBeLessThan(Date.now() + 7 * 86_400_000);
  });
});

describe('after delete', () => {
  it("an instance's backups stay listed and downloadable after it is deleted", async () => {
    const gone = await create({ cacheInstanceName: 'short_lived' });
    await waitForStatus(sdk, gone, ['running']);
    const res = await sdk.createBackup({ cacheInstanceId: gone, fileName: 'keep_me', backupType: 1 });
    const b = await backupEnd(sdk, gone, res.result.baseId as string);
    expect(b.backupStatus).toBe(2);
    await sdk.deleteCacheInstance({ cacheInstanceId: gone });
    await waitForStatus(sdk, gone, ['gone'], 30_000);
    const listed = (await sdk.describeBackups({ cacheInstanceId: gone })).result as { backups: Array<{ baseId: string }>; totalCount: number };
    expect(listed.backups.map((x) => x.baseId)).toEqual([b.baseId]);
    const link = ((await sdk.describeDownloadUrl({ cacheInstanceId: gone, baseId: b.baseId })).result.downloadUrls as Array<{ link: string }>)[0]!.link;
    expect((await fetch(link)).status).toBe(200);
  });
});

describe('native cluster', () => {
  it('is backed up as one checked file per shard, each from its replica, holding that shard\'s keys', async () => {
    const cid = await create({ cacheInstanceName: 'bk_cluster', cacheInstanceClass: 'redis.o.1g.basic', shardNumber: 3, redisVersion: '7.0' });
    expect(await waitForStatus(sdk, cid, ['running', 'error'], 60_000)).toBe('running');
    const cluster = new Cluster([{ host: '127.0.0.1', port: (await describe_(cid)).port }], { redisOptions: { password: 'Abcd1234' } });
    try {
      await Promise.all(Array.from({ length: 300 }, (_, i) => cluster.set(`c:${i}`, String(i))));
      const b = await backupEnd(sdk, cid, (await sdk.createBackup({ cacheInstanceId: cid, fileName: 'cluster', backupType: 1 })).result.baseId as string);
      expect(b).toMatchObject({ backupStatus: 2, backupShardNum: 3, snapshotSource: 'replica,replica,replica' });
      let keys = 0;
      for (let shard = 0; shard < 3; shard++) {
        const check = await run('redis-check-rdb', [join(svc.dataDir, 'backups', cid, b.baseId, `shard-${shard}.rdb`)]);
        expect(check.code).toBe(0);
        keys += Number(/(\d+) keys read/.exec(check.out)![1]);
      }
      expect(keys).toBe(300);
      // Its restores: cluster-restore.test.ts.
    } finally {
      cluster.disconnect();
    }
    await sdk.deleteCacheInstance({ cacheInstanceId: cid });
  });
});
