import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Nullable } from '../../../core/nullable.ts';
import type { DeadLetterQueue } from '../../jetstream/dlq.ts';
import { ProblemResponses, PageQuery } from './common.ts';

export interface DlqRoutesOptions {
  dlq: () => Promise<DeadLetterQueue>;
}

const Entry = Type.Object({
  id: Type.Integer(),
  source: Type.String(),
  stream: Type.String(),
  stream_seq: Type.Integer(),
  subject: Type.String(),
  reason: Type.String(),
  deliveries: Type.Integer(),
  dead_lettered_at: Type.String(),
  size: Type.Integer(),
});

export const dlqRoutes: FastifyPluginAsyncTypebox<DlqRoutesOptions> = async (app, { dlq }) => {
  app.get(
    '/dlq',
    {
      schema: {
        tags: ['operations'],
        summary: 'List dead letters',
        querystring: PageQuery(Type.String({ pattern: '^\\d{1,15}$' }), { defaultLimit: 50 }),
        response: {
          200: Type.Object({ data: Type.Array(Entry), next_cursor: Nullable(Type.String()) }),
          ...ProblemResponses,
        },
      },
    },
    async (request) =>
      (await dlq()).list(
        request.query.limit,
        request.query.cursor ? Number(request.query.cursor) : 0,
      ),
  );

  app.post(
    '/dlq/:id/retry',
    {
      config: { scope: 'operate' },
      schema: {
        tags: ['operations'],
        summary: 'Redrive a dead letter to where it came from',
        params: Type.Object({ id: Type.String({ pattern: '^\\d{1,15}$' }) }),
        response: {
          202: Type.Object({ id: Type.Integer(), redriven_to: Type.String() }),
          ...ProblemResponses,
        },
      },
    },
    async (request, reply) => {
      const id = Number(request.params.id);
      const { subject } = await (await dlq()).redrive(id);
      return reply.code(202).send({ id, redriven_to: subject });
    },
  );
};
