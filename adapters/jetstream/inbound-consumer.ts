// A durable consumer of one kind of Stripe event in INBOUND: a partition's, on the worker that
// holds the partition, or the shared one of the unpartitioned subjects, pulled by every worker.
// Explicit acks; our own failures are naked with a growing delay (no server-side backoff:
// nats-server 2.9 would override the delays of our naks); an event that can never be handled, or
// keeps failing to its last delivery, goes to the DLQ with its reason. While NATS or Postgres is
// unavailable, the event in hand is tried again until they are back.
import {
  AckPolicy,
  DeliverPolicy,
  jetstream,
  jetstreamManager,
  type ConsumerConfig,
  type ConsumerMessages,
  type JsMsg,
} from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from '../../core/ports.ts';
import type { Names } from '../../core/subjects.ts';
import type { DeadLetterSink } from '../../core/worker-ports.ts';
import type { BackoffPolicy } from '../../core/policy/backoff.ts';
import { KeyedQueue } from '../../core/keyed-queue.ts';
import { untilAborted } from '../../core/abort.ts';
import { inboundDurableName, inboundFeed, type InboundDurable } from './inbound-durables.ts';
import { ensurePartitionConsumer } from './partition-consumer-config.ts';
import { stampedAs, stripeStampOf, type StripeStamp } from './inbound.ts';
import { BindingChangedError } from '../../core/errors.ts';
import {
  deadLetter,
  retryOrDeadLetter,
  serverMaxDeliver,
  whileUnavailable,
  type Redelivery,
} from './redelivery.ts';

export interface InboundDelivery {
  /** Longer than any handling of one event. */
  readonly ackWaitMs: number;
  /** Deliveries before an event that keeps failing goes to the DLQ. */
  readonly maxDeliver: number;
}

export const DEFAULT_INBOUND_DELIVERY: InboundDelivery = Object.freeze({
  ackWaitMs: 30_000,
  maxDeliver: 10,
});

/** 0.5 s, 1 s, 2 s … capped at 30 s: ten deliveries span about two minutes. */
export const INBOUND_RETRY: BackoffPolicy = Object.freeze({
  baseMs: 500,
  factor: 2,
  capMs: 30_000,
  jitter: 0.5,
});

/** What a handler decided about one event; a rejection means "retry later". */
export type InboundVerdict = { done: true } | { deadLetter: string };

export interface InboundConsumerOptions {
  readonly nats: NatsConnection;
  readonly names: Names;
  readonly log: Logger;
  readonly deadLetters: DeadLetterSink;
  /** The durable's suffix, e.g. `customers`: `<INBOUND stream>_customers[_pNN]`. */
  readonly durable: string;
  /** The event types, as subject tokens under `inbound.stripe.`, e.g. `customer.*`. */
  readonly eventFilter: string;
  /**
   * The partition whose events this consumer handles, on the worker that holds its lease: the
   * durable `<INBOUND stream>_<durable>_pNN` over `inbound.stripe.<eventFilter>.pNN`, taken over
   * as a CHANGES partition's is (what the last holder left unacked comes first, in order). Unset:
   * the shared durable of the unpartitioned subjects.
   */
  readonly partition?: number;
  /** The DLQ source of these events' letters. */
  readonly dlqSource: string;
  readonly delivery?: InboundDelivery;
  readonly retry?: BackoffPolicy;
  /** Events in flight at once from this consumer, per worker. */
  readonly maxAckPending?: number;
  /**
   * Events handled at once (default 1). Events with the same key (`keyOf`, e.g. the Stripe object
   * they are about) are still handled one after the other, in stream order.
   */
  readonly concurrency?: number;
  /**
   * Where the events are handled, instead of a queue of `concurrency` of this consumer's own: one
   * queue for the consumers of one kind on a worker bounds their work together.
   */
  readonly queue?: KeyedQueue;
  readonly keyOf?: (m: JsMsg) => string;
  readonly handle: (m: JsMsg) => Promise<InboundVerdict>;
  /**
   * The Stripe account and mode this process knows the database is bound to: an event stamped
   * with another (received by a process still running with the old key after a rebind) is
   * dropped, and said so, once the database's binding (`boundAccountNow`) confirms it.
   */
  readonly boundAccount?: () => StripeStamp | undefined;
  /** The database's binding, read now. */
  readonly boundAccountNow?: () => Promise<StripeStamp | undefined>;
}

export interface InboundConsumer {
  /**
   * Stops pulling and finishes the events being handled; those waiting their turn are given back
   * unhandled (naked), and what is unacked is delivered again.
   */
  stop(): Promise<void>;
}

const NANOS_PER_MS = 1_000_000;

/** The shared durable of the unpartitioned subjects. */
export function inboundConsumerConfig(
  names: Names,
  durable: Pick<InboundDurable, 'durable' | 'eventFilter'>,
  d: InboundDelivery,
  maxAckPending = 256,
): Partial<ConsumerConfig> {
  return {
    durable_name: inboundDurableName(names, durable),
    filter_subject: names.legacyInboundSubject('stripe', durable.eventFilter),
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: d.ackWaitMs * NANOS_PER_MS,
    max_deliver: serverMaxDeliver(d.maxDeliver),
    max_ack_pending: maxAckPending,
  };
}

export async function startInboundConsumer(o: InboundConsumerOptions): Promise<InboundConsumer> {
  const delivery = o.delivery ?? DEFAULT_INBOUND_DELIVERY;
  const maxAckPending = o.maxAckPending ?? 256;
  const name =
    o.partition === undefined
      ? await ensureConsumer(
          o.nats,
          o.names.streams.inbound,
          inboundConsumerConfig(o.names, o, delivery, maxAckPending),
        )
      : await ensurePartitionConsumer(
          await jetstreamManager(o.nats),
          o.names,
          o.partition,
          { ...delivery, maxAckPending },
          inboundFeed(o.names, o),
        );
  const consumer = await jetstream(o.nats).consumers.get(o.names.streams.inbound, name);
  const messages = await consumer.consume({ max_messages: 64 });
  const stop = new AbortController();
  const stopping = () => stop.signal.aborted;
  const handle = handler(o, delivery.maxDeliver, o.retry ?? INBOUND_RETRY, stopping);
  const concurrency = o.concurrency ?? 1;
  const queue = o.queue ?? new KeyedQueue({ concurrency, maxQueued: concurrency });
  const stopOf = { stopping, stopped: stop.signal };
  const running = pull(messages, handle, queue, o.keyOf, stopOf).catch((err: unknown) =>
    o.log.error(
      { err, consumer: name },
      'inbound consumer stopped: an event could not be acked or nakked; restart rtws to resume it',
    ),
  );
  return {
    async stop() {
      stop.abort();
      await messages.close().catch(() => {});
      await running;
    },
  };
}

/** Creates the durable, or brings an existing one to the configured limits; workers may race. */
async function ensureConsumer(
  nats: NatsConnection,
  stream: string,
  config: Partial<ConsumerConfig>,
): Promise<string> {
  const jsm = await jetstreamManager(nats);
  const name = config.durable_name!;
  const exists = await jsm.consumers.info(stream, name).then(
    () => true,
    () => false,
  );
  if (!exists) {
    // Another worker creating the same durable at once yields the same consumer.
    const added = await jsm.consumers.add(stream, config).then(
      () => true,
      () => false,
    );
    if (added) return name;
  }
  // The filter too: the invoices' shared durable was `invoice.>`, which the partitioned subjects
  // would match (nats-server 2.9 updates a filter in place).
  const { filter_subject, ack_wait, max_deliver, max_ack_pending } = config;
  await jsm.consumers.update(stream, name, {
    filter_subject,
    ack_wait,
    max_deliver,
    max_ack_pending,
  });
  return name;
}

/**
 * Takes events in hand while the queue has room (running, or waiting behind an earlier event of
 * their key), so that a burst waits on the server rather than in memory. Once stopping, the events
 * not started yet are given back at once: the next puller (the partition's next holder) takes them
 * first, in order.
 */
async function pull(
  messages: ConsumerMessages,
  handle: (m: JsMsg) => Promise<void>,
  queue: KeyedQueue,
  keyOf: ((m: JsMsg) => string) | undefined,
  { stopping, stopped }: { stopping: () => boolean; stopped: AbortSignal },
) {
  // Only this consumer's events: the queue may be shared with other partitions' consumers.
  const inHand = new Set<Promise<unknown>>();
  // A handler rejects only when it could not even nak (the connection is gone): the pull stops.
  let failure: { err: unknown } | undefined;
  const giveBack = (m: JsMsg) => {
    try {
      m.nak();
    } catch {
      // NATS is away: the event comes again after its ack wait.
    }
  };
  for await (const m of messages) {
    if (failure) break;
    // A queue shared with other partitions may stay full: a stop does not wait for room.
    if (!stopping()) await untilAborted(queue.ready(), stopped);
    // What was pulled before the stop still comes out of the iterator: each is given back.
    if (stopping()) {
      giveBack(m);
      continue;
    }
    const task = queue
      .post(keyOf?.(m) ?? '', () => (stopping() ? Promise.resolve(giveBack(m)) : handle(m)))
      .catch((err: unknown) => (failure ??= { err }));
    inHand.add(task);
    void task.finally(() => inHand.delete(task));
  }
  while (inHand.size > 0) await Promise.all([...inHand]);
  if (failure) throw failure.err;
}

function handler(
  o: InboundConsumerOptions,
  maxDeliver: number,
  retry: BackoffPolicy,
  stopped: () => boolean,
) {
  const redelivery: Redelivery = {
    deadLetters: o.deadLetters,
    log: o.log,
    stream: o.names.streams.inbound,
    source: o.dlqSource,
    maxDeliver,
    retry,
  };
  return async (m: JsMsg): Promise<void> => {
    try {
      const verdict = await whileUnavailable({ log: o.log, stopped }, m, async () =>
        (await ofAnotherAccount(o, m)) ? DROPPED : o.handle(m),
      );
      if ('deadLetter' in verdict) await deadLetter(redelivery, m, verdict.deadLetter);
      else m.ack();
    } catch (err) {
      await retryOrDeadLetter(redelivery, m, err);
    }
  };
}

const DROPPED: InboundVerdict = { done: true };

/**
 * Whether the event is of another Stripe account or mode than the binding, and is dropped (said
 * so). This process may be the one out of date (a rebind since it started): the database says. If
 * the event is of the binding in force there, it is kept in hand here (`BindingChangedError`, tried
 * again like an outage) while this process asks to be restarted; a read of the binding that fails
 * is an outage too.
 */
async function ofAnotherAccount(o: InboundConsumerOptions, m: JsMsg): Promise<boolean> {
  const stamp = stripeStampOf(m);
  const known = o.boundAccount?.();
  if (!stamp || !known || stampedAs(stamp, known)) return false;
  const now = o.boundAccountNow ? await o.boundAccountNow() : known;
  if (now && stampedAs(stamp, now)) throw new BindingChangedError('stripe');
  o.log.warn(
    { seq: m.seq, subject: m.subject, account: stamp.account, bound: now?.account },
    'Stripe event of an account this database is not bound to dropped: stop every rtws process still running with its key',
  );
  return true;
}
