// Stripe's customer events, from INBOUND onto the customer's own subject. Each verified event is
// mapped to our customer id (`mapStripeCustomer`: metadata.rtws_id, the link table, or a Stripe-born
// id) and republished as a `StripeCustomerObserved` fact, so that it is ordered with the customer's
// other facts and decided by its actor under its lease. A partition's events are mapped by the
// worker holding the partition (the shared durable maps those stored before partitioning), so
// one Stripe customer's are mapped one at a time, in stream order, whichever worker runs. The
// inbox of applied event ids is pruned here too, on a timer.
import type { StripeStamp } from '../../../adapters/jetstream/inbound.ts';
import { jetstreamManager, type JsMsg } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { DurablePublisher, Logger } from '../../../core/ports.ts';
import type { Names } from '../../../core/subjects.ts';
import type { DeadLetterSink, SnapshotStore } from '../../../core/worker-ports.ts';
import { heldLinkOf, isHeldEcho, isOwnEcho } from '../../../actors/customer/inbound-step.ts';
import type { CustomerSnapshot } from '../../../actors/customer/index.ts';
import { storedStripeView } from '../../../actors/customer/snapshot-codec.ts';
import {
  KEY_PREFIX,
  type StripeCustomerMatched,
  type StripeCustomerObserved,
} from '../../../actors/customer/index.ts';
import {
  encodeRecordedEvent,
  type BindingStamp,
} from '../../../actors/customer/outcome-message.ts';
import { unlinkedCustomersWithEmail } from '../../../adapters/postgres/import-lookups.ts';
import { claimLink, unclaimLink } from '../../../adapters/postgres/links.ts';
import { isErasedExternal } from '../../../adapters/postgres/erasures.ts';
import type { MatchSettings } from '../../../adapters/stripe/match.ts';
import { offerRow } from '../backfill/resync.ts';
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
  type InboundDelivery,
  type InboundVerdict,
} from '../../../adapters/jetstream/inbound-consumer.ts';
import { KeyedQueue } from '../../../core/keyed-queue.ts';
import type { InboundKind } from './inbound-partitions.ts';

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
  binding?: () => BindingStamp | undefined;
  /** The Stripe account and mode bound now (see `InboundConsumerOptions.boundAccount`). */
  accountStamp?: () => StripeStamp | undefined;
  accountStampNow?: () => Promise<StripeStamp | undefined>;
  /** How a Stripe customer created outside rtws is paired with a catalogue customer. */
  match?: Pick<MatchSettings, 'by' | 'merge'>;
  /**
   * The actors' saved snapshots: an echo of our own write is recognised against them and dropped
   * here (see `isOwnEcho`). Without them every event goes on to its actor.
   */
  actors?: () => Promise<Pick<SnapshotStore, 'load'>>;
  /**
   * The actor as this process holds it, if it does: read before the saved snapshot, which the
   * write-behind may leave a step or two behind (see `isOwnEcho`).
   */
  liveActor?: (customerId: string) => CustomerSnapshot | undefined;
  /** Told of each echo dropped here. */
  onEcho?: () => void;
}

/** The inbox keeps event ids for the INBOUND stream's retention, and never less than this. */
export const MIN_INBOX_RETENTION_S = 7 * 86_400;
const PRUNE_EVERY_MS = 3_600_000;

const encoder = new TextEncoder();

/** Prunes the inbox of applied event ids every hour, keeping them for `retentionSeconds`. */
export function startInboxPruning(
  o: Pick<CustomerInboundOptions, 'sql' | 'log' | 'inboxRetentionSeconds'>,
): { stop(): void } {
  const retention = Math.max(o.inboxRetentionSeconds ?? 0, MIN_INBOX_RETENTION_S);
  const prune = () =>
    pruneInbox(o.sql, retention).then(
      (n) => n > 0 && o.log.info({ removed: n }, 'inbox pruned'),
      (err: unknown) => o.log.warn({ err }, 'inbox pruning failed; will try again'),
    );
  const pruning = setInterval(() => void prune(), PRUNE_EVERY_MS);
  pruning.unref();
  return { stop: () => clearInterval(pruning) };
}

/**
 * A customer created in Stripe outside rtws (no link, no `rtws_id` of ours) whose email exactly one
 * unlinked, live catalogue customer has: that customer, rather than a second, Stripe-born one. The
 * create of a catalogue customer looks the other way (for a Stripe customer with its email), so a
 * pair is found whichever side came first. Several candidates are left to an import, which lists
 * them as ambiguous; a deletion or an echo of ours is never paired.
 */
async function pairByEmail(
  o: CustomerInboundOptions,
  observed: ParsedOk['observed'],
): Promise<string | undefined> {
  const { email } = observed.data.fields;
  if ((o.match?.by ?? 'email') === 'none' || !email) return undefined;
  if (observed.data.eventType === 'customer.deleted' || observed.data.rtwsId !== null)
    return undefined;
  if (observed.data.key?.startsWith(KEY_PREFIX)) return undefined;
  const candidates = await unlinkedCustomersWithEmail(o.sql, email.toLowerCase());
  if (candidates.length !== 1) return undefined;
  // Recorded at once: the next event about it (an email corrected a moment later, say) maps by
  // the link, and a create of the customer's that is not sent yet finds the pair its own.
  const [customerId] = candidates as [string];
  return (await claimLink(o.sql, customerId, 'stripe', observed.data.stripeId))
    ? customerId
    : undefined;
}

type ParsedOk = Extract<ParsedCustomerEvent, { ok: true }>;

/**
 * Stripe's echo of a write of ours, which its actor would drop: read against the actor as held in
 * memory here, else against its saved snapshot (one KV read, only for events made with our
 * idempotency key). A snapshot that cannot be read leaves the event to the actor, which decides it
 * anyway. A state held in memory and not saved yet is safe to read: should the worker die before
 * saving it, the messages that made it come again and make it again.
 */
async function isEcho(
  o: CustomerInboundOptions,
  customerId: string,
  observed: ParsedOk['observed'],
): Promise<boolean> {
  if (!observed.data.key?.startsWith(KEY_PREFIX)) return false;
  const live = o.liveActor?.(customerId)?.context;
  if (live) return isOwnEcho(live, observed.data);
  if (!o.actors) return false;
  try {
    const stored = await (await o.actors()).load(customerId);
    const view = stored && storedStripeView(customerId, stored.value);
    return view !== undefined && isOwnEcho(view, observed.data);
  } catch (err) {
    o.log.warn(
      { err: String(err), event_id: observed.data.eventId },
      'actor snapshot not read at mapping; the event goes on to the actor',
    );
    return false;
  }
}

/**
 * The consumers of customer events on a worker: one per partition it holds, and the shared one.
 * Events of different Stripe customers are mapped at once, 32 at a time across them all; one
 * customer's keep their order.
 */
export function customerInbound(o: CustomerInboundOptions): InboundKind {
  // Each event is read once: for its key (the Stripe customer it is about), then for handling.
  const read = new WeakMap<JsMsg, ParsedCustomerEvent>();
  const parse = (m: JsMsg) => {
    let parsed = read.get(m);
    if (!parsed) read.set(m, (parsed = parseCustomerEvent(m.data)));
    return parsed;
  };
  const echoDropped = (eventId: string, customerId: string): InboundVerdict => {
    o.onEcho?.();
    o.log.debug({ event_id: eventId, customer_id: customerId }, 'echo of our own write dropped');
    return { done: true };
  };
  const handle = async (m: JsMsg): Promise<InboundVerdict> => {
    const parsed = parse(m);
    if (!parsed.ok) return { deadLetter: parsed.reason };
    const { observed } = parsed;
    // Our own write's echo, told by the actor it names while this process holds it: no query.
    // Both checks below ask only for the actor `metadata.rtws_id` names: it is looked up once.
    const { rtwsId } = observed.data;
    const named = rtwsId === null ? undefined : o.liveActor?.(rtwsId)?.context;
    const held = (id: string) => (id === rtwsId ? named : undefined);
    if (isHeldEcho(observed.data, held))
      return echoDropped(observed.data.eventId, observed.data.rtwsId!);
    // A dashboard edit of a customer whose actor is held here, linked to it: no query either.
    const heldLink = heldLinkOf(observed.data, held);
    const mapped = heldLink
      ? { customerId: heldLink, route: 'rtws_id' as const, linked: true }
      : await mapStripeCustomer(o.sql, observed.data.stripeId, observed.data.rtwsId);
    // Nothing brings an erased customer back: a late event about its Stripe customer is dropped,
    // and removed from INBOUND with what it holds.
    if (!mapped.linked && (await isErasedExternal(o.sql, 'stripe', observed.data.stripeId))) {
      await (
        await jetstreamManager(o.nats)
      ).streams.deleteMessage(o.names.streams.inbound, m.seq, true);
      o.log.info(
        { event_id: observed.data.eventId, type: observed.data.eventType },
        'stripe event about an erased customer dropped',
      );
      return { done: true };
    }
    // Our own write's echo ends here: it would cost a publish and an actor step to drop it there.
    if (mapped.linked && (await isEcho(o, mapped.customerId, observed)))
      return echoDropped(observed.data.eventId, mapped.customerId);
    const pair = mapped.route === 'stripe_born' ? await pairByEmail(o, observed) : undefined;
    const { customerId, route } = pair ? { customerId: pair, route: 'email' as const } : mapped;
    const publish = (event: StripeCustomerMatched | StripeCustomerObserved, msgId: string) =>
      o.publisher.publish(
        o.names.customerSubject(customerId),
        encoder.encode(JSON.stringify(encodeRecordedEvent(customerId, event, o.binding?.()))),
        msgId,
        // A change from Stripe is correlated by its event's id, from here to every call it causes.
        observed.data.eventId,
      );
    try {
      // The pair is linked by the match (as an import's would be), then the event merged over
      // it. The row goes first, for an actor that never saw the customer (a row from before
      // capture).
      if (pair && (await offerRow(o, pair)))
        await publish(
          {
            type: 'StripeCustomerMatched',
            data: {
              stripeId: observed.data.stripeId,
              fields: observed.data.fields,
              policy: o.match?.merge ?? 'stripe',
              rtwsId: observed.data.rtwsId,
            },
            at: 0,
          },
          `stripe:match:${observed.data.stripeId}`,
        );
      await publish({ ...observed, at: 0 }, `stripe:${observed.data.eventId}`);
    } catch (err) {
      // The event is tried again, and pairs again: a link its actor was never told of goes.
      if (pair) await unclaimLink(o.sql, pair, 'stripe', observed.data.stripeId);
      throw err;
    }
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
  const queue = new KeyedQueue({ concurrency: 32, maxQueued: 32 });
  const log = o.log.child({ consumer: 'stripe-customers' });
  return {
    durable: CUSTOMER_EVENTS,
    consumer: (partition) =>
      startInboundConsumer({
        nats: o.nats,
        names: o.names,
        log: partition === undefined ? log : log.child({ partition }),
        deadLetters: o.deadLetters,
        ...CUSTOMER_EVENTS,
        ...(partition === undefined ? {} : { partition }),
        queue,
        // The Stripe customer: the same key the event's partition was drawn from.
        keyOf: (m) => {
          const parsed = parse(m);
          return parsed.ok ? parsed.observed.data.stripeId : '';
        },
        ...(o.delivery ? { delivery: o.delivery } : {}),
        ...(o.accountStamp ? { boundAccount: o.accountStamp } : {}),
        ...(o.accountStampNow ? { boundAccountNow: o.accountStampNow } : {}),
        handle,
      }),
  };
}
