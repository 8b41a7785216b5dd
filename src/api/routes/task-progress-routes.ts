import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { TASK_TYPES, type TaskProgressService } from '../../domain/analysis/task-progress-service.ts';
import { InstanceParams, envelope } from '../schemas.ts';
import { callerScope, INSTANCE_PATH } from './caller-scope.ts';

const TaskProgressQuery = Type.Object({ taskType: Type.Optional(Type.String({ maxLength: 32, description: `one of ${TASK_TYPES.join(', ')}` })) });

const TaskProgressResponse = envelope(
  Type.Object({
    taskProgresses: Type.Array(
      Type.Object({
        taskType: Type.String(),
        taskId: Type.String(),
        taskStatus: Type.String(),
        progressPercent: Type.Integer(),
        elapsedTimeSecond: Type.Integer(),
        startTime: Type.String(),
      }),
    ),
  }),
);

/** describeTaskProgressList (reference §5 op 30): resize and type-change progress of an instance. */
export function registerTaskProgressRoutes(appIn: FastifyInstance, progress: TaskProgressService): void {
  const app = appIn.withTypeProvider<TypeBoxTypeProvider>();
  app.get(
    `${INSTANCE_PATH}/taskProgress`,
    { schema: { operationId: 'describeTaskProgressList', tags: ['taskProgress'], params: InstanceParams, querystring: TaskProgressQuery, response: TaskProgressResponse } },
    async (request) => ({
      requestId: request.id,
      result: { taskProgresses: await progress.list(callerScope(request), request.params.cacheInstanceId, request.query.taskType) },
    }),
  );
}
