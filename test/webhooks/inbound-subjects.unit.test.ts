// Where a verified Stripe event is stored: in the partition of the Stripe customer it is about, so
// that the worker holding that partition maps all of that customer's events, in order. The
// partitions' filters take in only their own subjects, and the shared filters of the subjects from
// before partitioning take in none of the new ones.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { stripeCustomerOf } from '../../adapters/stripe/event-customer.ts';
import {
  CUSTOMER_EVENTS,
  INVOICE_EVENTS,
  inboundDurables,
} from '../../adapters/jetstream/inbound-durables.ts';
import { names as subjectNames } from '../../core/subjects.ts';

const test = suite('inbound subjects');
const names = subjectNames('ns', 16);

/** NATS subject matching: `*` is one token, `>` one or more at the end. */
function matches(filter: string, subject: string): boolean {
  const f = filter.split('.');
  const s = subject.split('.');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '>') return s.length > i;
    if (i >= s.length || (f[i] !== '*' && f[i] !== s[i])) return false;
  }
  return f.length === s.length;
}

const customerEvent = {
  id: 'evt_1',
  type: 'customer.updated',
  data: { object: { id: 'cus_NffrFeUfNV2Hib', object: 'customer', name: 'Ada' } },
};
const invoiceEvent = {
  id: 'evt_2',
  type: 'invoice.paid',
  data: { object: { id: 'in_1', object: 'invoice', customer: 'cus_Q1w2E3r4T5y6U7' } },
};

test("a customer event goes to its customer's partition", () => {
  assert.is(stripeCustomerOf(customerEvent), 'cus_NffrFeUfNV2Hib');
  // FNV-1a of the id, modulo 16: pinned, since a customer must never move between releases.
  assert.is(
    names.inboundSubject('stripe', customerEvent.type, stripeCustomerOf(customerEvent)),
    'ns.inbound.stripe.customer.updated.p08',
  );
});

test("an invoice event goes to its invoice's customer's partition, expanded or not", () => {
  assert.is(stripeCustomerOf(invoiceEvent), 'cus_Q1w2E3r4T5y6U7');
  assert.is(
    names.inboundSubject('stripe', invoiceEvent.type, stripeCustomerOf(invoiceEvent)),
    'ns.inbound.stripe.invoice.paid.p02',
  );
  const expanded = {
    data: { object: { id: 'in_1', object: 'invoice', customer: { id: 'cus_Q1w2E3r4T5y6U7' } } },
  };
  assert.is(stripeCustomerOf(expanded), 'cus_Q1w2E3r4T5y6U7');
  const item = { data: { object: { id: 'ii_1', object: 'invoiceitem', customer: 'cus_X' } } };
  assert.is(stripeCustomerOf(item), 'cus_X');
});

test('an event that names no customer goes to partition 0', () => {
  for (const object of [{ id: 'in_1', object: 'invoice' }, { id: '', object: 'customer' }, null])
    assert.is(stripeCustomerOf({ data: { object } }), undefined);
  assert.is(
    names.inboundSubject('stripe', 'invoice.paid', undefined),
    'ns.inbound.stripe.invoice.paid.p00',
  );
});

test('each partition consumer takes its own events only; the shared ones take only the old subjects', () => {
  const customer = 'ns.inbound.stripe.customer.updated.p08';
  const invoice = 'ns.inbound.stripe.invoice.paid.p02';
  const item = 'ns.inbound.stripe.invoiceitem.created.p02';
  const subscription = 'ns.inbound.stripe.customer.subscription.created.p08';
  const [sharedCustomers, ...customerPartitions] = inboundDurables(names, CUSTOMER_EVENTS);
  const [sharedInvoices, ...invoicePartitions] = inboundDurables(names, INVOICE_EVENTS);
  assert.is(customerPartitions.length, 16);
  assert.is(customerPartitions[8]!.name, 'ns_INBOUND_customers_p08');
  assert.is(sharedCustomers!.name, 'ns_INBOUND_customers');
  const takers = (subject: string) =>
    [sharedCustomers!, sharedInvoices!, ...customerPartitions, ...invoicePartitions]
      .filter((d) => matches(d.filter, subject))
      .map((d) => d.name);
  assert.equal(takers(customer), ['ns_INBOUND_customers_p08']);
  assert.equal(takers(invoice), ['ns_INBOUND_invoices_p02']);
  assert.equal(takers(item), [], 'invoice items are not consumed');
  assert.equal(takers(subscription), [], 'a customer sub-object event is not a customer event');
  // Stored before partitioning: the shared durables, still running, take them.
  assert.equal(takers(names.legacyInboundSubject('stripe', 'customer.updated')), [
    'ns_INBOUND_customers',
  ]);
  assert.equal(takers(names.legacyInboundSubject('stripe', 'invoice.paid')), [
    'ns_INBOUND_invoices',
  ]);
});

test.run();
