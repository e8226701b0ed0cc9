import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';

export interface Readiness {
  postgres: boolean;
  nats: boolean;
  migrations: boolean;
  /** Where this process runs a worker: the partitions it holds, and those it waits to take back. */
  worker?: WorkerReadiness;
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
          }),
          503: Type.Object({
            status: Type.String(),
            checks: Checks,
            worker: Type.Optional(WorkerDetails),
          }),
        },
      },
    },
    async (_request, reply) => {
      const { worker, ...checks } = await readiness();
      const ready = checks.postgres && checks.nats && checks.migrations;
      return reply
        .code(ready ? 200 : 503)
        .send({ status: ready ? 'ready' : 'not ready', checks, ...(worker ? { worker } : {}) });
    },
  );
};
