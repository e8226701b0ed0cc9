// Request limits per minute: per token for the API, per client address for Stripe's webhooks (which
// come without a token). The probes are never limited. Counted in this process: with several API
// processes behind a balancer, each allows the limit. A request over it gets 429 with Retry-After
// (seconds) as problem+json, and changes nothing. Zero turns a limit off.
import rateLimit from '@fastify/rate-limit';
import { RATE_LIMITED } from './problem.ts';
import type { FastifyInstance, FastifyRequest } from 'fastify';

export interface RateLimits {
  /** Requests a minute each token may make (RTWS_API_RATE_LIMIT). */
  readonly perTokenPerMin: number;
  /** Webhook deliveries a minute from one address (RTWS_WEBHOOK_RATE_LIMIT). */
  readonly webhookPerIpPerMin: number;
  /** Addresses whose deliveries are never limited (RTWS_WEBHOOK_ALLOW_IPS): Stripe's, say. */
  readonly webhookAllowIps: readonly string[];
}

const PROBES = new Set(['/healthz', '/readyz']);

/** By token name, for a request that has one; by address otherwise (the webhooks). */
const keyOf = (request: FastifyRequest) =>
  request.apiToken ? `token:${request.apiToken.name}` : `ip:${request.ip}`;

/**
 * Registers the limits on `fastify` (the app's routes). Checked before the handler, once the
 * token is known: a request without a valid token is refused as 401 before it counts.
 */
export async function rateLimits(fastify: FastifyInstance, limits: RateLimits): Promise<void> {
  const { perTokenPerMin, webhookPerIpPerMin, webhookAllowIps } = limits;
  if (perTokenPerMin === 0 && webhookPerIpPerMin === 0) return;
  await fastify.register(rateLimit, {
    global: true,
    hook: 'preHandler',
    timeWindow: 60_000,
    keyGenerator: keyOf,
    max: (_request, key) => (key.startsWith('token:') ? perTokenPerMin : webhookPerIpPerMin),
    allowList: (request, key) => {
      if (PROBES.has(request.routeOptions.url ?? '')) return true;
      if (key.startsWith('token:')) return perTokenPerMin === 0;
      return webhookPerIpPerMin === 0 || webhookAllowIps.includes(request.ip);
    },
    errorResponseBuilder: (_request, context) => ({
      statusCode: context.statusCode,
      code: RATE_LIMITED,
      message: `too many requests: ${context.max} a minute are allowed${
        context.statusCode === 429 ? `; retry in ${Math.ceil(context.ttl / 1000)} s` : ''
      }`,
    }),
  });
}
