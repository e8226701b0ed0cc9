// The durables on INBOUND, per kind of Stripe event: one per partition, each pulled by the worker
// holding the partition's lease, so that one Stripe customer's events are handled in order however
// the partitions move; and the shared durable of the unpartitioned subjects, pulled by every
// worker, for the events stored before subjects carried a partition (and their DLQ redrives).
import { partitionToken, type Names } from '../../core/subjects.ts';
import type { PartitionFeed } from './partition-consumer-config.ts';

export interface InboundDurable {
  /** The durables' suffix: `<INBOUND stream>_<durable>` and `<INBOUND stream>_<durable>_pNN`. */
  readonly durable: string;
  /**
   * The event types, as subject tokens under `inbound.stripe.`: the shared durable's filter, and
   * with the partition token after them, each partition's. A single `*` per word, never `>`, which
   * would take in the partition token too.
   */
  readonly eventFilter: string;
  /** The DLQ source of these events: their letters are on `<ns>.dlq.<dlqSource>`. */
  readonly dlqSource: string;
}

/** Customer events, mapped onto their customers' subjects. */
export const CUSTOMER_EVENTS: InboundDurable = Object.freeze({
  durable: 'customers',
  eventFilter: 'customer.*',
  dlqSource: 'stripe-customers',
});

/** Invoice events, applied to Postgres. */
export const INVOICE_EVENTS: InboundDurable = Object.freeze({
  durable: 'invoices',
  // Every invoice event type is two words. `invoice.*` leaves `invoiceitem.*` out (a different
  // first token); the shared durable had `invoice.>`, which is narrowed at start.
  eventFilter: 'invoice.*',
  dlqSource: 'stripe-invoices',
});

export const INBOUND_DURABLES: readonly InboundDurable[] = Object.freeze([
  CUSTOMER_EVENTS,
  INVOICE_EVENTS,
]);

/** The shared durable of the unpartitioned subjects. */
export function inboundDurableName(names: Names, d: Pick<InboundDurable, 'durable'>): string {
  return `${names.streams.inbound}_${d.durable}`;
}

/** Each partition's durable and filter subject, for one kind of event. */
export function inboundFeed(
  names: Names,
  d: Pick<InboundDurable, 'durable' | 'eventFilter'>,
): PartitionFeed {
  return {
    stream: names.streams.inbound,
    consumerName: (p) => `${inboundDurableName(names, d)}_${partitionToken(p)}`,
    filter: (p) => names.inboundPartitionFilter('stripe', d.eventFilter, p),
  };
}

/** Every durable of one kind, with its filter subject: the shared one, then each partition's. */
export function inboundDurables(
  names: Names,
  d: InboundDurable,
): { name: string; filter: string }[] {
  const feed = inboundFeed(names, d);
  return [
    {
      name: inboundDurableName(names, d),
      filter: names.legacyInboundSubject('stripe', d.eventFilter),
    },
    ...Array.from({ length: names.partitions }, (_, p) => ({
      name: feed.consumerName(p),
      filter: feed.filter(p),
    })),
  ];
}
