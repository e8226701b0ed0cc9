// Voids, draft deletions and line paging as Stripe does them, judged by the official SDK: only an
// open or uncollectible invoice is voided (invoice.voided), only a draft is deleted
// (invoice.deleted), and an invoice embeds its first ten lines, the rest listed at its lines URL.
import type Stripe from 'stripe';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { errorOf, suiteEmulator } from './support.ts';

const { stripe } = await suiteEmulator(test);
let customer: Stripe.Customer;

test.before.each(async () => {
  customer = await stripe.customers.create({ name: 'Lines' });
});

async function draftWith(lines: number): Promise<Stripe.Invoice> {
  const draft = await stripe.invoices.create({ customer: customer.id });
  for (let i = 0; i < lines; i++)
    await stripe.invoiceItems.create({
      customer: customer.id,
      invoice: draft.id,
      currency: 'usd',
      amount: 100 + i,
      description: `line ${i}`,
    });
  return draft;
}

async function eventsOf(type: string, invoiceId: string): Promise<Stripe.Event[]> {
  const all = await stripe.events.list({ type, limit: 100 });
  return all.data.filter((e) => (e.data.object as { id: string }).id === invoiceId);
}

test('void: open → void with invoice.voided and the key echoed; a draft, a paid or a void one is refused', async () => {
  const draft = await draftWith(1);
  const refusedDraft = await errorOf(stripe.invoices.voidInvoice(draft.id));
  assert.is(refusedDraft.statusCode, 400);
  assert.is(refusedDraft.code, 'invoice_unexpected_state');
  await stripe.invoices.finalizeInvoice(draft.id);
  const voided = await stripe.invoices.voidInvoice(draft.id, {}, { idempotencyKey: 'rtws-k-void' });
  assert.is(voided.status, 'void');
  assert.type(voided.status_transitions.voided_at, 'number');
  const [event] = await eventsOf('invoice.voided', draft.id);
  assert.is((event?.data.object as Stripe.Invoice).status, 'void');
  assert.is(event?.request?.idempotency_key, 'rtws-k-void');
  // The same key answers the first result again; a new void of a void invoice is refused.
  const replay = await stripe.invoices.voidInvoice(draft.id, {}, { idempotencyKey: 'rtws-k-void' });
  assert.is(replay.lastResponse.headers['idempotent-replayed'], 'true');
  assert.is((await eventsOf('invoice.voided', draft.id)).length, 1);
  assert.is((await errorOf(stripe.invoices.voidInvoice(draft.id))).statusCode, 400);
  const paid = await draftWith(1);
  await stripe.invoices.finalizeInvoice(paid.id);
  await stripe.invoices.pay(paid.id, { paid_out_of_band: true });
  const refusedPaid = await errorOf(stripe.invoices.voidInvoice(paid.id));
  assert.is(refusedPaid.statusCode, 400);
  assert.is(refusedPaid.code, 'invoice_unexpected_state');
  assert.is((await stripe.invoices.retrieve(paid.id)).status, 'paid');
});

test('delete: a draft is gone with invoice.deleted carrying it; again is a 404; a void one is refused', async () => {
  const draft = await draftWith(2);
  const gone = await stripe.invoices.del(draft.id);
  assert.equal([gone.id, gone.object, gone.deleted], [draft.id, 'invoice', true]);
  const [event] = await eventsOf('invoice.deleted', draft.id);
  const carried = event?.data.object as Stripe.Invoice;
  assert.is(carried.status, 'draft');
  assert.is(carried.lines.data.length, 2);
  assert.is((await errorOf(stripe.invoices.del(draft.id))).statusCode, 404);
  const finalized = await draftWith(1);
  await stripe.invoices.finalizeInvoice(finalized.id);
  await stripe.invoices.voidInvoice(finalized.id);
  const refused = await errorOf(stripe.invoices.del(finalized.id));
  assert.is(refused.statusCode, 400);
  assert.is((await stripe.invoices.retrieve(finalized.id)).status, 'void');
});

test('lines: the first ten embedded with has_more, everywhere; all of them listed, a page at a time', async () => {
  const draft = await draftWith(25);
  const open = await stripe.invoices.finalizeInvoice(draft.id);
  const total = Array.from({ length: 25 }, (_, i) => 100 + i).reduce((a, b) => a + b, 0);
  assert.is(open.total, total, 'totals count every line, embedded or not');
  for (const invoice of [
    open,
    await stripe.invoices.retrieve(draft.id),
    (await stripe.invoices.list({ customer: customer.id })).data[0]!,
    (await eventsOf('invoice.finalized', draft.id))[0]!.data.object as Stripe.Invoice,
  ]) {
    assert.is(invoice.lines.data.length, 10);
    assert.is(invoice.lines.has_more, true);
    assert.is(invoice.lines.url, `/v1/invoices/${draft.id}/lines`);
    assert.equal(
      invoice.lines.data.map((l) => l.description),
      Array.from({ length: 10 }, (_, i) => `line ${i}`),
    );
  }
  const all: string[] = [];
  for await (const line of stripe.invoices.listLineItems(draft.id, { limit: 7 }))
    all.push(line.description ?? '');
  assert.equal(
    all,
    Array.from({ length: 25 }, (_, i) => `line ${i}`),
  );
  const first = await stripe.invoices.listLineItems(draft.id);
  assert.is(first.data.length, 10);
  assert.is(first.has_more, true);
  const last = await stripe.invoices.listLineItems(draft.id, {
    starting_after: first.data.at(-1)!.id,
    limit: 100,
  });
  assert.is(last.data.length, 15);
  assert.is(last.has_more, false);
  const before = await stripe.invoices.listLineItems(draft.id, {
    ending_before: last.data[0]!.id,
    limit: 3,
  });
  assert.equal(
    before.data.map((l) => l.description),
    ['line 7', 'line 8', 'line 9'],
  );
  assert.is(before.has_more, true);
  assert.is(
    (await errorOf(stripe.invoices.listLineItems(draft.id, { starting_after: 'il_nope' })))
      .statusCode,
    400,
  );
});

test.run();
