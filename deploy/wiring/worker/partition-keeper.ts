// The worker's fair share of the partitions, held through KV leases: what it does with a partition
// it takes (consume it and its Stripe events, then resume its pending intents) and with one it
// gives up (let the calls in flight end, then stop consuming).
import { isInfrastructureFault } from '../../../core/infrastructure.ts';
import type { Background } from '../../../core/background.ts';
import type { Logger } from '../../../core/ports.ts';
import { partitionOf, type Names } from '../../../core/subjects.ts';
import type { LeaseStore } from '../../../core/worker-ports.ts';
import { LeaseKeeper } from '../../../actors/runtime/lease-keeper.ts';
import { defaultMarginMs, reclaimWaitMs } from '../../../actors/runtime/leases.ts';
import type { InvoiceRuntime } from '../invoices/invoice-runtime.ts';
import type { CustomerRuntime } from './customer-runtime.ts';
import type { PartitionWork } from './partition-work.ts';

export interface PartitionKeeperDeps {
  readonly leases: LeaseStore;
  readonly workerId: string;
  readonly names: Names;
  readonly log: Logger;
  readonly customers: CustomerRuntime;
  readonly invoices: InvoiceRuntime | undefined;
  /** The partition's other consumers (its Stripe events): started before the resume. */
  readonly work: PartitionWork | undefined;
  /** Whether intents are run here: only then are a new partition's pending ones resumed. */
  readonly resumes: boolean;
  /** Where resumes run, so that a stop waits for them. */
  readonly background: Background;
  /**
   * With an exclusive hold on the worker id, how much longer than the lease a call may outlive
   * it: the keeper then takes back its previous run's leases once they are past that horizon.
   */
  readonly reclaim?: { callSlackMs: number };
}

export function partitionKeeper(d: PartitionKeeperDeps): LeaseKeeper {
  const { customers, invoices, log } = d;
  return new LeaseKeeper({
    store: d.leases,
    workerId: d.workerId,
    partitions: d.names.partitions,
    reclaimAfterMs: d.reclaim
      ? reclaimWaitMs({
          ttlMs: d.leases.ttlMs,
          marginMs: defaultMarginMs(d.leases.ttlMs),
          callSlackMs: d.reclaim.callSlackMs,
        })
      : undefined,
    log,
    onAcquired: async (partition) => {
      // Before its consumer starts: a step sends nothing for an actor whose erasure began or keeps
      // the targets (another worker may have held it when the erasure was asked for). Postgres
      // away, the start fails and the keeper tries it again, keeping the lease.
      await customers.readCallingNoMore().catch((err: unknown) => {
        if (isInfrastructureFault(err)) throw err;
        log.warn({ err, partition }, 'erasures not read before the partition starts');
      });
      await customers.start(partition);
      await invoices?.start(partition);
      // Before the resume, whose catch-up waits for the partitions' Stripe events to be mapped.
      await d.work?.start(partition);
      if (d.resumes) {
        d.background.run(
          () => customers.resume(partition),
          (err) => log.warn({ err, partition }, 'resuming pending intents failed'),
        );
      }
    },
    onStopped: async (partition) => {
      // The keeper already refuses new calls for the partition. Those sent finish, and their
      // outcomes are recorded, before the next holder can resume the same intents; the consumer
      // runs meanwhile, so the actors may still see those outcomes here.
      const here = (owner: string) => partitionOf(owner, d.names.partitions) === partition;
      await Promise.all([customers.handOver(partition), invoices?.scheduler.handOver(here)]);
      await Promise.all([
        customers.stop(partition),
        invoices?.stop(partition),
        d.work?.stop(partition),
      ]);
    },
  });
}
