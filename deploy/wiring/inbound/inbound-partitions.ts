// The consumers of Stripe's events on a worker: for each partition it holds, one per kind of event,
// started when the partition is taken and stopped before it is given up (as its actors' consumers
// are), so that one Stripe customer's events are handled by one worker at a time, in stream order.
import type { Logger } from '../../../core/ports.ts';
import type { Names } from '../../../core/subjects.ts';
import type { InboundConsumer } from '../../../adapters/jetstream/inbound-consumer.ts';
import { inboundFeed, type InboundDurable } from '../../../adapters/jetstream/inbound-durables.ts';
import type { PartitionWork } from '../worker/partition-work.ts';

/** One kind of Stripe event and how its consumers start. */
export interface InboundKind {
  readonly durable: InboundDurable;
  /** Partition `partition`'s consumer; without one, the shared one of the unpartitioned subjects. */
  consumer(partition?: number): Promise<InboundConsumer>;
}

export function inboundPartitions(
  names: Names,
  kinds: readonly InboundKind[],
  log: Logger,
): PartitionWork {
  const running = new Map<number, InboundConsumer[]>();
  const stop = async (partition: number) => {
    const consumers = running.get(partition) ?? [];
    running.delete(partition);
    await Promise.all(consumers.map((c) => c.stop()));
  };
  return {
    async start(partition) {
      await stop(partition);
      // Each is kept as it starts: a start that fails half-way is stopped by the keeper.
      const consumers: InboundConsumer[] = [];
      running.set(partition, consumers);
      for (const kind of kinds) consumers.push(await kind.consumer(partition));
      log.debug({ partition }, 'inbound partition consumers started');
    },
    stop,
    lagSources: kinds.map((k) => {
      const feed = inboundFeed(names, k.durable);
      return [feed.stream, (p: number) => feed.consumerName(p)] as const;
    }),
  };
}
