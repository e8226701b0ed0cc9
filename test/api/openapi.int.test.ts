// GET /openapi.json describes the API a running rtws serves: it is an OpenAPI 3.1 document, every
// route of the server is in it (the route list comes from Fastify itself, not from the document),
// and the answers of real calls match the response schemas it gives. GET /docs serves the
// reference from rtws's own assets, without the token.
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { suite } from 'uvu';
import { scopeOf } from '../../adapters/http/auth.ts';
import * as assert from 'uvu/assert';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsPlugin from 'ajv-formats';
import type { FastifyInstance, RouteOptions } from 'fastify';
import { jetstream } from '@nats-io/jetstream';
import { parse as parseYaml } from 'yaml';
import type { Rtws } from '../../deploy/rtws.ts';
import { startStripeEmulator, type StripeEmulator } from '../../adapters/emulators/stripe/index.ts';
import { jetStreamDeadLetters } from '../../adapters/jetstream/dead-letters.ts';
import { recordTargetConflict } from '../../adapters/postgres/conflicts.ts';
import { DOCS_PREFIX, SPEC_PATH } from '../../adapters/http/openapi.ts';
import { CONSOLE_PREFIX } from '../../adapters/http/console.ts';
import {
  authHeaders,
  startTestRtws,
  testEnvironment,
  type TestEnvironment,
} from '../harness/rtws.ts';
import { eventually } from '../harness/stream.ts';
import { LIVE_KEY } from '../sync/stack.ts';
import { eventBody, sign } from '../webhooks/signing.ts';

const WEBHOOK_SECRET = 'whsec_openapi_suite_0123456789';

// ajv-formats is published as CommonJS with a default export.
const addFormats = addFormatsPlugin as unknown as (ajv: Ajv2020) => Ajv2020;

interface Route {
  method: string;
  url: string;
  public: boolean;
  /** The scope a token needs there (none when public). */
  scope: string;
}

interface Operation {
  security?: unknown[];
  responses: Record<string, { content?: Record<string, { schema: object }> }>;
}

interface Spec {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: { securitySchemes: Record<string, unknown> };
  security: Record<string, unknown[]>[];
}

/** A real call and its answer, to be checked against the document. */
interface Answer {
  method: string;
  /** The route's template, as Fastify knows it: `/customers/:id`. */
  route: string;
  status: number;
  mediaType: string | undefined;
  body: unknown;
}

interface Ctx {
  t: TestEnvironment;
  emu: StripeEmulator;
  rtws: Rtws;
  routes: Route[];
  spec: Spec;
  answers: Answer[];
}

const test = suite<Ctx>('OpenAPI');

/**
 * Fastify announces each instance it creates on this channel, before any route is added to it: a
 * hook put there sees every route of every server this process starts, from Fastify itself.
 */
function recordRoutes(): { of(url: string): Route[]; stop(): void } {
  const servers = new Map<FastifyInstance, Route[]>();
  const onCreated = (message: unknown) => {
    const { fastify } = message as { fastify: FastifyInstance };
    const routes: Route[] = [];
    servers.set(fastify, routes);
    fastify.addHook('onRoute', (r: RouteOptions) => {
      for (const method of [r.method].flat())
        routes.push({
          method,
          url: r.url,
          public: r.config?.public === true,
          scope: scopeOf(method, r.config),
        });
    });
  };
  subscribe('fastify.initialization', onCreated);
  return {
    of(url) {
      const port = Number(new URL(url).port);
      for (const [fastify, routes] of servers) {
        const address = fastify.server.address() as AddressInfo | null;
        if (address?.port === port) return routes;
      }
      throw new Error(`no Fastify server listens on ${url}`);
    },
    stop: () => unsubscribe('fastify.initialization', onCreated),
  };
}

test.before(async (ctx) => {
  ctx.answers = [];
  ctx.t = await testEnvironment();
  // Stripe is a target (through its emulator) and its webhook receiver is served.
  ctx.emu = await startStripeEmulator({ port: 0 });
  const recorder = recordRoutes();
  try {
    ctx.rtws = await startTestRtws(ctx.t, {
      STRIPE_SECRET_KEY: LIVE_KEY,
      STRIPE_API_BASE: ctx.emu.url,
      STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
    });
    ctx.routes = recorder.of(ctx.rtws.url!);
  } finally {
    recorder.stop();
  }
  const res = await fetch(`${ctx.rtws.url}${SPEC_PATH}`);
  assert.is(res.status, 200, 'the document is served without a token');
  ctx.spec = (await res.json()) as Spec;
});

test.after(async (ctx) => {
  await ctx.rtws?.close();
  await ctx.emu?.close();
  await ctx.t?.cleanup();
});

/**
 * The reference's own routes and the console's pages, left out of the document on purpose: they
 * are not the API (adapters/http/openapi.ts, adapters/http/console.ts).
 */
const isReference = (url: string) =>
  [SPEC_PATH, DOCS_PREFIX, CONSOLE_PREFIX].some(
    (prefix) => url === prefix || url.startsWith(`${prefix}/`),
  );

/** `/customers/:id` → `/customers/{id}` */
const openapiPath = (url: string) => url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');

const operationOf = (spec: Spec, method: string, route: string): Operation | undefined =>
  spec.paths[openapiPath(route)]?.[method.toLowerCase()];

function schemaValidator(): (schema: object) => ValidateFunction {
  const ajv = addFormats(new Ajv2020({ strict: false, allErrors: true }));
  const compiled = new Map<object, ValidateFunction>();
  return (schema) => {
    let v = compiled.get(schema);
    if (!v) compiled.set(schema, (v = ajv.compile(schema)));
    return v;
  };
}

/** Why an answer does not match the document; empty when it does. */
function mismatches(
  spec: Spec,
  validator: (schema: object) => ValidateFunction,
  a: Answer,
): string[] {
  const where = `${a.method} ${a.route} → ${a.status}`;
  const op = operationOf(spec, a.method, a.route);
  if (!op) return [`${where}: no such operation in the document`];
  const response =
    op.responses[String(a.status)] ??
    op.responses[`${String(a.status)[0]}XX`] ??
    op.responses.default;
  if (!response) return [`${where}: the document gives no response for ${a.status}`];
  if (a.status === 204) return response.content ? [`${where}: 204 documented with a body`] : [];
  const media = a.mediaType && response.content?.[a.mediaType];
  if (!media)
    return [
      `${where}: sent as ${a.mediaType}, documented as ${Object.keys(response.content ?? {}).join(', ') || 'nothing'}`,
    ];
  const validate = validator(media.schema);
  return validate(a.body)
    ? []
    : [`${where}: ${JSON.stringify(validate.errors?.slice(0, 3))} in ${JSON.stringify(a.body)}`];
}

async function call(
  ctx: Ctx,
  method: string,
  route: string,
  o: { path?: string; body?: unknown; raw?: string; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const { 'content-type': _, ...auth } = authHeaders();
  const body = o.raw ?? (o.body === undefined ? undefined : JSON.stringify(o.body));
  const res = await fetch(`${ctx.rtws.url}${o.path ?? route}`, {
    method,
    headers: {
      ...(o.headers ?? auth),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body }),
  });
  const mediaType = res.headers.get('content-type')?.split(';')[0]!.trim();
  const text = await res.text();
  const answer = {
    method,
    route,
    status: res.status,
    mediaType,
    body: mediaType?.includes('json') ? JSON.parse(text) : text,
  };
  ctx.answers.push(answer);
  return answer;
}

test('it is an OpenAPI 3.1 document, with the bearer scheme required by default', (ctx) => {
  const oas = readFileSync(new URL('./fixtures/oas-3.1-schema.yaml', import.meta.url), 'utf8');
  // Ajv resolves `$dynamicRef` only within one schema resource; in the base document it can only
  // mean its own `schema` definition, so it is named directly.
  const schema = parseYaml(oas.replaceAll(`$dynamicRef: '#meta'`, `$ref: '#/$defs/schema'`));
  const ajv = addFormats(new Ajv2020({ strict: false, allErrors: true }));
  ajv.addFormat('media-range', true);
  const validate = ajv.compile(schema);
  assert.ok(validate(ctx.spec), JSON.stringify(validate.errors?.slice(0, 5), null, 1));
  assert.not.ok(validate({ ...ctx.spec, paths: { '/x': { get: { responses: 1 } } } }));

  assert.equal(ctx.spec.components.securitySchemes.bearerAuth, { type: 'http', scheme: 'bearer' });
  assert.equal(ctx.spec.security, [{ bearerAuth: [] }]);
});

test('every route the server has is in the document, and nothing else is', (ctx) => {
  const api = ctx.routes.filter((r) => r.method !== 'HEAD' && !isReference(r.url));
  assert.ok(
    api.some((r) => r.method === 'POST' && r.url === '/webhooks/stripe') &&
      api.some((r) => r.method === 'PATCH' && r.url === '/customers/:id'),
    `the route list is the API's: ${api.map((r) => `${r.method} ${r.url}`).join(', ')}`,
  );
  const missing = api.filter((r) => !operationOf(ctx.spec, r.method, r.url));
  assert.equal(missing, [], 'routes missing from the document');

  const served = new Set(ctx.routes.map((r) => `${r.method} ${openapiPath(r.url)}`));
  const documented = Object.entries(ctx.spec.paths).flatMap(([path, ops]) =>
    Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`),
  );
  assert.equal(
    documented.filter((op) => !served.has(op)),
    [],
    'operations no route serves',
  );
  assert.is(documented.length, api.length, 'one operation per route');

  // Fastify answers HEAD wherever it answers GET; the document leaves those twins out.
  for (const head of ctx.routes.filter((r) => r.method === 'HEAD' && !isReference(r.url)))
    assert.ok(served.has(`GET ${openapiPath(head.url)}`), `HEAD ${head.url} has its GET`);
  for (const r of ctx.routes.filter((r) => isReference(r.url)))
    assert.not.ok(operationOf(ctx.spec, r.method, r.url), `${r.url} is hidden`);
});

test('an operation needs the token, of the scope its route needs, exactly where it does', async (ctx) => {
  for (const r of ctx.routes.filter((r) => r.method !== 'HEAD' && !isReference(r.url))) {
    // An operation's own requirement, else the document's.
    const security = operationOf(ctx.spec, r.method, r.url)?.security ?? ctx.spec.security;
    assert.equal(security, r.public ? [] : [{ bearerAuth: [r.scope] }], `${r.method} ${r.url}`);
  }
  assert.ok(
    ctx.routes.filter((r) => r.public && r.method !== 'HEAD').length >= 3,
    'the probes and the webhook are public',
  );
  // And the server agrees: without a token, a public route answers and a guarded one is a 401.
  assert.is((await call(ctx, 'GET', '/healthz', { headers: {} })).status, 200);
  assert.is((await call(ctx, 'GET', '/customers', { headers: {} })).status, 401);
});

test('real answers match the document: customers, sync, conflicts, DLQ, probes and errors', async (ctx) => {
  const created = await call(ctx, 'POST', '/customers', {
    body: {
      name: 'Ada Lovelace',
      email: 'ada@example.com',
      address: { city: 'London', country: 'GB' },
      metadata: { plan: 'pro' },
    },
  });
  assert.is(created.status, 201, JSON.stringify(created.body));
  const id = (created.body as { id: string }).id;
  const path = `/customers/${id}`;
  await call(ctx, 'GET', '/customers/:id', { path });
  const patched = await call(ctx, 'PATCH', '/customers/:id', {
    path,
    body: { phone: '+44 20 7946 0000' },
  });
  assert.is(patched.status, 200);
  await call(ctx, 'GET', '/customers', { path: '/customers?limit=5' });
  await call(ctx, 'GET', '/customers', { path: '/customers?email=ada%40example.com' });

  // The worker links the customer in the sandbox's Stripe: the view then has a target to show.
  const synced = await eventually(
    () => call(ctx, 'GET', '/customers/:id/sync', { path: `${path}/sync` }),
    (a) =>
      (a.body as { targets?: { stripe?: { status: string } } }).targets?.stripe?.status ===
      'synced',
    30_000,
    250,
  );
  assert.is((synced.body as { observed: boolean }).observed, true, JSON.stringify(synced.body));

  const invoice = await call(ctx, 'POST', '/customers/:id/invoices', {
    path: `${path}/invoices`,
    body: { currency: 'gbp', items: [{ description: 'Analytical engine', amount: 1200 }] },
  });
  assert.is(invoice.status, 202, JSON.stringify(invoice.body));
  const invoiceId = (invoice.body as { id: string }).id;
  await call(ctx, 'GET', '/invoices/:id', { path: `/invoices/${invoiceId}` });
  await call(ctx, 'GET', '/customers/:id/invoices', { path: `${path}/invoices` });

  // A conflict as a reconciliation records it, and a dead letter as a consumer leaves it.
  await recordTargetConflict(ctx.rtws.sql, {
    customerId: id,
    target: 'salesforce',
    field: 'phone',
    postgres: '+44 20 7946 0000',
    held: '+44 20 7946 0001',
    reason: 'salesforce is a target: the catalogue wins',
    foundBy: 'reconcile:1:003000000000001',
  });
  const conflicts = await call(ctx, 'GET', '/conflicts');
  assert.is((conflicts.body as { data: unknown[] }).data.length, 1);
  await jetStreamDeadLetters(jetstream(ctx.rtws.nats), ctx.t.names).publish({
    source: 'changes',
    stream: ctx.t.names.streams.changes,
    streamSeq: 1,
    subject: ctx.t.names.customerSubject(id),
    reason: 'a message no actor could read',
    deliveries: 5,
    data: new TextEncoder().encode('{"type":"Poison"}'),
  });
  const dlq = await call(ctx, 'GET', '/dlq');
  assert.is((dlq.body as { data: unknown[] }).data.length, 1);

  // The operator's views: the overview, a search, a timeline, a letter and its discard.
  const status = await call(ctx, 'GET', '/status');
  assert.is((status.body as { dlq: { depth: number } }).dlq.depth, 1);
  await call(ctx, 'GET', '/customers', { path: '/customers?q=ada' });
  await call(ctx, 'GET', '/conflicts', { path: '/conflicts?field=phone' });
  const timeline = await call(ctx, 'GET', '/customers/:id/timeline', { path: `${path}/timeline` });
  assert.ok((timeline.body as { entries: unknown[] }).entries.length >= 2);
  const letterId = (dlq.body as { data: { id: number }[] }).data[0]!.id;
  await call(ctx, 'GET', '/dlq', { path: '/dlq?source=changes&subject=x' });
  await call(ctx, 'GET', '/dlq/:id', { path: `/dlq/${letterId}` });
  const discarded = await call(ctx, 'POST', '/dlq/:id/discard', {
    path: `/dlq/${letterId}/discard`,
    body: { reason: 'a test letter' },
  });
  assert.is(discarded.status, 200, JSON.stringify(discarded.body));

  for (const route of ['/readyz', '/healthz', '/workers', '/backfills', '/metrics'])
    assert.is((await call(ctx, 'GET', route)).status, 200, route);
  // A signed event of a type rtws does not handle: verified, answered, and left alone.
  const event = eventBody({ type: 'balance.available', data: { object: {} } });
  const received = await call(ctx, 'POST', '/webhooks/stripe', {
    raw: event,
    headers: { 'stripe-signature': sign(event, WEBHOOK_SECRET) },
  });
  assert.equal(received.body, { received: true, outcome: 'ignored' });

  // Client errors, each a problem+json the document describes.
  const errors: [Answer, number][] = [
    [await call(ctx, 'POST', '/customers', { body: { name: 42 } }), 400],
    [await call(ctx, 'POST', '/customers', { body: { name: 'X', colour: 'red' } }), 400],
    [await call(ctx, 'GET', '/customers/:id', { path: '/customers/not-a-uuid' }), 400],
    [
      await call(ctx, 'GET', '/customers/:id', {
        path: '/customers/00000000-0000-4000-8000-000000000000',
      }),
      404,
    ],
    [
      await call(ctx, 'PATCH', '/customers/:id', {
        path,
        body: { name: 'Stale' },
        headers: { ...authHeaders(), 'if-match': '"1"' },
      }),
      412,
    ],
    [await call(ctx, 'GET', '/backfills/:id', { path: '/backfills/999' }), 404],
    [await call(ctx, 'GET', '/dlq', { path: '/dlq?limit=0' }), 400],
    [
      await call(ctx, 'POST', '/webhooks/stripe', {
        body: { id: 'evt_1', type: 'customer.updated', created: 1, data: { object: {} } },
        headers: { 'stripe-signature': 't=1,v1=00' },
      }),
      400,
    ],
  ];
  for (const [a, status] of errors) assert.is(a.status, status, `${a.method} ${a.route}`);
  assert.is((await call(ctx, 'DELETE', '/customers/:id', { path })).status, 204);

  const validator = schemaValidator();
  const found = ctx.answers.flatMap((a) => mismatches(ctx.spec, validator, a));
  assert.equal(found, [], 'answers that do not match the document');
  assert.ok(ctx.answers.length >= 25, `${ctx.answers.length} answers checked`);
});

test('the check fails on an answer the document does not allow', (ctx) => {
  const validator = schemaValidator();
  const customer = ctx.answers.find((a) => a.method === 'GET' && a.route === '/customers/:id');
  assert.ok(customer && customer.status === 200);
  const body = customer.body as Record<string, unknown>;
  assert.equal(mismatches(ctx.spec, validator, customer), []);
  const wrong = (change: Partial<Answer>) =>
    mismatches(ctx.spec, validator, { ...customer, ...change });
  const { id: _, ...withoutId } = body;
  assert.is(wrong({ body: withoutId }).length, 1, 'a missing field');
  assert.is(wrong({ body: { ...body, version: '2' } }).length, 1, 'a field of the wrong type');
  assert.is(wrong({ mediaType: 'text/plain' }).length, 1, 'another media type');
  assert.is(wrong({ status: 302 }).length, 1, 'an undocumented status');
  assert.is(wrong({ route: '/customers/:id/nothing' }).length, 1, 'an unknown route');
});

test('/docs serves the reference page and its assets from rtws itself, without the token', async (ctx) => {
  for (const url of [DOCS_PREFIX, `${DOCS_PREFIX}/`]) {
    const page = await fetch(`${ctx.rtws.url}${url}`);
    assert.is(page.status, 200, url);
    assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
    const csp = page.headers.get('content-security-policy') ?? '';
    assert.match(csp, /script-src 'self'(;|$)/, 'scripts from rtws only');
    assert.not.match(csp, /unsafe-inline|https:/);
    const html = await page.text();
    const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    assert.ok(assets.filter((a) => a.endsWith('.js')).length >= 3, html);
    for (const asset of assets) {
      assert.not.match(asset, /^[a-z]+:|^\/\//, `${asset} is local`);
      const res = await fetch(new URL(asset, `${ctx.rtws.url}${url}`));
      assert.is(res.status, 200, asset);
      assert.ok((await res.arrayBuffer()).byteLength > 0, asset);
    }
  }
  // The page loads its document from /docs/json: the same one as /openapi.json.
  const json = await fetch(`${ctx.rtws.url}${DOCS_PREFIX}/json`);
  assert.equal(await json.json(), ctx.spec);
});

test.run();
