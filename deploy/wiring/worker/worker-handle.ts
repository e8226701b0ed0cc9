// The running worker as its callers see it, and the order it stops in.
import type { JetStreamManager } from '@nats-io/jetstream';
import type { Background } from '../../../core/background.ts';
import type { Logger } from '../../../core/ports.ts';
import { partitionOf, type Names } from '../../../core/subjects.ts';
import type { Worker, WorkerStats } from './start-worker.ts';
import { consumerLag, workerStats, type WorkerParts } from './worker-stats.ts';

export interface RunningWorker extends WorkerParts {
  readonly jsm: JetStreamManager;
  readonly names: Names;
  readonly log: Logger;
  /** The exclusive hold on the worker id, if one was taken. */
  readonly identity: { release(): Promise<void> } | undefined;
  readonly passivation: NodeJS.Timeout;
  readonly background: Background;
  readonly erasures: { stop(): Promise<void> } | undefined;
}

export function workerHandle(w: RunningWorker): Worker {
  let stopped: Promise<void> | undefined;
  const halt = (release: boolean) => (stopped ??= stopWorker(w, release));
  return {
    workerId: w.workerId,
    get stats(): WorkerStats {
      return workerStats(w);
    },
    consumerLag: () => consumerLag(w, w.jsm, w.names),
    holds: (partition) => w.keeper.holds(partition),
    leaseRemainingMs: (partition) => w.keeper.remainingMs(partition),
    // Only while its partition is held: a partition lost and not yet stopped still has its actors
    // in memory, and another worker may since have changed (or erased) them.
    liveCustomer: (customerId) =>
      w.keeper.holds(partitionOf(customerId, w.names.partitions))
        ? w.customers.cache.peek(customerId)?.snapshot
        : undefined,
    whenIdle: async (target) => w.customers.scheduler.gate(target)?.whenIdle(),
    stop: () => halt(true),
    abandon: () => halt(false),
  };
}

/**
 * The partitions go first (each one's calls in flight end, its consumer stops and, on `stop`, its
 * lease is freed), then the steps in hand drain, then the schedulers stop; the worker id is let go
 * last, so that no other run under it can start meanwhile.
 */
async function stopWorker(w: RunningWorker, release: boolean): Promise<void> {
  clearInterval(w.passivation);
  await w.erasures?.stop();
  await w.keeper.stop({ release });
  // Resumes stop at their next actor once the partition is not held; the KV listing must end
  // before the connection closes.
  await w.background.settled();
  await w.mailboxes.drained();
  await Promise.all([w.customers.scheduler.stop(), w.invoices?.stopScheduler()]);
  await w.identity?.release();
  w.log.info({ release }, 'worker stopped');
}
