// The README's table of routes and scopes is the contract. The server's routes are exactly the
// table's, each needing the scope it says; and against a running rtws, a token of each scope is
// let into every route of its scope or below, and refused (403, naming the scope) above it. A
// write is logged with the token's name and never its value.
import { readFileSync } from 'node:fs';
import Fastify, { type RouteOptions } from 'fastify';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { SCOPES, type Scope } from '../../core/api-tokens.ts';
import { app } from '../../adapters/http/app.ts';
import { scopeOf } from '../../adapters/http/auth.ts';
import { connectPostgres } from '../../adapters/postgres/connect.ts';
import type { Rtws } from '../../deploy/rtws.ts';
import { startRtws } from '../../deploy/rtws.ts';
import { testEnvironment, type TestEnvironment } from '../harness/rtws.ts';
import { recordingLogger } from '../webhooks/signing.ts';

interface Row {
  method: string;
  route: string;
  scope: Scope | 'public';
}

/** The table between the README's `scopes` markers. */
function contract(): Row[] {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const table = /<!-- scopes:start -->([\s\S]*?)<!-- scopes:end -->/.exec(readme)?.[1] ?? '';
  return table
    .split('\n')
    .map((line) => /^\| (GET|POST|PATCH|DELETE|PUT) \| `([^`]+)` \| (\w+) \|$/.exec(line.trim()))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ method: m[1]!, route: m[2]!, scope: m[3] as Row['scope'] }));
}

const key = (r: Row) => `${r.method} ${r.route} ${r.scope}`;

const TOKENS: Record<Scope, string> = {
  read: 'read-token-0123456789abcdef',
  write: 'write-token-0123456789abcdef',
  operate: 'operate-token-0123456789abcdef',
  admin: 'admin-token-0123456789abcdef',
};

const test = suite<{
  t?: TestEnvironment;
  rtws?: Rtws;
  logged?: ReturnType<typeof recordingLogger>;
}>('API tokens and scopes');

test("the server has exactly the README's routes, each needing the scope it says", async () => {
  const rows = contract();
  assert.ok(rows.length > 20, `the table was read: ${rows.length} rows`);
  // Every optional route on; the routes hold their services without calling them.
  const fastify = Fastify();
  const served: Row[] = [];
  fastify.addHook('onRoute', (r: RouteOptions) => {
    for (const method of [r.method].flat())
      if (method !== 'HEAD')
        served.push({
          method,
          route: r.url,
          scope: r.config?.public ? 'public' : scopeOf(method, r.config),
        });
  });
  const sql = connectPostgres('postgres://rtws@127.0.0.1:1/routes-only', { max: 1 });
  const on = {} as never;
  try {
    await fastify.register(app, {
      sql,
      apiTokens: [],
      readiness: async () => ({ postgres: true, nats: true, migrations: true }),
      dlq: on,
      resync: on,
      backfills: on,
      reconciliations: on,
      workers: on,
      status: on,
      timeline: on,
      erasure: { remote: true },
      configuredTargets: ['stripe'],
      stripeWebhooks: { secrets: ['whsec_x'], publish: on, log: recordingLogger() } as never,
    });
    await fastify.ready();
    assert.equal(served.map(key).sort(), rows.map(key).sort());
  } finally {
    await fastify.close();
    await sql.end();
  }
});

test.before(async (ctx) => {
  ctx.t = await testEnvironment();
  ctx.logged = recordingLogger();
  ctx.rtws = await startRtws(
    ctx.t.config({
      RTWS_API_TOKEN: '',
      RTWS_API_TOKENS: SCOPES.map((s) => `${s}-client:${s}:${TOKENS[s]}`).join(','),
      RTWS_ROLES: 'api,publisher,worker',
    }),
    ctx.logged,
  );
});

test.after(async (ctx) => {
  await ctx.rtws?.close();
  await ctx.t?.cleanup();
});

/** A path for a route: ids that parse, of things that do not exist. */
function pathOf(route: string): string {
  return route
    .replace('/customers/:id', '/customers/6c1f3a52-9a1e-4a34-8f63-2b1c5ad1e0a1')
    .replace('/invoices/:id', '/invoices/6c1f3a52-9a1e-4a34-8f63-2b1c5ad1e0a2')
    .replace(/:id/g, '987654');
}

test('each scope is let into its routes and those below, and refused above them', async (ctx) => {
  const url = ctx.rtws!.url!;
  let checked = 0;
  for (const row of contract().filter((r) => r.scope !== 'public')) {
    for (const scope of SCOPES) {
      const res = await fetch(`${url}${pathOf(row.route)}`, {
        method: row.method,
        headers: {
          authorization: `Bearer ${TOKENS[scope]}`,
          ...(row.method === 'GET' || row.method === 'DELETE'
            ? {}
            : { 'content-type': 'application/json' }),
        },
        ...(row.method === 'GET' || row.method === 'DELETE'
          ? {}
          : { body: '{"dry_run":true,"source":"postgres"}' }),
      });
      const body = await res.text();
      const allowed = SCOPES.indexOf(scope) >= SCOPES.indexOf(row.scope as Scope);
      const what = `${row.method} ${row.route} with a ${scope} token: ${res.status} ${body.slice(0, 200)}`;
      if (allowed) assert.ok(res.status !== 401 && res.status !== 403, what);
      else {
        assert.is(res.status, 403, what);
        assert.match(body, `needs the ${row.scope} scope; the token ${scope}-client has ${scope}`);
      }
      checked++;
    }
  }
  assert.ok(checked >= 100, `${checked} calls`);
});

test('no token or an unknown one gets 401; a write is logged with the token name only', async (ctx) => {
  const url = ctx.rtws!.url!;
  assert.is((await fetch(`${url}/customers`)).status, 401);
  const wrong = await fetch(`${url}/customers`, {
    headers: { authorization: 'Bearer not-a-token-0123456789' },
  });
  assert.is(wrong.status, 401);
  const created = await fetch(`${url}/customers`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKENS.write}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'Scoped Writer' }),
  });
  assert.is(created.status, 201);
  const line = ctx.logged!.lines.find(
    (l) =>
      l.msg === 'API write' &&
      (l.obj as { route?: string; status?: number }).route === '/customers' &&
      (l.obj as { status?: number }).status === 201,
  )?.obj as { token?: string; status?: number; method?: string } | undefined;
  assert.equal([line?.token, line?.method, line?.status], ['write-client', 'POST', 201]);
  const refused = ctx.logged!.lines.filter(
    (l) => l.msg === 'API write' && (l.obj as { status?: number }).status === 403,
  );
  assert.ok(refused.length > 0, 'refused writes are logged too');
  const all = JSON.stringify(ctx.logged!.lines);
  for (const token of Object.values(TOKENS)) assert.not.ok(all.includes(token), 'no token logged');
});

test.run();
