// What Stripe's invoice events carry in part, applied in full: a draft rtws made and someone
// deleted in Stripe ends `failed` with the reason (or `void`, when the deletion carried out a void
// asked for through the API), and an invoice created in Stripe with 25 lines, of which each event
// embeds only ten, is recorded with all 25.
import Stripe from 'stripe';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  applyStripeInvoiceEvent,
  createInvoice,
  recordInvoiceProgress,
} from '../../adapters/postgres/invoices.ts';
import { requestInvoiceVoid } from '../../adapters/postgres/invoice-void.ts';
import { eventually } from '../harness/stream.ts';
import {
  REQUEST,
  deadLetters,
  drained,
  eventsOf,
  linkedCustomer,
  settled,
  startInboundStack,
  type InboundStack,
} from './inbound-stack.ts';

const test = suite<{ s: InboundStack }>('invoice events carrying a part');

test.before(async (ctx) => {
  ctx.s = await startInboundStack();
});
test.after(async (ctx) => {
  await ctx.s?.close();
});

/** Our id of an invoice created in Stripe, once its events have recorded it. */
async function recordedAs(s: InboundStack, stripeInvoiceId: string): Promise<string> {
  await s.emu.flushWebhooks();
  const [row] = await eventually(
    () =>
      s.o.sql<{ id: string }[]>`
        SELECT id FROM invoices WHERE stripe_invoice_id = ${stripeInvoiceId}`,
    (rows) => rows.length === 1,
    30_000,
    50,
  );
  return row!.id;
}

/** An invoice requested through rtws whose draft the actor has made in Stripe. */
async function ourDraft(s: InboundStack, name: string) {
  const customer = await linkedCustomer(s, name);
  const { invoice } = await createInvoice(s.o.sql, customer.id, REQUEST);
  const draft = await s.stripe.invoices.create(
    {
      customer: customer.stripeId,
      collection_method: 'send_invoice',
      days_until_due: invoice.due_days,
      auto_advance: false,
      metadata: { rtws_invoice_id: invoice.id },
    },
    { idempotencyKey: `rtws-inv-${invoice.id}-draft` },
  );
  await recordInvoiceProgress(s.o.sql, invoice.id, {
    status: 'draft',
    stripeInvoiceId: draft.id,
    origin: 'rtws',
  });
  return { invoice, draft };
}

test('a draft rtws made, deleted in the dashboard, is failed with the reason; not made again', async ({
  s,
}) => {
  const { invoice, draft } = await ourDraft(s, 'Deleted Draft');
  await s.stripe.invoices.del(draft.id);
  const failed = await settled(s, invoice.id, (i) => i.status === 'failed');
  const reason = `the draft ${draft.id} was deleted in Stripe`;
  assert.is(failed.last_error, reason);
  assert.equal(failed.history.at(-1), {
    ...failed.history.at(-1)!,
    status: 'failed',
    origin: 'stripe',
    note: reason,
  });
  // The actor's progress on the draft, reported again by a redelivered step, is stale.
  const again = await recordInvoiceProgress(s.o.sql, invoice.id, {
    status: 'draft',
    stripeInvoiceId: draft.id,
    origin: 'rtws',
  });
  assert.equal(again, { status: 'failed', moved: false });
  // So is Stripe's `invoice.created` for the draft, delivered late (a retry after a 503, say).
  const late = await applyStripeInvoiceEvent(s.o.sql, {
    eventId: `evt_late_${draft.id}`,
    eventType: 'invoice.created',
    stripeInvoiceId: draft.id,
    stripeCustomerId: draft.customer as string,
    rtwsInvoiceId: invoice.id,
    status: 'draft',
    number: null,
    hostedInvoiceUrl: null,
    note: undefined,
    snapshot: {
      currency: 'usd',
      total: 0,
      dueDays: REQUEST.due_days!,
      metadata: {},
      items: [],
      createdAt: new Date(draft.created * 1000),
    },
  });
  assert.is(late, 'unchanged');
  const after = await settled(s, invoice.id, (i) => i.status === 'failed');
  assert.is(after.last_error, reason);
  assert.is(after.history.length, failed.history.length);
  await drained(s);
  assert.equal(
    (await deadLetters(s)).filter((d) => d.reason.includes(draft.id)),
    [],
  );
  assert.equal((await s.stripe.invoices.list({ status: 'draft' })).data, []);
});

test('an invoice the actor gave up on, finalized in Stripe after all, moves on with no error', async ({
  s,
}) => {
  const { invoice, draft } = await ourDraft(s, 'Late Finalize');
  // The draft's own event handled first: the actor gives up after it, as it would live.
  await s.emu.flushWebhooks();
  await drained(s);
  const gaveUp = await recordInvoiceProgress(s.o.sql, invoice.id, {
    status: 'failed',
    stripeInvoiceId: draft.id,
    error: 'FinalizeStripeInvoice: HTTP 500',
    origin: 'rtws',
  });
  assert.equal(gaveUp, { status: 'failed', moved: true });
  await s.stripe.invoices.finalizeInvoice(draft.id);
  // Stripe marks an invoice with nothing to pay paid as it finalizes it.
  const paid = await settled(s, invoice.id, (i) => i.status === 'paid');
  assert.equal(
    paid.history.slice(-3).map((h) => [h.status, h.origin]),
    [
      ['failed', 'rtws'],
      ['open', 'stripe'],
      ['paid', 'stripe'],
    ],
  );
  assert.is(paid.last_error, null);
});

test('a draft deleted to carry out a void asked for through the API ends void', async ({ s }) => {
  const { invoice, draft } = await ourDraft(s, 'Voided Draft');
  await requestInvoiceVoid(s.o.sql, invoice.id);
  await s.stripe.invoices.del(draft.id);
  const voided = await settled(s, invoice.id, (i) => i.status === 'void');
  assert.is(voided.last_error, null);
  // The draft is recorded by whichever comes first: the create's outcome, or its webhook.
  const drafted = voided.history[1];
  const byWebhook = drafted?.origin === 'stripe';
  assert.equal(
    voided.history.map((h) => [h.status, h.origin, h.note]),
    [
      ['pending', 'api', null],
      byWebhook ? ['draft', 'stripe', 'invoice.created'] : ['draft', 'rtws', null],
      ['draft', 'api', 'void requested'],
      ['void', 'stripe', `the draft ${draft.id} was deleted in Stripe`],
    ],
  );
});

test('a draft created in Stripe and deleted there ends void', async ({ s }) => {
  const customer = await linkedCustomer(s, 'Their Draft');
  const draft = await s.stripe.invoices.create({ customer: customer.stripeId });
  const id = await recordedAs(s, draft.id);
  await s.stripe.invoices.del(draft.id);
  const voided = await settled(s, id, (i) => i.status === 'void');
  assert.is(voided.origin, 'stripe');
  assert.is(voided.last_error, null);
});

test('an invoice created in Stripe with 25 lines is recorded with all of them', async ({ s }) => {
  const customer = await linkedCustomer(s, 'Many Lines');
  const draft = await s.stripe.invoices.create({
    customer: customer.stripeId,
    collection_method: 'send_invoice',
    days_until_due: 7,
  });
  const lines = Array.from({ length: 25 }, (_, i) => ({
    description: `Line ${i + 1}`,
    amount: 100 * (i + 1),
    quantity: 1 + (i % 3),
  }));
  for (const l of lines)
    await s.stripe.invoiceItems.create({
      customer: customer.stripeId,
      invoice: draft.id,
      currency: 'usd',
      unit_amount_decimal: Stripe.Decimal.from(String(l.amount)),
      quantity: l.quantity,
      description: l.description,
    });
  const open = await s.stripe.invoices.finalizeInvoice(draft.id);
  const total = lines.reduce((sum, l) => sum + l.amount * l.quantity, 0);
  assert.is(open.total, total);
  const finalized = (await eventsOf(s, draft.id)).find((e) => e.type === 'invoice.finalized');
  const embedded = (finalized?.data.object as Stripe.Invoice).lines;
  assert.equal([embedded.data.length, embedded.has_more], [10, true], 'the event carries a part');
  const id = await recordedAs(s, draft.id);
  const invoice = await settled(s, id, (i) => i.status === 'open');
  assert.is(invoice.total, total);
  assert.equal(invoice.items, lines);
  await s.stripe.invoices.pay(draft.id, { paid_out_of_band: true });
  const paid = await settled(s, id, (i) => i.status === 'paid');
  assert.equal(paid.items, lines, 'refreshed from Stripe in full again');
});

test.run();
