import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';

export interface Readiness {
  postgres: boolean;
  nats: boolean;
  migrations: boolean;
}

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
          200: Type.Object({ status: Type.String(), checks: Checks }),
          503: Type.Object({ status: Type.String(), checks: Checks }),
        },
      },
    },
    async (_request, reply) => {
      const checks = await readiness();
      const ready = checks.postgres && checks.nats && checks.migrations;
      return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready', checks });
    },
  );
};
