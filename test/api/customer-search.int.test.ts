// GET /customers?q= finds customers by id (exact), email (case-insensitive prefix) or name
// (case-insensitive substring), pages like the plain listing, and takes LIKE's wildcards literally.
// GET /conflicts?field= lists the conflicts over one field.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { apiFixture, type ApiFixture } from '../harness/api.ts';
import { authHeaders } from '../harness/rtws.ts';
import { recordTargetConflict } from '../../adapters/postgres/conflicts.ts';

const test = suite<{ f: ApiFixture; ids: Record<string, string> }>('customer search');

test.before(async (ctx) => {
  ctx.f = await apiFixture();
  ctx.ids = {};
  for (const [name, email] of [
    ['Ada Lovelace', 'ada@example.com'],
    ['Grace Hopper', 'grace@navy.example'],
    ['Hopper 100%_off', 'deals@shop.example'],
    ['Alan Turing', 'alan@bletchley.example'],
  ] as const) {
    const res = await ctx.f.app.inject({
      method: 'POST',
      url: '/customers',
      headers: authHeaders(),
      payload: { name, email },
    });
    ctx.ids[name] = res.json<{ id: string }>().id;
  }
});
test.after(async (ctx) => {
  await ctx.f?.close();
});

async function get(ctx: { f: ApiFixture }, url: string) {
  const { 'content-type': _, ...headers } = authHeaders();
  const res = await ctx.f.app.inject({ method: 'GET', url, headers });
  return { status: res.statusCode, body: res.json<Record<string, any>>() };
}

const names = (body: Record<string, any>) =>
  (body.data as { name: string }[]).map((c) => c.name).sort();

test('by email prefix or name substring, whatever the case', async (ctx) => {
  assert.equal(names((await get(ctx, '/customers?q=ADA')).body), ['Ada Lovelace']);
  assert.equal(names((await get(ctx, '/customers?q=hopp')).body), [
    'Grace Hopper',
    'Hopper 100%_off',
  ]);
  assert.equal(names((await get(ctx, '/customers?q=Grace%40Navy')).body), ['Grace Hopper']);
  // `example` ends the emails but starts none, and is in no name.
  assert.equal(names((await get(ctx, '/customers?q=example')).body), []);
  assert.equal(names((await get(ctx, '/customers?q=nobody')).body), []);
});

test('by id, exactly', async (ctx) => {
  const id = ctx.ids['Alan Turing']!;
  assert.equal(names((await get(ctx, `/customers?q=${id}`)).body), ['Alan Turing']);
  assert.equal(names((await get(ctx, `/customers?q=${id.slice(0, 8)}`)).body), []);
});

test("LIKE's wildcards are taken literally", async (ctx) => {
  assert.equal(names((await get(ctx, '/customers?q=%25')).body), ['Hopper 100%_off']);
  assert.equal(names((await get(ctx, '/customers?q=_')).body), ['Hopper 100%_off']);
  assert.equal(names((await get(ctx, '/customers?q=%5C')).body), []);
});

test('pages with limit and cursor; an empty or blank q is a 400', async (ctx) => {
  const first = await get(ctx, '/customers?q=hopper&limit=1');
  assert.is(first.body.data.length, 1);
  assert.ok(first.body.next_cursor);
  const second = await get(ctx, `/customers?q=hopper&limit=1&cursor=${first.body.next_cursor}`);
  assert.is(second.body.data.length, 1);
  assert.is(second.body.next_cursor, null);
  assert.equal([first.body.data[0].name, second.body.data[0].name].sort(), [
    'Grace Hopper',
    'Hopper 100%_off',
  ]);
  assert.is((await get(ctx, '/customers?q=')).status, 400);
  assert.is((await get(ctx, '/customers?q=%20%20')).status, 400);
});

test('conflicts are filtered by field', async (ctx) => {
  const customerId = ctx.ids['Ada Lovelace']!;
  for (const field of ['phone', 'name', 'phone'])
    await recordTargetConflict(ctx.f.sql, {
      customerId,
      target: 'salesforce',
      field,
      postgres: 'a',
      held: 'b',
      reason: 'salesforce is a target: the catalogue wins',
      foundBy: `reconcile:1:${field}:${Math.random()}`,
    });
  const phone = await get(ctx, '/conflicts?field=phone');
  assert.equal(
    (phone.body.data as { field: string }[]).map((c) => c.field),
    ['phone', 'phone'],
  );
  const named = await get(ctx, `/conflicts?field=name&customer_id=${customerId}`);
  assert.is(named.body.data.length, 1);
  assert.is((await get(ctx, '/conflicts?field=email')).body.data.length, 0);
});

test.run();
