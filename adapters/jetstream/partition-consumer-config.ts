// The durable consumer of one partition of an actor kind's stream (customers on CHANGES, invoices
// on INVOICES), and how a new holder takes it over.
import {
  AckPolicy,
  DeliverPolicy,
  type ConsumerConfig,
  type ConsumerInfo,
  type JetStreamManager,
} from '@nats-io/jetstream';
import type { Names } from '../../core/subjects.ts';
import { partitionToken } from '../../core/subjects.ts';
import { serverMaxDeliver } from './redelivery.ts';

export interface DeliveryPolicy {
  /** Longer than any step; long steps also send `working()`. */
  readonly ackWaitMs: number;
  /** Deliveries before a message that keeps failing goes to the DLQ; failed steps nak with backoff. */
  readonly maxDeliver: number;
  /** Unacked messages the server hands out at once; bounds the partition's in-flight work. */
  readonly maxAckPending: number;
}

export const DEFAULT_DELIVERY: DeliveryPolicy = Object.freeze({
  ackWaitMs: 30_000,
  maxDeliver: 10,
  maxAckPending: 1_000,
});

const NANOS_PER_MS = 1_000_000;

/** One kind of actor's stream, and each partition's durable and filter subject on it. */
export interface PartitionFeed {
  readonly stream: string;
  consumerName(partition: number): string;
  filter(partition: number): string;
}

export function customerFeed(names: Names): PartitionFeed {
  return {
    stream: names.streams.changes,
    consumerName: (p) => `${names.streams.changes}_customer_${partitionToken(p)}`,
    filter: (p) => names.customerPartitionFilter(p),
  };
}

export function invoiceFeed(names: Names): PartitionFeed {
  return {
    stream: names.streams.invoices,
    consumerName: (p) => `${names.streams.invoices}_invoice_${partitionToken(p)}`,
    filter: (p) => names.invoicePartitionFilter(p),
  };
}

export function partitionConsumerName(names: Names, partition: number): string {
  return customerFeed(names).consumerName(partition);
}

export function partitionConsumerConfig(
  names: Names,
  partition: number,
  policy: DeliveryPolicy,
  feed: PartitionFeed = customerFeed(names),
): Partial<ConsumerConfig> {
  return {
    durable_name: feed.consumerName(partition),
    // A string, not an array: nats-server 2.9 knows a single filter subject only.
    filter_subject: feed.filter(partition),
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: policy.ackWaitMs * NANOS_PER_MS,
    max_deliver: serverMaxDeliver(policy.maxDeliver),
    // No server-side `backoff`: nats-server 2.9 then overrides the delay of a nak after the first
    // redelivery with its own step (measured: the third delivery waited for the 60 s step instead
    // of a 400 ms nak). Failed steps nak with the runtime's backoff; only unanswered messages
    // (a crashed holder) wait out the ack wait.
    max_ack_pending: policy.maxAckPending,
  };
}

/**
 * Makes sure the partition's durable exists, and resumes what a previous holder left unacked.
 * Its in-flight messages would otherwise wait out their ack wait, and the customer's newer facts
 * would overtake them. Recreating the durable just after its ack floor redelivers them at once,
 * in stream order; messages past the floor that were already acked come again too, which is
 * harmless because the actor ignores a fact not newer than what it holds.
 */
export async function ensurePartitionConsumer(
  jsm: JetStreamManager,
  names: Names,
  partition: number,
  policy: DeliveryPolicy,
  feed: PartitionFeed = customerFeed(names),
): Promise<string> {
  const stream = feed.stream;
  const config = partitionConsumerConfig(names, partition, policy, feed);
  const name = config.durable_name!;
  const info = await jsm.consumers.info(stream, name).catch((err: unknown) => {
    if (isConsumerNotFound(err)) return undefined;
    throw err;
  });
  if (!info) {
    await jsm.consumers.add(stream, config);
  } else if (info.num_ack_pending > 0) {
    await jsm.consumers.delete(stream, name);
    await jsm.consumers.add(stream, resumeAfterFloor(config, info));
  } else {
    const { ack_wait, max_deliver, max_ack_pending } = config;
    await jsm.consumers.update(stream, name, { ack_wait, max_deliver, max_ack_pending });
  }
  return name;
}

function resumeAfterFloor(
  config: Partial<ConsumerConfig>,
  info: ConsumerInfo,
): Partial<ConsumerConfig> {
  return {
    ...config,
    deliver_policy: DeliverPolicy.StartSequence,
    opt_start_seq: info.ack_floor.stream_seq + 1,
  };
}

function isConsumerNotFound(err: unknown): boolean {
  const e = err as { code?: number; api_error?: { err_code?: number } };
  return (
    e.code === 10014 || e.api_error?.err_code === 10014 || /consumer not found/i.test(String(err))
  );
}

/**
 * The partitions the CHANGES stream's durables were made for (the highest one's number plus one),
 * or undefined when it has none: the count a deployment runs with, as its streams show it.
 */
export async function partitionsInStreams(
  jsm: JetStreamManager,
  names: Names,
): Promise<number | undefined> {
  const prefix = `${names.streams.changes}_customer_p`;
  let highest = -1;
  for await (const c of jsm.consumers.list(names.streams.changes)) {
    const name = c.config.durable_name ?? c.name;
    if (!name.startsWith(prefix)) continue;
    const p = Number(name.slice(prefix.length));
    if (Number.isInteger(p)) highest = Math.max(highest, p);
  }
  return highest < 0 ? undefined : highest + 1;
}
