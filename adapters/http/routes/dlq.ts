// The DLQ for operators: list letters (by source, by subject prefix), read one with its payload,
// redrive one, or discard one with a reason that is recorded (dlq_discards) with the token's name.
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { NotFoundError } from '../../../core/errors.ts';
import { Nullable } from '../../../core/nullable.ts';
import type { Sql } from '../../postgres/connect.ts';
import { recordDiscard } from '../../postgres/dlq-discards.ts';
import type { DeadLetterQueue } from '../../jetstream/dlq.ts';
import { ProblemResponses, PageQuery } from './common.ts';

export interface DlqRoutesOptions {
  dlq: () => Promise<DeadLetterQueue>;
  /** Where discards are recorded. */
  sql: Sql;
}

const Entry = Type.Object({
  id: Type.Integer(),
  /** What dead-lettered it: `changes`, `invoices`, `inbound`, … (the DLQ subject's last token). */
  source: Type.String(),
  stream: Type.String(),
  stream_seq: Type.Integer(),
  subject: Type.String(),
  reason: Type.String(),
  deliveries: Type.Integer(),
  dead_lettered_at: Type.String(),
  /** The change the message served (see X-Request-Id); absent when it carried none. */
  correlation_id: Type.Optional(Type.String()),
  size: Type.Integer(),
});

const Letter = Type.Composite([
  Entry,
  Type.Object({
    /** The original message: its JSON value, or its bytes in base64 when they are not JSON. */
    payload: Type.Union([
      Type.Object({ encoding: Type.Literal('json'), data: Type.Unknown() }),
      Type.Object({ encoding: Type.Literal('base64'), data: Type.String() }),
    ]),
  }),
]);

const Discarded = Type.Object({
  id: Type.Integer(),
  source: Type.String(),
  subject: Type.String(),
  reason: Type.String(),
  discarded_by: Type.String(),
  discarded_at: Type.String(),
});

const Params = Type.Object({ id: Type.String({ pattern: '^\\d{1,15}$' }) });

export const dlqRoutes: FastifyPluginAsyncTypebox<DlqRoutesOptions> = async (app, { dlq, sql }) => {
  app.get(
    '/dlq',
    {
      schema: {
        tags: ['operations'],
        summary: 'List dead letters, oldest first',
        description:
          'A page may hold fewer than `limit` letters with a `next_cursor` when a subject filter ' +
          'skipped many: follow the cursor until it is null.',
        querystring: PageQuery(Type.String({ pattern: '^\\d{1,15}$' }), {
          defaultLimit: 50,
          filters: {
            source: Type.Optional(Type.String({ pattern: '^[a-z][a-z0-9_-]{0,39}$' })),
            /** Letters whose original subject starts with this. */
            subject: Type.Optional(Type.String({ minLength: 1, maxLength: 300 })),
          },
        }),
        response: {
          200: Type.Object({ data: Type.Array(Entry), next_cursor: Nullable(Type.String()) }),
          ...ProblemResponses,
        },
      },
    },
    async (request) => {
      const { limit, cursor, source, subject } = request.query;
      return (await dlq()).list(limit, cursor ? Number(cursor) : 0, {
        source,
        subjectPrefix: subject,
      });
    },
  );

  app.get(
    '/dlq/:id',
    {
      schema: {
        tags: ['operations'],
        summary: 'A dead letter with its payload',
        params: Params,
        response: { 200: Letter, ...ProblemResponses },
      },
    },
    async (request) => (await dlq()).get(Number(request.params.id)),
  );

  app.post(
    '/dlq/:id/retry',
    {
      config: { scope: 'operate' },
      schema: {
        tags: ['operations'],
        summary: 'Redrive a dead letter to where it came from',
        params: Params,
        response: {
          202: Type.Object({ id: Type.Integer(), redriven_to: Type.String() }),
          ...ProblemResponses,
        },
      },
    },
    async (request, reply) => {
      const id = Number(request.params.id);
      const { subject } = await (await dlq()).redrive(id, request.id);
      return reply.code(202).send({ id, redriven_to: subject });
    },
  );

  app.post(
    '/dlq/:id/discard',
    {
      config: { scope: 'operate' },
      schema: {
        tags: ['operations'],
        summary: 'Discard a dead letter, recording why and by which token',
        params: Params,
        body: Type.Object(
          { reason: Type.String({ minLength: 1, maxLength: 500 }) },
          { additionalProperties: false },
        ),
        response: { 200: Discarded, ...ProblemResponses },
      },
    },
    async (request) => {
      const id = Number(request.params.id);
      const queue = await dlq();
      const letter = await queue.get(id);
      // The record and the removal stand or fall together: a letter removed by a concurrent
      // discard or redrive rolls the record back and answers 404.
      const record = await sql.begin(async (tx) => {
        const r = await recordDiscard(tx, {
          letterId: id,
          source: letter.source,
          subject: letter.subject,
          letterReason: letter.reason,
          reason: request.body.reason,
          discardedBy: request.apiToken?.name ?? 'unknown',
        });
        if (!(await queue.remove(id))) throw new NotFoundError('dead letter');
        return r;
      });
      return {
        id,
        source: record.source,
        subject: record.subject,
        reason: record.reason,
        discarded_by: record.discardedBy,
        discarded_at: record.discardedAt.toISOString(),
      };
    },
  );
};
