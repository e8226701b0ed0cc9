// The inbound invoice path for a suite: the Stripe emulator delivering to the real webhook route,
// which stores events in INBOUND, and the invoice consumers (the shared one and every partition's,
// as the workers together run them) applying them to Postgres. Invoices are
// issued in the emulator through the official SDK, as rtws's invoice actor issues them.
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import Stripe from 'stripe';
import { silentLogger } from '../../core/ports.ts';
import type { Invoice, InvoiceCreateBody } from '../../core/invoice.ts';
import { inboundPublisher } from '../../adapters/jetstream/inbound.ts';
import { jetStreamDeadLetters } from '../../adapters/jetstream/dead-letters.ts';
import { deadLetterQueue, type DlqEntry } from '../../adapters/jetstream/dlq.ts';
import { createInvoice, getInvoice } from '../../adapters/postgres/invoices.ts';
import { recordLink } from '../../adapters/postgres/links.ts';
import { stripeClient } from '../../adapters/stripe/client.ts';
import { startStripeEmulator, type StripeEmulator } from '../../adapters/emulators/stripe/index.ts';
import type { InboundConsumer } from '../../adapters/jetstream/inbound-consumer.ts';
import { inboundDurables, INVOICE_EVENTS } from '../../adapters/jetstream/inbound-durables.ts';
import { invoiceInbound } from '../../deploy/wiring/invoices/invoice-inbound.ts';
import { observe, testEnvironment, type Observer, type TestEnvironment } from '../harness/rtws.ts';
import { eventually, waitFor } from '../harness/stream.ts';
import { SECRET, startReceiver, type Receiver } from '../webhooks/support.ts';

export interface InboundStack {
  t: TestEnvironment;
  o: Observer;
  receiver: Receiver;
  emu: StripeEmulator;
  stripe: Stripe;
  inbound: InboundConsumer;
  close(): Promise<void>;
}

/** Deliveries before the DLQ, kept small so that the give-up cases finish in a second or two. */
export const MAX_DELIVER = 4;

export async function startInboundStack(): Promise<InboundStack> {
  const t = await testEnvironment();
  const o = await observe(t);
  const receiver = await startReceiver(
    { names: t.names, publish: inboundPublisher(jetstream(o.nats)) },
    true,
  );
  const emu = await startStripeEmulator({
    port: 0,
    searchLagMs: 0,
    webhookRetryScheduleMs: [200, 200],
  });
  emu.registerWebhookEndpoint(receiver.url, SECRET);
  const stripe = stripeClient({ secretKey: 'sk_test_invoices', apiBase: emu.url });
  const kind = invoiceInbound({
    stripe,
    nats: o.nats,
    names: t.names,
    sql: o.sql,
    log: silentLogger,
    deadLetters: jetStreamDeadLetters(jetstream(o.nats), t.names),
    delivery: { ackWaitMs: 5_000, maxDeliver: MAX_DELIVER },
    retry: { baseMs: 100, factor: 2, capMs: 400, jitter: 0 },
  });
  const consumers = await Promise.all(
    [undefined, ...Array.from({ length: t.names.partitions }, (_, p) => p)].map((p) =>
      kind.consumer(p),
    ),
  );
  const inbound: InboundConsumer = {
    stop: async () => void (await Promise.all(consumers.map((c) => c.stop()))),
  };
  return {
    t,
    o,
    receiver,
    emu,
    stripe,
    inbound,
    async close() {
      await emu.close();
      await receiver.close();
      await inbound.stop();
      await o.close();
      await t.cleanup();
    },
  };
}

/** A customer in Postgres and in Stripe, linked, as the customer actor leaves them. */
export async function linkedCustomer(
  s: InboundStack,
  name: string,
): Promise<{ id: string; stripeId: string }> {
  const [row] = await s.o.sql<
    { id: string }[]
  >`INSERT INTO customers (name) VALUES (${name}) RETURNING id`;
  const stripeCustomer = await s.stripe.customers.create({ name });
  await recordLink(s.o.sql, row!.id, 'stripe', stripeCustomer.id);
  return { id: row!.id, stripeId: stripeCustomer.id };
}

export const REQUEST: InvoiceCreateBody = {
  currency: 'usd',
  items: [
    { description: 'Seats', amount: 1_500, quantity: 4 },
    { description: 'Setup', amount: 9_900 },
  ],
  due_days: 15,
};

/** Requests an invoice in rtws and issues it in Stripe (draft, items, finalize), as the actor does. */
export async function issuedInvoice(
  s: InboundStack,
  customer: { id: string; stripeId: string },
): Promise<{ invoice: Invoice; stripeInvoice: Stripe.Invoice }> {
  const { invoice } = await createInvoice(s.o.sql, customer.id, REQUEST);
  const draft = await s.stripe.invoices.create({
    customer: customer.stripeId,
    currency: invoice.currency,
    collection_method: 'send_invoice',
    days_until_due: invoice.due_days,
    auto_advance: false,
    metadata: { rtws_invoice_id: invoice.id },
  });
  for (const item of invoice.items) {
    await s.stripe.invoiceItems.create({
      customer: customer.stripeId,
      invoice: draft.id,
      currency: invoice.currency,
      unit_amount_decimal: Stripe.Decimal.from(String(item.amount)),
      quantity: item.quantity,
      description: item.description,
    });
  }
  const stripeInvoice = await s.stripe.invoices.finalizeInvoice(draft.id);
  return { invoice, stripeInvoice };
}

/** Waits until every webhook is delivered and the invoice (read from Postgres) passes `check`. */
export async function settled(
  s: InboundStack,
  id: string,
  check: (i: Invoice) => boolean,
): Promise<Invoice> {
  await s.emu.flushWebhooks();
  return eventually(() => getInvoice(s.o.sql, id), check, 30_000, 50);
}

export async function deadLetters(s: InboundStack): Promise<DlqEntry[]> {
  const dlq = await deadLetterQueue(s.o.nats, s.t.names);
  return (await dlq.list(100)).data;
}

/** Waits until the invoice consumers have handled (acked) everything in INBOUND. */
export async function drained(s: InboundStack): Promise<void> {
  const jsm = await jetstreamManager(s.o.nats);
  const stream = s.t.names.streams.inbound;
  const durables = inboundDurables(s.t.names, INVOICE_EVENTS);
  await waitFor(
    () => Promise.all(durables.map((d) => jsm.consumers.info(stream, d.name))),
    (all) => all.every((i) => i.num_pending === 0 && i.num_ack_pending === 0),
    30_000,
    50,
  );
}

/** Stripe's events about one invoice, oldest first, as the emulator recorded them. */
export async function eventsOf(s: InboundStack, stripeInvoiceId: string): Promise<Stripe.Event[]> {
  const all = await s.stripe.events.list({ type: 'invoice.*', limit: 100 });
  return all.data
    .filter((e) => (e.data.object as { id?: string }).id === stripeInvoiceId)
    .reverse();
}
