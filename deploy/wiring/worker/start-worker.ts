// The worker role: holds a fair share of the partitions through KV leases, consumes each held
// partition and runs its messages through the actors, whose snapshots live in KV: the customer
// actors on CHANGES and, when configured, the invoice actors on INVOICES (partitioned by customer,
// so a customer's invoices run on the worker that runs the customer).
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from '../../../core/ports.ts';
import type { WorkerSettings } from '../../../core/config.ts';
import { CALL_SLACK_MS } from '../../../core/config-rules.ts';
import { RtwsError } from '../../../core/errors.ts';
import type { Names } from '../../../core/subjects.ts';
import type {
  CustomerMachine,
  CustomerSnapshot,
  TargetName,
} from '../../../actors/customer/index.ts';
import { partitionOf } from '../../../core/subjects.ts';
import { IntentScheduler } from '../../../actors/runtime/intent-scheduler.ts';
import { customerKind, type CustomerExecutor } from '../../../actors/customer/kind.ts';
import { jetStreamPublisher } from '../../../adapters/jetstream/durable-publisher.ts';
import { outcomeRecorder } from './outcome-recorder.ts';
import { stepEffects, type CatalogueEffects } from './step-effects.ts';
import { ActorCache } from '../../../actors/runtime/actor-cache.ts';
import { LeaseKeeper } from '../../../actors/runtime/lease-keeper.ts';
import { defaultMarginMs, reclaimWaitMs } from '../../../actors/runtime/leases.ts';
import { KeyedQueue } from '../../../core/keyed-queue.ts';
import { jetStreamDeadLetters } from '../../../adapters/jetstream/dead-letters.ts';
import { openLeaseStore } from '../../../adapters/jetstream/kv-lease-store.ts';
import { openSnapshotStore } from '../../../adapters/jetstream/kv-snapshot-store.ts';
import {
  DEFAULT_DELIVERY,
  partitionConsumerName,
  type DeliveryPolicy,
} from '../../../adapters/jetstream/partition-consumer-config.ts';
import type { HandledRecord } from './fact-handler.ts';
import { partitionRunner } from './partition-runner.ts';
import { resumePartition } from './resume.ts';
import { startInvoiceRuntime, type InvoiceWorkerOptions } from '../invoices/invoice-runtime.ts';
import { isValidWorkerId, newWorkerId } from './worker-id.ts';

/** The settings (lease TTL, call timeout, concurrency, actor cache) come from the config. */
export interface WorkerOptions extends WorkerSettings {
  readonly nats: NatsConnection;
  readonly names: Names;
  /** Default: host, pid and a random suffix. */
  readonly workerId?: string;
  /**
   * An exclusive hold on `workerId` (`lockWorkerIdentity`), taken before any lease and released
   * once stopped or abandoned. With it, a restarted worker takes back the leases its previous run
   * left after their call horizon, instead of waiting for them to expire.
   */
  readonly identity?: { lock(workerId: string): Promise<{ release(): Promise<void> }> };
  readonly log: Logger;
  readonly delivery?: Partial<DeliveryPolicy>;
  /** The machine, built with the targets that are on (default: Stripe only). */
  readonly machine?: CustomerMachine;
  /** The executor of each target that is on; without them intents are recorded but not run. */
  readonly executors?: Partial<Record<TargetName, CustomerExecutor>>;
  /** Links and remote deletions written back to the catalogue. */
  readonly catalogue?: CatalogueEffects;
  /** Told of every external call (for the executor metrics), invoice calls included. */
  readonly onExecuted?: (target: string, outcome: string, ms: number) => void;
  readonly onHandled?: (record: HandledRecord & { workerId: string }) => void;
  /** Runs the invoice actors too, on the same partitions; unset: invoices are not consumed. */
  readonly invoices?: InvoiceWorkerOptions;
  /**
   * Runs before a newly held partition's pending intents are resumed: the Stripe catch-up, so
   * that changes made while no worker held the partition are decided before old pushes go out.
   */
  readonly beforeResume?: () => Promise<unknown>;
  /** False while a target is paused (its account not verified yet): its calls wait. */
  readonly targetReady?: (target: TargetName) => boolean;
  /**
   * The Stripe account this database is bound to now: stamped on Stripe outcomes, and events
   * stamped with another one (recorded before a rebind) are skipped.
   */
  readonly stripeBinding?: () => string | undefined;
}

export interface WorkerStats {
  readonly workerId: string;
  readonly ownedPartitions: number[];
  /** Partitions a previous run under this worker's id left, to be taken back once safe. */
  readonly reclaimingPartitions: number[];
  readonly factsConsumed: number;
  /** Actors with work queued or running. */
  readonly activeActors: number;
  /** Actors held in memory (active or recently so). */
  readonly cachedActors: number;
  readonly deadLettered: number;
  /** External calls running now, across targets. */
  readonly callsInFlight: number;
  readonly outcomesRecorded: number;
  readonly outcomeRecordFailures: number;
  /** Intents waiting to run, per target. */
  readonly intentsWaiting: Record<string, number>;
}

export interface Worker {
  readonly workerId: string;
  readonly stats: WorkerStats;
  /** Messages of the held partitions not yet handled (pending plus unacked). */
  consumerLag(): Promise<number>;
  /** Whether this worker may act on the partition now. */
  holds(partition: number): boolean;
  /**
   * How long this worker may still act on the partition. An executor starts an external call only
   * when this exceeds the call's timeout: such calls cannot be fenced once sent.
   */
  leaseRemainingMs(partition: number): number;
  /** Resolves once live calls to the target leave room (see `Gate.whenIdle`): backfills wait. */
  whenIdle(target: TargetName): Promise<void>;
  /** Finishes the running steps, frees the leases and returns. */
  stop(): Promise<void>;
  /** Stops without freeing anything, as a crash would; the leases expire on their own. */
  abandon(): Promise<void>;
}

export class WorkerConfigError extends RtwsError {
  constructor(message: string) {
    super('worker_config_invalid', message);
  }
}

export async function startWorker(options: WorkerOptions): Promise<Worker> {
  const workerId = options.workerId ?? newWorkerId();
  if (!isValidWorkerId(workerId))
    throw new WorkerConfigError(`worker id "${workerId}" must match [A-Za-z0-9_-]{1,100}`);
  const { nats, names } = options;
  const log = options.log.child({ role: 'worker', workerId });
  const delivery: DeliveryPolicy = { ...DEFAULT_DELIVERY, ...options.delivery };
  const js = jetstream(nats);
  const jsm = await jetstreamManager(nats);
  const store = await openSnapshotStore(js, names.bucket('ACTORS'));
  const leases = await openLeaseStore(nats, {
    bucket: names.bucket('LEASES'),
    ttlMs: options.leaseTtlMs,
  });
  if (leases.ttlMs !== options.leaseTtlMs)
    log.warn({ ttlMs: leases.ttlMs }, 'the lease bucket keeps the TTL it was created with');
  const deadLetters = jetStreamDeadLetters(js, names);
  const cache = new ActorCache<CustomerSnapshot>({
    maxActors: options.maxActors,
    idleMs: options.idleMs,
  });
  const mailboxes = new KeyedQueue({
    concurrency: options.concurrency,
    maxQueued: options.concurrency * 8,
  });
  const counters = { facts: 0, deadLettered: 0 };
  const onHandled = options.onHandled;
  const machine = options.machine;
  const callMarginMs = options.callTimeoutMs + CALL_SLACK_MS;
  // A call cannot be fenced: start one only while the lease outlives it.
  const callable = (owner: string) =>
    keeper.remainingMs(partitionOf(owner, names.partitions)) > callMarginMs;
  const record = outcomeRecorder(jetStreamPublisher(js), names, options.stripeBinding);
  const kind = customerKind(machine, options.stripeBinding);
  /** When each held partition was taken: intents decided before then are checked before a push. */
  const heldSince = new Map<number, number>();
  const scheduler = new IntentScheduler({
    kind,
    targets: options.executors ?? {},
    record,
    holds: callable,
    heldSince: (owner) => heldSince.get(partitionOf(owner, names.partitions)),
    ...(options.targetReady ? { targetReady: options.targetReady } : {}),
    now: Date.now,
    log,
    ...(options.onExecuted ? { onExecuted: options.onExecuted } : {}),
  });
  const afterStep = stepEffects({
    scheduler,
    deadLetters,
    names,
    record,
    ...(options.catalogue ? { catalogue: options.catalogue } : {}),
  });

  /** After a takeover or a restart: the pending intents of the partition's actors are run again. */
  async function resume(partition: number): Promise<void> {
    await options
      .beforeResume?.()
      .catch((err: unknown) =>
        log.warn({ err, partition }, 'catch-up before resuming failed; pushes resume with checks'),
      );
    const resumed = await resumePartition(
      {
        store,
        kind,
        partitions: names.partitions,
        holds: (p) => keeper.holds(p),
        offer: (id, snapshot) => {
          scheduler.offer(id, snapshot);
          void afterStep
            .resume(id, snapshot)
            .catch((err: unknown) =>
              log.warn(
                { err, customerId: id },
                "a pending write from Stripe failed; the customer's next step tries it again",
              ),
            );
        },
      },
      partition,
      (id) => partitionOf(id, names.partitions) === partition,
    );
    if (resumed) log.info({ partition, actors: resumed }, 'resumed pending intents');
  }

  const invoices = options.invoices
    ? await startInvoiceRuntime({
        options: options.invoices,
        js,
        jsm,
        names,
        delivery,
        mailboxes,
        deadLetters,
        counters,
        log,
        callable,
        holds: (partition) => keeper.holds(partition),
        stripeGate: scheduler.gate('stripe'),
        ...(options.targetReady ? { stripeReady: () => options.targetReady!('stripe') } : {}),
        ...(options.onExecuted ? { onExecuted: options.onExecuted } : {}),
        maxActors: options.maxActors,
        idleMs: options.idleMs,
      })
    : undefined;

  const runner = partitionRunner({
    kind,
    afterStep,
    js,
    jsm,
    names,
    delivery,
    store,
    cache,
    mailboxes,
    deadLetters,
    counters,
    log,
    holds: (partition) => keeper.holds(partition),
    ...(onHandled ? { onHandled: (r: HandledRecord) => onHandled({ ...r, workerId }) } : {}),
  });
  const keeper: LeaseKeeper = new LeaseKeeper({
    store: leases,
    workerId,
    partitions: names.partitions,
    reclaimAfterMs: options.identity
      ? reclaimWaitMs({
          ttlMs: leases.ttlMs,
          marginMs: defaultMarginMs(leases.ttlMs),
          callSlackMs: CALL_SLACK_MS,
        })
      : undefined,
    log,
    onAcquired: async (partition) => {
      heldSince.set(partition, Date.now());
      await runner.start(partition);
      await invoices?.start(partition);
      if (options.executors) {
        void resume(partition).catch((err: unknown) =>
          log.warn({ err, partition }, 'resuming pending intents failed'),
        );
      }
    },
    onStopped: async (partition) => {
      heldSince.delete(partition);
      // The keeper already refuses new calls for the partition. Those sent finish, and their
      // outcomes are recorded, before the next holder can resume the same intents; the consumer
      // runs meanwhile, so the actors may still see those outcomes here.
      const here = (owner: string) => partitionOf(owner, names.partitions) === partition;
      await Promise.all([scheduler.handOver(here), invoices?.scheduler.handOver(here)]);
      await Promise.all([runner.stop(partition), invoices?.stop(partition)]);
    },
  });

  const identity = await options.identity?.lock(workerId);
  const passivation = setInterval(
    () => {
      cache.evictIdle();
      invoices?.evictIdle();
    },
    Math.max(1_000, Math.round(options.idleMs / 2)),
  );
  passivation.unref();
  await keeper.start();
  log.info({ partitions: keeper.owned() }, 'worker started');

  let stopped: Promise<void> | undefined;
  const halt = (release: boolean) => {
    stopped ??= (async () => {
      clearInterval(passivation);
      await keeper.stop({ release });
      await mailboxes.drained();
      await Promise.all([scheduler.stop(), invoices?.stopScheduler()]);
      await identity?.release();
      log.info({ release }, 'worker stopped');
    })();
    return stopped;
  };

  return {
    workerId,
    get stats(): WorkerStats {
      return {
        workerId,
        ownedPartitions: keeper.owned(),
        reclaimingPartitions: keeper.reclaiming(),
        factsConsumed: counters.facts,
        activeActors: mailboxes.active,
        cachedActors: cache.size + (invoices?.cache.size ?? 0),
        deadLettered: counters.deadLettered,
        callsInFlight: scheduler.inFlight + (invoices?.scheduler.inFlight ?? 0),
        outcomesRecorded:
          scheduler.counters.recorded + (invoices?.scheduler.counters.recorded ?? 0),
        outcomeRecordFailures:
          scheduler.counters.recordFailures + (invoices?.scheduler.counters.recordFailures ?? 0),
        intentsWaiting: { ...scheduler.waiting(), ...invoices?.waiting() },
      };
    },
    async consumerLag() {
      const feeds: [string, (p: number) => string][] = [
        [names.streams.changes, (p) => partitionConsumerName(names, p)],
        ...(invoices ? [invoices.lagSource] : []),
      ];
      let pending = 0;
      for (const p of keeper.owned()) {
        for (const [stream, consumer] of feeds) {
          const info = await jsm.consumers.info(stream, consumer(p)).catch(() => undefined);
          pending += (info?.num_pending ?? 0) + (info?.num_ack_pending ?? 0);
        }
      }
      return pending;
    },
    holds: (partition) => keeper.holds(partition),
    leaseRemainingMs: (partition) => keeper.remainingMs(partition),
    whenIdle: async (target) => scheduler.gate(target)?.whenIdle(),
    stop: () => halt(true),
    abandon: () => halt(false),
  };
}
