import { Type } from '@sinclair/typebox';
import { BACKUP_TIME_RULE, WEEK_DAYS } from '../domain/backups/backup-policy.ts';
import { FILE_NAME_RULE } from '../domain/backups/backup-service.ts';
import { envelope } from './schemas.ts';

/**
 * Wire model of backups (reference §5 ops 20-25; JD's Backup, BackupPolicy and DownloadUrl). Types and
 * lengths here; the rules (names, windows, days) in the domain, whose refusals name the field and rule.
 */
export const DescribeBackupsQuery = Type.Object({
  pageNumber: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000, description: 'an integer from 1 to 1000000' })),
  pageSize: Type.Optional(Type.Integer({ description: 'an integer from 10 to 100' })),
  startTime: Type.Optional(Type.String({ maxLength: 64, description: 'an ISO 8601 time such as 2026-01-02T03:04:05Z' })),
  endTime: Type.Optional(Type.String({ maxLength: 64, description: 'an ISO 8601 time such as 2026-01-02T03:04:05Z' })),
  baseId: Type.Optional(Type.String({ maxLength: 64, description: 'a baseId from createBackup' })),
});

export const CreateBackupBody = Type.Object({
  fileName: Type.String({ maxLength: 64, description: FILE_NAME_RULE }),
  backupType: Type.Integer({ description: 'must be 1 (manual)' }),
});

export const ModifyBackupPolicyBody = Type.Object({
  autoBackup: Type.Optional(Type.Boolean({ description: 'true or false' })),
  backupTime: Type.String({ maxLength: 64, description: BACKUP_TIME_RULE }),
  backupPeriod: Type.String({ maxLength: 128, description: `a comma list of ${WEEK_DAYS.join(', ')}` }),
});

export const RestoreBody = Type.Object({ baseId: Type.String({ minLength: 1, maxLength: 64, description: 'a baseId from describeBackups' }) });

export const DownloadUrlQuery = Type.Object({ baseId: Type.String({ minLength: 1, maxLength: 64, description: 'a baseId from describeBackups' }) });

const Backup = Type.Object({
  baseId: Type.String(),
  backupFileName: Type.String(),
  cacheInstanceId: Type.String(),
  backupStartTime: Type.String(),
  backupEndTime: Type.String(),
  backupType: Type.Integer(),
  backupSize: Type.Integer(),
  backupStatus: Type.Integer(),
  backupShardMemoryMB: Type.Integer(),
  backupShardNum: Type.Integer(),
  backupDownloadURL: Type.String(),
  snapshotSource: Type.String(),
  failureReason: Type.String(),
});

export const BackupResponses = {
  list: envelope(Type.Object({ backups: Type.Array(Backup), totalCount: Type.Integer() })),
  create: envelope(Type.Object({ baseId: Type.String() })),
  policy: envelope(Type.Object({ autoBackup: Type.Boolean(), backupPeriod: Type.String(), backupTime: Type.String(), nextBackupTime: Type.String() })),
  downloadUrls: envelope(Type.Object({ downloadUrls: Type.Array(Type.Object({ name: Type.String(), link: Type.String() })) })),
};
