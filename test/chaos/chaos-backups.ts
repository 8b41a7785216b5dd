/**
 * Backups and restores in the chaos mix (issue 17): an actor's operation may ask for a backup of an
 * instance, or restore one of its acknowledged backups in place, while the kill faults go on. The rules:
 * - every acknowledged backup (createBackup answered, backupStatus 2) passes redis-check-rdb and holds every
 *   write the instance's writer had acknowledged before it was asked for (unless a kill within a second
 *   excuses the write, as everywhere in the run);
 * - every acknowledged backup is restorable: restored in place (during the run, or at the end while its
 *   instance lives) the instance ends `running` with every such write, and without any write acknowledged
 *   after the backup ended and before the restore was asked for;
 * - writes acknowledged after the restore ended must survive like any other (ChaosInstance.restoreWindows
 *   excuses only those from the backup's request to the restore's end).
 */
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { bareRedisOn, run, type BackupSdk } from '../backups/backup-helpers.ts';
import type { SdkBody } from '../helpers/sdk-client.ts';
import type { ChaosInstance } from './chaos-instance.ts';
import type { CallOutcome } from './chaos-sdk-call.ts';
import { connectClusterWithAny, connectWithAny, withTimeout, type ChaosClient } from './chaos-writer.ts';

interface BackupRecord {
  inst: ChaosInstance;
  baseId: string;
  askedAt: number;
  /** When it was first seen finished (backupStatus 2); writes acknowledged after are not in it. */
  endAt: number;
  status: 'running' | 'ok' | 'failed';
  shards: number;
  /** A restore of it was asked for (and not refused). */
  restored: boolean;
  /** Its restore's follow-up (end, read back), once asked for. */
  done?: Promise<void>;
}

export interface ChaosBackupStats {
  asked: number;
  acknowledged: number;
  failed: number;
  restoresAccepted: number;
  /** Restores whose result was read back and compared. */
  restoresChecked: number;
  /** Backup files checked with redis-check-rdb and a bare redis-server. */
  filesChecked: number;
}

export interface ChaosBackupsOptions {
  /** Backups asked for at most over the run. */
  max: number;
  dataDir: string;
  host: string;
  sdk: () => BackupSdk;
  /** Live instances that backups may be asked for at the end (with a writer, not proxy clusters). */
  candidates: () => ChaosInstance[];
  /** Runs and counts one API call (ChaosRun.op). */
  call: (kind: 'backup' | 'restore', call: () => Promise<SdkBody>, what: string) => Promise<CallOutcome>;
  /** Runs an uncounted API call (reads). */
  read: (call: () => Promise<SdkBody>, what: string) => Promise<CallOutcome>;
  violation: (what: string) => void;
  log: (line: string) => void;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(Math.random() * xs.length)]!;

export class ChaosBackups {
  readonly stats: ChaosBackupStats = { asked: 0, acknowledged: 0, failed: 0, restoresAccepted: 0, restoresChecked: 0, filesChecked: 0 };
  private readonly records: BackupRecord[] = [];
  private readonly pending: Promise<void>[] = [];
  /** Instances with a restore asked for whose result is not read back yet. */
  private readonly checking = new Set<ChaosInstance>();

  constructor(private readonly o: ChaosBackupsOptions) {}

  /**
   * Whether `inst` must stay until the end: it has a backup running, or acknowledged and not restored yet,
   * or a restore whose result is not read yet (the run spares it from deletes, so each is checked).
   */
  holds(inst: ChaosInstance): boolean {
    return this.records.some((r) => r.inst === inst && (r.status === 'running' || (r.status === 'ok' && !r.restored))) || inst.restoreWindows.some((w) => w.to === Number.POSITIVE_INFINITY);
  }

  /** One operation on `inst`: restore one of its acknowledged backups, or ask for a new backup. */
  async step(inst: ChaosInstance): Promise<void> {
    const restorable = this.records.filter((r) => r.inst === inst && r.status === 'ok' && !r.restored);
    // One restore of an instance at a time, until its result was read back: a second one accepted as soon as
    // the first ended running would replace the data before that read (a long run once read back a newer
    // backup's data and saw writes the first restore had rightly dropped).
    if (restorable.length > 0 && !this.checking.has(inst) && Math.random() < 0.5) return this.restore(inst, pick(restorable));
    if (this.records.length >= this.o.max || this.records.some((r) => r.inst === inst && r.status === 'running')) return;
    await this.ask(inst);
  }

  /** Asks for a backup of `inst`; an accepted one is recorded and followed. */
  private async ask(inst: ChaosInstance): Promise<void> {
    const askedAt = Date.now();
    const res = await this.o.call('backup', () => this.o.sdk().createBackup({ cacheInstanceId: inst.id, fileName: `chaos_${this.records.length}`, backupType: 1 }), `backup ${inst.id}`);
    // Refused (the instance is busy), or unknown: not acknowledged, so nothing is promised about it.
    if (res.kind !== 'accepted') return;
    const rec: BackupRecord = { inst, baseId: res.body.result.baseId as string, askedAt, endAt: 0, status: 'running', shards: 0, restored: false };
    this.records.push(rec);
    this.stats.asked++;
    this.o.log(`backup ${rec.baseId} of ${inst.id} asked for`);
    this.pending.push(this.follow(rec));
  }

  /** After the faults: every acknowledged backup's files are checked, and each one not restored yet is restored in place while its instance lives. */
  async settle(): Promise<void> {
    for (let n = 0; n < this.pending.length; n++) await this.pending[n];
    // The random mix may end without an acknowledged backup (every request refused while its instance was
    // busy, or none drawn): one is asked for now, so the backup and restore paths are exercised every run.
    if (this.stats.acknowledged === 0) await this.backupAtEnd();
    const work = mkdtempSync(join(tmpdir(), 'jcs-chaos-backups-'));
    try {
      for (const rec of this.records.filter((r) => r.status === 'ok')) await this.checkFiles(rec, work);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
    // One instance's backups one after the other, the instances side by side.
    const left = this.records.filter((r) => r.status === 'ok' && !r.restored && r.inst.deleted === 'no');
    await Promise.all(
      [...new Set(left.map((r) => r.inst))].map(async (inst) => {
        for (const rec of left.filter((r) => r.inst === inst)) {
          for (let attempt = 0; attempt < 20 && !rec.restored; attempt++) {
            await this.restore(inst, rec);
            if (!rec.restored) await sleep(500); // refused: the instance was busy (a resize finishing)
          }
          await rec.done;
        }
      }),
    );
    for (let n = 0; n < this.pending.length; n++) await this.pending[n];
    // Every restore may have had an unknown outcome (the service killed while it answered): those are not
    // read back. One acknowledged backup of a live instance is then restored again, and read back.
    if (this.stats.restoresChecked === 0) {
      const rec = this.records.find((r) => r.status === 'ok' && r.inst.deleted === 'no');
      if (rec) {
        rec.restored = false;
        for (let attempt = 0; attempt < 20 && !rec.restored; attempt++) {
          await this.restore(rec.inst, rec);
          if (!rec.restored) await sleep(500);
        }
        await rec.done;
      }
    }
  }

  /** Asks for a backup of a live instance (not a proxy cluster: they have no restore) and follows it to its end. */
  private async backupAtEnd(): Promise<void> {
    for (let attempt = 0; attempt < 40 && this.stats.acknowledged === 0; attempt++) {
      const inst = this.o.candidates().find((i) => !this.records.some((r) => r.inst === i && r.status === 'running'));
      if (!inst) return;
      const before = this.records.length;
      await this.ask(inst);
      // Refused (busy: a resize finishing) or unknown: asked again shortly; followed to its end otherwise.
      if (this.records.length === before) await sleep(500);
      for (let n = 0; n < this.pending.length; n++) await this.pending[n];
    }
  }

  /** Polls describeBackups until the backup ends (across service restarts). */
  private async follow(rec: BackupRecord): Promise<void> {
    const deadline = Date.now() + 180_000;
    while (Date.now() < deadline) {
      const res = await this.o.read(() => this.o.sdk().describeBackups({ cacheInstanceId: rec.inst.id, baseId: rec.baseId }), `describeBackups ${rec.baseId}`);
      const b = res.kind === 'accepted' ? (res.body.result.backups as Array<{ backupStatus: number; backupShardNum: number; failureReason: string }>)[0] : undefined;
      if (b && b.backupStatus !== 0) {
        rec.status = b.backupStatus === 2 ? 'ok' : 'failed';
        rec.endAt = Date.now();
        rec.shards = b.backupShardNum;
        if (rec.status === 'ok') this.stats.acknowledged++;
        else this.stats.failed++;
        this.o.log(`backup ${rec.baseId} of ${rec.inst.id} ${rec.status === 'ok' ? 'acknowledged' : `failed (allowed: never acknowledged): ${b.failureReason}`}`);
        return;
      }
      await sleep(200);
    }
    this.o.violation(`backup ${rec.baseId} of ${rec.inst.id} still running 180 s after it was asked for`);
  }

  /** The writes `inst` acknowledged in [from, to) that the run's rules protect (no kill within a second after). */
  private protectedKeys(inst: ChaosInstance, from: number, to: number): string[] {
    const w = inst.writer;
    if (!w) return [];
    return w.acks.filter((a) => a.ackedAt >= from && a.ackedAt < to && inst.mustSurvive(a.ackedAt)).map((a) => w.key(a.seq));
  }

  private async checkFiles(rec: BackupRecord, work: string): Promise<void> {
    const expected = this.protectedKeys(rec.inst, 0, rec.askedAt);
    const found = new Set<string>();
    for (let shard = 0; shard < rec.shards; shard++) {
      const file = join(this.o.dataDir, 'backups', rec.inst.id, rec.baseId, `shard-${shard}.rdb`);
      const check = await run('redis-check-rdb', [file]);
      if (check.code !== 0) this.o.violation(`backup ${rec.baseId} of ${rec.inst.id}: redis-check-rdb refused shard ${shard}: ${check.out.slice(-200)}`);
      copyFileSync(file, join(work, 'b.rdb'));
      const bare = await bareRedisOn(work, 'b.rdb');
      try {
        for (let i = 0; i < expected.length; i += 500) {
          const batch = expected.slice(i, i + 500);
          const values = await bare.client.mget(...batch);
          batch.forEach((k, j) => values[j] !== null && found.add(k));
        }
      } finally {
        await bare.stop();
      }
      this.stats.filesChecked++;
    }
    const missing = expected.filter((k) => !found.has(k));
    if (missing.length > 0) this.o.violation(`backup ${rec.baseId} of ${rec.inst.id}: ${missing.length} of ${expected.length} writes acknowledged before it was asked for are not in its files, e.g. ${missing.slice(0, 3).join(', ')}`);
  }

  private async restore(inst: ChaosInstance, rec: BackupRecord): Promise<void> {
    // Writes acknowledged from the backup's request on may be gone after the restore: excused until it ends.
    const askedAt = Date.now();
    const window = { from: rec.askedAt, to: Number.POSITIVE_INFINITY, restoreAt: askedAt };
    inst.restoreWindows.push(window);
    this.checking.add(inst);
    const res = await this.o.call('restore', () => this.o.sdk().restoreInstance({ cacheInstanceId: inst.id, baseId: rec.baseId }), `restore ${inst.id} from ${rec.baseId}`);
    if (res.kind === 'refused' || res.kind === 'unavailable') {
      inst.restoreWindows.splice(inst.restoreWindows.indexOf(window), 1);
      this.checking.delete(inst);
      return;
    }
    rec.restored = true;
    if (res.kind === 'accepted') this.stats.restoresAccepted++;
    this.o.log(`restore of ${inst.id} from ${rec.baseId} ${res.kind}`);
    rec.done = this.afterRestore(inst, rec, window, res.kind === 'accepted', askedAt).finally(() => this.checking.delete(inst));
    this.pending.push(rec.done);
  }

  /** Waits for the restore to end, closes its window, and (when it surely happened) reads the result back. */
  private async afterRestore(inst: ChaosInstance, rec: BackupRecord, window: { to: number }, accepted: boolean, askedAt: number): Promise<void> {
    const deadline = Date.now() + 180_000;
    let status = '';
    while (Date.now() < deadline && inst.deleted === 'no') {
      const res = await this.o.read(() => this.o.sdk().describeCacheInstance({ cacheInstanceId: inst.id }), `describe ${inst.id}`);
      status = res.kind === 'accepted' ? (res.body.result.cacheInstance.cacheInstanceStatus as string) : '';
      if (status === 'running' || status === 'error') break;
      await sleep(200);
    }
    window.to = Date.now();
    if (status !== 'running') {
      if (inst.deleted === 'no') this.o.violation(`${inst.id}: the restore of ${rec.baseId} ended ${status || 'not at all within 180 s'}`);
      return;
    }
    if (!accepted) return; // it may not have happened: nothing to compare
    const mustHave = this.protectedKeys(inst, 0, rec.askedAt);
    // Written after the backup had ended and before the restore was asked for: the restore must drop them.
    const mustNotHave = inst.writer ? inst.writer.acks.filter((a) => a.ackedAt > rec.endAt && a.sentAt > rec.endAt && a.ackedAt < askedAt).map((a) => inst.writer!.key(a.seq)) : [];
    for (const until = Date.now() + 10_000; Date.now() < until; await sleep(200)) {
      const client: ChaosClient | null = inst.cluster ? await connectClusterWithAny(this.o.host, inst.port, inst.history) : await connectWithAny(this.o.host, inst.port, inst.history);
      if (!client) continue;
      try {
        const read = async (keys: string[]): Promise<Array<string | null>> =>
          inst.cluster ? Promise.all(keys.map((k) => withTimeout(client.get(k), 5_000))) : keys.length === 0 ? [] : (client as Redis).mget(...keys);
        const have = await read(mustHave);
        const missing = mustHave.filter((_, i) => have[i] === null);
        const stale = (await read(mustNotHave)).filter((v) => v !== null).length;
        if (missing.length > 0) this.o.violation(`${inst.id}: after the restore of ${rec.baseId}, ${missing.length} of ${mustHave.length} writes acknowledged before the backup are missing, e.g. ${missing.slice(0, 3).join(', ')}`);
        if (stale > 0) this.o.violation(`${inst.id}: after the restore of ${rec.baseId}, ${stale} of ${mustNotHave.length} writes acknowledged after the backup survived it`);
        this.stats.restoresChecked++;
        return;
      } catch {
        // a fault hit the node between connect and read: try again
      } finally {
        client.disconnect();
      }
    }
  }
}
