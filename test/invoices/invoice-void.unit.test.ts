// Voids asked for through the API, as the invoice machine decides them: nothing written to Stripe
// yet is cancelled without a call, a draft is deleted, a finalized invoice is voided under its own
// key; a write that may be under way finishes first.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { progressOf } from '../../actors/invoice/index.ts';
import { invoiceKind } from '../../actors/invoice/kind.ts';
import {
  CUSTOMER,
  INVOICE,
  deleted,
  drafted,
  failed,
  finalized,
  given,
  inspected,
  itemAdded,
  linkFound,
  pending,
  requested,
  state,
  voidRequested,
  voided,
  when,
} from './gwt.ts';

const issued = () =>
  given(
    requested(),
    linkFound('cus_A1'),
    drafted('in_1'),
    itemAdded('ii_0'),
    itemAdded('ii_1'),
    finalized(),
  );

test('not linked yet: cancelled at once, the link lookup dropped, nothing ever sent to Stripe', () => {
  const w = when(given(requested()), voidRequested());
  assert.is(state(w).status, 'cancelled');
  assert.is(state(w).pending, null);
  assert.is(w.snapshot.value, 'cancelled');
  assert.equal(w.decisions[0]?.intents, []);
  assert.equal(w.decisions[0]?.progress, {
    status: 'void',
    stripeInvoiceId: null,
    number: null,
    hostedInvoiceUrl: null,
    error: null,
    note: 'cancelled before it was issued: never created in Stripe',
  });
  // A late outcome of the dropped lookup changes nothing.
  const late = when(w, (x) => ({
    type: 'StripeLinkFound',
    data: { intentId: 'invoice-1', stripeCustomerId: 'cus_A1' },
    at: x.now,
  }));
  assert.is(state(late).status, 'cancelled');
  assert.is(state(late).pending, null);
});

test('a draft being created: the create finishes, then the draft is deleted, never finalized', () => {
  const asked = when(given(requested(), linkFound('cus_A1')), voidRequested());
  assert.is(pending(asked).type, 'CreateStripeInvoice', 'the write under way is kept');
  const w = when(asked, drafted('in_1'));
  const del = pending(w);
  assert.is(del.type, 'DeleteStripeInvoice');
  assert.is(del.key, null, "Stripe's deletes take no key");
  assert.equal(del.params, { invoice: 'in_1' });
  assert.is(state(w).status, 'voiding');
  const done = when(w, deleted());
  assert.is(state(done).status, 'cancelled');
  assert.is(state(done).pending, null);
  assert.is(progressOf(state(done))?.status, 'void');
  assert.match(progressOf(state(done))?.note ?? '', /draft in_1 was deleted/);
});

test('a draft whose create is in doubt is looked up first; not found means cancelled', () => {
  const uncertain = when(given(requested(), linkFound('cus_A1')), failed('uncertain'));
  const w = when(uncertain, voidRequested());
  assert.is(pending(w).type, 'InspectStripeInvoice');
  assert.is(state(when(w, inspected(null))).status, 'cancelled');
  const found = when(w, inspected({ stripeInvoiceId: 'in_9' }));
  assert.is(pending(found).type, 'DeleteStripeInvoice');
});

test('an issued invoice is voided under its own key, and ends voided', () => {
  const w = when(issued(), voidRequested());
  const v = pending(w);
  assert.is(v.type, 'VoidStripeInvoice');
  assert.is(v.key, `rtws-inv-${INVOICE}-void`);
  assert.equal(v.params, { invoice: 'in_1' });
  assert.is(state(w).status, 'voiding');
  const done = when(w, voided());
  assert.is(state(done).status, 'voided');
  assert.is(done.snapshot.value, 'voided');
  assert.equal(done.decisions[0]?.progress, {
    status: 'void',
    stripeInvoiceId: 'in_1',
    number: 'ABC-0001',
    hostedInvoiceUrl: 'https://invoice.example/i/1',
    error: null,
    note: 'voided in Stripe',
  });
  // A second ask changes nothing.
  assert.equal(when(done, voidRequested()).decisions[0]?.intents, []);
});

test('a void answered by a 5xx is looked up; found void, it is done; found open, a new key', () => {
  const w = when(issued(), voidRequested(), failed('uncertain'));
  assert.is(pending(w).type, 'InspectStripeInvoice');
  const done = when(w, inspected({ stripeInvoiceId: 'in_1', status: 'void' as 'open' }));
  assert.is(state(done).status, 'voided');
  const again = when(w, inspected({ stripeInvoiceId: 'in_1', status: 'open', items: [0, 1] }));
  assert.is(pending(again).key, `rtws-inv-${INVOICE}-void-a2`);
});

test('a snapshot stored before voids existed (machine version 1) is read, and can be voided', () => {
  const kind = invoiceKind();
  const stored = kind.encode(issued().snapshot) as {
    machineVersion: number;
    snapshot: { context: Record<string, unknown> };
  };
  const { voidRequestedAt: _none, ...context } = stored.snapshot.context;
  const v1 = {
    machineVersion: 1,
    snapshot: { ...stored.snapshot, context: { ...context, machineVersion: 1 } },
  };
  const restored = kind.decode(INVOICE, v1);
  assert.is(restored.context.status, 'issued');
  const w = when({ ...issued(), snapshot: restored }, voidRequested());
  assert.is(pending(w).type, 'VoidStripeInvoice');
});

test("an invoice created in Stripe directly: its actor starts from the void, in its customer's partition", () => {
  const w = when(
    given(),
    voidRequested({ stripeInvoiceId: 'in_S', stripeStatus: 'uncollectible' }),
  );
  assert.equal(
    [pending(w).type, pending(w).key, pending(w).params],
    ['VoidStripeInvoice', `rtws-inv-${INVOICE}-void`, { invoice: 'in_S' }],
  );
  assert.is(state(w).status, 'voiding');
  assert.is(invoiceKind().ownerOf(INVOICE, w.snapshot), CUSTOMER);
  const done = when(w, voided());
  assert.is(state(done).status, 'voided');
  assert.is(progressOf(state(done))?.status, 'void');
  // Without a request or a Stripe id there is nothing to void: a stray ask changes nothing.
  const stray = when(given(), voidRequested());
  assert.is(state(stray).status, 'new');
  assert.equal(stray.decisions[0]?.intents, []);
});

test('a void of an invoice created in Stripe answered by a 5xx is looked up by its id, then sent under a new key', () => {
  const w = when(
    given(),
    voidRequested({ stripeInvoiceId: 'in_S', stripeStatus: 'open' }),
    failed('uncertain'),
  );
  const lookup = pending(w);
  assert.equal(
    [lookup.type, lookup.key, (lookup.params as { invoice: string }).invoice],
    ['InspectStripeInvoice', null, 'in_S'],
  );
  const again = when(w, inspected({ stripeInvoiceId: 'in_S', status: 'open' }));
  assert.equal(
    [pending(again).type, pending(again).key],
    ['VoidStripeInvoice', `rtws-inv-${INVOICE}-void-a2`],
  );
  const done = when(w, inspected({ stripeInvoiceId: 'in_S', status: 'void' as 'open' }));
  assert.is(state(done).status, 'voided');
  // Given up on, it leaves a letter: its customer is the one its void named.
  let gaveUp = w;
  for (let i = 0; i < 8 && state(gaveUp).status !== 'failed'; i++)
    gaveUp = when(gaveUp, failed('transient'));
  assert.is(state(gaveUp).status, 'failed');
  assert.ok(gaveUp.decisions.at(-1)?.deadLettered);
  assert.is(state(gaveUp).customerId, CUSTOMER);
});

test('a void Stripe refuses (the invoice was paid meanwhile) fails with its message', () => {
  const w = when(issued(), voidRequested(), failed('permanent', 'invoice_unexpected_state'));
  assert.is(state(w).status, 'failed');
  assert.is(state(w).lastError?.intent.type, 'VoidStripeInvoice');
  assert.ok(w.decisions.at(-1)?.deadLettered);
});

test.run();
