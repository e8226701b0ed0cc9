// Invoice lifecycle: draft, items, finalize, pay, void, uncollectible, delete, and the events each fires.
import Stripe from 'stripe';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { errorOf, suiteEmulator } from './support.ts';

const { stripe } = await suiteEmulator(test);
let customer: Stripe.Customer;

test.before.each(async () => {
  customer = await stripe.customers.create({ email: 'bill@example.com', name: 'Bill' });
});

async function eventTypes(): Promise<string[]> {
  return (await stripe.events.list({ type: 'invoice.*', limit: 100 })).data
    .map((e) => e.type)
    .reverse();
}

test('draft with items attached by invoice=, totals from amount and unit_amount_decimal x quantity', async () => {
  const draft = await stripe.invoices.create({
    customer: customer.id,
    collection_method: 'send_invoice',
    days_until_due: 30,
    metadata: { k: 'v' },
  });
  assert.is(draft.status, 'draft');
  assert.is(draft.number, null);
  assert.is(draft.total, 0);
  await stripe.invoiceItems.create({
    customer: customer.id,
    amount: 1000,
    currency: 'usd',
    invoice: draft.id,
  });
  const item = await stripe.invoiceItems.create({
    customer: customer.id,
    unit_amount_decimal: Stripe.Decimal.from('250'),
    quantity: 3,
    currency: 'usd',
    invoice: draft.id,
  });
  assert.is(item.amount, 750);
  assert.is(item.invoice, draft.id);
  const withItems = await stripe.invoices.retrieve(draft.id);
  assert.is(withItems.total, 1750);
  assert.is(withItems.amount_due, 1750);
  assert.is(withItems.lines.data.length, 2);
  assert.is(withItems.lines.url, `/v1/invoices/${draft.id}/lines`);
  assert.ok(withItems.due_date! > withItems.created + 29 * 86400);
});

test('pending items stay out by default and come in with include', async () => {
  await stripe.invoiceItems.create({ customer: customer.id, amount: 500, currency: 'usd' });
  const excluded = await stripe.invoices.create({ customer: customer.id });
  assert.is(excluded.total, 0);
  const included = await stripe.invoices.create({
    customer: customer.id,
    pending_invoice_items_behavior: 'include',
  });
  assert.is(included.total, 500);
});

test('finalize: open with a number from the prefix, hosted url, then paid out of band', async () => {
  const draft = await stripe.invoices.create({ customer: customer.id, auto_advance: false });
  await stripe.invoiceItems.create({
    customer: customer.id,
    amount: 1200,
    currency: 'usd',
    invoice: draft.id,
  });
  const open = await stripe.invoices.finalizeInvoice(draft.id);
  assert.is(open.status, 'open');
  assert.is(open.number, `${customer.invoice_prefix}-0001`);
  assert.match(open.hosted_invoice_url!, /^https:\/\//);
  assert.type(open.status_transitions.finalized_at, 'number');
  const again = await errorOf(stripe.invoices.finalizeInvoice(draft.id));
  assert.is(again.statusCode, 400);
  const paid = await stripe.invoices.pay(draft.id, { paid_out_of_band: true });
  assert.is(paid.status, 'paid');
  assert.is(paid.amount_paid, 1200);
  assert.is(paid.amount_remaining, 0);
  const types = await eventTypes();
  for (const t of ['invoice.created', 'invoice.finalized', 'invoice.paid', 'invoice.updated'])
    assert.ok(types.includes(t), t);
  const second = await stripe.invoices.create({ customer: customer.id });
  await stripe.invoiceItems.create({
    customer: customer.id,
    amount: 1,
    currency: 'usd',
    invoice: second.id,
  });
  assert.is(
    (await stripe.invoices.finalizeInvoice(second.id)).number,
    `${customer.invoice_prefix}-0002`,
  );
});

test('a zero-total invoice is paid on finalize', async () => {
  const draft = await stripe.invoices.create({ customer: customer.id });
  const done = await stripe.invoices.finalizeInvoice(draft.id);
  assert.is(done.status, 'paid');
  assert.type(done.status_transitions.paid_at, 'number');
});

test('void and mark_uncollectible, with their events and state checks', async () => {
  const a = await stripe.invoices.create({ customer: customer.id });
  await stripe.invoiceItems.create({
    customer: customer.id,
    amount: 100,
    currency: 'usd',
    invoice: a.id,
  });
  await stripe.invoices.finalizeInvoice(a.id);
  const voided = await stripe.invoices.voidInvoice(a.id);
  assert.is(voided.status, 'void');
  assert.is((await errorOf(stripe.invoices.pay(a.id, { paid_out_of_band: true }))).statusCode, 400);
  const b = await stripe.invoices.create({ customer: customer.id });
  await stripe.invoiceItems.create({
    customer: customer.id,
    amount: 100,
    currency: 'usd',
    invoice: b.id,
  });
  await stripe.invoices.finalizeInvoice(b.id);
  const bad = await stripe.invoices.markUncollectible(b.id);
  assert.is(bad.status, 'uncollectible');
  assert.is((await stripe.invoices.pay(b.id, { paid_out_of_band: true })).status, 'paid');
  const types = await eventTypes();
  assert.ok(types.includes('invoice.voided'));
  assert.ok(types.includes('invoice.marked_uncollectible'));
});

test('a declined payment is 402 StripeCardError and fires invoice.payment_failed', async () => {
  const inv = await stripe.invoices.create({ customer: customer.id });
  await stripe.invoiceItems.create({
    customer: customer.id,
    amount: 100,
    currency: 'usd',
    invoice: inv.id,
  });
  await stripe.invoices.finalizeInvoice(inv.id);
  const err = await errorOf(
    stripe.invoices.pay(inv.id, { payment_method: 'pm_card_chargeDeclined' }),
  );
  assert.instance(err, Stripe.errors.StripeCardError);
  assert.ok((await eventTypes()).includes('invoice.payment_failed'));
  assert.is((await stripe.invoices.retrieve(inv.id)).attempt_count, 1);
  assert.is((await stripe.invoices.pay(inv.id, { payment_method: 'pm_card_visa' })).status, 'paid');
});

test('delete: drafts only, deleted shape, event; items and list filters', async () => {
  const draft = await stripe.invoices.create({ customer: customer.id });
  const item = await stripe.invoiceItems.create({
    customer: customer.id,
    amount: 10,
    currency: 'usd',
    invoice: draft.id,
  });
  const deleted = await stripe.invoices.del(draft.id);
  assert.is(deleted.deleted, true);
  assert.is((await errorOf(stripe.invoices.retrieve(draft.id))).statusCode, 404);
  assert.ok((await eventTypes()).includes('invoice.deleted'));
  assert.is((await stripe.invoiceItems.del(item.id)).deleted, true);
  const open = await stripe.invoices.create({ customer: customer.id });
  await stripe.invoiceItems.create({
    customer: customer.id,
    amount: 10,
    currency: 'usd',
    invoice: open.id,
  });
  await stripe.invoices.finalizeInvoice(open.id);
  assert.is((await errorOf(stripe.invoices.del(open.id))).statusCode, 400);
  assert.is((await stripe.invoices.list({ customer: customer.id, status: 'open' })).data.length, 1);
  assert.is((await stripe.invoices.list({ status: 'draft' })).data.length, 0);
});

test('expand customer on retrieve and on list items', async () => {
  const inv = await stripe.invoices.create({ customer: customer.id });
  const one = await stripe.invoices.retrieve(inv.id, { expand: ['customer'] });
  assert.is((one.customer as Stripe.Customer).email, 'bill@example.com');
  const list = await stripe.invoices.list({ expand: ['data.customer'] });
  assert.is((list.data[0]!.customer as Stripe.Customer).id, customer.id);
  assert.is(
    (await errorOf(stripe.invoices.retrieve(inv.id, { expand: ['nothing'] }))).statusCode,
    400,
  );
});

test('missing customer on create is 400 resource_missing param customer', async () => {
  const err = await errorOf(stripe.invoices.create({ customer: 'cus_nope' }));
  assert.is(err.statusCode, 400);
  assert.is(err.code, 'resource_missing');
  assert.is(err.param, 'customer');
});

test.run();
