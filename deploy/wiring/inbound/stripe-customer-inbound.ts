// Stripe's customer events, from INBOUND onto the customer's own subject. Each verified event is
// mapped to our customer id and republished as a `StripeCustomerObserved` fact, so that it is
// ordered with the customer's other facts and decided by its actor under its lease. The mapping:
// - `metadata.rtws_id`, trusted only when the link table agrees or has no link for that Stripe id
//   (and the customer it names is not linked to another Stripe customer);
// - else the link table;
// - else the customer is Stripe-born: its id is derived from the Stripe id, the same whichever of
//   its events comes first.
import { Type } from '@sinclair/typebox';
import { v5 as uuidv5 } from 'uuid';
import { Value } from '@sinclair/typebox/value';
import { Nullable } from '../../../core/nullable.ts';
import type { JsMsg } from '@nats-io/jetstream';
import type Stripe from 'stripe';
import type { DurablePublisher, Logger } from '../../../core/ports.ts';
import type { Names } from '../../../core/subjects.ts';
import type { DeadLetterSink } from '../../../core/worker-ports.ts';
import type { NatsConnection } from '@nats-io/transport-node';
import {
  STRIPE_CUSTOMER_EVENT_TYPES,
  type StripeCustomerObserved,
} from '../../../actors/customer/index.ts';
import { encodeRecordedEvent } from '../../../actors/customer/outcome-message.ts';
import type { Sql } from '../../../adapters/postgres/connect.ts';
import { customerForExternalId, linkOf } from '../../../adapters/postgres/links.ts';
import { pruneInbox } from '../../../adapters/postgres/inbound-apply.ts';
import { fieldsOf } from '../../../adapters/stripe/mapper.ts';
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

/** The mapping consumer's durable: `<INBOUND stream>_customers`. */
export const CUSTOMER_INBOUND_DURABLE = 'customers';

/** Which rule named the customer. */
export type MappingRoute = 'rtws_id' | 'link' | 'stripe_born';

const Text = Type.Optional(Nullable(Type.String()));
/** The parts of a Stripe customer rtws reads, with the types Stripe sends. */
const CustomerObject = Type.Object({
  id: Type.String({ minLength: 1 }),
  object: Type.Literal('customer'),
  name: Text,
  email: Text,
  phone: Text,
  address: Type.Optional(
    Nullable(
      Type.Object({
        line1: Text,
        line2: Text,
        city: Text,
        state: Text,
        postal_code: Text,
        country: Text,
      }),
    ),
  ),
  metadata: Type.Optional(Nullable(Type.Record(Type.String(), Type.String()))),
});

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const HANDLED = new Set<string>(STRIPE_CUSTOMER_EVENT_TYPES);
const decoder = new TextDecoder('utf-8', { fatal: true });
const encoder = new TextEncoder();

/**
 * The ids of Stripe-born customers were first made by hashing `rtws:stripe-customer:<Stripe id>`
 * with no namespace. A version 5 UUID hashes its namespace's 16 bytes and then the name, so the
 * first 16 bytes of that prefix, as the namespace, give the very same ids.
 */
const STRIPE_BORN_PREFIX = encoder.encode('rtws:stripe-customer:');
const STRIPE_BORN_NAMESPACE = STRIPE_BORN_PREFIX.subarray(0, 16);
const STRIPE_BORN_NAME = decoder.decode(STRIPE_BORN_PREFIX.subarray(16));

/** The id of a Stripe-born customer: a name-based (version 5) UUID of its Stripe id. */
export function stripeBornId(stripeId: string): string {
  return uuidv5(`${STRIPE_BORN_NAME}${stripeId}`, STRIPE_BORN_NAMESPACE);
}

export type ParsedCustomerEvent =
  { ok: true; observed: Omit<StripeCustomerObserved, 'at'> } | { ok: false; reason: string };

export function parseCustomerEvent(data: Uint8Array): ParsedCustomerEvent {
  let event: Stripe.Event;
  try {
    event = JSON.parse(decoder.decode(data)) as Stripe.Event;
  } catch (err) {
    return { ok: false, reason: `not JSON: ${(err as Error).message}` };
  }
  if (typeof event !== 'object' || event === null || typeof event.id !== 'string')
    return { ok: false, reason: 'not a Stripe event: no id' };
  if (!HANDLED.has(event.type)) return { ok: false, reason: `not a customer event: ${event.type}` };
  const object = (event.data as { object?: Stripe.Customer } | undefined)?.object;
  if (!object || object.object !== 'customer' || typeof object.id !== 'string')
    return { ok: false, reason: `${event.id}: data.object is not a customer` };
  if (!Value.Check(CustomerObject, object)) {
    const first = Value.Errors(CustomerObject, object).First();
    return {
      ok: false,
      reason: `${event.id}: data.object${first?.path ?? ''} ${first?.message ?? 'is malformed'}`,
    };
  }
  if (!Number.isInteger(event.created))
    return { ok: false, reason: `${event.id}: created is not whole seconds` };
  const rtwsId = object.metadata?.rtws_id;
  return {
    ok: true,
    observed: {
      type: 'StripeCustomerObserved',
      eventId: event.id,
      eventType: event.type as StripeCustomerObserved['eventType'],
      stripeId: object.id,
      created: event.created,
      key: event.request?.idempotency_key ?? null,
      fields: fieldsOf(object),
      rtwsId: typeof rtwsId === 'string' && rtwsId !== '' ? rtwsId : null,
    },
  };
}

/** Our customer id for a Stripe customer, under the trust rules above. */
export async function customerIdFor(
  sql: Sql,
  stripeId: string,
  rtwsId: string | null,
): Promise<string> {
  return (await mapCustomer(sql, stripeId, rtwsId)).customerId;
}

async function mapCustomer(
  sql: Sql,
  stripeId: string,
  rtwsId: string | null,
): Promise<{ customerId: string; route: MappingRoute }> {
  const linked = await customerForExternalId(sql, 'stripe', stripeId);
  if (rtwsId !== null && UUID.test(rtwsId)) {
    if (linked === rtwsId) return { customerId: rtwsId, route: 'rtws_id' };
    if (linked === undefined) {
      // A copy of one of ours (its metadata duplicated) is a customer of its own.
      const itsLink = await linkOf(sql, rtwsId, 'stripe');
      if (itsLink === undefined || itsLink === stripeId)
        return { customerId: rtwsId, route: 'rtws_id' };
    }
  }
  return linked
    ? { customerId: linked, route: 'link' }
    : { customerId: stripeBornId(stripeId), route: 'stripe_born' };
}

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
    const { customerId, route } = await mapCustomer(o.sql, observed.stripeId, observed.rtwsId);
    const message = encodeRecordedEvent(customerId, { ...observed, at: 0 }, o.binding?.());
    await o.publisher.publish(
      o.names.customerSubject(customerId),
      encoder.encode(JSON.stringify(message)),
      `stripe:${observed.eventId}`,
    );
    o.onMapped?.(route);
    o.log.debug(
      { event_id: observed.eventId, type: observed.eventType, customer_id: customerId, route },
      'stripe customer event mapped',
    );
    return { done: true };
  };
  return startInboundConsumer({
    nats: o.nats,
    names: o.names,
    log: o.log.child({ consumer: 'stripe-customers' }),
    deadLetters: o.deadLetters,
    durable: CUSTOMER_INBOUND_DURABLE,
    eventFilter: 'customer.*',
    dlqSource: 'stripe-customers',
    // Events of different Stripe customers are mapped at once; one customer's keep their order.
    concurrency: 32,
    keyOf: (m) => {
      const parsed = parse(m);
      return parsed.ok ? parsed.observed.stripeId : '';
    },
    ...(o.delivery ? { delivery: o.delivery } : {}),
    handle,
  });
}
