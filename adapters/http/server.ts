// Builds the Fastify instance: strict validation, problem+json errors, body limit, and the app.
import { randomUUID } from 'node:crypto';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { app, type AppOptions } from './app.ts';
import type { ApiToken } from '../../core/api-tokens.ts';
import { tokenAuth } from './auth.ts';
import { apiReference } from './openapi.ts';
import { consoleRoutes } from './console.ts';
import { metricsRoutes, type MetricSources } from './routes/metrics.ts';
import { errorHandler, problem, sendProblem } from './problem.ts';
import { healthRoutes, type HealthRoutesOptions } from './routes/health.ts';
import { validatorCompiler } from './validation.ts';
import { loggableErr } from '../postgres/loggable-error.ts';
import {
  CORRELATION_LOG_KEY,
  REQUEST_ID_HEADER,
  isSaneCorrelationId,
} from '../../core/correlation.ts';

export interface ServerOptions extends AppOptions {
  bodyLimit: number;
  logLevel: string;
}

export async function buildServer(options: ServerOptions): Promise<FastifyInstance> {
  const { bodyLimit, logLevel, ...appOptions } = options;
  const fastify = base({ bodyLimit, logLevel });
  // First, so that the document sees every route; outside the app, so that it needs no token.
  await apiReference(fastify);
  await consoleRoutes(fastify);
  await fastify.register(app, appOptions);
  return fastify;
}

export interface ProbeServerOptions extends HealthRoutesOptions {
  logLevel: string;
  /** With the API token set: this process's `/metrics`, behind it. */
  metrics?: { apiTokens: readonly ApiToken[]; sources: MetricSources };
}

/**
 * The server of a process without the api role: `/healthz` and `/readyz`, so that an orchestrator
 * can probe a worker as it probes the API (neither needs the token), and, where the API token is
 * set, the process's own `/metrics` behind it.
 */
export async function buildProbeServer(options: ProbeServerOptions): Promise<FastifyInstance> {
  const fastify = base({ bodyLimit: 1024, logLevel: options.logLevel });
  if (options.metrics) {
    tokenAuth(fastify, options.metrics.apiTokens);
    await fastify.register(metricsRoutes, options.metrics.sources);
  }
  await fastify.register(healthRoutes, { readiness: options.readiness });
  return fastify;
}

/** `/customers?email=a@b&limit=5` → `/customers?email=…&limit=…`: the names, not the values. */
export function withoutQueryValues(url: string): string {
  const at = url.indexOf('?');
  if (at < 0) return url;
  const names = url
    .slice(at + 1)
    .split('&')
    .filter(Boolean)
    .map((pair) => `${pair.split('=')[0]}=…`);
  return `${url.slice(0, at)}?${names.join('&')}`;
}

function base(options: { bodyLimit: number; logLevel: string }) {
  const fastify = Fastify({
    bodyLimit: options.bodyLimit,
    logger: {
      level: options.logLevel,
      // Tokens and signatures never reach a log, nor do query values (`?email=…` is personal data)
      // or the rows Postgres quotes in an error's detail.
      redact: ['req.headers.authorization', 'req.headers["stripe-signature"]'],
      serializers: {
        req: (req: { method: string; url: string; ip?: string }) => ({
          method: req.method,
          url: withoutQueryValues(req.url),
        }),
        err: loggableErr,
      },
    },
    requestTimeout: 30_000,
    return503OnClosing: true,
    // The request's id is the correlation id of the change it makes: unique across processes and
    // restarts (Fastify's own counter is not), or the client's own when it is a plain token.
    requestIdHeader: false,
    genReqId: (req) => {
      const sent = req.headers[REQUEST_ID_HEADER];
      return isSaneCorrelationId(sent) ? sent : randomUUID();
    },
    logController: new LogController({ requestIdLogLabel: CORRELATION_LOG_KEY }),
  }).withTypeProvider<TypeBoxTypeProvider>();
  fastify.addHook('onRequest', async (request, reply) => {
    reply.header(REQUEST_ID_HEADER, request.id);
  });
  fastify.setValidatorCompiler(validatorCompiler);
  fastify.setErrorHandler(errorHandler);
  fastify.setNotFoundHandler((request, reply) =>
    sendProblem(reply, problem(404, `no route for ${request.method} ${request.url.split('?')[0]}`)),
  );
  return fastify;
}
