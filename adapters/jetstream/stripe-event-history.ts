// The Stripe events INBOUND holds about one Stripe customer, in stream order: those on its
// partition's subjects, and those stored on the unpartitioned subjects before partitioning. Read
// through ephemeral ordered consumers, like a customer's history.
import type { NatsConnection } from '@nats-io/transport-node';
import { inboundPartition, partitionToken, type Names } from '../../core/subjects.ts';
import { stripeCustomerOf } from '../stripe/event-customer.ts';
import { streamHistory, type RecordedMessage } from './customer-history.ts';

export interface StripeEventHistory {
  /** The INBOUND partition of the customer's events. */
  readonly partition: number;
  readonly events: RecordedMessage[];
}

/**
 * With `fromSeq`, only the messages from that INBOUND sequence on are read: a partition holds
 * every customer of it, so a bounded read looks at a recent window of the stream.
 */
export async function stripeEventHistory(
  nc: NatsConnection,
  names: Names,
  stripeCustomerId: string,
  fromSeq?: number,
): Promise<StripeEventHistory> {
  const partition = inboundPartition(stripeCustomerId, names.partitions);
  const p = partitionToken(partition);
  const prefix = names.legacyInboundSubject('stripe', '');
  // One filter per length of event type (`customer.updated`, `customer.tax_id.created`): a
  // wildcard for the rest of a subject cannot come before its partition token.
  const filters = [`${prefix}*.*.${p}`, `${prefix}*.*.*.${p}`, `${prefix}*.*`];
  const read = await Promise.all(
    filters.map((f) => streamHistory(nc, names.streams.inbound, f, fromSeq)),
  );
  const events = read
    .flat()
    .filter(
      (m) =>
        stripeCustomerOf((m.message ?? {}) as { data?: { object?: unknown } }) === stripeCustomerId,
    )
    .sort((a, b) => a.seq - b.seq);
  return { partition, events };
}
