// Stripe's invoice events, from INBOUND to Postgres: a partition's on the worker that holds it, and
// those stored before partitioning on the shared durable. A malformed event, or one that can never
// apply, goes to the DLQ at once; our own failures, and a Stripe customer that is not linked yet,
// are retried with a growing delay and dead-lettered on the last delivery.
import type { StripeStamp } from '../../../adapters/jetstream/inbound.ts';
import { jetstreamManager, type JsMsg } from '@nats-io/jetstream';
import type Stripe from 'stripe';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from '../../../core/ports.ts';
import type { Names } from '../../../core/subjects.ts';
import type { DeadLetterSink } from '../../../core/worker-ports.ts';
import type { BackoffPolicy } from '../../../core/policy/backoff.ts';
import type { Sql } from '../../../adapters/postgres/connect.ts';
import { applyStripeInvoiceEvent } from '../../../adapters/postgres/invoices.ts';
import {
  InvoiceEventRejectedError,
  StripeCustomerNotLinkedError,
} from '../../../adapters/postgres/invoice-stripe-events.ts';
import { isErasedExternal } from '../../../adapters/postgres/erasures.ts';
import { parseInvoiceEvent } from '../../../adapters/stripe/invoice-events.ts';
import { stripeCustomerOf } from '../../../adapters/stripe/event-customer.ts';
import { invoiceItemsOf } from '../../../adapters/stripe/invoice-lines.ts';
import type { StripeInvoiceObservation } from '../../../core/invoice.ts';
import { INVOICE_EVENTS } from '../../../adapters/jetstream/inbound-durables.ts';
import {
  startInboundConsumer,
  type InboundDelivery,
  type InboundVerdict,
} from '../../../adapters/jetstream/inbound-consumer.ts';
import { KeyedQueue } from '../../../core/keyed-queue.ts';
import type { InboundKind } from '../inbound/inbound-partitions.ts';

export interface InvoiceInboundOptions {
  nats: NatsConnection;
  names: Names;
  sql: Sql;
  log: Logger;
  deadLetters: DeadLetterSink;
  /** Reads the lines an event leaves out (Stripe embeds only the first page of them). */
  stripe?: Stripe;
  delivery?: InboundDelivery;
  /** Nak delays; by default long enough for a new Stripe customer's link to be recorded. */
  retry?: BackoffPolicy;
  /** The Stripe account and mode bound now (see `InboundConsumerOptions.boundAccount`). */
  accountStamp?: () => StripeStamp | undefined;
  accountStampNow?: () => Promise<StripeStamp | undefined>;
}

/**
 * The consumers of invoice events on a worker: one per partition it holds, and the shared one.
 * One event at a time across them all, in stream order within each.
 */
export function invoiceInbound(o: InvoiceInboundOptions): InboundKind {
  const queue = new KeyedQueue({ concurrency: 1, maxQueued: 1 });
  return {
    durable: INVOICE_EVENTS,
    consumer: (partition) =>
      startInboundConsumer({
        nats: o.nats,
        names: o.names,
        log: partition === undefined ? o.log : o.log.child({ partition }),
        deadLetters: o.deadLetters,
        ...INVOICE_EVENTS,
        ...(partition === undefined ? {} : { partition }),
        queue,
        ...(o.delivery ? { delivery: o.delivery } : {}),
        ...(o.retry ? { retry: o.retry } : {}),
        ...(o.accountStamp ? { boundAccount: o.accountStamp } : {}),
        ...(o.accountStampNow ? { boundAccountNow: o.accountStampNow } : {}),
        handle: (m) => handleInvoiceEvent(o, m),
      }),
  };
}

async function handleInvoiceEvent(o: InvoiceInboundOptions, m: JsMsg): Promise<InboundVerdict> {
  const parsed = parseInvoiceEvent(m.data);
  if (parsed.kind === 'malformed') return { deadLetter: `malformed: ${parsed.reason}` };
  if (parsed.kind === 'ignored') {
    // Not applied, but stored: an erased customer's is not kept.
    const raw = m.json<{ id?: string; data?: { object?: unknown } }>();
    const about = stripeCustomerOf(raw);
    if (about !== undefined && (await isErasedExternal(o.sql, 'stripe', about)))
      await dropErasedEvent(o, m, raw.id ?? '', parsed.type);
    return { done: true };
  }
  const { eventId, eventType } = parsed.observation;
  try {
    const observation = await withAllLines(o, parsed.observation);
    const outcome = await applyStripeInvoiceEvent(o.sql, observation);
    // An erased customer's invoice stays as an accounting record, and takes its status; the event,
    // which quotes the customer's name, email and address, is not kept in INBOUND.
    if (await isErasedExternal(o.sql, 'stripe', observation.stripeCustomerId))
      await dropErasedEvent(o, m, eventId, eventType);
    o.log.debug(
      { seq: m.seq, event_id: eventId, type: eventType, outcome },
      'invoice event applied',
    );
    return { done: true };
  } catch (err) {
    if (err instanceof InvoiceEventRejectedError)
      return { deadLetter: `${err.name}: ${err.message}` };
    if (
      err instanceof StripeCustomerNotLinkedError &&
      (await isErasedExternal(o.sql, 'stripe', parsed.observation.stripeCustomerId))
    ) {
      // Nothing brings an erased customer back, and nothing of it stays in INBOUND.
      await dropErasedEvent(o, m, eventId, eventType);
      return { done: true };
    }
    throw err;
  }
}

async function dropErasedEvent(
  o: InvoiceInboundOptions,
  m: JsMsg,
  eventId: string,
  eventType: string,
): Promise<void> {
  await (
    await jetstreamManager(o.nats)
  ).streams.deleteMessage(o.names.streams.inbound, m.seq, true);
  o.log.info({ event_id: eventId, type: eventType }, 'invoice event of an erased customer removed');
}

/**
 * The observation with every line of the invoice. Only an invoice created in Stripe takes its items
 * from Stripe (ours were requested through rtws), so only its lines are read, a page at a time.
 */
async function withAllLines(
  o: InvoiceInboundOptions,
  e: StripeInvoiceObservation,
): Promise<StripeInvoiceObservation> {
  if (!e.partialLines || e.rtwsInvoiceId !== undefined || e.deleted) return e;
  if (!o.stripe) throw new Error(`${e.stripeInvoiceId} has more lines than its event carries`);
  const items = await invoiceItemsOf(o.stripe, e.stripeInvoiceId);
  return { ...e, snapshot: { ...e.snapshot, items } };
}
