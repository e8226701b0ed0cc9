// Bearer-token auth for everything but the health endpoints and the (signed) webhooks. Each token
// has a scope (core/api-tokens.ts); a route needs `read` for a GET and `write` otherwise, unless
// it names another in its config. A token that lacks the scope gets 403 naming it; every write
// is logged with the token's name, never its value.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { scopeAllows, type ApiToken, type Scope } from '../../core/api-tokens.ts';
import type { Logger } from '../../core/ports.ts';
import { problem, sendProblem } from './problem.ts';

const digest = (s: string) => createHash('sha256').update(s).digest();

/** The scope a route needs: its own, else `read` for GET and HEAD and `write` for the rest. */
export function scopeOf(method: string, config: { scope?: Scope } | undefined): Scope {
  return config?.scope ?? (method === 'GET' || method === 'HEAD' ? 'read' : 'write');
}

/**
 * Checks every request's token and scope, and logs each write with the token's name to `log`
 * (else the request's own logger).
 */
export function tokenAuth(
  fastify: FastifyInstance,
  tokens: readonly ApiToken[],
  log?: Logger,
): void {
  // Fixed-length digests, each compared in full, so neither a token's content nor its length
  // (nor which of them matched) leaks through timing.
  const known = tokens.map((t) => ({ name: t.name, scope: t.scope, digest: digest(t.token) }));
  fastify.decorateRequest('apiToken', null);
  fastify.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    const config = request.routeOptions.config;
    if (config.public === true) return;
    const header = request.headers.authorization ?? '';
    const presented = header.startsWith('Bearer ') ? digest(header.slice(7)) : undefined;
    let found: (typeof known)[number] | undefined;
    for (const t of known) if (presented && timingSafeEqual(presented, t.digest)) found = t;
    if (!found) {
      reply.header('www-authenticate', 'Bearer');
      return sendProblem(reply, problem(401, 'a valid Authorization: Bearer token is required'));
    }
    request.apiToken = { name: found.name, scope: found.scope };
    const needs = scopeOf(request.method, config);
    if (!scopeAllows(found.scope, needs))
      return sendProblem(
        reply,
        problem(
          403,
          `this route needs the ${needs} scope; the token ${found.name} has ${found.scope}`,
        ),
      );
  });
  fastify.addHook('onResponse', async (request, reply) => {
    const token = request.apiToken;
    if (!token || request.method === 'GET' || request.method === 'HEAD') return;
    (log ?? request.log).info(
      {
        token: token.name,
        // The request's id is the correlation id of the change it made (the request's own logger
        // carries it already).
        ...(log ? { correlation_id: request.id } : {}),
        method: request.method,
        route: request.routeOptions.url,
        status: reply.statusCode,
      },
      'API write',
    );
  });
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Reachable without a token. */
    public?: boolean;
    /** The scope a token needs here, when not the method's (`read` for GET, `write` else). */
    scope?: Scope;
  }
  interface FastifyRequest {
    /** The token the request came with, once checked: its name and scope, never its value. */
    apiToken: { name: string; scope: Scope } | null;
  }
}
