/**
 * The restore task's phases on the engine with the fake driver (engine/handlers/restore-handler.ts): a
 * failure after the data was placed never replaces it again (writes accepted since the instance opened
 * would be lost) but only repeats the opening and the converge; a restore that gives up lets tenants in
 * again before the instance goes `error`; a file whose checksum changed is never handed to the driver.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RESTORE_TASK } from '../../src/domain/backups/backup-service.ts';
import { transitionStatus } from '../../src/domain/instances/instance-status.ts';
import { defaultTaskHandlers } from '../../src/engine/handlers/default-handlers.ts';
import { restoreHandler } from '../../src/engine/handlers/restore-handler.ts';
import { getRestore, insertBackup, replaceRestore } from '../../src/store/backups-repo.ts';
import { createDirectoryBackupStore } from '../../src/store/directory-backup-store.ts';
import { insertTask } from '../../src/store/tasks-repo.ts';
import { engineHarness, type EngineHarness } from '../engine/engine-harness.ts';

const dir = mkdtempSync(join(tmpdir(), 'jcs-restore-handler-'));
const store = createDirectoryBackupStore(join(dir, 'backups'));
let h: EngineHarness;

beforeAll(async () => {
  h = await engineHarness({ handlers: [...defaultTaskHandlers, restoreHandler(store)], logLevel: 'warn' });
});

afterAll(async () => {
  await h?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A running instance, a stored one-file backup of it, and a restore of it asked for. */
async function restoreOf(name: string): Promise<{ id: string; baseId: string; key: string }> {
  const { id } = await h.create('AKONE', name);
  await h.waitFor('running', async () => (await h.status(id)) === 'running');
  const baseId = `bk-${name}`;
  const key = `${id}/${baseId}/shard-0.rdb`;
  const staged = await store.stagingPath(key);
  writeFileSync(staged, `REDIS0011 ${name}`);
  const sum = await store.putStaged(key, staged);
  await insertBackup(h.db, {
    base_id: baseId, account: 'AKONE', region: 'cn-north-1', instance_id: id, file_name: name, backup_type: 1, status: 2, message: '',
    start_ms: Date.now(), end_ms: Date.now(), size: sum.bytes, shard_num: 1, shard_memory_mb: 1024, instance_type: 'master-slave', source: 'replica',
    data_bytes: 1, files: JSON.stringify([{ shard: 0, key, bytes: sum.bytes, sha256: sum.sha256, keys: 1 }]), task_id: 0, auto_day: null,
  });
  return { id, baseId, key };
}

async function startRestore(id: string, baseId: string): Promise<void> {
  await h.db.transaction().execute(async (trx) => {
    expect(await transitionStatus(trx, pino({ level: 'silent' }), id, 'running', 'restoring', 'test')).toBe(true);
    const taskId = await insertTask(trx, { instanceId: id, kind: RESTORE_TASK, payload: { baseId }, nowMs: Date.now() });
    await replaceRestore(trx, { instance_id: id, task_id: taskId, base_id: baseId, phase: 'fetching', started_ms: Date.now() });
  });
  h.engine.notify();
}

describe('restore task', () => {
  it('after the data is placed, a failure repeats only the opening and the converge', async () => {
    const { id, baseId, key } = await restoreOf('placed_once');
    h.fake.fault(id, { fail: 'opening failed', failTimes: 1, ops: ['openAfterRestore'] });
    await startRestore(id, baseId);
    await h.waitFor('running again', async () => (await h.status(id)) === 'running', 20_000);
    expect(h.fake.callsOf(id, 'replaceData')).toHaveLength(1);
    expect(h.fake.callsOf(id, 'openAfterRestore')).toHaveLength(2);
    expect(h.fake.restored.get(id)).toEqual([await store.localFile(key)]);
    expect(await getRestore(h.db, id)).toBeUndefined();
  });

  it('gives up on a permanent failure, lets tenants in again and says why', async () => {
    const { id, baseId } = await restoreOf('gives_up');
    h.fake.fault(id, { fail: 'disk on fire', permanent: true, ops: ['replaceData'] });
    await startRestore(id, baseId);
    await h.waitFor('error', async () => (await h.status(id)) === 'error', 20_000);
    expect(h.fake.callsOf(id, 'openAfterRestore').length).toBeGreaterThan(0);
    const row = await h.db.selectFrom('instances').select('status_reason').where('id', '=', id).executeTakeFirstOrThrow();
    expect(row.status_reason).toMatch(/restore failed: .*disk on fire/);
  });

  it('never hands the driver a file whose checksum changed since the backup', async () => {
    const { id, baseId, key } = await restoreOf('tampered');
    writeFileSync(await store.localFile(key), 'REDIS0011 something else');
    await startRestore(id, baseId);
    await h.waitFor('error', async () => (await h.status(id)) === 'error', 20_000);
    expect(h.fake.callsOf(id, 'replaceData')).toHaveLength(0);
    const row = await h.db.selectFrom('instances').select('status_reason').where('id', '=', id).executeTakeFirstOrThrow();
    expect(row.status_reason).toMatch(/does not match its checksum/);
  });
});
