// The invoice subject's messages: outcomes round-trip through their wire form, each retry's outcome
// has its own dedupe id, and a malformed or foreign message is refused with a reason.
import { MESSAGE_SCHEMA } from '../../core/messages.ts';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  encodeInvoiceEvent,
  invoiceEventMsgId,
  parseInvoiceMessage,
  type InvoiceRecordedEvent,
} from '../../actors/invoice/index.ts';
import { CUSTOMER, INVOICE, REQUEST } from './gwt.ts';

const AT = 1_700_000_000_000;
const bytes = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

test('a recorded outcome comes back as the event it was, with the stream’s instant', () => {
  const event: InvoiceRecordedEvent = {
    type: 'StripeInvoiceFinalized',
    data: {
      intentId: 'invoice-4',
      status: 'open',
      number: 'ABC-0001',
      hostedInvoiceUrl: 'https://invoice.example/i/1',
    },
    at: 1,
  };
  const wire = encodeInvoiceEvent(INVOICE, CUSTOMER, event);
  assert.equal(wire.metadata, {
    invoice_id: INVOICE,
    customer_id: CUSTOMER,
    schema: MESSAGE_SCHEMA,
  });
  assert.equal(parseInvoiceMessage(bytes(wire), INVOICE, AT), {
    ok: true,
    event: { ...event, at: AT },
  });
});

test('the captured request parses; one for another invoice does not', () => {
  const message = {
    type: 'InvoiceRequested',
    data: { id: INVOICE, ...REQUEST },
    metadata: { origin: 'api', version: 1, outbox_id: 7, occurred_at: '2026-01-01T00:00:00Z' },
  };
  const parsed = parseInvoiceMessage(bytes(message), INVOICE, AT);
  assert.ok(parsed.ok);
  const foreign = parseInvoiceMessage(bytes(message), 'another-invoice', AT);
  assert.not.ok(foreign.ok);
});

test('each retry of the link lookup is recorded anew, a resend of one is not', () => {
  const missing = (attempt: number): InvoiceRecordedEvent => ({
    type: 'StripeLinkMissing',
    data: { intentId: 'invoice-1', attempt },
    at: AT + attempt,
  });
  assert.is.not(invoiceEventMsgId(INVOICE, missing(1)), invoiceEventMsgId(INVOICE, missing(2)));
  assert.is(
    invoiceEventMsgId(INVOICE, missing(2)),
    invoiceEventMsgId(INVOICE, { ...missing(2), at: AT + 99 }),
  );
});

test('malformed messages are refused with a reason', () => {
  const cases: [string, Uint8Array][] = [
    ['not JSON', new TextEncoder().encode('{nope')],
    ['not a { type, data, metadata } message', bytes({ type: 'StripeInvoiceDrafted' })],
    [
      'not a recorded invoice event',
      bytes({
        type: 'StripeInvoiceDrafted',
        data: { intentId: 'x' },
        metadata: { invoice_id: INVOICE },
      }),
    ],
    [
      'does not match',
      bytes({ type: 'InvoiceRetryRequested', data: {}, metadata: { invoice_id: 'other' } }),
    ],
    ['not an InvoiceRequested', bytes({ type: 'InvoiceRequested', data: {}, metadata: {} })],
  ];
  for (const [reason, data] of cases) {
    const parsed = parseInvoiceMessage(data, INVOICE, AT);
    assert.ok(!parsed.ok && parsed.reason.includes(reason), `${reason}: ${JSON.stringify(parsed)}`);
  }
  assert.not.ok(parseInvoiceMessage(bytes({}), 'not a key!', AT).ok);
});

test.run();
