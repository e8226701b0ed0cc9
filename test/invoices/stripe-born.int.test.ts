// Invoices created in Stripe directly are recorded against the linked customer with origin
// `stripe` (and never captured for issuing); one whose customer is linked late is retried until it
// is; events that can never apply go to the DLQ while the consumer goes on.
import { jetstream } from '@nats-io/jetstream';
import Stripe from 'stripe';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { getInvoice, listCustomerInvoices } from '../../adapters/postgres/invoices.ts';
import { recordLink } from '../../adapters/postgres/links.ts';
import { eventually } from '../harness/stream.ts';
import { deliver, eventBody, sign } from '../webhooks/support.ts';
import {
  MAX_DELIVER,
  deadLetters,
  drained,
  issuedInvoice,
  linkedCustomer,
  startInboundStack,
  type InboundStack,
} from './inbound-stack.ts';
import { stripeCustomerOf } from '../../adapters/stripe/event-customer.ts';
import { partitionOf, partitionToken } from '../../core/subjects.ts';

const test = suite<{ s: InboundStack }>('invoices created in Stripe');

test.before(async (ctx) => {
  ctx.s = await startInboundStack();
});
test.after(async (ctx) => {
  await ctx.s?.close();
});

/** An invoice made in the Stripe dashboard: no rtws metadata; two lines, finalized. */
async function dashboardInvoice(s: InboundStack, stripeCustomer: string): Promise<Stripe.Invoice> {
  const draft = await s.stripe.invoices.create({
    customer: stripeCustomer,
    collection_method: 'send_invoice',
    days_until_due: 10,
    metadata: { source: 'dashboard' },
  });
  await s.stripe.invoiceItems.create({
    customer: stripeCustomer,
    invoice: draft.id,
    currency: 'usd',
    unit_amount_decimal: Stripe.Decimal.from('1250'),
    quantity: 3,
    description: 'Hours',
  });
  await s.stripe.invoiceItems.create({
    customer: stripeCustomer,
    invoice: draft.id,
    currency: 'usd',
    amount: 500,
    description: 'Fee',
  });
  return s.stripe.invoices.finalizeInvoice(draft.id);
}

async function listOf(s: InboundStack, customerId: string) {
  return (await listCustomerInvoices(s.o.sql, customerId)).data;
}

test("an invoice created in Stripe appears in its customer's list, with origin stripe, and follows Stripe", async (ctx) => {
  const customer = await linkedCustomer(ctx.s, 'Dashboard');
  const ours = await issuedInvoice(ctx.s, customer);
  const theirs = await dashboardInvoice(ctx.s, customer.stripeId);
  await ctx.s.emu.flushWebhooks();
  const list = await eventually(
    () => listOf(ctx.s, customer.id),
    (l) => l.length === 2 && l.every((i) => i.status === 'open'),
    30_000,
    50,
  );
  assert.equal(
    list.map((i) => i.stripe_invoice_id).sort(),
    [ours.stripeInvoice.id, theirs.id].sort(),
  );
  const recorded = list.find((i) => i.stripe_invoice_id === theirs.id)!;
  assert.equal(
    { ...recorded, id: '', history: [], created_at: '', updated_at: '' },
    {
      id: '',
      object: 'invoice',
      customer_id: customer.id,
      status: 'open',
      currency: 'usd',
      total: 3 * 1250 + 500,
      items: [
        { description: 'Hours', amount: 1250, quantity: 3 },
        { description: 'Fee', amount: 500, quantity: 1 },
      ],
      due_days: 10,
      metadata: { source: 'dashboard' },
      origin: 'stripe',
      stripe_invoice_id: theirs.id,
      number: theirs.number,
      hosted_invoice_url: theirs.hosted_invoice_url ?? null,
      former_stripe_account: null,
      last_error: null,
      history: [],
      created_at: '',
      updated_at: '',
    },
  );
  assert.ok(recorded.history.every((h) => h.origin === 'stripe'));
  const [captured] = await ctx.s.o.sql<{ n: number }[]>`
    SELECT count(*)::int AS n FROM outbox WHERE aggregate = 'invoice' AND aggregate_id = ${recorded.id}`;
  assert.is(captured!.n, 0, 'rtws never issues it again');
  await ctx.s.stripe.invoices.pay(theirs.id, { paid_out_of_band: true });
  await ctx.s.emu.flushWebhooks();
  const paid = await eventually(
    () => getInvoice(ctx.s.o.sql, recorded.id),
    (i) => i.status === 'paid',
    30_000,
    50,
  );
  assert.is(paid.status, 'paid');
  assert.is((await listOf(ctx.s, customer.id)).length, 2, 'recorded once');
});

test('a Stripe customer linked late: its invoice is retried until the link exists', async (ctx) => {
  const [row] = await ctx.s.o.sql<
    { id: string }[]
  >`INSERT INTO customers (name) VALUES ('Late') RETURNING id`;
  const stripeCustomer = await ctx.s.stripe.customers.create({ name: 'Late' });
  const theirs = await dashboardInvoice(ctx.s, stripeCustomer.id);
  await ctx.s.emu.flushWebhooks();
  await new Promise((r) => setTimeout(r, 150));
  assert.equal(await listOf(ctx.s, row!.id), [], 'nothing while unlinked');
  await recordLink(ctx.s.o.sql, row!.id, 'stripe', stripeCustomer.id);
  const list = await eventually(
    () => listOf(ctx.s, row!.id),
    (l) => l[0]?.status === 'open',
    30_000,
    50,
  );
  assert.is(list[0]?.stripe_invoice_id, theirs.id);
  assert.equal(
    (await deadLetters(ctx.s)).filter((d) => d.reason.includes(stripeCustomer.id)),
    [],
  );
});

test('a Stripe customer never linked: the event is dead-lettered after its last delivery', async (ctx) => {
  const stripeCustomer = await ctx.s.stripe.customers.create({ name: 'Stranger' });
  await dashboardInvoice(ctx.s, stripeCustomer.id);
  await ctx.s.emu.flushWebhooks();
  const letters = await eventually(
    () => deadLetters(ctx.s),
    (d) => d.filter((l) => l.reason.includes(stripeCustomer.id)).length >= 2,
    30_000,
    50,
  );
  const mine = letters.filter((l) => l.reason.includes(stripeCustomer.id));
  const p = partitionToken(partitionOf(stripeCustomer.id, ctx.s.t.names.partitions));
  assert.equal(mine.map((l) => l.subject.split('.inbound.stripe.')[1]).sort(), [
    `invoice.created.${p}`,
    `invoice.finalized.${p}`,
  ]);
  assert.ok(mine.every((l) => l.deliveries === MAX_DELIVER && l.source === 'stripe-invoices'));
  assert.match(mine[0]!.reason, /not linked/);
});

test('malformed events and events naming an unknown invoice go to the DLQ, and the consumer goes on', async (ctx) => {
  const before = (await deadLetters(ctx.s)).length;
  const bad = [
    eventBody({
      type: 'invoice.paid',
      data: {
        object: {
          id: 'in_nostatus',
          object: 'invoice',
          customer: 'cus_x',
          currency: 'usd',
          total: 1,
          created: 1,
        },
      },
    }),
    eventBody({
      type: 'invoice.paid',
      data: {
        object: {
          id: 'in_badmeta',
          object: 'invoice',
          status: 'paid',
          customer: 'cus_x',
          currency: 'usd',
          total: 1,
          created: 1,
          metadata: { rtws_invoice_id: 'nope' },
        },
      },
    }),
    eventBody({
      type: 'invoice.paid',
      data: {
        object: {
          id: 'in_unknown',
          object: 'invoice',
          status: 'paid',
          customer: 'cus_x',
          currency: 'usd',
          total: 1,
          created: 1,
          metadata: { rtws_invoice_id: '00000000-0000-4000-8000-000000000000' },
        },
      },
    }),
  ];
  for (const payload of bad)
    assert.is((await deliver(ctx.s.receiver.app, payload, sign(payload))).statusCode, 200);
  // Not applied, and ignored types are acked without a letter.
  const ignored = eventBody({
    type: 'invoice.updated',
    data: { object: { id: 'in_x', object: 'invoice' } },
  });
  assert.is((await deliver(ctx.s.receiver.app, ignored, sign(ignored))).statusCode, 200);
  const letters = await eventually(
    () => deadLetters(ctx.s),
    (d) => d.length >= before + 3,
    30_000,
    50,
  );
  const reasons = letters.slice(before).map((l) => l.reason);
  assert.is(reasons.length, 3);
  assert.ok(
    reasons.some((r) => /^malformed: data\.object\.status/.test(r)),
    reasons.join(' | '),
  );
  assert.ok(
    reasons.some((r) => /^malformed: data\.object\.metadata\.rtws_invoice_id/.test(r)),
    reasons.join(' | '),
  );
  assert.ok(
    reasons.some((r) => /does not exist/.test(r)),
    reasons.join(' | '),
  );
  assert.ok(
    letters.slice(before).every((l) => l.deliveries === 1),
    'given up at once: a retry cannot help',
  );
  // The consumer is still going: a real invoice after them is applied.
  const customer = await linkedCustomer(ctx.s, 'After');
  const { invoice } = await issuedInvoice(ctx.s, customer);
  await ctx.s.emu.flushWebhooks();
  const open = await eventually(
    () => getInvoice(ctx.s.o.sql, invoice.id),
    (i) => i.status === 'open',
    30_000,
    50,
  );
  assert.is(open.status, 'open');
  await drained(ctx.s);
});

test('two events of one new Stripe invoice handled at once record it once', async (ctx) => {
  const customer = await linkedCustomer(ctx.s, 'Racing');
  ctx.s.emu.pauseWebhooks();
  let theirs: Stripe.Invoice;
  try {
    theirs = await dashboardInvoice(ctx.s, customer.stripeId);
  } finally {
    ctx.s.emu.resumeWebhooks();
  }
  const js = jetstream(ctx.s.o.nats);
  const events = (await ctx.s.stripe.events.list({ type: 'invoice.*', limit: 100 })).data.filter(
    (e) => (e.data.object as { id?: string }).id === theirs.id,
  );
  // Each event published several times under new ids, as after redeliveries to many workers.
  await Promise.all(
    [1, 2, 3].flatMap((n) =>
      events.map((e) =>
        js.publish(
          ctx.s.t.names.inboundSubject('stripe', e.type, stripeCustomerOf(e)),
          JSON.stringify(e),
          {
            msgID: `race-${n}-${e.id}`,
          },
        ),
      ),
    ),
  );
  await ctx.s.emu.flushWebhooks();
  await drained(ctx.s);
  const list = await listOf(ctx.s, customer.id);
  assert.is(list.length, 1);
  assert.is(list[0]!.status, 'open');
  assert.is(list[0]!.total, theirs.total);
});

test.run();
