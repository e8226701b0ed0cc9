// Pulls one partition's messages and posts each into its customer's mailbox, so that a customer's
// messages run one at a time and in order while customers run in parallel. Pulling waits while the
// mailboxes are full, so a burst queues on the server rather than in memory.
import type { ConsumerMessages, JetStreamClient, JsMsg } from '@nats-io/jetstream';
import type { Logger } from '../../core/ports.ts';
import type { KeyedQueue } from '../../core/keyed-queue.ts';
import { subjectActorId } from '../../actors/runtime/message.ts';
import { correlationField } from './correlation-header.ts';

export interface PartitionConsumerOptions {
  readonly js: JetStreamClient;
  readonly stream: string;
  readonly consumerName: string;
  readonly mailboxes: KeyedQueue;
  /** Handles one message, acking or naking it; never called once the consumer is stopping. */
  readonly handle: (m: JsMsg) => Promise<void>;
  readonly log: Logger;
  /** Messages asked of the server per pull. */
  readonly batch?: number;
}

export interface PartitionConsumer {
  /** Stops pulling and waits for the steps already running; queued ones are skipped, unacked. */
  stop(): Promise<void>;
}

export async function startPartitionConsumer(
  o: PartitionConsumerOptions,
): Promise<PartitionConsumer> {
  const consumer = await o.js.consumers.get(o.stream, o.consumerName);
  const messages = await consumer.consume({ max_messages: o.batch ?? 256 });
  const inFlight = new Set<Promise<void>>();
  let stopping = false;

  const dispatch = (m: JsMsg) => {
    const step = o.mailboxes
      .post(subjectActorId(m.subject), () => (stopping ? Promise.resolve() : o.handle(m)))
      .catch((err: unknown) =>
        o.log.error({ err, seq: m.seq, ...correlationField(m) }, 'message handler failed'),
      );
    inFlight.add(step);
    void step.finally(() => inFlight.delete(step));
  };

  const pulling = pull(messages, o.mailboxes, dispatch, () => stopping).catch((err: unknown) => {
    if (!stopping) o.log.warn({ err }, 'partition consumer ended');
  });

  return {
    async stop() {
      stopping = true;
      await messages.close().catch(() => {});
      await pulling;
      await Promise.all([...inFlight]);
    },
  };
}

async function pull(
  messages: ConsumerMessages,
  mailboxes: KeyedQueue,
  dispatch: (m: JsMsg) => void,
  stopping: () => boolean,
): Promise<void> {
  for await (const m of messages) {
    if (stopping()) break;
    await mailboxes.ready();
    if (stopping()) break;
    dispatch(m);
  }
}
