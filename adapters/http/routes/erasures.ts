// Erasure of a customer's personal data. POST /customers/:id/erase deletes the customer at once (a
// tombstone) and records the erasure; the worker holding the customer then carries it out (see
// deploy/wiring/worker/erasure-runner.ts) and finishes the record, which GET /erasures/:id shows.
// The record holds no personal data: ids, the token's name, and what was removed where.
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { CustomerId } from '../../../core/customer.ts';
import { NotFoundError } from '../../../core/errors.ts';
import { Nullable } from '../../../core/nullable.ts';
import type { Sql } from '../../postgres/connect.ts';
import { erasureById, requestErasure, type Erasure } from '../../postgres/erasures.ts';
import { ProblemResponses } from './common.ts';

export interface ErasureRoutesOptions {
  sql: Sql;
  /** RTWS_ERASE_REMOTE: whether the targets' objects are deleted too. */
  remote: boolean;
}

const ErasureView = Type.Object({
  id: Type.String({ format: 'uuid' }),
  customer_id: Type.String(),
  /** `requested`: waiting for the worker (and, with `remote`, for the targets' deletes); `erased`. */
  status: Type.Union([Type.Literal('requested'), Type.Literal('erased')]),
  requested_at: Type.String(),
  /** The name of the token that asked (never the token), or `schedule`. */
  requested_by: Type.String(),
  /** Whether the customer is deleted at the targets too; without, they are left to the operator. */
  remote: Type.Boolean(),
  finished_at: Nullable(Type.String()),
  /** Per store, what was removed; per target, what became of its object. */
  removed: Type.Record(Type.String(), Type.Unknown()),
  last_error: Nullable(Type.String()),
  note: Nullable(Type.String()),
});
type ErasureView = Static<typeof ErasureView>;

function viewOf(e: Erasure): ErasureView {
  return {
    id: e.id,
    customer_id: e.customerId,
    status: e.finishedAt ? 'erased' : 'requested',
    requested_at: e.requestedAt.toISOString(),
    requested_by: e.requestedBy,
    remote: e.remote,
    finished_at: e.finishedAt?.toISOString() ?? null,
    removed: e.removed,
    last_error: e.lastError,
    note: e.remote
      ? null
      : 'The customer is not deleted in Stripe or Salesforce (RTWS_ERASE_REMOTE=false): its objects there are left to the operator.',
  };
}

export const erasureRoutes: FastifyPluginAsyncTypebox<ErasureRoutesOptions> = async (
  app,
  { sql, remote },
) => {
  app.post(
    '/customers/:id/erase',
    {
      config: { scope: 'admin' },
      schema: {
        tags: ['customers'],
        summary: "Erase a customer's personal data everywhere rtws keeps it",
        description:
          'Takes no options: whether Stripe and Salesforce objects are deleted is ' +
          '`RTWS_ERASE_REMOTE`, so a body with any field is a 400 rather than one silently ignored.',
        params: Type.Object({ id: CustomerId }),
        body: Type.Optional(Type.Object({}, { additionalProperties: false })),
        response: { 202: ErasureView, ...ProblemResponses },
      },
    },
    async (request, reply) => {
      const asked = await requestErasure(sql, {
        customerId: request.params.id,
        requestedBy: request.apiToken?.name ?? 'unknown',
        remote,
      });
      if (!asked) throw new NotFoundError('customer');
      return reply
        .code(202)
        .header('location', `/erasures/${asked.erasure.id}`)
        .send(viewOf(asked.erasure));
    },
  );

  app.get(
    '/erasures/:id',
    {
      config: { scope: 'operate' },
      schema: {
        tags: ['customers'],
        summary: 'Read an erasure and what it removed',
        params: Type.Object({ id: Type.String({ format: 'uuid' }) }),
        response: { 200: ErasureView, ...ProblemResponses },
      },
    },
    async (request) => {
      const erasure = await erasureById(sql, request.params.id);
      if (!erasure) throw new NotFoundError('erasure');
      return viewOf(erasure);
    },
  );
};
