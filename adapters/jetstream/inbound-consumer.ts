// A durable consumer of one kind of Stripe event in INBOUND, shared by every worker: each event is
// handled by one of them. Explicit acks; our own failures are naked with a growing delay (no
// server-side backoff: nats-server 2.9 would override the delays of our naks); an event that can
// never be handled, or keeps failing to its last delivery, goes to the DLQ with its reason. While
// NATS or Postgres is unavailable, the event in hand is tried again until they are back.
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
  /** The durable's suffix, e.g. `customers`: `<INBOUND stream>_customers`. */
  readonly durable: string;
  /** The event types, as one subject filter under `inbound.stripe.`, e.g. `customer.*`. */
  readonly eventFilter: string;
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
  readonly keyOf?: (m: JsMsg) => string;
  readonly handle: (m: JsMsg) => Promise<InboundVerdict>;
}

export interface InboundConsumer {
  /** Stops pulling and finishes the event in hand; what is unacked is redelivered later. */
  stop(): Promise<void>;
}

const NANOS_PER_MS = 1_000_000;

export function inboundConsumerConfig(
  names: Names,
  durable: string,
  eventFilter: string,
  d: InboundDelivery,
  maxAckPending = 256,
): Partial<ConsumerConfig> {
  return {
    durable_name: `${names.streams.inbound}_${durable}`,
    filter_subject: names.inboundSubject('stripe', eventFilter),
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: d.ackWaitMs * NANOS_PER_MS,
    max_deliver: serverMaxDeliver(d.maxDeliver),
    max_ack_pending: maxAckPending,
  };
}

export async function startInboundConsumer(o: InboundConsumerOptions): Promise<InboundConsumer> {
  const delivery = o.delivery ?? DEFAULT_INBOUND_DELIVERY;
  const config = inboundConsumerConfig(
    o.names,
    o.durable,
    o.eventFilter,
    delivery,
    o.maxAckPending,
  );
  const name = await ensureConsumer(o.nats, o.names.streams.inbound, config);
  const consumer = await jetstream(o.nats).consumers.get(o.names.streams.inbound, name);
  const messages = await consumer.consume({ max_messages: 64 });
  let stopping = false;
  const handle = handler(o, delivery.maxDeliver, o.retry ?? INBOUND_RETRY, () => stopping);
  const running = pull(messages, handle, o.concurrency ?? 1, o.keyOf).catch((err: unknown) =>
    o.log.error(
      { err, consumer: name },
      'inbound consumer stopped: an event could not be acked or nakked; restart rtws to resume it',
    ),
  );
  return {
    async stop() {
      stopping = true;
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
  const { ack_wait, max_deliver, max_ack_pending } = config;
  await jsm.consumers.update(stream, name, { ack_wait, max_deliver, max_ack_pending });
  return name;
}

/**
 * Takes up to `concurrency` events in hand (running, or waiting behind an earlier event of their
 * key), so that a burst waits on the server rather than in memory.
 */
async function pull(
  messages: ConsumerMessages,
  handle: (m: JsMsg) => Promise<void>,
  concurrency: number,
  keyOf: ((m: JsMsg) => string) | undefined,
) {
  const queue = new KeyedQueue({ concurrency, maxQueued: concurrency });
  // A handler rejects only when it could not even nak (the connection is gone): the pull stops.
  let failure: { err: unknown } | undefined;
  for await (const m of messages) {
    await queue.ready();
    if (failure) break;
    queue.post(keyOf?.(m) ?? '', () => handle(m)).catch((err: unknown) => (failure ??= { err }));
  }
  await queue.drained();
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
      const verdict = await whileUnavailable({ log: o.log, stopped }, m, () => o.handle(m));
      if ('deadLetter' in verdict) await deadLetter(redelivery, m, verdict.deadLetter);
      else m.ack();
    } catch (err) {
      await retryOrDeadLetter(redelivery, m, err);
    }
  };
}
