// Recorded events on the wire, as an earlier deployment stored them in the stream: each still
// decodes to the event it stood for, encodes back to the same message, and keeps its dedupe id,
// so a stream recorded before an upgrade replays, and a resent outcome is still stored once.
import { MESSAGE_SCHEMA } from '../../core/messages.ts';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  checkRecordedEvent,
  encodeRecordedEvent,
  recordedEventMsgId,
} from '../../actors/customer/outcome-message.ts';
import {
  encodeInvoiceEvent,
  invoiceEventMsgId,
  parseInvoiceMessage,
  type InvoiceRecordedEvent,
} from '../../actors/invoice/index.ts';

const CUSTOMER = 'c0ffee00-0000-4000-8000-000000000001';
const INVOICE = 'inv-1';
const BINDING = 'acct_1';
const AT = 1_700_000_000_000;
const FIELDS = {
  name: 'Ada',
  email: 'ada@example.com',
  phone: null,
  address: null,
  metadata: { plan: 'gold' },
};
const customer = { customer_id: CUSTOMER };
const bound = { customer_id: CUSTOMER, binding: BINDING };

/** Messages exactly as the earlier version wrote them, with the dedupe id it gave each. */
const RECORDED: [message: Record<string, unknown>, msgId: string][] = [
  [
    {
      type: 'StripeCustomerCreated',
      data: { intentId: 'stripe-1', externalId: 'cus_A1' },
      metadata: bound,
    },
    `event:${CUSTOMER}:StripeCustomerCreated:stripe-1:a0`,
  ],
  [
    {
      type: 'StripeCallFailed',
      data: {
        intentId: 'stripe-2',
        failure: 'rate_limited',
        reason: 'HTTP 429',
        attempt: 2,
        retryAfterMs: 1000,
      },
      metadata: bound,
    },
    `event:${CUSTOMER}:StripeCallFailed:stripe-2:a2`,
  ],
  [
    {
      type: 'SalesforceAccountFound',
      data: { intentId: 'salesforce-1', externalId: '001000000000001AAA', fields: FIELDS },
      metadata: customer,
    },
    `event:${CUSTOMER}:SalesforceAccountFound:salesforce-1:a0`,
  ],
  [
    {
      type: 'StripeCustomerObserved',
      data: {
        eventId: 'evt_1',
        eventType: 'customer.updated',
        stripeId: 'cus_A1',
        created: 1_700_000_000,
        key: null,
        fields: FIELDS,
        rtwsId: CUSTOMER,
      },
      metadata: bound,
    },
    // Observations name no intent: their id is their `at`, which the earlier version took as 5.
    `event:${CUSTOMER}:StripeCustomerObserved::5`,
  ],
  [
    {
      type: 'StripeCustomerFetched',
      data: { intentId: 'stripe-3', fields: null, rtwsId: null, missing: true },
      metadata: bound,
    },
    `event:${CUSTOMER}:StripeCustomerFetched:stripe-3:a0`,
  ],
  [
    {
      type: 'CatalogueApplied',
      data: { intentId: 'apply-1', version: 3, kept: { name: 'Ada K' }, error: null },
      metadata: customer,
    },
    `event:${CUSTOMER}:CatalogueApplied:apply-1:a0`,
  ],
  [
    { type: 'RetryRequested', data: { target: 'salesforce' }, metadata: customer },
    `event:${CUSTOMER}:RetryRequested:salesforce:5`,
  ],
];

/** What this version writes: the earlier message with the format's version stamped. */
function stamped(message: Record<string, unknown>): Record<string, unknown> {
  const metadata = message.metadata as Record<string, unknown>;
  return { ...message, metadata: { ...metadata, schema: MESSAGE_SCHEMA } };
}

test('a customer event recorded by the earlier version decodes, and encodes back stamped', () => {
  for (const [message, msgId] of RECORDED) {
    const wire = JSON.parse(JSON.stringify(message)) as unknown;
    const parsed = checkRecordedEvent(wire, CUSTOMER, AT, { account: BINDING, livemode: true });
    assert.ok(parsed.ok, `${String(message.type)}: ${JSON.stringify(parsed)}`);
    if (!parsed.ok) continue;
    assert.equal(
      parsed.event,
      { type: message.type, data: message.data, at: AT },
      `${String(message.type)} keeps its { type, data }`,
    );
    const account = (message.metadata as { binding?: string }).binding;
    const binding = account === undefined ? undefined : { account };
    assert.equal(encodeRecordedEvent(CUSTOMER, parsed.event, binding), stamped(message));
    assert.is(recordedEventMsgId(CUSTOMER, { ...parsed.event, at: 5 }), msgId);
  }
});

test('a Stripe event carries the mode of its binding, and one of the other mode is skipped', () => {
  const event = {
    type: 'StripeCustomerCreated' as const,
    data: { intentId: 'stripe-1', externalId: 'cus_A1' },
    at: AT,
  };
  const wire = (livemode?: boolean) =>
    JSON.parse(
      JSON.stringify(
        encodeRecordedEvent(
          CUSTOMER,
          event,
          livemode === undefined ? { account: BINDING } : { account: BINDING, livemode },
        ),
      ),
    ) as { metadata: Record<string, unknown> };
  assert.equal(wire(false).metadata, {
    customer_id: CUSTOMER,
    binding: BINDING,
    binding_mode: 'test',
    schema: MESSAGE_SCHEMA,
  });
  const live = { account: BINDING, livemode: true };
  assert.ok(checkRecordedEvent(wire(true), CUSTOMER, AT, live).ok);
  const other = checkRecordedEvent(wire(false), CUSTOMER, AT, live);
  assert.equal(other, {
    ok: false,
    skip: true,
    reason: `recorded under Stripe account ${BINDING} (test mode); this database is bound to ${BINDING} (live mode)`,
  });
  const elsewhere = checkRecordedEvent(wire(true), CUSTOMER, AT, { account: 'acct_2' });
  assert.equal(elsewhere.ok ? undefined : elsewhere.skip, true, 'another account is skipped');
  // A stamp without the mode (an earlier version's), a binding whose mode is not known, and a mode
  // no version writes cannot be told apart: applied, as before modes were stamped.
  assert.ok(checkRecordedEvent(wire(), CUSTOMER, AT, live).ok);
  assert.ok(checkRecordedEvent(wire(false), CUSTOMER, AT, { account: BINDING }).ok);
  const odd = wire(true);
  odd.metadata.binding_mode = 'sandbox';
  assert.ok(checkRecordedEvent(odd, CUSTOMER, AT, live).ok);
});

test('a Salesforce observation holds for every Stripe binding, whatever its stamp', () => {
  const event = {
    type: 'SalesforceRecordMissing' as const,
    data: { recordId: '001A', policy: 'unlink' as const },
    at: AT,
  };
  const encoded = encodeRecordedEvent(CUSTOMER, event, { account: BINDING, livemode: false });
  // Stamped by an earlier version, which stamped every observation with the Stripe binding.
  const wire = JSON.parse(JSON.stringify(encoded)) as unknown;
  const parsed = checkRecordedEvent(wire, CUSTOMER, AT, { account: 'acct_2', livemode: true });
  assert.ok(parsed.ok, JSON.stringify(parsed));
});

test('a catalogue row seen with its Stripe id is of its binding; one without holds for all', () => {
  const row = (stripeId: string | null) => ({
    type: 'CatalogueRowObserved' as const,
    data: { fields: null, version: 0, updatedAt: null, knownVersion: 3, stripeId, runId: 7 },
    at: AT,
  });
  const testMode = { account: BINDING, livemode: false };
  const live = { account: BINDING, livemode: true };
  const wire = (stripeId: string | null) =>
    JSON.parse(JSON.stringify(encodeRecordedEvent(CUSTOMER, row(stripeId), testMode))) as unknown;
  const linked = checkRecordedEvent(wire('cus_Test'), CUSTOMER, AT, live);
  assert.equal(linked.ok ? undefined : linked.skip, true, 'a customer of the test key: skipped');
  assert.ok(checkRecordedEvent(wire(null), CUSTOMER, AT, live).ok);
});

test('an invoice event recorded by the earlier version decodes, and encodes back stamped', () => {
  const metadata = { invoice_id: INVOICE, customer_id: CUSTOMER };
  const recorded: [Record<string, unknown>, string][] = [
    [
      { type: 'StripeLinkMissing', data: { intentId: 'invoice-1', attempt: 2 }, metadata },
      `event:${INVOICE}:StripeLinkMissing:invoice-1:a2`,
    ],
    [
      { type: 'InvoiceRetryRequested', data: {}, metadata },
      `event:${INVOICE}:InvoiceRetryRequested:5`,
    ],
  ];
  for (const [message, msgId] of recorded) {
    const bytes = new TextEncoder().encode(JSON.stringify(message));
    const parsed = parseInvoiceMessage(bytes, INVOICE, AT);
    assert.ok(parsed.ok, `${String(message.type)}: ${JSON.stringify(parsed)}`);
    if (!parsed.ok) continue;
    assert.equal(parsed.event, { type: message.type, data: message.data, at: AT });
    const event = parsed.event as InvoiceRecordedEvent;
    assert.equal(encodeInvoiceEvent(INVOICE, CUSTOMER, event), stamped(message));
    assert.is(invoiceEventMsgId(INVOICE, { ...event, at: 5 }), msgId);
  }
});

test.run();
