// Builds the Fastify instance: strict validation, problem+json errors, body limit, and the app.
import Fastify, { type FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { app, type AppOptions } from './app.ts';
import { errorHandler, problem, sendProblem } from './problem.ts';
import { validatorCompiler } from './validation.ts';

export interface ServerOptions extends AppOptions {
  bodyLimit: number;
  logLevel: string;
}

export async function buildServer(options: ServerOptions): Promise<FastifyInstance> {
  const { bodyLimit, logLevel, ...appOptions } = options;
  const fastify = Fastify({
    bodyLimit,
    logger: {
      level: logLevel,
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
  await fastify.register(app, appOptions);
  return fastify;
}
