// The invoice loop in one run, on one stack with real webhooks: an invoice requested through the
// API is issued in Stripe by the worker (restarted as it issues, and before the payment), paid in
// Stripe as a person would, and GET /invoices/:id shows it paid, with its history from pending
// to paid.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Invoice } from '../../core/invoice.ts';
import { authHeaders } from '../harness/rtws.ts';
import { eventually } from '../harness/stream.ts';
import { linked, quiet, twoWay, type TwoWay } from '../inbound/stack.ts';

const test = suite<{ s: TwoWay }>('the invoice loop, closed');

test.before(async (ctx) => {
  ctx.s = await twoWay({ separateWorker: true });
});

test.after(async (ctx) => {
  await ctx.s?.close();
});

async function invoiceOf(s: TwoWay, id: string): Promise<Invoice> {
  const res = await fetch(`${s.rtws.url}/invoices/${id}`, { headers: authHeaders() });
  assert.is(res.status, 200);
  return (await res.json()) as Invoice;
}

test('requested, issued across a worker restart, paid in Stripe: GET shows it paid', async ({
  s,
}) => {
  const { id: customerId } = await s.api.create({ name: 'Loop Closed', email: 'loop@example.com' });
  await linked(s, customerId);
  const res = await fetch(`${s.rtws.url}/customers/${customerId}/invoices`, {
    method: 'POST',
    headers: authHeaders(),
    body: JSON.stringify({
      currency: 'EUR',
      items: [
        { description: 'Seats', amount: 1_200, quantity: 3 },
        { description: 'Setup', amount: 5_000 },
      ],
      due_days: 14,
    }),
  });
  assert.is(res.status, 202);
  const requested = (await res.json()) as Invoice;
  assert.is(requested.status, 'pending');
  // The worker goes away while the invoice is on its way, and comes back.
  await s.restartWorker();
  const issued = await eventually(
    () => invoiceOf(s, requested.id),
    (i) => i.status === 'open' && i.stripe_invoice_id !== null,
    30_000,
    100,
  );
  const stripeInvoice = await s.stripe.invoices.retrieve(issued.stripe_invoice_id!);
  assert.is(stripeInvoice.status, 'open');
  assert.is(stripeInvoice.total, 3 * 1_200 + 5_000);
  assert.is(stripeInvoice.metadata?.rtws_invoice_id, requested.id);

  // And again between issuing and paying: the payment comes back to a worker that never saw it.
  await s.restartWorker();
  await s.stripe.invoices.pay(stripeInvoice.id, { paid_out_of_band: true });
  await quiet(s);
  const paid = await eventually(
    () => invoiceOf(s, requested.id),
    (i) => i.status === 'paid',
    30_000,
    100,
  );
  assert.is(paid.status, 'paid');
  assert.is(paid.number, stripeInvoice.number);
  assert.is(paid.total, 3 * 1_200 + 5_000);
  const moves = paid.history.map((h) => [h.status, h.origin]);
  assert.equal(moves[0], ['pending', 'api']);
  assert.equal(moves.at(-1), ['paid', 'stripe']);
  assert.ok(
    moves.some(([status]) => status === 'open'),
    `issued on the way: ${JSON.stringify(moves)}`,
  );
  const invoices = await s.stripe.invoices.list({ customer: stripeInvoice.customer as string });
  assert.is(invoices.data.length, 1, 'issued once, restart or not');
});

test.run();
