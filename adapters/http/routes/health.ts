import { Type, type TSchema } from '@sinclair/typebox';
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

export interface SalesforceReadiness {
  daily_budget: {
    /** `open`, `live_only` (backfills wait), `spent` (every call waits), `unknown` (not read yet). */
    state: string;
    used: number;
    limit: number;
    budget: number;
    backfill_budget: number;
  };
}

export interface StripeReadiness {
  last_webhook_at: string | null;
  newest_event_at: string | null;
  webhook_silence_s: number;
  webhooks_silent: boolean;
  beyond_retention: { watermark: string; found_at: string } | null;
}

export interface WorkerReadiness {
  worker_id: string;
  partitions_held: number[];
  partitions_taking_back: number[];
}

const WorkerDetails = Type.Object({
  worker_id: Type.String(),
  partitions_held: Type.Array(Type.Integer()),
  partitions_taking_back: Type.Array(Type.Integer()),
});

const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
const StripeDetails = Type.Object({
  last_webhook_at: Nullable(Type.String()),
  newest_event_at: Nullable(Type.String()),
  webhook_silence_s: Type.Integer(),
  webhooks_silent: Type.Boolean(),
  beyond_retention: Nullable(Type.Object({ watermark: Type.String(), found_at: Type.String() })),
});

const SalesforceDetails = Type.Object({
  daily_budget: Type.Object({
    state: Type.String(),
    used: Type.Integer(),
    limit: Type.Integer(),
    budget: Type.Integer(),
    backfill_budget: Type.Integer(),
  }),
});

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
      schema: { response: { 200: Type.Object({ status: Type.Literal('ok') }) } },
    },
    async () => ({ status: 'ok' as const }),
  );

  app.get(
    '/readyz',
    {
      config: { public: true },
      schema: {
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
