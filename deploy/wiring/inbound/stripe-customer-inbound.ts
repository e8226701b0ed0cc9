// Stripe's customer events, from INBOUND onto the customer's own subject. Each verified event is
// mapped to our customer id (`mapStripeCustomer`: metadata.rtws_id, the link table, or a Stripe-born
// id) and republished as a `StripeCustomerObserved` fact, so that it is ordered with the customer's
// other facts and decided by its actor under its lease. The inbox of applied event ids is pruned
// here too, on a timer.
import type { JsMsg } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { DurablePublisher, Logger } from '../../../core/ports.ts';
import type { Names } from '../../../core/subjects.ts';
import type { DeadLetterSink } from '../../../core/worker-ports.ts';
import { encodeRecordedEvent } from '../../../actors/customer/outcome-message.ts';
import type { Sql } from '../../../adapters/postgres/connect.ts';
import { pruneInbox } from '../../../adapters/postgres/inbound-apply.ts';
import {
  mapStripeCustomer,
  type MappingRoute,
} from '../../../adapters/postgres/stripe-customer-id.ts';
import {
  parseCustomerEvent,
  type ParsedCustomerEvent,
} from '../../../adapters/stripe/customer-events.ts';
import { CUSTOMER_EVENTS } from '../../../adapters/jetstream/inbound-durables.ts';
import {
  startInboundConsumer,
  type InboundConsumer,
  type InboundDelivery,
  type InboundVerdict,
} from '../../../adapters/jetstream/inbound-consumer.ts';

export interface CustomerInboundOptions {
  nats: NatsConnection;
  names: Names;
  sql: Sql;
  log: Logger;
  deadLetters: DeadLetterSink;
  publisher: DurablePublisher;
  delivery?: InboundDelivery;
  /** Told which rule mapped each event. */
  onMapped?: (route: MappingRoute) => void;
  /** How long applied event ids stay in the inbox (at least Stripe's 3 days of retries). */
  inboxRetentionSeconds?: number;
  /** The Stripe account bound now, stamped on each mapped event. */
  binding?: () => string | undefined;
}

/** The inbox keeps event ids for the INBOUND stream's retention, and never less than this. */
export const MIN_INBOX_RETENTION_S = 7 * 86_400;
const PRUNE_EVERY_MS = 3_600_000;

const encoder = new TextEncoder();

export async function startCustomerInbound(o: CustomerInboundOptions): Promise<InboundConsumer> {
  const retention = Math.max(o.inboxRetentionSeconds ?? 0, MIN_INBOX_RETENTION_S);
  const prune = () =>
    pruneInbox(o.sql, retention).then(
      (n) => n > 0 && o.log.info({ removed: n }, 'inbox pruned'),
      (err: unknown) => o.log.warn({ err }, 'inbox pruning failed; will try again'),
    );
  const pruning = setInterval(() => void prune(), PRUNE_EVERY_MS);
  pruning.unref();
  const consumer = await consumeCustomerEvents(o).catch((err: unknown) => {
    clearInterval(pruning);
    throw err;
  });
  return {
    async stop() {
      clearInterval(pruning);
      await consumer.stop();
    },
  };
}

function consumeCustomerEvents(o: CustomerInboundOptions): Promise<InboundConsumer> {
  // Each event is read once: for its key (the Stripe customer it is about), then for handling.
  const read = new WeakMap<JsMsg, ParsedCustomerEvent>();
  const parse = (m: JsMsg) => {
    let parsed = read.get(m);
    if (!parsed) read.set(m, (parsed = parseCustomerEvent(m.data)));
    return parsed;
  };
  const handle = async (m: JsMsg): Promise<InboundVerdict> => {
    const parsed = parse(m);
    if (!parsed.ok) return { deadLetter: parsed.reason };
    const { observed } = parsed;
    const { customerId, route } = await mapStripeCustomer(
      o.sql,
      observed.data.stripeId,
      observed.data.rtwsId,
    );
    const message = encodeRecordedEvent(customerId, { ...observed, at: 0 }, o.binding?.());
    await o.publisher.publish(
      o.names.customerSubject(customerId),
      encoder.encode(JSON.stringify(message)),
      `stripe:${observed.data.eventId}`,
    );
    o.onMapped?.(route);
    o.log.debug(
      {
        event_id: observed.data.eventId,
        type: observed.data.eventType,
        customer_id: customerId,
        route,
      },
      'stripe customer event mapped',
    );
    return { done: true };
  };
  return startInboundConsumer({
    nats: o.nats,
    names: o.names,
    log: o.log.child({ consumer: 'stripe-customers' }),
    deadLetters: o.deadLetters,
    ...CUSTOMER_EVENTS,
    // Events of different Stripe customers are mapped at once; one customer's keep their order.
    concurrency: 32,
    keyOf: (m) => {
      const parsed = parse(m);
      return parsed.ok ? parsed.observed.data.stripeId : '';
    },
    ...(o.delivery ? { delivery: o.delivery } : {}),
    handle,
  });
}
