// Reconciliations: drift repair, started over HTTP (or by the schedule, or the CLI) and read here.
// A reconciliation is a backfill of source `reconcile`, run page by page by a worker
// (deploy/wiring/backfill/reconcile.ts); pause, resume and cancel go through /backfills/:id.
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { NotFoundError, ValidationError } from '../../../core/errors.ts';
import { Nullable } from '../../../core/nullable.ts';
import type { Sql } from '../../postgres/connect.ts';
import { createBackfill, getBackfill, type Backfill } from '../../postgres/backfills.ts';
import { differencesOf, fieldCounts } from '../../postgres/reconciliations.ts';
import { backfillView, Params, View } from './backfills.ts';
import { ProblemResponses, PageQuery } from './common.ts';

export interface ReconciliationRoutesOptions {
  readonly sql: Sql;
  /** False without a Stripe key: there is nothing to compare with. */
  readonly canReconcile: boolean;
  /** Tells this process's runner, if it has one, that there is work. */
  readonly kick?: () => void;
}

const ReconciliationView = Type.Composite([
  View,
  Type.Object({
    /** Per target and field, how many customers differed there (each handed to its actor). */
    differing_fields: Type.Record(Type.String(), Type.Record(Type.String(), Type.Integer())),
  }),
]);

const DifferenceView = Type.Object({
  id: Type.Integer(),
  target: Type.String(),
  customer_id: Nullable(Type.String()),
  external_id: Nullable(Type.String()),
  kind: Type.String(),
  fields: Type.Array(Type.String()),
  detail: Type.String(),
  found_at: Type.String(),
});

export const reconciliationRoutes: FastifyPluginAsyncTypebox<ReconciliationRoutesOptions> = async (
  app,
  { sql, canReconcile, kick },
) => {
  const view = async (b: Backfill) => ({
    ...backfillView(b),
    differing_fields: await fieldCounts(sql, b.id),
  });
  const reconciliation = async (id: string) => {
    const b = await getBackfill(sql, Number(id));
    if (!b || b.source !== 'reconcile') throw new NotFoundError('reconciliation');
    return b;
  };

  app.post(
    '/reconciliations',
    {
      config: { scope: 'operate' },
      schema: {
        tags: ['operations'],
        summary: 'Start a reconciliation',
        body: Type.Optional(Type.Object({}, { additionalProperties: false })),
        response: { 202: ReconciliationView, ...ProblemResponses },
      },
    },
    async (request, reply) => {
      if (!canReconcile)
        throw new ValidationError(
          'neither Stripe nor Salesforce is configured: there is nothing to reconcile',
          'target',
        );
      const created = await createBackfill(sql, 'reconcile', {});
      request.log.info({ reconciliation: created.id }, 'reconciliation started');
      kick?.();
      return reply
        .code(202)
        .header('location', `/reconciliations/${created.id}`)
        .send(await view(created));
    },
  );

  app.get(
    '/reconciliations/:id',
    {
      schema: {
        tags: ['operations'],
        summary: 'Get a reconciliation and its counts',
        params: Params,
        response: { 200: ReconciliationView, ...ProblemResponses },
      },
    },
    async (request) => view(await reconciliation(request.params.id)),
  );

  app.get(
    '/reconciliations/:id/differences',
    {
      schema: {
        tags: ['operations'],
        summary: 'List the differences a reconciliation found',
        params: Params,
        querystring: PageQuery(Type.String({ pattern: '^[0-9]{1,15}$' }), { defaultLimit: 50 }),
        response: {
          200: Type.Object({
            data: Type.Array(DifferenceView),
            next_cursor: Nullable(Type.String()),
          }),
          ...ProblemResponses,
        },
      },
    },
    async (request) => {
      const b = await reconciliation(request.params.id);
      const { limit, cursor } = request.query;
      const rows = await differencesOf(sql, b.id, limit, Number(cursor ?? 0));
      return {
        data: rows.map((d) => ({
          id: d.id,
          target: d.target,
          customer_id: d.customerId,
          external_id: d.externalId,
          kind: d.kind,
          fields: [...d.fields],
          detail: d.detail,
          found_at: d.foundAt.toISOString(),
        })),
        next_cursor: rows.length === limit ? String(rows.at(-1)!.id) : null,
      };
    },
  );
};
