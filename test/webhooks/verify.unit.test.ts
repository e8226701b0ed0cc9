// The verification helpers on their own: any change to the signed bytes is refused, rotation
// works in either order, and the type filter and the api_version watch behave.
import fc from 'fast-check';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  MalformedWebhookError,
  WebhookSignatureError,
  apiVersionWatch,
  isHandledEventType,
  verifyStripeWebhook,
} from '../../adapters/stripe/webhooks.ts';
import { eventBody, recordingLogger, ROTATED_SECRET, SECRET, sign } from './signing.ts';

const test = suite('webhook verification helpers');

test('a verified body yields its envelope, with either secret first', () => {
  const payload = eventBody({ type: 'invoice.finalized' });
  for (const secrets of [
    [SECRET, ROTATED_SECRET],
    [ROTATED_SECRET, SECRET],
  ]) {
    const event = verifyStripeWebhook(Buffer.from(payload), sign(payload), secrets);
    assert.is(event.type, 'invoice.finalized');
    assert.match(event.id, /^evt_/);
  }
});

test('flipping any byte of the body breaks the signature or the JSON, never passes', () => {
  const payload = eventBody();
  const header = sign(payload);
  fc.assert(
    fc.property(
      fc.nat({ max: payload.length - 1 }),
      fc.integer({ min: 1, max: 255 }),
      (at, xor) => {
        const raw = Buffer.from(payload);
        raw[at] = raw[at]! ^ xor;
        assert.throws(
          () => verifyStripeWebhook(raw, header, [SECRET]),
          (e: Error) => e instanceof WebhookSignatureError,
        );
      },
    ),
    { numRuns: 200 },
  );
});

test('a signed thin event notification is malformed, not a signature failure', () => {
  const payload = JSON.stringify({
    id: 'evt_thin',
    object: 'v2.core.event',
    type: 'v1.customer.updated',
  });
  assert.throws(
    () => verifyStripeWebhook(Buffer.from(payload), sign(payload), [SECRET]),
    (e: Error) => e instanceof MalformedWebhookError,
  );
});

test('customer, invoice and invoice item events are handled; others are not', () => {
  for (const t of [
    'customer.created',
    'customer.deleted',
    'invoice.paid',
    'invoice.payment_failed',
  ]) {
    assert.ok(isHandledEventType(t), t);
  }
  for (const t of [
    'charge.succeeded',
    'customers.created',
    'invoices.paid',
    'payment_intent.created',
    // Read by no consumer, so not stored.
    'invoiceitem.created',
    'customer.source.created',
    'customer.subscription.updated',
  ]) {
    assert.not.ok(isHandledEventType(t), t);
  }
});

test('the api_version watch warns once per version and remembers a bounded number', () => {
  const log = recordingLogger();
  const watch = apiVersionWatch('2026-10-28.endive', log, 2);
  const event = (api_version: string | null) => ({
    id: 'evt_1',
    type: 'customer.updated',
    created: 1,
    api_version,
    data: { object: {} },
  });
  for (const v of ['2026-10-28.endive', null, 'a', 'a', 'b', 'c', 'a']) watch(event(v));
  assert.equal(
    log.lines.map((l) => [l.level, (l.obj as { api_version: string }).api_version]),
    [
      ['warn', 'a'],
      ['warn', 'b'],
    ],
  );
});

test.run();
