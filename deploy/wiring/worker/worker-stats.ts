// What the worker reports of itself (for /readyz and the metrics), summed over its customer and
// invoice actors.
import type { JetStreamManager } from '@nats-io/jetstream';
import type { Names } from '../../../core/subjects.ts';
import type { LeaseKeeper } from '../../../actors/runtime/lease-keeper.ts';
import type { KeyedQueue } from '../../../core/keyed-queue.ts';
import { backlogOf } from '../../../adapters/jetstream/consumer-progress.ts';
import { partitionConsumerName } from '../../../adapters/jetstream/partition-consumer-config.ts';
import type { InvoiceRuntime } from '../invoices/invoice-runtime.ts';
import type { CustomerRuntime } from './customer-runtime.ts';
import type { PartitionWork } from './partition-work.ts';
import type { WorkerStats } from './start-worker.ts';

export interface WorkerParts {
  readonly workerId: string;
  readonly keeper: LeaseKeeper;
  readonly mailboxes: KeyedQueue;
  readonly counters: { readonly facts: number; readonly deadLettered: number };
  readonly customers: CustomerRuntime;
  readonly invoices: InvoiceRuntime | undefined;
  readonly work: PartitionWork | undefined;
}

export function workerStats(w: WorkerParts): WorkerStats {
  const { scheduler } = w.customers;
  const invoices = w.invoices;
  return {
    workerId: w.workerId,
    ownedPartitions: w.keeper.owned(),
    reclaimingPartitions: w.keeper.reclaiming(),
    leaseRoundStuck: w.keeper.stuck(),
    factsConsumed: w.counters.facts,
    activeActors: w.mailboxes.active,
    cachedActors: w.customers.cache.size + (invoices?.cache.size ?? 0),
    unsavedSteps: w.customers.unsaved() + (invoices?.unsaved() ?? 0),
    deadLettered: w.counters.deadLettered,
    callsInFlight: scheduler.inFlight + (invoices?.scheduler.inFlight ?? 0),
    outcomesRecorded: scheduler.counters.recorded + (invoices?.scheduler.counters.recorded ?? 0),
    outcomeRecordFailures:
      scheduler.counters.recordFailures + (invoices?.scheduler.counters.recordFailures ?? 0),
    intentsWaiting: { ...scheduler.waiting(), ...invoices?.waiting() },
  };
}

/**
 * Messages of the held partitions not yet handled (pending plus unacked): on CHANGES, INVOICES and
 * INBOUND.
 */
export async function consumerLag(
  w: WorkerParts,
  jsm: JetStreamManager,
  names: Names,
): Promise<number> {
  const feeds: (readonly [string, (p: number) => string])[] = [
    [names.streams.changes, (p) => partitionConsumerName(names, p)],
    ...(w.invoices ? [w.invoices.lagSource] : []),
    ...(w.work?.lagSources ?? []),
  ];
  let pending = 0;
  for (const p of w.keeper.owned()) {
    for (const [stream, consumer] of feeds) {
      pending += (await backlogOf(jsm, stream, consumer(p))) ?? 0;
    }
  }
  return pending;
}
