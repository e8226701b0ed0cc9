// Bearer-token auth for everything but the health endpoints and the (signed) webhooks.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { problem, sendProblem } from './problem.ts';

const digest = (s: string) => createHash('sha256').update(s).digest();

export function bearerAuth(token: string) {
  // Compare fixed-length digests, so neither the content nor the length of the token leaks.
  const expected = digest(token);
  return async (request: FastifyRequest, reply: FastifyReply) => {
    if (request.routeOptions.config.public === true) return;
    const header = request.headers.authorization ?? '';
    const presented = header.startsWith('Bearer ') ? header.slice(7) : '';
    if (!presented || !timingSafeEqual(digest(presented), expected)) {
      reply.header('www-authenticate', 'Bearer');
      await sendProblem(reply, problem(401, 'a valid Authorization: Bearer token is required'));
    }
  };
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Reachable without the API token. */
    public?: boolean;
  }
}
