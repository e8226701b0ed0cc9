// Every object the emulator returns has the key set of Stripe's example object for its resource.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fixture from './fixture-keys.ts';
import { raw, suiteEmulator } from './support.ts';

const { emu, stripe } = await suiteEmulator(test, { reset: false });

/**
 * Differences from the fixture, on purpose:
 * - webhook_endpoint: `secret` appears in the create response only, as Stripe documents.
 * No customer, invoice, invoice item, line item, event or deleted-object difference is allowed.
 * The fixture already has the current API's shapes: invoices without `paid`, `charge` and
 * `payment_intent` (gone since 2025-03-31) and with `parent`; customers without the optional
 * `customer_account`, `business_name` and `individual_name`, which the emulator omits too.
 */
const allowedExtra: Record<string, readonly string[]> = { webhookEndpoint: ['secret'] };

function keysOf(value: object): string[] {
  return Object.keys(value)
    .filter((k) => k !== 'lastResponse')
    .sort();
}

function assertShape(value: object, expected: readonly string[], name: string): void {
  const extra = allowedExtra[name] ?? [];
  assert.equal(
    keysOf(value).filter((k) => !extra.includes(k)),
    [...expected].sort(),
    name,
  );
}

test('customer, invoice, invoice item, line item, deleted objects, endpoint and events', async () => {
  const customer = await stripe.customers.create({
    email: 'shape@example.com',
    metadata: { a: 'b' },
  });
  assertShape(customer, fixture.customerKeys, 'customer');
  const updated = await stripe.customers.update(customer.id, { name: 'S' });
  assertShape(updated, fixture.customerKeys, 'customer');
  const invoice = await stripe.invoices.create({ customer: customer.id });
  assertShape(invoice, fixture.invoiceKeys, 'invoice');
  const item = await stripe.invoiceItems.create({
    customer: customer.id,
    amount: 100,
    currency: 'usd',
    invoice: invoice.id,
  });
  assertShape(item, fixture.invoiceItemKeys, 'invoiceItem');
  const finalized = await stripe.invoices.finalizeInvoice(invoice.id);
  assertShape(finalized, fixture.invoiceKeys, 'invoice');
  assertShape(finalized.lines.data[0]!, fixture.lineItemKeys, 'lineItem');
  assertShape(
    await stripe.invoices.pay(invoice.id, { paid_out_of_band: true }),
    fixture.invoiceKeys,
    'invoice',
  );
  const draft = await stripe.invoices.create({ customer: customer.id });
  const spare = await stripe.invoiceItems.create({
    customer: customer.id,
    amount: 1,
    currency: 'usd',
  });
  assertShape(
    await stripe.invoiceItems.del(spare.id),
    fixture.deletedInvoiceItemKeys,
    'deletedInvoiceItem',
  );
  assertShape(await stripe.invoices.del(draft.id), fixture.deletedInvoiceKeys, 'deletedInvoice');
  const endpoint = await stripe.webhookEndpoints.create({
    url: 'http://127.0.0.1:9/x',
    enabled_events: ['*'],
  });
  assertShape(endpoint, fixture.webhookEndpointKeys, 'webhookEndpoint');
  assertShape(
    await stripe.customers.del(customer.id),
    fixture.deletedCustomerKeys,
    'deletedCustomer',
  );
  assertShape(
    await stripe.customers.retrieve(customer.id),
    fixture.deletedCustomerKeys,
    'deletedCustomer',
  );
  const events = (await stripe.events.list({ limit: 100 })).data;
  assert.ok(events.length >= 10);
  const shapes: Record<string, readonly string[]> = {
    customer: fixture.customerKeys,
    invoice: fixture.invoiceKeys,
    invoiceitem: fixture.invoiceItemKeys,
  };
  for (const event of events) {
    assertShape(event, fixture.eventKeys, 'event');
    const object = event.data.object as { object: string };
    assertShape(object, shapes[object.object]!, object.object);
  }
});

test('list and search envelopes', async () => {
  const list = await raw(emu, 'GET', '/v1/customers');
  assert.equal(Object.keys(list.json).sort(), ['data', 'has_more', 'object', 'url']);
  const search = await raw(
    emu,
    'GET',
    `/v1/customers/search?query=${encodeURIComponent("name~'sha'")}`,
  );
  assert.equal(Object.keys(search.json).sort(), ['data', 'has_more', 'next_page', 'object', 'url']);
  const error = await raw(emu, 'GET', '/v1/customers/cus_none');
  assert.equal(Object.keys(error.json), ['error']);
  assert.is(error.json.error.type, 'invalid_request_error');
});

test.run();
