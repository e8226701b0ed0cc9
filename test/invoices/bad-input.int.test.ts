// Bad invoice requests: each rule gets its status (400 naming the field, 404 for an unknown
// customer, 409 for a deleted one), as a problem body, and nothing at all is written.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { apiFixture, type ApiFixture } from '../harness/api.ts';
import { authHeaders } from '../harness/rtws.ts';
import {
  deleteCustomer,
  invoiceFootprint,
  newCustomer,
  postInvoice,
  validRequest,
} from './support.ts';

const test = suite<{ f: ApiFixture; live: string; deleted: string }>('invoice bad input');

test.before(async (ctx) => {
  ctx.f = await apiFixture();
  ctx.live = await newCustomer(ctx.f.app);
  ctx.deleted = await newCustomer(ctx.f.app, 'Gone');
  await deleteCustomer(ctx.f.app, ctx.deleted);
});
test.after(async (ctx) => {
  await ctx.f?.close();
});

const item = { description: 'Widget', amount: 100, quantity: 2 };
const withItem = (patch: Record<string, unknown>) => ({
  ...validRequest(),
  items: [{ ...item, ...patch }],
});
const without = (key: string) => {
  const body: Record<string, unknown> = validRequest();
  delete body[key];
  return body;
};

const bad: [string, unknown, string][] = [
  ['no items', { ...validRequest(), items: [] }, 'items'],
  ['items missing', without('items'), 'items'],
  ['items not an array', { ...validRequest(), items: item }, 'items'],
  [
    'too many items',
    { ...validRequest(), items: Array.from({ length: 251 }, () => item) },
    'items',
  ],
  ['a zero amount', withItem({ amount: 0 }), 'items.0.amount'],
  ['a negative amount', withItem({ amount: -100 }), 'items.0.amount'],
  ['a fractional amount', withItem({ amount: 10.5 }), 'items.0.amount'],
  ['an amount as a string', withItem({ amount: '100' }), 'items.0.amount'],
  ['an amount too large', withItem({ amount: 100_000_000 }), 'items.0.amount'],
  ['an amount missing', { ...validRequest(), items: [{ description: 'x' }] }, 'items.0.amount'],
  ['a zero quantity', withItem({ quantity: 0 }), 'items.0.quantity'],
  ['a negative quantity', withItem({ quantity: -1 }), 'items.0.quantity'],
  ['a fractional quantity', withItem({ quantity: 1.5 }), 'items.0.quantity'],
  ['a null quantity', withItem({ quantity: null }), 'items.0.quantity'],
  ['a description missing', { ...validRequest(), items: [{ amount: 1 }] }, 'items.0.description'],
  ['a blank description', withItem({ description: '   ' }), 'items.0.description'],
  [
    'a bad item in second place',
    { ...validRequest(), items: [item, { ...item, amount: 0 }] },
    'items.1.amount',
  ],
  ['an unknown item field', withItem({ unit_amount: 100 }), 'items.0.unit_amount'],
  ['a currency missing', without('currency'), 'currency'],
  ['a currency of four letters', { ...validRequest(), currency: 'EURO' }, 'currency'],
  ['a currency with a digit', { ...validRequest(), currency: 'E1R' }, 'currency'],
  ['a currency as a number', { ...validRequest(), currency: 978 }, 'currency'],
  ['a currency ISO 4217 does not list', { ...validRequest(), currency: 'xyz' }, 'currency'],
  ['a negative due_days', { ...validRequest(), due_days: -1 }, 'due_days'],
  ['a fractional due_days', { ...validRequest(), due_days: 1.5 }, 'due_days'],
  ['due_days as a string', { ...validRequest(), due_days: '30' }, 'due_days'],
  ['a metadata value that is no string', { ...validRequest(), metadata: { n: 1 } }, 'metadata.n'],
  [
    'a metadata key rtws keeps for itself',
    { ...validRequest(), metadata: { rtws_invoice_id: 'x' } },
    'metadata',
  ],
  ['an unknown field', { ...validRequest(), customer: 'cus_1' }, 'customer'],
  ['a body that is no object', [validRequest()], 'body'],
];

for (const [what, payload, field] of bad) {
  test(`${what} → 400 naming ${field}, nothing written`, async (ctx) => {
    const before = await invoiceFootprint(ctx.f.sql);
    const res = await postInvoice(ctx.f.app, ctx.live, payload, {
      'idempotency-key': `bad-${what}`,
    });
    assert.is(res.statusCode, 400, res.body);
    assert.match(String(res.headers['content-type']), /application\/problem\+json/);
    assert.is(res.json<{ field: string }>().field, field);
    assert.equal(await invoiceFootprint(ctx.f.sql), before);
  });
}

test('a body that is not JSON → 400, nothing written', async (ctx) => {
  const before = await invoiceFootprint(ctx.f.sql);
  const res = await ctx.f.app.inject({
    method: 'POST',
    url: `/customers/${ctx.live}/invoices`,
    headers: authHeaders(),
    payload: '{"currency": "eur", ',
  });
  assert.is(res.statusCode, 400);
  assert.equal(await invoiceFootprint(ctx.f.sql), before);
});

test('a malformed customer id → 400 naming id', async (ctx) => {
  const before = await invoiceFootprint(ctx.f.sql);
  const res = await postInvoice(ctx.f.app, 'not-a-uuid', validRequest());
  assert.is(res.statusCode, 400);
  assert.is(res.json<{ field: string }>().field, 'id');
  assert.equal(await invoiceFootprint(ctx.f.sql), before);
});

test('an unknown customer → 404, nothing written, and the key stays free', async (ctx) => {
  const before = await invoiceFootprint(ctx.f.sql);
  const headers = { 'idempotency-key': 'unknown-customer' };
  const res = await postInvoice(
    ctx.f.app,
    '00000000-0000-4000-8000-000000000000',
    validRequest(),
    headers,
  );
  assert.is(res.statusCode, 404);
  assert.match(String(res.headers['content-type']), /application\/problem\+json/);
  assert.equal(await invoiceFootprint(ctx.f.sql), before);
});

test('a deleted customer → 409, nothing written', async (ctx) => {
  const before = await invoiceFootprint(ctx.f.sql);
  for (const headers of [{}, { 'idempotency-key': 'deleted-customer' }] as Record<
    string,
    string
  >[]) {
    const res = await postInvoice(ctx.f.app, ctx.deleted, validRequest(), headers);
    assert.is(res.statusCode, 409, res.body);
    assert.is(res.json<{ code: string }>().code, 'conflict');
  }
  assert.equal(await invoiceFootprint(ctx.f.sql), before);
});

test('without the token → 401, nothing written', async (ctx) => {
  const before = await invoiceFootprint(ctx.f.sql);
  const res = await ctx.f.app.inject({
    method: 'POST',
    url: `/customers/${ctx.live}/invoices`,
    headers: { 'content-type': 'application/json' },
    payload: validRequest(),
  });
  assert.is(res.statusCode, 401);
  assert.equal(await invoiceFootprint(ctx.f.sql), before);
});

test('the database refuses items that do not add up to the total, whoever writes them', async (ctx) => {
  const before = await invoiceFootprint(ctx.f.sql);
  try {
    await ctx.f.sql.begin(async (tx) => {
      const [row] = await tx<{ id: string }[]>`
        INSERT INTO invoices (customer_id, currency, due_days, total) VALUES (${ctx.live}, 'eur', 30, 500) RETURNING id`;
      await tx`INSERT INTO invoice_items (invoice_id, position, description, amount, quantity) VALUES (${row!.id}, 0, 'x', 100, 1)`;
    });
    assert.unreachable('the commit is refused');
  } catch (err) {
    assert.is((err as { code?: string }).code, '23514');
  }
  assert.equal(await invoiceFootprint(ctx.f.sql), before);
});

test.run();
