// Capture: a requested invoice reaches the INVOICES stream once, as an InvoiceRequested message
// with every item, on its customer's partition; an invoice recorded from Stripe is not captured.
import { Value } from '@sinclair/typebox/value';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { InvoiceRequested, type Invoice } from '../../core/invoice.ts';
import { applyStripeInvoiceEvent } from '../../adapters/postgres/invoices.ts';
import { recordLink } from '../../adapters/postgres/links.ts';
import type { Rtws } from '../../deploy/rtws.ts';
import {
  authHeaders,
  startTestRtws,
  testEnvironment,
  type TestEnvironment,
} from '../harness/rtws.ts';
import { eventually, readStream } from '../harness/stream.ts';

const test = suite<{ t: TestEnvironment; rtws: Rtws }>('invoice capture');

test.before(async (ctx) => {
  ctx.t = await testEnvironment();
  ctx.rtws = await startTestRtws(ctx.t, { RTWS_ROLES: 'api,publisher' });
});
test.after(async (ctx) => {
  await ctx.rtws?.close();
  await ctx.t?.cleanup();
});

async function post(ctx: { rtws: Rtws }, path: string, body: unknown) {
  const res = await fetch(`${ctx.rtws.url}${path}`, {
    method: 'POST',
    headers: authHeaders(),
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const invoices = (ctx: { t: TestEnvironment; rtws: Rtws }) =>
  readStream(ctx.rtws.nats, ctx.t.names.streams.invoices);

test('an InvoiceRequested message with the whole request lands on the invoice subject once', async (ctx) => {
  const customer = (await post(ctx, '/customers', { name: 'Ada' })).body.id as string;
  const items = Array.from({ length: 40 }, (_, i) => ({
    description: `Line ${i}`,
    amount: 100 + i,
    quantity: 1 + (i % 3),
  }));
  const res = await post(ctx, `/customers/${customer}/invoices`, {
    currency: 'GBP',
    items,
    metadata: { po: '7' },
  });
  assert.is(res.status, 202);
  const invoice = res.body as unknown as Invoice;
  // Generous: other suites may be loading the machine.
  const landed = await eventually(
    () => invoices(ctx),
    (m) => m.length >= 1,
    60_000,
  );
  assert.is(landed.length, 1, 'the request landed once');
  const [m] = landed;
  assert.is(m!.subject, ctx.t.names.invoiceSubject(invoice.id, customer));
  assert.is(m!.msgId, `invoice:${invoice.id}:v1`);
  const message = m!.message as unknown;
  assert.ok(Value.Check(InvoiceRequested, message), 'the message passes the shared schema');
  const requested = message;
  assert.equal(requested.data, {
    id: invoice.id,
    customer_id: customer,
    currency: 'gbp',
    due_days: 30,
    metadata: { po: '7' },
    total: invoice.total,
    items: items.map((i) => ({ ...i })),
  });
  assert.is(
    requested.data.total,
    items.reduce((s, i) => s + i.amount * i.quantity, 0),
  );
  assert.equal(
    [requested.type, requested.metadata.origin, requested.metadata.version],
    ['InvoiceRequested', 'api', 1],
  );
  // The publisher deletes its rows once their acks are in, a moment after the message is stored.
  const left = await eventually(
    async () => (await ctx.rtws.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM outbox`)[0]!.n,
    (n) => n === 0,
    10_000,
  );
  assert.is(left, 0, 'published rows leave the outbox');
});

test('an invoice created in Stripe is recorded but never captured', async (ctx) => {
  const before = (await invoices(ctx)).length;
  const customer = (await post(ctx, '/customers', { name: 'Bo' })).body.id as string;
  await recordLink(ctx.rtws.sql, customer, 'stripe', 'cus_capture1');
  const outcome = await applyStripeInvoiceEvent(ctx.rtws.sql, {
    eventId: 'evt_capture1',
    eventType: 'invoice.finalized',
    stripeInvoiceId: 'in_capture1',
    stripeCustomerId: 'cus_capture1',
    rtwsInvoiceId: undefined,
    status: 'open',
    number: 'BO-0001',
    hostedInvoiceUrl: null,
    note: undefined,
    snapshot: {
      currency: 'usd',
      total: 500,
      dueDays: 30,
      metadata: {},
      items: [{ description: 'x', amount: 500, quantity: 1 }],
      createdAt: new Date(),
    },
  });
  assert.is(outcome, 'recorded');
  // A request made after it is published; when it has landed, the Stripe one would have too.
  await post(ctx, `/customers/${customer}/invoices`, {
    currency: 'usd',
    items: [{ description: 'y', amount: 1 }],
  });
  const after = await eventually(
    () => invoices(ctx),
    (m) => m.length >= before + 1,
    60_000,
  );
  await new Promise((r) => setTimeout(r, 300));
  assert.is((await invoices(ctx)).length, before + 1);
  assert.is((after.at(-1)!.message as unknown as InvoiceRequested).data.currency, 'usd');
  const [row] = await ctx.rtws.sql<
    { origin: string }[]
  >`SELECT origin FROM invoices WHERE stripe_invoice_id = 'in_capture1'`;
  assert.is(row!.origin, 'stripe');
});

test.run();
