// The customer API: round trips, pagination, If-Match, metadata merge, auth and Idempotency-Key.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { apiFixture, footprint, type ApiFixture } from '../harness/api.ts';
import { authHeaders } from '../harness/rtws.ts';
import { recordLink } from '../../adapters/postgres/links.ts';

const test = suite<{ f: ApiFixture }>('customers API');

test.before(async (ctx) => {
  ctx.f = await apiFixture();
});
test.after(async (ctx) => {
  await ctx.f?.close();
});

async function call(
  ctx: { f: ApiFixture },
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
  url: string,
  body?: unknown,
  headers: Record<string, string> = {},
) {
  const { 'content-type': contentType, ...auth } = authHeaders();
  const res = await ctx.f.app.inject({
    method,
    url,
    headers: {
      ...auth,
      ...(body === undefined ? {} : { 'content-type': contentType! }),
      ...headers,
    },
    ...(body === undefined ? {} : { payload: body as object }),
  });
  return {
    status: res.statusCode,
    body: res.body ? res.json<Record<string, any>>() : undefined,
    headers: res.headers,
  };
}

test('create, read, update and delete round trip', async (ctx) => {
  const created = await call(ctx, 'POST', '/customers', {
    name: '  Ada Lovelace ',
    email: 'ADA@Example.COM',
    address: { line1: '1 Analytical St', city: 'London', country: 'gb' },
    metadata: { plan: 'gold' },
  });
  assert.is(created.status, 201);
  const c = created.body!;
  assert.is(c.name, 'Ada Lovelace');
  assert.is(c.email, 'ada@example.com', 'emails are lowercased');
  assert.is(c.version, 1);
  assert.is(c.origin, 'api');
  assert.equal(c.address, {
    line1: '1 Analytical St',
    line2: null,
    city: 'London',
    state: null,
    postal_code: null,
    country: 'GB',
  });
  assert.ok(c.created_at && c.updated_at);
  assert.equal(c.links, {}, 'not linked to any target yet');
  assert.is(created.headers.etag, '"1"');

  const read = await call(ctx, 'GET', `/customers/${c.id}`);
  assert.is(read.status, 200);
  assert.equal(read.body, c);

  const patched = await call(ctx, 'PATCH', `/customers/${c.id}`, { phone: '+44 20 7946 0000' });
  assert.is(patched.status, 200);
  assert.is(patched.body!.phone, '+44 20 7946 0000');
  assert.is(patched.body!.version, 2);
  assert.is(patched.body!.name, 'Ada Lovelace');

  const deleted = await call(ctx, 'DELETE', `/customers/${c.id}`);
  assert.is(deleted.status, 204);
  assert.is((await call(ctx, 'GET', `/customers/${c.id}`)).status, 404);
  assert.is((await call(ctx, 'PATCH', `/customers/${c.id}`, { name: 'x' })).status, 404);
  assert.is((await call(ctx, 'DELETE', `/customers/${c.id}`)).status, 404);
});

test('metadata merges, a null removes a key, and the address is replaced whole', async (ctx) => {
  const c = (
    await call(ctx, 'POST', '/customers', {
      name: 'M',
      metadata: { a: '1', b: '2' },
      address: { line1: 'x', city: 'y' },
    })
  ).body!;
  const p = await call(ctx, 'PATCH', `/customers/${c.id}`, {
    metadata: { b: null, c: '3' },
    address: { city: 'z' },
  });
  assert.is(p.status, 200);
  assert.equal(p.body!.metadata, { a: '1', c: '3' });
  assert.equal(p.body!.address, {
    line1: null,
    line2: null,
    city: 'z',
    state: null,
    postal_code: null,
    country: null,
  });
  const cleared = await call(ctx, 'PATCH', `/customers/${c.id}`, { address: null, email: null });
  assert.is(cleared.body!.address, null);
});

test('a no-op PATCH keeps the version', async (ctx) => {
  const c = (await call(ctx, 'POST', '/customers', { name: 'Same', email: 's@example.com' })).body!;
  const before = await footprint(ctx.f.sql);
  const p = await call(ctx, 'PATCH', `/customers/${c.id}`, {
    name: 'Same',
    email: 'S@EXAMPLE.com',
  });
  assert.is(p.status, 200);
  assert.is(p.body!.version, 1);
  assert.is((await footprint(ctx.f.sql)).outbox, before.outbox);
});

test('If-Match: the current version passes, a stale one gets 412 and changes nothing', async (ctx) => {
  const c = (await call(ctx, 'POST', '/customers', { name: 'V' })).body!;
  const ok = await call(ctx, 'PATCH', `/customers/${c.id}`, { name: 'V2' }, { 'if-match': '"1"' });
  assert.is(ok.status, 200);
  assert.is(ok.body!.version, 2);
  const stale = await call(ctx, 'PATCH', `/customers/${c.id}`, { name: 'V3' }, { 'if-match': '1' });
  assert.is(stale.status, 412, JSON.stringify(stale.body));
  assert.is(stale.headers['content-type'], 'application/problem+json; charset=utf-8');
  assert.is(stale.body!.current_version, 2);
  assert.is((await call(ctx, 'GET', `/customers/${c.id}`)).body!.name, 'V2');
  assert.is(
    (await call(ctx, 'DELETE', `/customers/${c.id}`, undefined, { 'if-match': '1' })).status,
    412,
  );
  assert.is(
    (await call(ctx, 'DELETE', `/customers/${c.id}`, undefined, { 'if-match': 'W/"2"' })).status,
    204,
  );
});

test('list: cursor pagination visits every customer once, and filters by email', async (ctx) => {
  await ctx.f.sql`TRUNCATE customers, outbox, customer_links CASCADE`;
  for (let i = 0; i < 7; i++)
    await call(ctx, 'POST', '/customers', {
      name: `P${i}`,
      email: i === 3 ? 'Find@Me.io' : `p${i}@example.com`,
    });
  const seen: string[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const page: { body?: Record<string, any> } = await call(
      ctx,
      'GET',
      `/customers?limit=3${cursor ? `&cursor=${cursor}` : ''}`,
    );
    seen.push(...(page.body!.data as { name: string }[]).map((c) => c.name));
    cursor = page.body!.next_cursor as string | null;
    pages++;
  } while (cursor);
  assert.is(pages, 3);
  assert.equal(seen, ['P0', 'P1', 'P2', 'P3', 'P4', 'P5', 'P6']);
  const found = await call(ctx, 'GET', '/customers?email=find@me.io');
  assert.equal(
    (found.body!.data as { name: string }[]).map((c) => c.name),
    ['P3'],
  );
});

test('the email filter ignores case, also for a row written before rtws', async (ctx) => {
  // Written as a catalogue that predates rtws may hold it: mixed case, not through the API.
  await ctx.f.sql`INSERT INTO customers (name, email) VALUES ('Before', 'Mixed.Case@Example.COM')`;
  await call(ctx, 'POST', '/customers', { name: 'Through', email: 'Other.Case@Example.com' });
  const names = async (email: string) => {
    const res = await call(ctx, 'GET', `/customers?email=${encodeURIComponent(email)}`);
    assert.is(res.status, 200);
    return (res.body!.data as { name: string }[]).map((c) => c.name);
  };
  assert.equal(await names('mixed.case@example.com'), ['Before']);
  assert.equal(await names('MIXED.CASE@EXAMPLE.COM'), ['Before']);
  assert.equal(await names('other.case@EXAMPLE.com'), ['Through']);
  assert.equal(await names('mixed.case@example.co'), []);
});

test('auth: a missing or wrong token gets 401; health endpoints are open', async (ctx) => {
  const none = await ctx.f.app.inject({ method: 'GET', url: '/customers' });
  assert.is(none.statusCode, 401);
  assert.is(none.headers['content-type'], 'application/problem+json; charset=utf-8');
  const wrong = await ctx.f.app.inject({
    method: 'GET',
    url: '/customers',
    headers: { authorization: 'Bearer nope' },
  });
  assert.is(wrong.statusCode, 401);
  const before = await footprint(ctx.f.sql);
  const post = await ctx.f.app.inject({
    method: 'POST',
    url: '/customers',
    payload: { name: 'X' },
  });
  assert.is(post.statusCode, 401);
  assert.equal(await footprint(ctx.f.sql), before);
  assert.is((await ctx.f.app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
  assert.is((await ctx.f.app.inject({ method: 'GET', url: '/readyz' })).statusCode, 200);
});

test('Idempotency-Key: a retry returns the first response and creates nothing', async (ctx) => {
  const body = { name: 'Once', email: 'once@example.com' };
  const first = await call(ctx, 'POST', '/customers', body, { 'idempotency-key': 'k-1' });
  const before = await footprint(ctx.f.sql);
  const again = await call(ctx, 'POST', '/customers', body, { 'idempotency-key': 'k-1' });
  assert.is(again.status, 201);
  assert.equal(again.body, first.body);
  assert.is(again.headers['idempotent-replayed'], 'true');
  assert.equal(await footprint(ctx.f.sql), before);
  const reused = await call(
    ctx,
    'POST',
    '/customers',
    { name: 'Other' },
    { 'idempotency-key': 'k-1' },
  );
  assert.is(reused.status, 422);
  assert.equal(await footprint(ctx.f.sql), before);
});

test('Idempotency-Key: concurrent duplicates create one customer', async (ctx) => {
  const before = await footprint(ctx.f.sql);
  const results = await Promise.all(
    Array.from({ length: 8 }, () =>
      call(ctx, 'POST', '/customers', { name: 'Race' }, { 'idempotency-key': 'race-1' }),
    ),
  );
  assert.ok(results.every((r) => r.status === 201));
  assert.is(new Set(results.map((r) => r.body!.id)).size, 1);
  assert.is((await footprint(ctx.f.sql)).customers, before.customers + 1);
});

test('links to targets are returned with the customer, and recording one bumps nothing', async (ctx) => {
  const c = (await call(ctx, 'POST', '/customers', { name: 'Linked' })).body!;
  const before = await footprint(ctx.f.sql);
  await recordLink(ctx.f.sql, c.id as string, 'stripe', 'cus_Linked123');
  await recordLink(ctx.f.sql, c.id as string, 'stripe', 'cus_Linked123');
  const read = await call(ctx, 'GET', `/customers/${c.id}`);
  assert.equal(read.body!.links, { stripe: 'cus_Linked123' });
  assert.is(read.body!.version, 1);
  assert.equal(await footprint(ctx.f.sql), before, 'no version bump, no outbox row');
  const listed = await call(ctx, 'GET', '/customers?limit=100');
  assert.ok(
    (listed.body!.data as { id: string; links: object }[]).some(
      (x) => x.id === c.id && 'stripe' in x.links,
    ),
  );
});

test('metrics: Prometheus text behind the token, counting requests by route and status', async (ctx) => {
  assert.is((await ctx.f.app.inject({ method: 'GET', url: '/metrics' })).statusCode, 401);
  await call(ctx, 'POST', '/customers', { name: 'Counted' });
  const res = await ctx.f.app.inject({ method: 'GET', url: '/metrics', headers: authHeaders() });
  assert.is(res.statusCode, 200);
  assert.match(res.headers['content-type'] as string, /^text\/plain/);
  assert.match(
    res.body,
    /rtws_http_requests_total\{method="POST",route="\/customers",status="201"\} \d+/,
  );
  assert.match(res.body, /rtws_http_request_seconds_bucket/);
});

test.run();
