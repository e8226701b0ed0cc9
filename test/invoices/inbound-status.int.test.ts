// Status back from Stripe: invoices issued in the emulator are paid, voided, marked uncollectible
// and declined through the SDK; the webhooks go through the real route and INBOUND, and Postgres
// follows, forward only, whatever the order, and a repeated event changes nothing.
import { jetstream } from '@nats-io/jetstream';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { advances } from '../../core/invoice-status.ts';
import type { Invoice } from '../../core/invoice.ts';
import { getInvoice } from '../../adapters/postgres/invoices.ts';
import { deliver, sign } from '../webhooks/support.ts';
import {
  drained,
  eventsOf,
  issuedInvoice,
  linkedCustomer,
  settled,
  startInboundStack,
  type InboundStack,
} from './inbound-stack.ts';
import { stripeCustomerOf } from '../../adapters/stripe/event-customer.ts';

const test = suite<{ s: InboundStack }>('invoice status from Stripe');

test.before(async (ctx) => {
  ctx.s = await startInboundStack();
});
test.after(async (ctx) => {
  await ctx.s?.close();
});

const statuses = (i: Invoice) => i.history.map((h) => h.status);

/** Each entry moved the invoice forward from the one before. */
function forwardOnly(i: Invoice): boolean {
  const moves = i.history.filter((h) => h.note?.startsWith('payment failed') !== true);
  return moves.every((h, n) => n === 0 || advances(moves[n - 1]!.status, h.status));
}

test('paid in Stripe: Postgres has it paid, with the Stripe id, number and hosted URL', async (ctx) => {
  const customer = await linkedCustomer(ctx.s, 'Paid');
  const { invoice, stripeInvoice } = await issuedInvoice(ctx.s, customer);
  await ctx.s.stripe.invoices.pay(stripeInvoice.id, { paid_out_of_band: true });
  const after = await settled(ctx.s, invoice.id, (i) => i.status === 'paid');
  assert.is(after.status, 'paid');
  assert.is(after.stripe_invoice_id, stripeInvoice.id);
  assert.is(after.number, stripeInvoice.number);
  assert.is(after.hosted_invoice_url, stripeInvoice.hosted_invoice_url);
  assert.equal(after.items, invoice.items, 'our own request is never rewritten');
  assert.is(after.total, stripeInvoice.total);
  assert.ok(forwardOnly(after), statuses(after).join(' → '));
  assert.equal(after.history.at(-1)!.origin, 'stripe');
  assert.is(statuses(after)[0], 'pending');
});

test('voided in Stripe reaches Postgres', async (ctx) => {
  const customer = await linkedCustomer(ctx.s, 'Void');
  const { invoice, stripeInvoice } = await issuedInvoice(ctx.s, customer);
  await ctx.s.stripe.invoices.voidInvoice(stripeInvoice.id);
  const after = await settled(ctx.s, invoice.id, (i) => i.status === 'void');
  assert.is(after.status, 'void');
  assert.ok(forwardOnly(after), statuses(after).join(' → '));
});

test('marked uncollectible reaches Postgres, and a later payment still moves it to paid', async (ctx) => {
  const customer = await linkedCustomer(ctx.s, 'Uncollectible');
  const { invoice, stripeInvoice } = await issuedInvoice(ctx.s, customer);
  await ctx.s.stripe.invoices.markUncollectible(stripeInvoice.id);
  const marked = await settled(ctx.s, invoice.id, (i) => i.status === 'uncollectible');
  assert.is(marked.status, 'uncollectible');
  await ctx.s.stripe.invoices.pay(stripeInvoice.id, { paid_out_of_band: true });
  const paid = await settled(ctx.s, invoice.id, (i) => i.status === 'paid');
  assert.equal(statuses(paid).slice(-2), ['uncollectible', 'paid']);
});

test('a declined payment is a note in the history of the open invoice', async (ctx) => {
  const customer = await linkedCustomer(ctx.s, 'Declined');
  const { invoice, stripeInvoice } = await issuedInvoice(ctx.s, customer);
  const declined = await ctx.s.stripe.invoices
    .pay(stripeInvoice.id, { payment_method: 'pm_card_chargeDeclined' })
    .then(
      () => undefined,
      (err: { statusCode?: number }) => err.statusCode,
    );
  assert.is(declined, 402);
  const after = await settled(ctx.s, invoice.id, (i) =>
    i.history.some((h) => h.note?.startsWith('payment failed') === true),
  );
  assert.is(after.status, 'open');
  const note = after.history.find((h) => h.note?.startsWith('payment failed') === true)!;
  assert.equal(
    [note.status, note.origin, note.note],
    ['open', 'stripe', 'payment failed (attempt 1)'],
  );
  await drained(ctx.s);
  assert.is((await getInvoice(ctx.s.o.sql, invoice.id)).status, 'open');
});

test('out of order: paid first, then a late finalized and created, never move it back', async (ctx) => {
  const customer = await linkedCustomer(ctx.s, 'Reordered');
  ctx.s.emu.pauseWebhooks();
  try {
    const { invoice, stripeInvoice } = await issuedInvoice(ctx.s, customer);
    await ctx.s.stripe.invoices.pay(stripeInvoice.id, { paid_out_of_band: true });
    const events = await eventsOf(ctx.s, stripeInvoice.id);
    const byType = (t: string) => events.find((e) => e.type === t)!;
    for (const type of ['invoice.paid', 'invoice.finalized', 'invoice.created']) {
      const payload = JSON.stringify(byType(type));
      const res = await deliver(ctx.s.receiver.app, payload, sign(payload));
      assert.is(res.statusCode, 200, res.body);
    }
    await drained(ctx.s);
    const after = await getInvoice(ctx.s.o.sql, invoice.id);
    assert.is(after.status, 'paid');
    assert.equal(statuses(after), ['pending', 'paid']);
    assert.is(after.number, stripeInvoice.number, 'filled in from the paid event');
    // The emulator's own deliveries now come too, every one of them a duplicate.
    ctx.s.emu.resumeWebhooks();
    await ctx.s.emu.flushWebhooks();
    await drained(ctx.s);
    assert.equal(await getInvoice(ctx.s.o.sql, invoice.id), after);
  } finally {
    ctx.s.emu.resumeWebhooks();
  }
});

test('an event that comes again after the dedupe window changes nothing', async (ctx) => {
  const customer = await linkedCustomer(ctx.s, 'Redelivered');
  const { invoice, stripeInvoice } = await issuedInvoice(ctx.s, customer);
  await ctx.s.stripe.invoices.pay(stripeInvoice.id, { paid_out_of_band: true });
  await settled(ctx.s, invoice.id, (i) => i.status === 'paid');
  await drained(ctx.s);
  const before = await getInvoice(ctx.s.o.sql, invoice.id);
  const [version] = await ctx.s.o.sql<
    { version: number }[]
  >`SELECT version FROM invoices WHERE id = ${invoice.id}`;
  const js = jetstream(ctx.s.o.nats);
  for (const event of await eventsOf(ctx.s, stripeInvoice.id)) {
    // A new Nats-Msg-Id: past JetStream's window (or a DLQ redrive), only Postgres can tell.
    await js.publish(
      ctx.s.t.names.inboundSubject('stripe', event.type, stripeCustomerOf(event)),
      JSON.stringify(event),
      {
        msgID: `again-${event.id}`,
      },
    );
  }
  await drained(ctx.s);
  assert.equal(await getInvoice(ctx.s.o.sql, invoice.id), before);
  const [again] = await ctx.s.o.sql<
    { version: number }[]
  >`SELECT version FROM invoices WHERE id = ${invoice.id}`;
  assert.is(again!.version, version!.version);
});

test.run();
