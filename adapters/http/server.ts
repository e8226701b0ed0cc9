// Builds the Fastify instance: strict validation, problem+json errors, body limit, and the app.
import Fastify, { type FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { app, type AppOptions } from './app.ts';
import { apiReference } from './openapi.ts';
import { bearerAuth } from './auth.ts';
import { metricsRoutes, type MetricSources } from './routes/metrics.ts';
import { errorHandler, problem, sendProblem } from './problem.ts';
import { healthRoutes, type HealthRoutesOptions } from './routes/health.ts';
import { validatorCompiler } from './validation.ts';

export interface ServerOptions extends AppOptions {
  bodyLimit: number;
  logLevel: string;
}

export async function buildServer(options: ServerOptions): Promise<FastifyInstance> {
  const { bodyLimit, logLevel, ...appOptions } = options;
  const fastify = base({ bodyLimit, logLevel });
  // First, so that the document sees every route; outside the app, so that it needs no token.
  await apiReference(fastify);
  await fastify.register(app, appOptions);
  return fastify;
}

export interface ProbeServerOptions extends HealthRoutesOptions {
  logLevel: string;
  /** With the API token set: this process's `/metrics`, behind it. */
  metrics?: { apiToken: string; sources: MetricSources };
}

/**
 * The server of a process without the api role: `/healthz` and `/readyz`, so that an orchestrator
 * can probe a worker as it probes the API (neither needs the token), and, where the API token is
 * set, the process's own `/metrics` behind it.
 */
export async function buildProbeServer(options: ProbeServerOptions): Promise<FastifyInstance> {
  const fastify = base({ bodyLimit: 1024, logLevel: options.logLevel });
  if (options.metrics) {
    fastify.addHook('onRequest', bearerAuth(options.metrics.apiToken));
    await fastify.register(metricsRoutes, options.metrics.sources);
  }
  await fastify.register(healthRoutes, { readiness: options.readiness });
  return fastify;
}

function base(options: { bodyLimit: number; logLevel: string }) {
  const fastify = Fastify({
    bodyLimit: options.bodyLimit,
    logger: {
      level: options.logLevel,
      // Tokens and signatures never reach a log.
      redact: ['req.headers.authorization', 'req.headers["stripe-signature"]'],
    },
    requestTimeout: 30_000,
    return503OnClosing: true,
  }).withTypeProvider<TypeBoxTypeProvider>();
  fastify.setValidatorCompiler(validatorCompiler);
  fastify.setErrorHandler(errorHandler);
  fastify.setNotFoundHandler((request, reply) =>
    sendProblem(reply, problem(404, `no route for ${request.method} ${request.url.split('?')[0]}`)),
  );
  return fastify;
}
