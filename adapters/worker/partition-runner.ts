// Starts and stops the consumer of each partition the lease keeper hands this worker.
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import type { Logger } from '../../core/ports.ts';
import { partitionOf, type Names } from '../../core/subjects.ts';
import type { DeadLetterSink, SnapshotStore } from '../../core/worker-ports.ts';
import type { CustomerMachine, CustomerSnapshot } from '../../actors/customer/index.ts';
import type { ActorCache } from '../../actors/runtime/actor-cache.ts';
import type { Mailboxes } from '../../actors/runtime/mailboxes.ts';
import {
  ensurePartitionConsumer,
  type DeliveryPolicy,
} from '../jetstream/partition-consumer-config.ts';
import { startPartitionConsumer, type PartitionConsumer } from '../jetstream/partition-consumer.ts';
import { handleFactMessage, type FactHandlerDeps, type HandledRecord } from './fact-handler.ts';

export interface PartitionRunnerDeps {
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  readonly names: Names;
  readonly delivery: DeliveryPolicy;
  readonly store: SnapshotStore;
  readonly cache: ActorCache<CustomerSnapshot>;
  readonly mailboxes: Mailboxes;
  readonly deadLetters: DeadLetterSink;
  readonly counters: { facts: number; deadLettered: number };
  readonly log: Logger;
  /** The lease check of a partition, consulted before every save and ack. */
  readonly holds: (partition: number) => boolean;
  readonly onHandled?: (record: HandledRecord) => void;
  readonly afterStep?: FactHandlerDeps['afterStep'];
  readonly machine?: CustomerMachine;
}

export interface PartitionRunner {
  start(partition: number): Promise<void>;
  stop(partition: number): Promise<void>;
}

export function partitionRunner(deps: PartitionRunnerDeps): PartitionRunner {
  const consumers = new Map<number, PartitionConsumer>();
  const { names, delivery } = deps;
  return {
    async start(partition) {
      const consumerName = await ensurePartitionConsumer(deps.jsm, names, partition, delivery);
      const handlerDeps = {
        store: deps.store,
        cache: deps.cache,
        holds: () => deps.holds(partition),
        partition,
        stream: names.streams.changes,
        deadLetters: deps.deadLetters,
        ackWaitMs: delivery.ackWaitMs,
        maxDeliver: delivery.maxDeliver,
        log: deps.log,
        counters: deps.counters,
        ...(deps.onHandled ? { onHandled: deps.onHandled } : {}),
        ...(deps.afterStep ? { afterStep: deps.afterStep } : {}),
        ...(deps.machine ? { machine: deps.machine } : {}),
      };
      const consumer = await startPartitionConsumer({
        js: deps.js,
        stream: names.streams.changes,
        consumerName,
        mailboxes: deps.mailboxes,
        log: deps.log.child({ partition }),
        handle: (m) => handleFactMessage(handlerDeps, m),
      });
      consumers.set(partition, consumer);
    },
    async stop(partition) {
      const consumer = consumers.get(partition);
      consumers.delete(partition);
      await consumer?.stop();
      // Another worker may change these actors from now on; what we cached would be stale.
      deps.cache.evictWhere((id) => partitionOf(id, names.partitions) === partition);
    },
  };
}
