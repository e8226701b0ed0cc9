// The invoice actor's link lookup against Postgres: a linked customer gives its Stripe customer;
// one not linked yet is waited for; one deleted (or erased) before it was linked fails the invoice
// at once, rather than leaving it looking for a link that will never come.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { InvoiceIntent } from '../../actors/invoice/index.ts';
import { linkOrGone } from '../../adapters/postgres/links.ts';
import { invoiceExecutors } from '../../deploy/wiring/invoices/invoice-executors.ts';
import { observe, testEnvironment, type Observer, type TestEnvironment } from '../harness/rtws.ts';

const test = suite<{ t: TestEnvironment; o: Observer }>('invoice link lookup');
test.before(async (ctx) => {
  ctx.t = await testEnvironment();
  ctx.o = await observe(ctx.t);
});
test.after(async (ctx) => {
  await ctx.o?.close();
  await ctx.t?.cleanup();
});

const T = 1_800_000_000_000;

function lookup(customerId: string): InvoiceIntent {
  return {
    id: 'invoice-1',
    type: 'FindStripeLink',
    target: 'links',
    key: null,
    attempt: 3,
    notBefore: T,
    recordedAt: T,
    params: { customerId },
  };
}

test('linked, not yet, or never: found, waited for, or failed', async ({ o }) => {
  const links = invoiceExecutors({
    stripeLinkOf: (id) => linkOrGone(o.sql, id, 'stripe'),
    now: () => T,
  }).links!;
  const customer = async (name: string) =>
    (await o.sql<{ id: string }[]>`INSERT INTO customers (name) VALUES (${name}) RETURNING id`)[0]!
      .id;
  const [linked, waiting, deleted, deletedLinked] = [
    await customer('Linked'),
    await customer('Waiting'),
    await customer('Deleted'),
    await customer('Deleted, linked'),
  ];
  await o.sql`
    INSERT INTO customer_links (customer_id, target, external_id)
    VALUES (${linked}, 'stripe', 'cus_linked'), (${deletedLinked}, 'stripe', 'cus_deleted_linked')`;
  await o.sql`UPDATE customers SET deleted_at = now() WHERE id IN (${deleted}, ${deletedLinked})`;
  const run = (id: string) => links.execute('inv', lookup(id), { decidedEarlier: false });
  assert.equal(await run(linked), {
    type: 'StripeLinkFound',
    data: { intentId: 'invoice-1', stripeCustomerId: 'cus_linked' },
    at: T,
  });
  assert.equal(await run(waiting), {
    type: 'StripeLinkMissing',
    data: { intentId: 'invoice-1', attempt: 3 },
    at: T,
  });
  assert.equal(await run(deleted), {
    type: 'InvoiceCallFailed',
    data: {
      intentId: 'invoice-1',
      failure: 'permanent',
      reason:
        'the customer was deleted before it was linked to Stripe: the invoice cannot be issued',
      attempt: 3,
    },
    at: T,
  });
  assert.is((await run(deletedLinked)).type, 'StripeLinkFound', 'its link stands');
});

test.run();
