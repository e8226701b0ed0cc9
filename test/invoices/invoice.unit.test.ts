import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DEFAULT_RETRY } from '../../core/policy/retry.ts';
import { progressOf, replayInvoice, type InvoiceIntent } from '../../actors/invoice/index.ts';
import {
  CUSTOMER,
  INVOICE,
  REQUEST,
  again,
  drafted,
  failed,
  finalized,
  given,
  inspected,
  intents,
  itemAdded,
  linkFound,
  linkMissing,
  pending,
  requested,
  retryRequested,
  state,
  when,
  type World,
} from './gwt.ts';

const key = (step: string) => `rtws-inv-${INVOICE}-${step}`;
const linked = () => given(requested(), linkFound('cus_A1'));
const draftedWorld = () => when(linked(), drafted('in_1'));
const itemsDone = () => when(draftedWorld(), itemAdded('ii_0'), itemAdded('ii_1'));

test('a request first looks up the customer’s Stripe link, and never creates a customer', () => {
  const w = given(requested());
  const [intent, ...more] = intents(w);
  assert.equal(more, []);
  assert.is(intent?.type, 'FindStripeLink');
  assert.equal(intent?.params, { customerId: CUSTOMER });
  assert.is(intent?.key, null);
  assert.is(state(w).status, 'linking');
  assert.is(w.snapshot.value, 'linking');
});

test('happy path: draft, each item attached to the draft, finalize, with keys per step', () => {
  const w1 = linked();
  const draft = pending(w1);
  assert.is(draft.type, 'CreateStripeInvoice');
  assert.is(draft.key, key('draft'));
  assert.equal(draft.params, {
    customer: 'cus_A1',
    currency: 'eur',
    daysUntilDue: 14,
    metadata: { order: 'A-17', rtws_invoice_id: INVOICE },
  });
  assert.is(state(w1).status, 'issuing');

  const w2 = when(w1, drafted('in_1'));
  const item0 = pending(w2);
  assert.is(item0.type, 'AddStripeInvoiceItem');
  assert.is(item0.key, key('item-0'));
  assert.equal(item0.params, {
    invoice: 'in_1',
    customer: 'cus_A1',
    currency: 'eur',
    index: 0,
    description: 'Consulting',
    unitAmount: 1250,
    quantity: 2,
    metadata: { rtws_invoice_id: INVOICE, rtws_item: '0' },
  });
  assert.equal(w2.decisions[0]?.progress, {
    status: 'draft',
    stripeInvoiceId: 'in_1',
    number: null,
    hostedInvoiceUrl: null,
    error: null,
  });

  const w3 = when(w2, itemAdded('ii_0'));
  assert.is(pending(w3).key, key('item-1'));
  assert.is(w3.decisions[0]?.progress, null, 'an item is not a status change');

  const w4 = when(w3, itemAdded('ii_1'));
  assert.is(pending(w4).type, 'FinalizeStripeInvoice');
  assert.is(pending(w4).key, key('finalize'));

  const w5 = when(w4, finalized('ABC-0001', 'https://invoice.example/i/1'));
  assert.is(state(w5).status, 'issued');
  assert.is(w5.snapshot.value, 'issued');
  assert.is(state(w5).pending, null);
  assert.equal(intents(w5), []);
  assert.equal(w5.decisions[0]?.progress, {
    status: 'open',
    stripeInvoiceId: 'in_1',
    number: 'ABC-0001',
    hostedInvoiceUrl: 'https://invoice.example/i/1',
    error: null,
  });
});

test('a customer not linked yet is looked up again later, each wait longer, never a failure', () => {
  let w = given(requested());
  const waits: number[] = [];
  for (let i = 0; i < 6; i++) {
    const before = w.now;
    w = when(w, linkMissing());
    waits.push(pending(w).notBefore - before - 1000);
    assert.is(state(w).status, 'linking');
    assert.is(state(w).failures, 0);
  }
  assert.ok(waits[1]! > waits[0]! / 2 && waits[5]! <= 30_000, waits.join(','));
  assert.is(pending(w).type, 'FindStripeLink');
  assert.is(pending(w).attempt, 7);
  const linkedLater = when(w, linkFound('cus_B'));
  assert.is(pending(linkedLater).type, 'CreateStripeInvoice');
  assert.is(state(linkedLater).linkChecks, 0);
});

test('a link lookup that fails (Postgres away) is looked up again on the link’s schedule, never given up', () => {
  let w = given(requested());
  // Some checks that found no link first: their count must not lengthen a failure's wait.
  for (let i = 0; i < 8; i++) w = when(w, linkMissing());
  const waits: number[] = [];
  for (let i = 0; i < DEFAULT_RETRY.maxFailures + 4; i++) {
    w = when(w, failed('transient', 'link lookup: connection refused'));
    waits.push(pending(w).notBefore - w.now);
    assert.is(state(w).status, 'linking', `after failure ${i + 1}`);
    assert.is(pending(w).type, 'FindStripeLink');
  }
  assert.ok(
    waits.every((ms) => ms <= 30_000),
    `each wait within the link's 30 s: ${waits.join(',')}`,
  );
  assert.is(state(w).failures, 0, 'none counted towards giving up');
  const linkedLater = when(w, linkFound('cus_B'));
  assert.is(pending(linkedLater).type, 'CreateStripeInvoice');
  // A lookup refused for good is a failure as any other call's.
  const refused = when(w, failed('permanent', 'link lookup: misrouted'));
  assert.is(state(refused).status, 'failed');
  assert.ok(refused.decisions[0]?.deadLettered);
});

test('a late report on an earlier link lookup changes nothing', () => {
  const w = when(given(requested()), linkMissing());
  const stale = when(w, (x) => ({
    type: 'StripeLinkMissing',
    data: { intentId: pending(x).id, attempt: 1 },
    at: x.now,
  }));
  assert.is(JSON.stringify(stale.snapshot.context), JSON.stringify(w.snapshot.context));
});

test('a 5xx after the draft: the lookup finds it, and the items go on with no second draft', () => {
  const w = when(linked(), failed('uncertain'));
  const lookup = pending(w) as Extract<InvoiceIntent, { type: 'InspectStripeInvoice' }>;
  assert.is(lookup.type, 'InspectStripeInvoice');
  assert.is(lookup.params.invoice, null);
  assert.is(lookup.params.rtwsInvoiceId, INVOICE);
  assert.is(lookup.params.customer, 'cus_A1');
  assert.ok(lookup.notBefore > w.now, 'the lookup waits a backoff');
  const found = when(w, inspected({ stripeInvoiceId: 'in_9' }));
  assert.is(state(found).stripeInvoiceId, 'in_9');
  assert.is(pending(found).type, 'AddStripeInvoiceItem');
  assert.is(pending(found).key, key('item-0'));
});

test('a 5xx on the draft that created nothing: a new key, never the old one', () => {
  const w = when(linked(), failed('uncertain'), inspected(null));
  assert.is(pending(w).type, 'CreateStripeInvoice');
  assert.is(pending(w).key, `${key('draft')}-a2`);
  const again2 = when(w, failed('uncertain'), inspected(null));
  assert.is(pending(again2).key, `${key('draft')}-a3`);
});

test('a failure after some items: the lookup counts them, and only the missing ones are added', () => {
  const w = when(draftedWorld(), itemAdded('ii_0'), failed('uncertain'));
  assert.is(pending(w).type, 'InspectStripeInvoice');
  assert.is((pending(w).params as { invoice: string }).invoice, 'in_1');
  // The second item landed before the 500: nothing is added twice, finalize comes next.
  const landed = when(w, inspected({ stripeInvoiceId: 'in_1', items: [0, 1] }));
  assert.is(pending(landed).type, 'FinalizeStripeInvoice');
  assert.is(pending(landed).key, key('finalize'));
  // It did not land: the same item again, under a new key.
  const lost = when(w, inspected({ stripeInvoiceId: 'in_1', items: [0] }));
  assert.is(pending(lost).type, 'AddStripeInvoiceItem');
  assert.is(pending(lost).key, `${key('item-1')}-a2`);
  assert.is((pending(lost).params as { index: number }).index, 1);
});

test('an idempotency error is "already done: look it up", never a permanent failure', () => {
  const w = when(itemsDone(), failed('idempotency_conflict'));
  assert.is(pending(w).type, 'InspectStripeInvoice');
  assert.is(state(w).status, 'issuing');
});

test('a post-commit 500 on finalize: the lookup sees it open and records number and URL', () => {
  const w = when(
    itemsDone(),
    failed('uncertain'),
    inspected({
      stripeInvoiceId: 'in_1',
      status: 'open',
      items: [0, 1],
      number: 'ABC-0002',
      hostedInvoiceUrl: 'https://invoice.example/i/2',
    }),
  );
  assert.is(state(w).status, 'issued');
  assert.is(state(w).number, 'ABC-0002');
  assert.is(state(w).hostedInvoiceUrl, 'https://invoice.example/i/2');
  assert.is(progressOf(state(w))?.status, 'open');
});

test('a timeout resends the same key (Stripe settles it), with a backoff', () => {
  const w = when(draftedWorld(), failed('no_response'));
  assert.is(state(w).status, 'retrying');
  assert.is(pending(w).type, 'AddStripeInvoiceItem');
  assert.is(pending(w).key, key('item-0'));
  assert.is(pending(w).attempt, 2);
  assert.ok(pending(w).notBefore > w.now);
  const thenOk = when(w, itemAdded());
  assert.is(pending(thenOk).key, key('item-1'));
});

test('429s never count towards giving up', () => {
  let w = linked();
  for (let i = 0; i < DEFAULT_RETRY.maxFailures + 2; i++) w = when(w, failed('rate_limited'));
  assert.is(state(w).status, 'retrying');
  assert.is(state(w).failures, 0);
});

test('a permanent failure fails the invoice with Stripe’s message and dead-letters it', () => {
  const w = when(
    draftedWorld(),
    failed('permanent', 'HTTP 400: invalid_request_error: No such customer'),
  );
  assert.is(state(w).status, 'failed');
  assert.is(w.snapshot.value, 'failed');
  assert.ok(w.decisions[0]?.deadLettered);
  assert.is(state(w).lastError?.reason, 'HTTP 400: invalid_request_error: No such customer');
  assert.equal(w.decisions[0]?.progress, {
    status: 'failed',
    stripeInvoiceId: 'in_1',
    number: null,
    hostedInvoiceUrl: null,
    error: 'HTTP 400: invalid_request_error: No such customer',
  });
  assert.is(state(w).pending, null);
});

test('repeated failures retry with backoff, then fail as exhausted', () => {
  let w: World = linked();
  const delays: number[] = [];
  for (let i = 0; i < DEFAULT_RETRY.maxFailures - 1; i++) {
    w = when(w, failed('transient'));
    delays.push(pending(w).notBefore - w.now);
    assert.is(state(w).status, 'retrying');
  }
  assert.ok(delays[3]! > delays[0]!, delays.join(','));
  w = when(w, failed('transient'));
  assert.is(state(w).status, 'failed');
  assert.is(state(w).lastError?.failure, 'exhausted');
  assert.ok(w.decisions[0]?.deadLettered);
});

test('an operator retry of a failed invoice looks up before writing again', () => {
  const w = when(draftedWorld(), failed('permanent'), retryRequested());
  assert.is(state(w).status, 'issuing');
  assert.is(pending(w).type, 'InspectStripeInvoice');
  assert.is(state(w).failures, 0);
});

test('stale, duplicate and out-of-order events change nothing', () => {
  const w = draftedWorld();
  const before = JSON.stringify(w.snapshot.context);
  const draftEvent = w.events.at(-1)!;
  const w2 = when(
    w,
    again(draftEvent), // a redelivered outcome of an intent already done
    requested({ ...REQUEST, total: 1 }), // a second request for the same invoice
    requested(REQUEST, 'another-invoice'), // a request for another invoice
    // the wrong outcome type for the pending intent
    (x) => ({
      type: 'StripeInvoiceFinalized',
      data: { intentId: pending(x).id, status: 'open', number: 'X', hostedInvoiceUrl: null },
      at: x.now,
    }),
    // a failure reported for another attempt
    (x) => ({
      type: 'InvoiceCallFailed',
      data: { intentId: pending(x).id, failure: 'permanent', reason: 'old', attempt: 5 },
      at: x.now,
    }),
  );
  assert.is(JSON.stringify(w2.snapshot.context), before);
  assert.ok(w2.decisions.every((d) => d.intents.length === 0 && d.progress === null));
  const issued = when(itemsDone(), finalized());
  const lastIntent = issued.decisions.length ? issued.events.at(-1)! : draftEvent;
  const after = when(issued, again(lastIntent), again(draftEvent));
  assert.is(state(after).status, 'issued');
  assert.ok(after.decisions.every((d) => d.intents.length === 0 && !d.deadLettered));
});

test('outcomes before the request, and a request for a finished invoice, are ignored', () => {
  const w = given((x) => ({
    type: 'StripeLinkFound',
    data: { intentId: 'invoice-1', stripeCustomerId: 'cus_X' },
    at: x.now,
  }));
  assert.is(state(w).status, 'new');
  assert.is(state(w).stripeCustomerId, null);
  const issued = when(itemsDone(), finalized());
  const late = when(issued, requested());
  assert.is(JSON.stringify(late.snapshot.context), JSON.stringify(issued.snapshot.context));
});

test('replaying the recorded events rebuilds the same state', () => {
  const w = when(
    itemsDone(),
    failed('uncertain'),
    inspected({ stripeInvoiceId: 'in_1', items: [0, 1] }),
    finalized(),
  );
  assert.equal(replayInvoice(INVOICE, w.events).context, w.snapshot.context);
  assert.equal(replayInvoice(INVOICE, w.events).value, w.snapshot.value);
});

test.run();
