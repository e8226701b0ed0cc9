// The API's reference: an OpenAPI 3.1 document generated from the routes' own TypeBox schemas, at
// GET /openapi.json, and Swagger UI over it at GET /docs. The UI's scripts and styles are served
// from the installed package, never from a CDN, so the reference works offline.
//
// Neither needs the token, on purpose. The document says which routes exist and what they take and
// answer, as the source does; it holds no data, and every call it describes still needs the token
// (the spec declares the bearer scheme, and marks the few routes that do without it). A browser
// sends no bearer token when it opens /docs or loads its scripts, so a guarded reference could not
// be read where it is meant to be read. Where even the shape of the API must stay private, block
// both paths in front of rtws.
//
// Hidden from the document: its own routes (/openapi.json, and /docs with its assets), which are
// the reference and not the API, and the HEAD twins Fastify adds to every GET.
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance, FastifySchema } from 'fastify';
import type { Scope } from '../../core/api-tokens.ts';
import { scopeOf } from './auth.ts';

export const SPEC_PATH = '/openapi.json';
export const DOCS_PREFIX = '/docs';

/** The name the document gives the bearer scheme; every route needs it unless it is public. */
const BEARER = 'bearerAuth';

// Same-origin only: no inline script or style, nothing fetched from elsewhere (not even Swagger's
// online validator), and the page cannot be framed by another site.
const DOCS_CSP = [
  "default-src 'self'",
  "base-uri 'self'",
  "connect-src 'self'",
  "font-src 'self' data:",
  "form-action 'self'",
  "frame-ancestors 'self'",
  "img-src 'self' data:",
  "object-src 'none'",
  "script-src 'self'",
  "script-src-attr 'none'",
  "style-src 'self'",
].join('; ');

const DESCRIPTION = [
  'Every route needs `Authorization: Bearer <token>` with a token of the scope its security',
  'requirement names (`read`, `write`, `operate` or `admin`, each including those before it: see',
  '`RTWS_API_TOKENS`), except the probes (`/healthz`,',
  "`/readyz`), Stripe's webhook, which is signed instead, and this reference (`/openapi.json`,",
  '`/docs`). Errors are `application/problem+json` (RFC 9457); a 400 names the offending `field`.',
].join(' ');

/** The routes' groups, in the order the docs show them; each route names its own. */
const TAGS = [
  { name: 'customers', description: 'The catalogue: every write here is synced to the targets' },
  { name: 'invoices', description: 'Invoices, issued in Stripe once the customer is linked there' },
  { name: 'sync', description: 'Where each customer stands in each target, and the conflicts met' },
  { name: 'operations', description: 'Dead letters, resyncs, backfills, reconciliations, workers' },
  { name: 'probes', description: "For an orchestrator's liveness and readiness checks" },
  { name: 'webhooks', description: 'Signed deliveries from Stripe' },
];

/**
 * Registers the document and the docs. Must come before the routes it describes: it learns them as
 * they are added. Registered on the root instance, outside the app, where the token hook of
 * app.ts does not reach: both are public (see the top of this file).
 */
export async function apiReference(fastify: FastifyInstance): Promise<void> {
  await fastify.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'rtws',
        // The API's own version, not the package's: raised when a route changes incompatibly.
        version: '1',
        description: DESCRIPTION,
      },
      components: {
        securitySchemes: { [BEARER]: { type: 'http', scheme: 'bearer' } },
      },
      security: [{ [BEARER]: [] }],
      tags: TAGS,
    },
    transform: ({ schema, url, route }) => ({
      url,
      schema: documented(schema, [route.method].flat()[0] ?? 'GET', route.config),
    }),
  });
  fastify.get(SPEC_PATH, { schema: { hide: true } }, async () => fastify.swagger());
  await fastify.register(swaggerUi, {
    routePrefix: DOCS_PREFIX,
    staticCSP: DOCS_CSP,
    theme: { title: 'rtws API' },
  });
}

interface DocumentedConfig {
  public?: boolean;
  scope?: Scope;
  openapi?: OpenapiConfig;
}

/** A route's schema as the document shows it: what Fastify validates, and what the route checks. */
function documented(
  schema: FastifySchema | undefined,
  method: string,
  config?: DocumentedConfig,
): FastifySchema {
  return {
    ...schema,
    ...(schema?.querystring ? { querystring: defaultsOptional(schema.querystring) } : {}),
    ...config?.openapi,
    // The token hook skips exactly these routes, and asks the others for this scope; the document
    // says so from the same config (OpenAPI 3.1 lets a bearer requirement name its roles).
    security: config?.public === true ? [] : [{ [BEARER]: [scopeOf(method, config)] }],
  };
}

/**
 * A query parameter with a default (`limit`) is required by its TypeBox type, since the handler
 * always gets it, but a caller may leave it out: the document lists it as optional.
 */
function defaultsOptional(querystring: unknown): unknown {
  const q = querystring as {
    properties?: Record<string, { default?: unknown }>;
    required?: string[];
  };
  if (!q.properties || !q.required) return querystring;
  const required = q.required.filter((name) => q.properties![name]?.default === undefined);
  return { ...q, required };
}

/** Parts of a request that a route checks itself rather than through Fastify's validation. */
export interface OpenapiConfig {
  /** JSON schemas (TypeBox's, say); typed loosely, as a TSchema here is too deep for the checker. */
  body?: object;
  headers?: object;
  description?: string;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * Shown in the API's document as if they were the route's schema, and never validated by
     * Fastify: for a route that reads its body or headers itself (the signed webhook).
     */
    openapi?: OpenapiConfig;
  }
}
