// The Stripe invoice event mapper: what an event says about an invoice, which types are ignored,
// and which bodies are malformed (without ever quoting them).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseInvoiceEvent } from '../../adapters/stripe/invoice-events.ts';

const invoice = (patch: Record<string, unknown> = {}) => ({
  id: 'in_1',
  object: 'invoice',
  status: 'open',
  customer: 'cus_1',
  currency: 'usd',
  total: 4250,
  created: 1_700_000_000,
  due_date: 1_700_000_000 + 10 * 86_400,
  metadata: { rtws_invoice_id: '0b7c51a2-8d5e-4a57-9a39-2f0c4d1e9b10' },
  number: 'ABC-0001',
  hosted_invoice_url: 'https://invoice.example/i/1',
  attempt_count: 0,
  lines: {
    data: [
      { description: 'Hours', amount: 3750, quantity: 3, pricing: { unit_amount_decimal: '1250' } },
      { description: null, amount: 500, quantity: 1, pricing: null },
      { description: 'Odd', amount: 1001, quantity: 2 },
    ],
  },
  ...patch,
});
const event = (type: string, object: unknown) =>
  new TextEncoder().encode(JSON.stringify({ id: 'evt_1', type, created: 1, data: { object } }));

test('a finalized event: ids, status, number, URL and a snapshot of the invoice', () => {
  const parsed = parseInvoiceEvent(event('invoice.finalized', invoice()));
  assert.is(parsed.kind, 'observed');
  if (parsed.kind !== 'observed') return;
  assert.equal(parsed.observation, {
    eventId: 'evt_1',
    eventType: 'invoice.finalized',
    stripeInvoiceId: 'in_1',
    stripeCustomerId: 'cus_1',
    rtwsInvoiceId: '0b7c51a2-8d5e-4a57-9a39-2f0c4d1e9b10',
    status: 'open',
    number: 'ABC-0001',
    hostedInvoiceUrl: 'https://invoice.example/i/1',
    note: undefined,
    snapshot: {
      currency: 'usd',
      total: 4250,
      dueDays: 10,
      metadata: { rtws_invoice_id: '0b7c51a2-8d5e-4a57-9a39-2f0c4d1e9b10' },
      items: [
        { description: 'Hours', amount: 1250, quantity: 3 },
        { description: '', amount: 500, quantity: 1 },
        // No whole unit price: the line is kept as one unit of its amount.
        { description: 'Odd', amount: 1001, quantity: 1 },
      ],
      createdAt: new Date(1_700_000_000_000),
    },
  });
});

test('the status comes from the snapshot; a failed payment adds a note', () => {
  const parsed = parseInvoiceEvent(event('invoice.payment_failed', invoice({ attempt_count: 2 })));
  assert.ok(parsed.kind === 'observed');
  if (parsed.kind !== 'observed') return;
  assert.is(parsed.observation.status, 'open');
  assert.is(parsed.observation.note, 'payment failed (attempt 2)');
});

test('an expanded customer, no metadata, no due date, no lines', () => {
  const parsed = parseInvoiceEvent(
    event(
      'invoice.created',
      invoice({
        customer: { id: 'cus_9' },
        metadata: {},
        due_date: null,
        lines: undefined,
        status: 'draft',
      }),
    ),
  );
  assert.ok(parsed.kind === 'observed');
  if (parsed.kind !== 'observed') return;
  const o = parsed.observation;
  assert.equal(
    [o.stripeCustomerId, o.rtwsInvoiceId, o.snapshot.dueDays, o.snapshot.items],
    ['cus_9', undefined, 0, []],
  );
});

test('other invoice events are ignored', () => {
  for (const type of [
    'invoice.updated',
    'invoice.sent',
    'invoice.payment_succeeded',
    'invoice.constructor',
  ])
    assert.equal(parseInvoiceEvent(event(type, invoice())), { kind: 'ignored', type });
});

test('a deleted draft is observed as deleted, with its note', () => {
  const parsed = parseInvoiceEvent(event('invoice.deleted', invoice({ status: 'draft' })));
  assert.is(parsed.kind, 'observed');
  if (parsed.kind !== 'observed') return;
  assert.is(parsed.observation.deleted, true);
  assert.is(parsed.observation.status, 'draft');
  assert.is(parsed.observation.note, 'the draft was deleted in Stripe');
  assert.is(parsed.observation.partialLines, undefined);
});

test('an event that embeds only the first page of the lines says so', () => {
  const lines = { data: invoice().lines.data, has_more: true };
  const parsed = parseInvoiceEvent(event('invoice.finalized', invoice({ lines })));
  assert.is(parsed.kind, 'observed');
  if (parsed.kind === 'observed') assert.is(parsed.observation.partialLines, true);
});

test('malformed bodies name the field and never quote the body', () => {
  const cases: [Uint8Array, RegExp][] = [
    [new TextEncoder().encode('{"secret@example.com'), /^the event is not JSON$/],
    [event('invoice.paid', invoice({ status: 'deleted' })), /^data\.object\.status/],
    [event('invoice.paid', invoice({ id: 'cus_1' })), /^data\.object\.id/],
    [event('invoice.paid', invoice({ total: -1 })), /^data\.object\.total/],
    [event('invoice.paid', invoice({ currency: 'USD' })), /^data\.object\.currency/],
    [
      event('invoice.paid', invoice({ metadata: { rtws_invoice_id: 'x' } })),
      /rtws_invoice_id: not an invoice id/,
    ],
  ];
  for (const [bytes, reason] of cases) {
    const parsed = parseInvoiceEvent(bytes);
    assert.is(parsed.kind, 'malformed');
    if (parsed.kind === 'malformed') {
      assert.match(parsed.reason, reason);
      assert.not.match(parsed.reason, /secret@/);
    }
  }
});

test.run();
