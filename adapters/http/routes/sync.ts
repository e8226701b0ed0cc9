// GET /customers/:id/sync: where each target stands for one customer, from the actor's snapshot,
// with the conflicts its changes met. GET /conflicts: every conflict, newest first.
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { CustomerId } from '../../../core/customer.ts';
import { NotFoundError } from '../../../core/errors.ts';
import { Nullable } from '../../../core/nullable.ts';
import type { Sql } from '../../postgres/connect.ts';
import { listPauses, type TargetPause } from '../../postgres/target-pauses.ts';
import { listConflicts } from '../../postgres/conflicts.ts';
import { ProblemResponses, PageQuery } from './common.ts';

/** One target as the actor knows it (a read model of `TargetState`). */
export interface TargetView {
  status: string;
  external_id: string | null;
  desired_version: number | null;
  synced_version: number;
  pending: {
    type: string;
    key: string | null;
    attempt: number;
    not_before: string;
    correlation_id?: string;
  }[];
  attempts: number;
  last_error: { failure: string; reason: string; at: string } | null;
  /** Why its pending intents wait, when an operator paused the target. */
  waiting?: string;
}

export interface SyncRoutesOptions {
  sql: Sql;
  /** The actor's view of each target, or undefined before the actor first ran. */
  targets: (customerId: string) => Promise<Record<string, TargetView> | undefined>;
}

const TargetViewSchema = Type.Object({
  status: Type.String(),
  external_id: Nullable(Type.String()),
  desired_version: Nullable(Type.Integer()),
  synced_version: Type.Integer(),
  pending: Type.Array(
    Type.Object({
      type: Type.String(),
      key: Nullable(Type.String()),
      attempt: Type.Integer(),
      not_before: Type.String(),
      /** The change the intent serves (see X-Request-Id); absent on one decided without one. */
      correlation_id: Type.Optional(Type.String()),
    }),
  ),
  attempts: Type.Integer(),
  last_error: Nullable(
    Type.Object({ failure: Type.String(), reason: Type.String(), at: Type.String() }),
  ),
  /** Why its pending intents wait, when an operator has paused the target; else absent. */
  waiting: Type.Optional(Type.String()),
});

const Conflict = Type.Object({
  id: Type.Integer(),
  customer_id: Type.String(),
  /** `name`, `email`, `phone`, `address` or `metadata.<key>`. */
  field: Type.String(),
  postgres_value: Type.Unknown(),
  /** Stripe's value; null on a conflict with another target. */
  stripe_value: Type.Unknown(),
  /** The other side: `stripe` or `salesforce`. */
  target: Type.String(),
  /** The other side's value. */
  target_value: Type.Unknown(),
  /**
   * Every side's value when the merge decided: `postgres`, and each linked target's (`stripe`,
   * `salesforce`), so a field edited in three places shows all three. Null on older records.
   */
  sides: Nullable(Type.Record(Type.String(), Type.Unknown())),
  winner: Type.Union([
    Type.Literal('stripe'),
    Type.Literal('salesforce'),
    Type.Literal('postgres'),
  ]),
  reason: Type.String(),
  stripe_event_id: Type.String(),
  detected_at: Type.String(),
  postgres_changed_at: Nullable(Type.String()),
  stripe_changed_at: Nullable(Type.String()),
});

const ConflictPage = Type.Object({
  data: Type.Array(Conflict),
  next_cursor: Nullable(Type.String()),
});

/** Conflicts shown with a customer's sync status; older ones are listed by GET /conflicts. */
const RECENT_CONFLICTS = 20;

const SyncView = Type.Object({
  customer_id: Type.String(),
  version: Type.Integer(),
  deleted: Type.Boolean(),
  /** False until the customer's actor has handled its first change. */
  observed: Type.Boolean(),
  targets: Type.Record(Type.String(), TargetViewSchema),
  links: Type.Record(Type.String(), Type.String()),
  /** The latest conflicts, newest first. */
  conflicts: Type.Array(Conflict),
});

/** Targets an operator paused: their pending intents are shown as waiting, and why. */
export function withPauses<V extends Static<typeof TargetViewSchema>>(
  view: Record<string, V> | undefined,
  pauses: readonly TargetPause[],
): Record<string, V> | undefined {
  if (!view || pauses.length === 0) return view;
  const out = { ...view };
  for (const p of pauses) {
    const t = out[p.target];
    if (t && t.pending.length > 0)
      out[p.target] = {
        ...t,
        waiting: `the target was paused by ${p.pausedBy} at ${p.pausedAt.toISOString()}${p.reason ? `: ${p.reason}` : ''}`,
      };
  }
  return out;
}

export const syncRoutes: FastifyPluginAsyncTypebox<SyncRoutesOptions> = async (
  app,
  { sql, targets },
) => {
  app.get(
    '/customers/:id/sync',
    {
      schema: {
        tags: ['sync'],
        summary: 'Where each target stands for a customer, with its recent conflicts',
        params: Type.Object({ id: CustomerId }),
        response: { 200: SyncView, ...ProblemResponses },
      },
    },
    async (request) => {
      const id = request.params.id;
      const [row] = await sql<
        { version: number; deleted: boolean; links: Record<string, string> }[]
      >`
        SELECT version, deleted_at IS NOT NULL AS deleted,
               (SELECT coalesce(jsonb_object_agg(target, external_id), '{}'::jsonb)
                FROM customer_links WHERE customer_id = ${id}) AS links
        FROM customers WHERE id = ${id}`;
      if (!row) throw new NotFoundError('customer');
      const view = withPauses(await targets(id), await listPauses(sql));
      const conflicts = await listConflicts(sql, { limit: RECENT_CONFLICTS, customerId: id });
      return {
        customer_id: id,
        version: row.version,
        deleted: row.deleted,
        observed: view !== undefined,
        targets: view ?? {},
        links: row.links,
        conflicts: conflicts.data,
      };
    },
  );

  app.get(
    '/conflicts',
    {
      schema: {
        tags: ['sync'],
        summary: 'List conflicts, newest first',
        querystring: PageQuery(Type.String({ pattern: '^[1-9][0-9]{0,17}$' }), {
          defaultLimit: 50,
          filters: {
            customer_id: Type.Optional(CustomerId),
            /** `name`, `email`, `phone`, `address` or `metadata.<key>`. */
            field: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
          },
        }),
        response: { 200: ConflictPage, ...ProblemResponses },
      },
    },
    async (request) => {
      const { limit, cursor, customer_id, field } = request.query;
      return listConflicts(sql, {
        limit,
        cursor: cursor === undefined ? undefined : Number(cursor),
        customerId: customer_id,
        field,
      });
    },
  );
};
