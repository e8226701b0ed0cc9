import { Type, type Static, type TSchema } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';

export interface Readiness {
  postgres: boolean;
  nats: boolean;
  migrations: boolean;
  /** Where this process runs a worker: the partitions it holds, and those it waits to take back. */
  worker?: WorkerReadiness;
  /** Where Stripe is synced: the webhook endpoint's health, which never changes readiness. */
  stripe?: StripeReadiness;
  /** Where this process calls Salesforce: the org's daily budget, which never changes readiness. */
  salesforce?: SalesforceReadiness;
}

const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);

const WorkerDetails = Type.Object({
  worker_id: Type.String(),
  partitions_held: Type.Array(Type.Integer()),
  partitions_taking_back: Type.Array(Type.Integer()),
  /**
   * Only while the worker's lease round has run past the lease TTL: no lease is renewed or claimed
   * until it ends, and `waiting_for` names the partition starts and stops in progress.
   */
  lease_round_stuck: Type.Optional(
    Type.Object({ running_ms: Type.Integer(), waiting_for: Type.Array(Type.String()) }),
  ),
});
export type WorkerReadiness = Static<typeof WorkerDetails>;

const StripeDetails = Type.Object({
  last_webhook_at: Nullable(Type.String()),
  newest_event_at: Nullable(Type.String()),
  webhook_silence_s: Type.Integer(),
  webhooks_silent: Type.Boolean(),
  beyond_retention: Nullable(Type.Object({ watermark: Type.String(), found_at: Type.String() })),
});
export type StripeReadiness = Static<typeof StripeDetails>;

const SalesforceDetails = Type.Object({
  daily_budget: Type.Optional(
    Type.Object({
      /** `open`, `live_only` (backfills wait), `spent` (every call waits), `unknown` (not read yet). */
      state: Type.String(),
      used: Type.Integer(),
      limit: Type.Integer(),
      budget: Type.Integer(),
      backfill_budget: Type.Integer(),
    }),
  ),
  /** Which reader of Salesforce's changes is active in this process, and why. */
  reader: Type.Optional(
    Type.Object({
      reader: Type.Union([
        Type.Literal('change_events'),
        Type.Literal('polling'),
        Type.Literal('elsewhere'),
      ]),
      why: Type.String(),
      interval_s: Type.Integer(),
      last_read_at: Nullable(Type.String()),
      last_error: Nullable(Type.String()),
    }),
  ),
});
export type SalesforceReadiness = Static<typeof SalesforceDetails>;

export interface HealthRoutesOptions {
  readiness: () => Promise<Readiness>;
}

const Checks = Type.Object({
  postgres: Type.Boolean(),
  nats: Type.Boolean(),
  migrations: Type.Boolean(),
});

export const healthRoutes: FastifyPluginAsyncTypebox<HealthRoutesOptions> = async (
  app,
  { readiness },
) => {
  app.get(
    '/healthz',
    {
      config: { public: true },
      schema: {
        tags: ['probes'],
        summary: 'Liveness: the process answers',
        response: { 200: Type.Object({ status: Type.Literal('ok') }) },
      },
    },
    async () => ({ status: 'ok' as const }),
  );

  app.get(
    '/readyz',
    {
      config: { public: true },
      schema: {
        tags: ['probes'],
        summary: 'Readiness: Postgres, NATS and migrations, with details',
        response: {
          200: Type.Object({
            status: Type.String(),
            checks: Checks,
            worker: Type.Optional(WorkerDetails),
            stripe: Type.Optional(StripeDetails),
            salesforce: Type.Optional(SalesforceDetails),
          }),
          503: Type.Object({
            status: Type.String(),
            checks: Checks,
            worker: Type.Optional(WorkerDetails),
            stripe: Type.Optional(StripeDetails),
            salesforce: Type.Optional(SalesforceDetails),
          }),
        },
      },
    },
    async (_request, reply) => {
      const { worker, stripe, salesforce, ...checks } = await readiness();
      const ready = checks.postgres && checks.nats && checks.migrations;
      return reply.code(ready ? 200 : 503).send({
        status: ready ? 'ready' : 'not ready',
        checks,
        ...(worker ? { worker } : {}),
        ...(stripe ? { stripe } : {}),
        ...(salesforce ? { salesforce } : {}),
      });
    },
  );
};
