// The invoice machine and its Stripe executor against the emulator, with no runtime in between: a
// post-commit 500 whose saved answer is replayed to a resend under the same key (as after a worker
// died before recording the outcome) is settled by a lookup, and nothing is doubled.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  decideInvoice,
  startInvoice,
  type InvoiceEvent,
  type InvoiceSnapshot,
  type StripeInvoiceIntent,
} from '../../actors/invoice/index.ts';
import { executeInvoiceIntent } from '../../adapters/stripe/invoice-executor.ts';
import { stripeSide } from '../sync/stack.ts';
import { REQUEST } from './gwt.ts';

const INVOICE = 'b7d5c0e2-6a0f-4c8e-9a51-0d4b3f2e1a99';

test('post-commit 500s replayed to a same-key resend: one invoice, each item once', async () => {
  const side = await stripeSide();
  try {
    const { stripe, emulator } = side;
    const customer = await stripe.customers.create({ name: 'Replayed' });
    let s: InvoiceSnapshot = startInvoice(INVOICE);
    const feed = (event: InvoiceEvent) => (s = decideInvoice(s, event).snapshot);
    feed({
      type: 'InvoiceRequested',
      data: { id: INVOICE, ...REQUEST },
      metadata: { origin: 'api', version: 1, outbox_id: 1, occurred_at: new Date().toISOString() },
      at: Date.now(),
    });
    const link = s.context.pending!;
    feed({
      type: 'StripeLinkFound',
      data: { intentId: link.id, stripeCustomerId: customer.id },
      at: Date.now(),
    });

    emulator.failNext({ method: 'POST', path: '/v1/invoiceitems', status: 500, phase: 'after' });
    emulator.failNext({
      method: 'POST',
      path: '/v1/invoices/*/finalize',
      status: 500,
      phase: 'after',
    });
    const replays: string[] = [];
    for (let steps = 0; s.context.pending !== null && steps < 20; steps++) {
      const intent = s.context.pending as StripeInvoiceIntent;
      let outcome = await executeInvoiceIntent(stripe, intent);
      if (outcome.type === 'InvoiceCallFailed' && outcome.data.failure === 'uncertain') {
        // The worker died before recording it: the next one resends the same key.
        outcome = await executeInvoiceIntent(stripe, intent);
        assert.is(outcome.type, 'InvoiceCallFailed');
        replays.push(intent.type);
      }
      feed(outcome);
    }
    assert.is(s.context.status, 'issued');
    assert.equal(replays, ['AddStripeInvoiceItem', 'FinalizeStripeInvoice']);
    const replayed = emulator.requests({ method: 'POST' }).filter((r) => r.replayed);
    assert.is(replayed.length, 2, 'both resends got the saved 500');

    const invoices = await stripe.invoices.list({ customer: customer.id, limit: 100 });
    assert.is(invoices.data.length, 1);
    const [invoice] = invoices.data;
    assert.is(invoice!.status, 'open');
    assert.is(invoice!.total, REQUEST.total);
    assert.is(invoice!.number, s.context.number);
    assert.is(invoice!.hosted_invoice_url, s.context.hostedInvoiceUrl);
    const items = await stripe.invoiceItems.list({ customer: customer.id, limit: 100 });
    assert.is(items.data.length, REQUEST.items.length);
    assert.ok(items.data.every((i) => i.invoice === invoice!.id));
    const finalized = await stripe.events.list({ type: 'invoice.finalized', limit: 100 });
    assert.is(finalized.data.length, 1, 'finalized once');
  } finally {
    await side.emulator.close();
  }
});

test.run();
