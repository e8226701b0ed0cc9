// The invoice actors on the worker's runtime: their own KV bucket, cache, consumers (one per held
// partition on INVOICES) and scheduler, sharing the worker's leases, mailboxes and Stripe gate.
import type {
  InvoiceDecision,
  InvoiceEvent,
  InvoiceMachine,
  InvoiceSnapshot,
  InvoiceTarget,
} from '../../../actors/invoice/index.ts';
import { ActorCache } from '../../../actors/runtime/actor-cache.ts';
import {
  invoiceKind,
  type InvoiceExecutor,
  type InvoiceScheduler,
} from '../../../actors/invoice/kind.ts';
import { IntentScheduler, type Gate } from '../../../actors/runtime/intent-scheduler.ts';
import { jetStreamPublisher } from '../../../adapters/jetstream/durable-publisher.ts';
import { openSnapshotStore } from '../../../adapters/jetstream/kv-snapshot-store.ts';
import { invoiceFeed } from '../../../adapters/jetstream/partition-consumer-config.ts';
import { invoiceStepEffects, type InvoiceEffects } from './invoice-effects.ts';
import { invoiceRecorder } from './invoice-recorder.ts';
import { partitionRunner } from '../worker/partition-runner.ts';
import { resumePartition, resumeUntilDone } from '../worker/resume.ts';
import type { RuntimeDeps } from '../worker/runtime-deps.ts';

export type { InvoiceExecutor, InvoiceScheduler } from '../../../actors/invoice/kind.ts';

export interface InvoiceWorkerOptions {
  /** Default: the invoice machine with the default policies. */
  readonly machine?: InvoiceMachine;
  /** `links` (our link table) and `stripe`; without them intents are recorded but not run. */
  readonly executors?: Partial<Record<InvoiceTarget, InvoiceExecutor>>;
  /** Issuing progress written back to the catalogue. */
  readonly effects?: InvoiceEffects;
}

export interface InvoiceRuntimeDeps extends RuntimeDeps {
  readonly options: InvoiceWorkerOptions;
  /** The customer scheduler's Stripe gate: invoices spend the same rate budget. */
  readonly stripeGate: Gate | undefined;
  /** False while Stripe is paused (its account not verified yet). */
  readonly stripeReady?: () => boolean;
  readonly onExecuted?: (target: string, outcome: string, ms: number) => void;
}

export interface InvoiceRuntime {
  readonly cache: ActorCache<InvoiceSnapshot>;
  readonly scheduler: InvoiceScheduler;
  /** The stream and the durable of a partition, for the consumer lag. */
  readonly lagSource: [string, (partition: number) => string];
  start(partition: number): Promise<void>;
  stop(partition: number): Promise<void>;
  evictIdle(): void;
  /** Messages of unsaved steps, held unacked until a save covers them. */
  unsaved(): number;
  waiting(): Record<string, number>;
  stopScheduler(): Promise<void>;
}

export async function startInvoiceRuntime(d: InvoiceRuntimeDeps): Promise<InvoiceRuntime> {
  const { names, log } = d;
  const kind = invoiceKind(d.options.machine);
  const feed = invoiceFeed(names);
  const store = await openSnapshotStore(d.js, names.bucket('INVOICE_ACTORS'), {
    replicas: d.replicas,
    log,
  });
  const cache = new ActorCache<InvoiceSnapshot>({ maxActors: d.maxActors, idleMs: d.idleMs });
  const executors = d.options.executors;
  const scheduler: InvoiceScheduler = new IntentScheduler({
    targets: executors ?? {},
    record: invoiceRecorder(jetStreamPublisher(d.js), names),
    holds: d.callable,
    now: Date.now,
    log,
    kind,
    ...(d.stripeGate ? { gates: { stripe: d.stripeGate } } : {}),
    ...(d.stripeReady ? { targetReady: () => d.stripeReady!() } : {}),
    ...(d.onExecuted
      ? { onExecuted: (target, outcome, ms) => d.onExecuted!(`invoice-${target}`, outcome, ms) }
      : {}),
  });
  const runner = partitionRunner<InvoiceSnapshot, InvoiceEvent, InvoiceDecision>({
    js: d.js,
    jsm: d.jsm,
    names,
    delivery: d.delivery,
    store,
    cache,
    mailboxes: d.mailboxes,
    deadLetters: d.deadLetters,
    counters: d.counters,
    log: log.child({ actors: 'invoice' }),
    holds: d.holds,
    snapshotEvery: d.snapshotEvery,
    kind,
    feed,
    afterStep: invoiceStepEffects({
      offer: (id, snapshot) => scheduler.offer(id, snapshot),
      deadLetters: d.deadLetters,
      names,
      ...(d.options.effects ? { effects: d.options.effects } : {}),
    }),
  });

  async function resume(partition: number): Promise<void> {
    const resumed = await resumePartition(
      {
        store,
        kind,
        partitions: names.partitions,
        holds: d.holds,
        held: (id) => cache.peek(id)?.snapshot,
        unreadable: (id, err) =>
          log.error(
            { invoiceId: id, partition, reason: err.message },
            'invoice snapshot unreadable: not resumed, and its messages fail on it',
          ),
        offer: (id, snapshot) => scheduler.offer(id, snapshot, { resumed: true }),
      },
      partition,
    );
    if (resumed) log.info({ partition, invoices: resumed }, 'resumed pending invoice intents');
  }

  return {
    cache,
    scheduler,
    lagSource: [feed.stream, (p) => feed.consumerName(p)],
    async start(partition) {
      await runner.start(partition);
      if (executors) {
        d.background.run(
          () =>
            resumeUntilDone(() => resume(partition), {
              partition,
              holds: d.holds,
              onError: (err, retryInMs) =>
                log.warn(
                  { err, partition, retryInMs },
                  'resuming pending invoice intents failed; retrying',
                ),
            }),
          (err) => log.warn({ err, partition }, 'resuming pending invoice intents failed'),
        );
      }
    },
    stop: (partition) => runner.stop(partition),
    unsaved: () => runner.unsaved(),
    evictIdle: () => void cache.evictIdle(),
    waiting: () =>
      Object.fromEntries(
        Object.entries(scheduler.waiting()).map(([target, n]) => [`invoice-${target}`, n]),
      ),
    stopScheduler: () => scheduler.stop(),
  };
}
