import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { BackupService } from '../../domain/backups/backup-service.ts';
import { DOWNLOAD_PATH } from '../../domain/backups/download-link.ts';
import { BackupResponses, CreateBackupBody, DescribeBackupsQuery, DownloadUrlQuery, ModifyBackupPolicyBody, RestoreBody } from '../backup-schemas.ts';
import { InstanceParams, Responses } from '../schemas.ts';
import { callerScope, INSTANCE_PATH } from './caller-scope.ts';

const tags = ['backups'];

/**
 * Backups (reference §5 ops 20-25): describeBackups, createBackup, describeBackupPolicy,
 * modifyBackupPolicy, restoreInstance, describeDownloadUrl; and the route serving download links.
 */
export function registerBackupRoutes(appIn: FastifyInstance, backups: BackupService): void {
  const app = appIn.withTypeProvider<TypeBoxTypeProvider>();
  const id = (request: { params: { cacheInstanceId: string } }): string => request.params.cacheInstanceId;

  app.get(
    `${INSTANCE_PATH}/backup`,
    { schema: { operationId: 'describeBackups', tags, params: InstanceParams, querystring: DescribeBackupsQuery, response: BackupResponses.list } },
    async (request) => ({ requestId: request.id, result: await backups.list(callerScope(request), id(request), request.query) }),
  );

  app.post(
    `${INSTANCE_PATH}/backup`,
    { schema: { operationId: 'createBackup', tags, params: InstanceParams, body: CreateBackupBody, response: BackupResponses.create } },
    async (request) => ({ requestId: request.id, result: await backups.create(callerScope(request), id(request), request.body) }),
  );

  app.get(
    `${INSTANCE_PATH}/backupPolicy`,
    { schema: { operationId: 'describeBackupPolicy', tags, params: InstanceParams, response: BackupResponses.policy } },
    async (request) => ({ requestId: request.id, result: await backups.describePolicy(callerScope(request), id(request)) }),
  );

  app.patch(
    `${INSTANCE_PATH}/backupPolicy`,
    { schema: { operationId: 'modifyBackupPolicy', tags, params: InstanceParams, body: ModifyBackupPolicyBody, response: Responses.noResult } },
    async (request) => {
      await backups.modifyPolicy(callerScope(request), id(request), request.body);
      return { requestId: request.id };
    },
  );

  app.post(
    `${INSTANCE_PATH}/restore`,
    { schema: { operationId: 'restoreInstance', tags, params: InstanceParams, body: RestoreBody, response: Responses.noResult } },
    async (request) => {
      await backups.restore(callerScope(request), id(request), request.body.baseId);
      return { requestId: request.id };
    },
  );

  app.get(
    `${INSTANCE_PATH}/backup/~describeDownloadUrl`,
    { schema: { operationId: 'describeDownloadUrl', tags, params: InstanceParams, querystring: DownloadUrlQuery, response: BackupResponses.downloadUrls } },
    async (request) => ({
      requestId: request.id,
      result: { downloadUrls: await backups.downloadUrls(callerScope(request), id(request), request.query.baseId, `${request.protocol}://${request.host}`) },
    }),
  );

  // The links: public (a link is its own credential: signed, expiring), streamed, never read whole.
  app.get(
    `${DOWNLOAD_PATH}/:baseId/:name`,
    {
      config: { public: true },
      schema: {
        hide: true,
        params: Type.Object({ baseId: Type.String({ maxLength: 64 }), name: Type.String({ maxLength: 128 }) }),
        querystring: Type.Object({ expires: Type.String({ maxLength: 16, description: 'the expiry of a link' }), signature: Type.String({ maxLength: 128, description: 'the signature of a link' }) }),
      },
    },
    async (request, reply) => {
      const { baseId, name } = request.params;
      const file = await backups.openDownload(baseId, name, request.query.expires, request.query.signature);
      reply
        .header('content-type', 'application/octet-stream')
        .header('content-length', String(file.bytes))
        .header('content-disposition', `attachment; filename="${name.replace(/[^A-Za-z0-9_.-]/g, '_')}"`)
        .header('cache-control', 'no-store');
      return reply.send(file.stream);
    },
  );
}
