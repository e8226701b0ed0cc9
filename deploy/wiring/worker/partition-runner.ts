// Starts and stops the consumer of each partition the lease keeper hands this worker, for one kind
// of actor (customers by default, or invoices).
import { deleteErasing } from '../../../adapters/jetstream/erase.ts';
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import type { Logger } from '../../../core/ports.ts';
import { partitionOf, type Names } from '../../../core/subjects.ts';
import type { DeadLetterSink, SnapshotStore } from '../../../core/worker-ports.ts';
import type { CustomerEvent, CustomerSnapshot, Decision } from '../../../actors/customer/index.ts';
import type { ActorCache } from '../../../actors/runtime/actor-cache.ts';
import type { ActorKind, KindDecision } from '../../../actors/runtime/actor-kind.ts';
import type { KeyedQueue } from '../../../core/keyed-queue.ts';
import {
  customerFeed,
  ensurePartitionConsumer,
  type DeliveryPolicy,
  type PartitionFeed,
} from '../../../adapters/jetstream/partition-consumer-config.ts';
import {
  startPartitionConsumer,
  type PartitionConsumer,
} from '../../../adapters/jetstream/partition-consumer.ts';
import { handleFactMessage, type FactHandlerDeps, type HandledRecord } from './fact-handler.ts';
import { WriteBehind } from './write-behind.ts';

export interface PartitionRunnerDeps<
  S = CustomerSnapshot,
  E = CustomerEvent,
  D extends KindDecision<S> = Decision & KindDecision<S>,
> {
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  readonly names: Names;
  readonly delivery: DeliveryPolicy;
  readonly store: SnapshotStore;
  readonly cache: ActorCache<S>;
  readonly mailboxes: KeyedQueue;
  readonly deadLetters: DeadLetterSink;
  readonly counters: { facts: number; deadLettered: number };
  readonly log: Logger;
  /** The lease check of a partition, consulted before every save and ack. */
  readonly holds: (partition: number) => boolean;
  readonly onHandled?: (record: HandledRecord) => void;
  readonly afterStep?: FactHandlerDeps<S, E, D>['afterStep'];
  /** The kind of actor; its stream is `feed`'s (default: customers on CHANGES). */
  readonly kind: ActorKind<S, E, D>;
  readonly feed?: PartitionFeed;
  /** Write-behind: a snapshot per this many steps and at least every `ms` (steps 1: every step). */
  readonly snapshotEvery?: { readonly steps: number; readonly ms: number };
}

export interface PartitionRunner {
  start(partition: number): Promise<void>;
  /** Saves the partition's unsaved actors while it is held, stops its consumer, drops its actors. */
  stop(partition: number): Promise<void>;
  /**
   * Saves the actor's unsaved steps (see `WriteBehind.save`); to be called in its mailbox, before
   * anything reads its snapshot from KV for a decision of its own (an erasure).
   */
  save(actorId: string, partition: number): Promise<void>;
  /** Messages of unsaved steps, held unacked until a save covers them. */
  unsaved(): number;
}

export function partitionRunner<S, E, D extends KindDecision<S>>(
  deps: PartitionRunnerDeps<S, E, D>,
): PartitionRunner {
  const consumers = new Map<number, PartitionConsumer>();
  const stopping = new Set<number>();
  const { names, delivery } = deps;
  const kind = deps.kind;
  const feed = deps.feed ?? customerFeed(names);
  const partitionOfActor = (id: string, snapshot: S) =>
    partitionOf(kind.ownerOf(id, snapshot), names.partitions);
  const every = deps.snapshotEvery ?? { steps: 1, ms: 0 };
  const writeBehind = new WriteBehind<S, E, D>({
    store: deps.store,
    cache: deps.cache,
    kind,
    mailboxes: deps.mailboxes,
    log: deps.log,
    holds: deps.holds,
    everySteps: every.steps,
    everyMs: every.ms,
    ackWaitMs: delivery.ackWaitMs,
  });
  return {
    async start(partition) {
      stopping.delete(partition);
      const consumerName = await ensurePartitionConsumer(
        deps.jsm,
        names,
        partition,
        delivery,
        feed,
      );
      const handlerDeps: FactHandlerDeps<S, E, D> = {
        store: deps.store,
        cache: deps.cache,
        holds: () => deps.holds(partition),
        stopping: () => stopping.has(partition),
        partition,
        kind,
        stream: feed.stream,
        deadLetters: deps.deadLetters,
        ackWaitMs: delivery.ackWaitMs,
        maxDeliver: delivery.maxDeliver,
        log: deps.log,
        counters: deps.counters,
        removeMessage: (seq) => deleteErasing(deps.jsm, feed.stream, seq),
        ...(every.steps > 1 ? { saveEvery: writeBehind.saveEvery, writeBehind } : {}),
        ...(deps.onHandled ? { onHandled: deps.onHandled } : {}),
        ...(deps.afterStep ? { afterStep: deps.afterStep } : {}),
      };
      const consumer = await startPartitionConsumer({
        js: deps.js,
        stream: feed.stream,
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
      stopping.add(partition);
      await consumer?.stop();
      // Saved while still held, so the next holder need not decide their messages again.
      await writeBehind.saveWhere(partition);
      // Another worker may change these actors from now on; what we cached would be stale.
      deps.cache.evictWhere((id, snapshot) => partitionOfActor(id, snapshot) === partition);
      writeBehind.forgetWhere(partition);
    },
    save: (actorId, partition) => writeBehind.save(actorId, partition),
    unsaved: () => writeBehind.held,
  };
}
