// The customer actors on the worker's runtime: their cache, consumers (one per held partition on
// CHANGES), scheduler and step effects, sharing the worker's leases and mailboxes. The invoice
// actors mirror it (invoice-runtime.ts).
import { partitionOf } from '../../../core/subjects.ts';
import type { SnapshotStore } from '../../../core/worker-ports.ts';
import type { CustomerSnapshot } from '../../../actors/customer/index.ts';
import { ActorCache } from '../../../actors/runtime/actor-cache.ts';
import { customerKind, type CustomerScheduler } from '../../../actors/customer/kind.ts';
import { IntentScheduler } from '../../../actors/runtime/intent-scheduler.ts';
import { jetStreamPublisher } from '../../../adapters/jetstream/durable-publisher.ts';
import type { HandledRecord } from './fact-handler.ts';
import { outcomeRecorder } from './outcome-recorder.ts';
import { partitionRunner } from './partition-runner.ts';
import { resumePartition, resumeUntilDone } from './resume.ts';
import { stepEffects } from './step-effects.ts';
import type { WorkerOptions } from './start-worker.ts';
import type { RuntimeDeps } from './runtime-deps.ts';
import { customersCallingNoMore } from '../../../adapters/postgres/erasures.ts';

const none: ReadonlySet<string> = new Set();

export interface CustomerRuntimeDeps extends RuntimeDeps {
  readonly options: WorkerOptions;
  readonly workerId: string;
  readonly store: SnapshotStore;
}

export interface CustomerRuntime {
  readonly cache: ActorCache<CustomerSnapshot>;
  readonly scheduler: CustomerScheduler;
  /** Starts consuming a partition just taken. */
  start(partition: number): Promise<void>;
  /** After a takeover or a restart: the pending intents of the partition's actors are run again. */
  resume(partition: number): Promise<void>;
  /** Waits for the partition's calls in flight to end and their outcomes to be recorded. */
  handOver(partition: number): Promise<void>;
  /** Stops consuming a partition given up. */
  stop(partition: number): Promise<void>;
  /** Saves a customer's unsaved steps (write-behind); called in its mailbox. */
  save(customerId: string): Promise<void>;
  /**
   * Reads the customers whose actor calls no target now (`customersCallingNoMore`): their
   * intents are neither resumed, scheduled nor sent. Before a partition taken starts (its resume
   * then filters by that read) and on the erasures' timer; a read that ends after a later one is
   * not applied.
   */
  readCallingNoMore(): Promise<void>;
  /** A customer whose erasure begins here: refused at once, without waiting for the next read. */
  refuse(customerId: string): void;
  /** The erasure did not begin after all (its transaction failed): the reads decide again. */
  unrefuse(customerId: string): void;
  /** Messages of unsaved steps, held unacked until a save covers them. */
  unsaved(): number;
}

export function customerRuntime(d: CustomerRuntimeDeps): CustomerRuntime {
  const { options, names, log } = d;
  const cache = new ActorCache<CustomerSnapshot>({ maxActors: d.maxActors, idleMs: d.idleMs });
  const record = outcomeRecorder(jetStreamPublisher(d.js), names, options.stripeBinding);
  const kind = customerKind(options.machine, options.stripeBinding);
  const inPartition = (partition: number) => (owner: string) =>
    partitionOf(owner, names.partitions) === partition;
  /** When each held partition was taken: intents decided before then are checked before a push. */
  const heldSince = new Map<number, number>();
  let erasing = none;
  let reads = 0;
  let applied = 0;
  // Erasures begun here: refused from then on, whatever a read begun before them says (their
  // actors are tombstones once the erasure ends, so refusing them for good costs nothing).
  const begunHere = new Set<string>();
  const refused = (id: string) => erasing.has(id) || begunHere.has(id);
  async function readCallingNoMore(): Promise<void> {
    if (!options.erasures) return;
    const read = ++reads;
    const customers = await customersCallingNoMore(options.erasures.sql);
    if (read < applied) return;
    applied = read;
    erasing = customers;
  }
  const scheduler: CustomerScheduler = new IntentScheduler({
    kind,
    targets: options.executors ?? {},
    record,
    holds: d.callable,
    heldSince: (owner) => heldSince.get(partitionOf(owner, names.partitions)),
    ...(options.targetReady ? { targetReady: options.targetReady } : {}),
    refuses: refused,
    now: Date.now,
    log,
    ...(options.onExecuted ? { onExecuted: options.onExecuted } : {}),
  });
  const afterStep = stepEffects({
    scheduler,
    deadLetters: d.deadLetters,
    names,
    record,
    ...(options.catalogue ? { catalogue: options.catalogue } : {}),
  });
  const onHandled = options.onHandled;
  const runner = partitionRunner({
    kind,
    afterStep,
    js: d.js,
    jsm: d.jsm,
    names,
    delivery: d.delivery,
    store: d.store,
    cache,
    mailboxes: d.mailboxes,
    deadLetters: d.deadLetters,
    counters: d.counters,
    log,
    holds: d.holds,
    snapshotEvery: d.snapshotEvery,
    ...(onHandled
      ? { onHandled: (r: HandledRecord) => onHandled({ ...r, workerId: d.workerId }) }
      : {}),
  });

  async function resume(partition: number): Promise<void> {
    await options
      .beforeResume?.()
      .catch((err: unknown) =>
        log.warn({ err, partition }, 'catch-up before resuming failed; pushes resume with checks'),
      );
    // An erasure that began, or that keeps the targets, is sent nothing its actor decided before:
    // the refusals were read as the partition was taken (`partitionKeeper`).
    const mayHold = inPartition(partition);
    const round = () =>
      resumePartition(
        {
          store: d.store,
          kind,
          partitions: names.partitions,
          holds: d.holds,
          held: (id) => cache.peek(id)?.snapshot,
          unreadable: (id, err) =>
            log.error(
              { customerId: id, partition, reason: err.message },
              'customer snapshot unreadable: not resumed, and its messages fail on it',
            ),
          offer: (id, snapshot) => {
            scheduler.offer(id, snapshot, { resumed: true });
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
        (id) => mayHold(id) && !refused(id),
      ).then((resumed) => {
        if (resumed) log.info({ partition, actors: resumed }, 'resumed pending intents');
      });
    await resumeUntilDone(round, {
      partition,
      holds: d.holds,
      onError: (err, retryInMs) =>
        log.warn({ err, partition, retryInMs }, 'resuming pending intents failed; retrying'),
    });
  }

  return {
    cache,
    scheduler,
    async start(partition) {
      heldSince.set(partition, Date.now());
      await runner.start(partition);
    },
    resume,
    handOver(partition) {
      heldSince.delete(partition);
      return scheduler.handOver(inPartition(partition));
    },
    stop: (partition) => runner.stop(partition),
    readCallingNoMore,
    refuse(customerId) {
      begunHere.add(customerId);
    },
    unrefuse(customerId) {
      begunHere.delete(customerId);
    },
    save: (customerId) => runner.save(customerId, partitionOf(customerId, names.partitions)),
    unsaved: () => runner.unsaved(),
  };
}
