// The invoice API: a request is recorded with its items, history and capture in one go, answered
// 202, read back alone and in its customer's list, and a retried Idempotency-Key replays it.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Invoice } from '../../core/invoice.ts';
import { recordInvoiceProgress } from '../../adapters/postgres/invoices.ts';
import { apiFixture, type ApiFixture } from '../harness/api.ts';
import { authHeaders } from '../harness/rtws.ts';
import {
  deleteCustomer,
  invoiceFootprint,
  newCustomer,
  postInvoice,
  validRequest,
} from './support.ts';

const test = suite<{ f: ApiFixture }>('invoice API');

test.before(async (ctx) => {
  ctx.f = await apiFixture();
});
test.after(async (ctx) => {
  await ctx.f?.close();
});

const get = (f: ApiFixture, url: string) =>
  f.app.inject({ method: 'GET', url, headers: authHeaders() });

test('POST answers 202 with the pending invoice: currency lowercased, quantity and total filled in', async (ctx) => {
  const customer = await newCustomer(ctx.f.app);
  const res = await postInvoice(ctx.f.app, customer, validRequest());
  assert.is(res.statusCode, 202, res.body);
  const invoice = res.json<Invoice>();
  assert.is(res.headers.location, `/invoices/${invoice.id}`);
  assert.equal(
    { ...invoice, id: '', created_at: '', updated_at: '', history: [] },
    {
      id: '',
      object: 'invoice',
      customer_id: customer,
      status: 'pending',
      currency: 'eur',
      total: 12_500 * 8 + 4_200,
      items: [
        { description: 'Consulting, November', amount: 12_500, quantity: 8 },
        { description: 'Travel', amount: 4_200, quantity: 1 },
      ],
      due_days: 14,
      metadata: { order: 'A-17' },
      origin: 'api',
      stripe_invoice_id: null,
      number: null,
      hosted_invoice_url: null,
      former_stripe_account: null,
      last_error: null,
      history: [],
      created_at: '',
      updated_at: '',
    },
  );
  assert.equal(invoice.history, [
    { status: 'pending', at: invoice.created_at, origin: 'api', note: null },
  ]);
  const read = await get(ctx.f, `/invoices/${invoice.id}`);
  assert.is(read.statusCode, 200);
  assert.equal(read.json(), invoice, 'what was answered is what is stored');
});

test('defaults: due_days 30 and empty metadata', async (ctx) => {
  const customer = await newCustomer(ctx.f.app);
  const res = await postInvoice(ctx.f.app, customer, {
    currency: 'usd',
    items: [{ description: 'Widget', amount: 1 }],
  });
  assert.is(res.statusCode, 202, res.body);
  const invoice = res.json<Invoice>();
  assert.is(invoice.due_days, 30);
  assert.equal(invoice.metadata, {});
  assert.is(invoice.total, 1);
});

test('one transaction: the invoice, its items, its first history entry and its capture', async (ctx) => {
  const customer = await newCustomer(ctx.f.app);
  const before = await invoiceFootprint(ctx.f.sql);
  const res = await postInvoice(ctx.f.app, customer, validRequest());
  const id = res.json<Invoice>().id;
  const after = await invoiceFootprint(ctx.f.sql);
  assert.equal(after, {
    ...before,
    invoices: before.invoices! + 1,
    items: before.items! + 2,
    history: before.history! + 1,
    outbox: before.outbox! + 1,
  });
  const [row] = await ctx.f.sql<{ op: string; customer_id: string; payload: unknown }[]>`
    SELECT op, customer_id, payload FROM outbox WHERE aggregate = 'invoice' AND aggregate_id = ${id}`;
  assert.is(row!.op, 'created');
  assert.is(row!.customer_id, customer);
  assert.equal(row!.payload, {
    customer_id: customer,
    currency: 'eur',
    due_days: 14,
    metadata: { order: 'A-17' },
    total: 104_200,
    items: [
      { description: 'Consulting, November', amount: 12_500, quantity: 8 },
      { description: 'Travel', amount: 4_200, quantity: 1 },
    ],
  });
});

test('the customer list holds every invoice of that customer only, oldest first, in pages', async (ctx) => {
  const customer = await newCustomer(ctx.f.app);
  const other = await newCustomer(ctx.f.app, 'Other');
  const ids: string[] = [];
  for (let i = 0; i < 3; i++)
    ids.push((await postInvoice(ctx.f.app, customer, validRequest())).json<Invoice>().id);
  await postInvoice(ctx.f.app, other, validRequest());
  const all = await get(ctx.f, `/customers/${customer}/invoices`);
  assert.is(all.statusCode, 200);
  assert.equal(
    all.json<{ data: Invoice[] }>().data.map((i) => i.id),
    ids,
  );
  const first = (await get(ctx.f, `/customers/${customer}/invoices?limit=2`)).json<{
    data: Invoice[];
    next_cursor: string;
  }>();
  assert.equal(
    first.data.map((i) => i.id),
    ids.slice(0, 2),
  );
  const second = (
    await get(ctx.f, `/customers/${customer}/invoices?limit=2&cursor=${first.next_cursor}`)
  ).json<{ data: Invoice[]; next_cursor: string | null }>();
  assert.equal(
    second.data.map((i) => i.id),
    ids.slice(2),
  );
  assert.is(second.next_cursor, null);
  const none = await get(ctx.f, `/customers/${await newCustomer(ctx.f.app)}/invoices`);
  assert.equal(none.json(), { data: [], next_cursor: null });
});

test('a retry with the same Idempotency-Key replays the first answer and writes nothing', async (ctx) => {
  const customer = await newCustomer(ctx.f.app);
  const another = await newCustomer(ctx.f.app, 'Another');
  const key = { 'idempotency-key': `inv-${customer}` };
  const first = await postInvoice(ctx.f.app, customer, validRequest(), key);
  assert.is(first.statusCode, 202);
  const before = await invoiceFootprint(ctx.f.sql);
  const again = await postInvoice(ctx.f.app, customer, { ...validRequest(), currency: 'eur' }, key);
  assert.is(again.statusCode, 202);
  assert.is(again.headers['idempotent-replayed'], 'true');
  assert.equal(again.json(), first.json());
  assert.equal(await invoiceFootprint(ctx.f.sql), before);
  const other = await postInvoice(ctx.f.app, customer, { ...validRequest(), due_days: 1 }, key);
  assert.is(other.statusCode, 422, 'the same key with another request');
  const elsewhere = await postInvoice(ctx.f.app, another, validRequest(), key);
  assert.is(elsewhere.statusCode, 422, 'the same key for another customer');
  assert.equal(await invoiceFootprint(ctx.f.sql), before);
});

test('progress shows up: the Stripe id, number and hosted URL, and a history of forward moves', async (ctx) => {
  const customer = await newCustomer(ctx.f.app);
  const id = (await postInvoice(ctx.f.app, customer, validRequest())).json<Invoice>().id;
  assert.equal(
    await recordInvoiceProgress(ctx.f.sql, id, {
      status: 'draft',
      stripeInvoiceId: 'in_1',
      origin: 'rtws',
    }),
    { status: 'draft', moved: true },
  );
  assert.equal(
    await recordInvoiceProgress(ctx.f.sql, id, {
      status: 'draft',
      stripeInvoiceId: 'in_1',
      origin: 'rtws',
    }),
    { status: 'draft', moved: false },
    'idempotent',
  );
  await recordInvoiceProgress(ctx.f.sql, id, { status: 'draft', error: 'timeout', origin: 'rtws' });
  assert.is((await get(ctx.f, `/invoices/${id}`)).json<Invoice>().last_error, 'timeout');
  await recordInvoiceProgress(ctx.f.sql, id, {
    status: 'open',
    number: 'ABC-0001',
    hostedInvoiceUrl: 'https://pay.example/i/1',
    origin: 'rtws',
  });
  assert.equal(
    await recordInvoiceProgress(ctx.f.sql, id, { status: 'failed', error: 'late', origin: 'rtws' }),
    { status: 'open', moved: false },
    'an open invoice never fails',
  );
  const invoice = (await get(ctx.f, `/invoices/${id}`)).json<Invoice>();
  assert.equal(
    [invoice.status, invoice.stripe_invoice_id, invoice.number, invoice.hosted_invoice_url],
    ['open', 'in_1', 'ABC-0001', 'https://pay.example/i/1'],
  );
  assert.is(invoice.last_error, null, 'an issued invoice carries no error');
  assert.equal(
    invoice.history.map((h) => [h.status, h.origin]),
    [
      ['pending', 'api'],
      ['draft', 'rtws'],
      ['open', 'rtws'],
    ],
  );
  try {
    await recordInvoiceProgress(ctx.f.sql, id, {
      status: 'open',
      stripeInvoiceId: 'in_2',
      origin: 'rtws',
    });
    assert.unreachable('another Stripe id is refused');
  } catch (err) {
    assert.is((err as { code?: string }).code, 'conflict');
  }
});

test('a permanent failure is recorded with its message', async (ctx) => {
  const customer = await newCustomer(ctx.f.app);
  const id = (await postInvoice(ctx.f.app, customer, validRequest())).json<Invoice>().id;
  await recordInvoiceProgress(ctx.f.sql, id, {
    status: 'failed',
    error: 'No such customer: cus_x',
    origin: 'rtws',
  });
  const invoice = (await get(ctx.f, `/invoices/${id}`)).json<Invoice>();
  assert.is(invoice.status, 'failed');
  assert.is(invoice.last_error, 'No such customer: cus_x');
  assert.equal(invoice.history.at(-1), {
    ...invoice.history.at(-1)!,
    status: 'failed',
    origin: 'rtws',
    note: 'No such customer: cus_x',
  });
});

test('reads: an unknown invoice or customer is a 404, a malformed id a 400; a deleted customer keeps its list', async (ctx) => {
  const unknown = '00000000-0000-4000-8000-000000000000';
  assert.is((await get(ctx.f, `/invoices/${unknown}`)).statusCode, 404);
  assert.is((await get(ctx.f, `/customers/${unknown}/invoices`)).statusCode, 404);
  const malformed = await get(ctx.f, '/invoices/nope');
  assert.is(malformed.statusCode, 400);
  assert.is(malformed.json<{ field: string }>().field, 'id');
  const customer = await newCustomer(ctx.f.app);
  const id = (await postInvoice(ctx.f.app, customer, validRequest())).json<Invoice>().id;
  await deleteCustomer(ctx.f.app, customer);
  const list = await get(ctx.f, `/customers/${customer}/invoices`);
  assert.is(list.statusCode, 200);
  assert.equal(
    list.json<{ data: Invoice[] }>().data.map((i) => i.id),
    [id],
  );
});

test('the token is required', async (ctx) => {
  const res = await ctx.f.app.inject({
    method: 'GET',
    url: '/invoices/00000000-0000-4000-8000-000000000000',
  });
  assert.is(res.statusCode, 401);
});

test.run();
