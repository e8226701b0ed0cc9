// What the customer and the invoice actors of one worker share: the streams, the mailboxes, the
// dead letters, the background work, the leases (as `callable` and `holds`) and the bounds of the actor cache.
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import type { Background } from '../../../core/background.ts';
import type { KeyedQueue } from '../../../core/keyed-queue.ts';
import type { Logger } from '../../../core/ports.ts';
import type { Names } from '../../../core/subjects.ts';
import type { DeadLetterSink } from '../../../core/worker-ports.ts';
import type { DeliveryPolicy } from '../../../adapters/jetstream/partition-consumer-config.ts';

export interface RuntimeDeps {
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  readonly names: Names;
  readonly delivery: DeliveryPolicy;
  readonly mailboxes: KeyedQueue;
  readonly deadLetters: DeadLetterSink;
  readonly counters: { facts: number; deadLettered: number };
  readonly log: Logger;
  /** Whether a call may start for the customer (its partition's lease outlives the call). */
  readonly callable: (customerId: string) => boolean;
  readonly holds: (partition: number) => boolean;
  /** Resumes run here, so that a stop waits for them. */
  readonly background: Background;
  readonly maxActors: number;
  readonly idleMs: number;
  /** Write-behind: a snapshot per this many steps of an actor, and at least every `ms`. */
  readonly snapshotEvery: { readonly steps: number; readonly ms: number };
  /** Replicas of the buckets the runtimes open (RTWS_REPLICAS). Unset: 1 if new, else as they are. */
  readonly replicas?: number;
}
