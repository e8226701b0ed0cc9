// A worker: holds a fair share of the partitions through KV leases, consumes each held
// partition and runs its messages through the actors, whose snapshots live in KV: the customer
// actors on CHANGES and, when configured, the invoice actors on INVOICES (partitioned by customer,
// so a customer's invoices run on the worker that runs the customer).
import { startErasureRunner, type ErasureSettings } from './erasure-runner.ts';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from '../../../core/ports.ts';
import { RtwsError } from '../../../core/errors.ts';
import { partitionOf, type Names } from '../../../core/subjects.ts';
import type {
  CustomerMachine,
  CustomerSnapshot,
  TargetName,
} from '../../../actors/customer/index.ts';
import type { CustomerExecutor } from '../../../actors/customer/kind.ts';
import type { BindingStamp } from '../../../actors/customer/outcome-message.ts';
import type { LeaseKeeper, StuckRound } from '../../../actors/runtime/lease-keeper.ts';
import { Background } from '../../../core/background.ts';
import { KeyedQueue } from '../../../core/keyed-queue.ts';
import type { WorkerSettings } from '../../../core/config.ts';
import { CALL_SLACK_MS } from '../../../core/config-rules.ts';
import { ledgeredDeadLetters, type LetterLedger } from '../../../core/worker-ports.ts';
import { jetStreamDeadLetters } from '../../../adapters/jetstream/dead-letters.ts';
import { openLeaseStore } from '../../../adapters/jetstream/kv-lease-store.ts';
import { openSnapshotStore } from '../../../adapters/jetstream/kv-snapshot-store.ts';
import {
  DEFAULT_DELIVERY,
  type DeliveryPolicy,
} from '../../../adapters/jetstream/partition-consumer-config.ts';
import {
  startInvoiceRuntime,
  type InvoiceRuntime,
  type InvoiceWorkerOptions,
} from '../invoices/invoice-runtime.ts';
import { customerRuntime, type CustomerRuntime } from './customer-runtime.ts';
import type { HandledRecord } from './fact-handler.ts';
import { partitionKeeper } from './partition-keeper.ts';
import type { PartitionWork } from './partition-work.ts';
import type { RuntimeDeps } from './runtime-deps.ts';
import type { CatalogueEffects } from './step-effects.ts';
import { isValidWorkerId, newWorkerId } from './worker-id.ts';
import { workerHandle } from './worker-handle.ts';

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
  /**
   * The letters the DLQ stored, remembered past its two-minute dedupe window; unset, a message
   * delivered again later than that leaves a second copy of its letter.
   */
  readonly letters?: LetterLedger;
  /** Told of every external call (for the executor metrics), invoice calls included. */
  readonly onExecuted?: (target: string, outcome: string, ms: number) => void;
  readonly onHandled?: (record: HandledRecord & { workerId: string }) => void;
  /** Runs the invoice actors too, on the same partitions; unset: invoices are not consumed. */
  readonly invoices?: InvoiceWorkerOptions;
  /**
   * More work on each held partition, started after its actors' consumers and stopped with them:
   * the consumers of its Stripe events.
   */
  readonly partitionWork?: PartitionWork;
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
  readonly stripeBinding?: () => BindingStamp | undefined;
  /** Replicas of the buckets the worker opens (RTWS_REPLICAS). Unset: 1 if new, else as they are. */
  readonly replicas?: number;
  /** Carries out erasures of the customers in the held partitions; unset: none are. */
  readonly erasures?: ErasureSettings;
}

export interface WorkerStats {
  readonly workerId: string;
  readonly ownedPartitions: number[];
  /** Partitions a previous run under this worker's id left, to be taken back once safe. */
  readonly reclaimingPartitions: number[];
  /** A lease round that has run past the lease TTL, holding up every renewal and claim. */
  readonly leaseRoundStuck: StuckRound | undefined;
  readonly factsConsumed: number;
  /** Actors with work queued or running. */
  readonly activeActors: number;
  /** Actors held in memory (active or recently so). */
  readonly cachedActors: number;
  /** Steps of actors ahead of their snapshots (write-behind), their messages not acked yet. */
  readonly unsavedSteps: number;
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
  /** Messages of the held partitions not yet handled (pending plus unacked), inbound ones included. */
  consumerLag(): Promise<number>;
  /** Whether this worker may act on the partition now. */
  holds(partition: number): boolean;
  /**
   * How long this worker may still act on the partition. An executor starts an external call only
   * when this exceeds the call's timeout: such calls cannot be fenced once sent.
   */
  leaseRemainingMs(partition: number): number;
  /**
   * The customer's actor as held in memory here, saved or not yet (write-behind), without
   * counting as a use; undefined when it is not, or when this worker no longer holds its
   * partition.
   */
  liveCustomer(customerId: string): CustomerSnapshot | undefined;
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
  const workerId = checkedWorkerId(options.workerId ?? newWorkerId());
  const { nats, names } = options;
  const log = options.log.child({ role: 'worker', workerId });
  const js = jetstream(nats);
  const jsm = await jetstreamManager(nats);
  const replicas = { replicas: options.replicas, log };
  const store = await openSnapshotStore(js, names.bucket('ACTORS'), replicas);
  const leases = await openLeaseStore(nats, {
    bucket: names.bucket('LEASES'),
    ttlMs: options.leaseTtlMs,
    ...replicas,
  });
  if (leases.ttlMs !== options.leaseTtlMs)
    log.warn(
      { ttlMs: leases.ttlMs, configured: options.leaseTtlMs },
      'the lease bucket keeps its longer TTL: shortening it would let leases lapse under running workers',
    );
  // The actors ask the keeper about leases; it is built after them, to hand them partitions.
  const shared = sharedDeps(options, { js, jsm, log }, () => keeper);
  const customers = customerRuntime({ ...shared, options, workerId, store });
  const invoices = await startInvoices(options, shared, customers);
  const keeper: LeaseKeeper = partitionKeeper({
    leases,
    workerId,
    names,
    log,
    customers,
    invoices,
    work: options.partitionWork,
    resumes: options.executors !== undefined,
    background: shared.background,
    ...(options.identity ? { reclaim: { callSlackMs: CALL_SLACK_MS } } : {}),
  });
  const identity = await options.identity?.lock(workerId);
  const passivation = startPassivation(shared.idleMs, () => {
    customers.cache.evictIdle();
    invoices?.evictIdle();
  });
  await keeper.start();
  const erasures = options.erasures
    ? startErasureRunner({
        ...options.erasures,
        nats,
        jsm,
        names,
        store,
        cache: customers.cache,
        mailboxes: shared.mailboxes,
        holds: shared.holds,
        forget: (id) => customers.scheduler.forget(id),
        save: (id) => customers.save(id),
        busy: (id) => customers.scheduler.busy(id),
        readCallingNoMore: () => customers.readCallingNoMore(),
        refuse: (id) => customers.refuse(id),
        unrefuse: (id) => customers.unrefuse(id),
        ...(options.machine ? { machine: options.machine } : {}),
        log,
      })
    : undefined;
  log.info({ partitions: keeper.owned() }, 'worker started');
  return workerHandle({
    ...shared,
    workerId,
    erasures,
    keeper,
    customers,
    invoices,
    work: options.partitionWork,
    identity,
    passivation,
  });
}

function sharedDeps(
  options: WorkerOptions,
  io: Pick<RuntimeDeps, 'js' | 'jsm' | 'log'>,
  keeper: () => LeaseKeeper,
): RuntimeDeps {
  const { names } = options;
  const callMarginMs = options.callTimeoutMs + CALL_SLACK_MS;
  const { concurrency } = options;
  const delivery = { ...DEFAULT_DELIVERY, ...options.delivery };
  return {
    ...io,
    names,
    delivery,
    mailboxes: new KeyedQueue({ concurrency, maxQueued: concurrency * 8 }),
    deadLetters: options.letters
      ? ledgeredDeadLetters(jetStreamDeadLetters(io.js, names), options.letters, io.log)
      : jetStreamDeadLetters(io.js, names),
    counters: { facts: 0, deadLettered: 0 },
    background: new Background(),
    // A call cannot be fenced: start one only while the lease outlives it.
    callable: (owner) => keeper().remainingMs(partitionOf(owner, names.partitions)) > callMarginMs,
    holds: (partition) => keeper().holds(partition),
    maxActors: options.maxActors,
    idleMs: options.idleMs,
    snapshotEvery: snapshotEvery(options, delivery.ackWaitMs),
    replicas: options.replicas,
  };
}

/** The invoice actors, when configured: on the customers' partitions, within their Stripe budget. */
async function startInvoices(
  options: WorkerOptions,
  shared: RuntimeDeps,
  customers: CustomerRuntime,
): Promise<InvoiceRuntime | undefined> {
  if (!options.invoices) return undefined;
  const { targetReady, onExecuted } = options;
  return startInvoiceRuntime({
    ...shared,
    options: options.invoices,
    stripeGate: customers.scheduler.gate('stripe'),
    ...(targetReady ? { stripeReady: () => targetReady('stripe') } : {}),
    ...(onExecuted ? { onExecuted } : {}),
  });
}

/** The write-behind's bounds; its time bound stays well inside the ack wait of its messages. */
function snapshotEvery(options: WorkerOptions, ackWaitMs: number): RuntimeDeps['snapshotEvery'] {
  const { snapshotEverySteps: steps, snapshotEveryMs: ms } = options;
  if (steps > 1 && ms * 3 > ackWaitMs)
    throw new WorkerConfigError(
      `snapshots every ${ms} ms leave messages unacked for too long: at most a third of the ack wait (${ackWaitMs} ms)`,
    );
  return { steps, ms };
}

function checkedWorkerId(workerId: string): string {
  if (!isValidWorkerId(workerId))
    throw new WorkerConfigError(`worker id "${workerId}" must match [A-Za-z0-9_-]{1,100}`);
  return workerId;
}

/** Evicts idle actors from memory, at half their idle time. */
function startPassivation(idleMs: number, evictIdle: () => void): NodeJS.Timeout {
  const timer = setInterval(evictIdle, Math.max(1_000, Math.round(idleMs / 2)));
  timer.unref();
  return timer;
}
