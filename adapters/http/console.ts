// The operator console at /console: static pages and modules (console-assets.ts) that call the same
// HTTP API as any client, with the token the operator signs in with. The files hold no data, so
// they need no token, like /docs; every call they make sends it as a bearer header.
//
// Names and values shown there come from Stripe and Salesforce, outside our control. The pages
// escape what they render, and every response here carries a strict Content-Security-Policy, so
// that even a value that slipped through could not run: only same-origin scripts and styles, no
// inline script or eval, no form posts, no framing, no base-URI tricks.
import type { FastifyInstance, FastifyReply } from 'fastify';
import { loadConsoleAssets, type Asset } from './console-assets.ts';
import { problem, sendProblem } from './problem.ts';

export const CONSOLE_PREFIX = '/console';

export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const SECURITY_HEADERS = {
  'content-security-policy': CONSOLE_CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
};

/**
 * Registers the console. Outside the app, where the token hook does not reach (see the top of this
 * file); hidden from the API's document, as it is not part of the API.
 */
export async function consoleRoutes(fastify: FastifyInstance): Promise<void> {
  const assets = loadConsoleAssets();
  await fastify.register(async (scope) => {
    scope.addHook('onRequest', async (_request, reply) => {
      reply.headers(SECURITY_HEADERS);
    });
    const options = { schema: { hide: true }, config: { public: true } };
    // Without the slash, the modules' relative imports would resolve against the site's root.
    scope.get(CONSOLE_PREFIX, options, async (_request, reply) =>
      reply.redirect(`${CONSOLE_PREFIX}/`, 301),
    );
    scope.get(`${CONSOLE_PREFIX}/*`, options, async (request, reply) => {
      const path = (request.params as { '*': string })['*'] || 'index.html';
      const found = assets.get(path);
      if (!found) return sendProblem(reply, problem(404, `no console file ${path}`));
      return send(reply, found, request.headers['if-none-match']);
    });
  });
}

function send(reply: FastifyReply, asset: Asset, ifNoneMatch: string | undefined): FastifyReply {
  // Revalidated on every load (a cheap 304), so that an upgrade of rtws is seen at once and the
  // page and its modules never come from two versions.
  reply.header('cache-control', 'no-cache').header('etag', asset.etag);
  if (ifNoneMatch === asset.etag) return reply.code(304).send();
  return reply.type(asset.type).send(asset.body);
}
