// Erasures, carried out by the worker holding the customer's partition, in the customer's mailbox:
// no step of its actor runs meanwhile, so no live snapshot or pending intent writes the data back.
//
// The order, each part safe to run again (a crash midway resumes at the next round):
// 1. wait until the actor is done with the targets: with `remote`, its deletion decided and every
//    pending intent (the deletes) carried out; without, nothing to wait for;
// 2. drop what still waits in the outbox, so nothing publishes the data after the purge;
// 3. replace the KV snapshot with a tombstone that holds nothing of the customer (its bytes
//    overwritten): from here no message or resume runs the actor again, should a round fail;
// 4. purge the streams (CHANGES, INVOICES, INBOUND, DLQ: adapters/jetstream/erase.ts);
// 5. clear the catalogue in one transaction, keep the external ids as hashes, and finish the record.
import { ackFloorOf } from '../../../adapters/jetstream/consumer-progress.ts';
import { partitionConsumerName } from '../../../adapters/jetstream/partition-consumer-config.ts';
import type { NatsConnection } from '@nats-io/transport-node';
import type { JetStreamManager } from '@nats-io/jetstream';
import type { KeyedQueue } from '../../../core/keyed-queue.ts';
import type { Logger } from '../../../core/ports.ts';
import { partitionOf, type Names } from '../../../core/subjects.ts';
import type { SnapshotStore } from '../../../core/worker-ports.ts';
import {
  pendingIntents,
  TARGET_NAMES,
  type CustomerMachine,
  type CustomerSnapshot,
} from '../../../actors/customer/index.ts';
import type { ActorCache } from '../../../actors/runtime/actor-cache.ts';
import { erasedActor, isErasedActor } from '../../../actors/runtime/erased.ts';
import { LeaseLostError } from '../../../actors/runtime/errors.ts';
import { decodeActor } from '../../../actors/customer/snapshot-codec.ts';
import type { Sql } from '../../../adapters/postgres/connect.ts';
import {
  beginErasure,
  dropPendingOutbox,
  eraseOldDeletions,
  erasureSubjects,
  finishErasure,
  noteErasureError,
  noteErasureWait,
  allOpenErasures,
  type BegunErasure,
  type Erasure,
} from '../../../adapters/postgres/erasures.ts';
import { deleteErasing, eraseFromStreams } from '../../../adapters/jetstream/erase.ts';

export interface ErasureSettings {
  readonly sql: Sql;
  /** RTWS_ERASE_REMOTE: whether scheduled erasures delete at the targets too. */
  readonly remote: boolean;
  /** RTWS_ERASE_DELETED_AFTER_DAYS: customers deleted longer ago are erased. Unset: never. */
  readonly deletedAfterDays?: number;
  readonly pollMs?: number;
}

export interface ErasureRunnerDeps extends ErasureSettings {
  readonly nats: NatsConnection;
  readonly jsm: JetStreamManager;
  readonly names: Names;
  readonly store: SnapshotStore;
  readonly cache: ActorCache<CustomerSnapshot>;
  readonly mailboxes: KeyedQueue;
  /** Saves the actor's unsaved steps (write-behind), so its snapshot in KV is its latest state. */
  readonly save?: (customerId: string) => Promise<void>;
  readonly holds: (partition: number) => boolean;
  /** Drops the actor's scheduled intents: nothing decided before the erasure is sent after it. */
  readonly forget: (customerId: string) => void;
  /** Whether a call of the actor's is in flight. */
  readonly busy: (customerId: string) => boolean;
  /** Reads, on a timer, the customers whose actor must call no target now. */
  readonly readCallingNoMore?: () => Promise<void>;
  /** Refuses the actor's calls at once: its erasure begins. */
  readonly refuse?: (customerId: string) => void;
  /** Lifts that refusal: the erasure did not begin. */
  readonly unrefuse?: (customerId: string) => void;
  readonly machine?: CustomerMachine;
  readonly log: Logger;
}

/** How long an erasure waits for an actor that never recorded the customer, when it has links. */
const NO_ACTOR_GRACE_MS = 60_000;
const OLD_DELETIONS_EVERY_MS = 3_600_000;

export function startErasureRunner(d: ErasureRunnerDeps): { stop(): Promise<void> } {
  const log = d.log.child({ component: 'erasures' });
  let round: Promise<void> = Promise.resolve();
  let stopped = false;
  let oldDeletionsAt = 0;
  const tick = () => {
    round = round
      .then(async () => {
        if (stopped) return;
        await askForOldDeletions();
        for await (const erasure of allOpenErasures(d.sql)) {
          if (stopped) return;
          if (!d.holds(partitionOf(erasure.customerId, d.names.partitions))) continue;
          await d.mailboxes
            .post(erasure.customerId, () => carryOut(d, erasure, log))
            .catch(async (err: unknown) => {
              log.warn({ err, erasure_id: erasure.id }, 'erasure failed; it is tried again');
              await noteErasureError(d.sql, erasure.id, err).catch(() => undefined);
            });
        }
      })
      .catch((err: unknown) => log.warn({ err }, 'erasure round failed; it is tried again'));
  };
  const askForOldDeletions = async () => {
    if (d.deletedAfterDays === undefined || Date.now() - oldDeletionsAt < OLD_DELETIONS_EVERY_MS)
      return;
    oldDeletionsAt = Date.now();
    const asked = await eraseOldDeletions(d.sql, { days: d.deletedAfterDays, remote: d.remote });
    if (asked > 0) log.info({ asked, days: d.deletedAfterDays }, 'old deletions to be erased');
  };
  // The actors refused for their erasures are read on a timer of their own: a round waits in
  // mailboxes and purges streams, and may take long.
  let reading: Promise<void> | undefined;
  const read = () => {
    if (stopped || reading || !d.readCallingNoMore) return;
    reading = d
      .readCallingNoMore()
      .catch((err: unknown) => {
        if (!stopped) log.warn({ err }, 'erasures not read; the last read stands');
      })
      .finally(() => (reading = undefined));
  };
  const timer = setInterval(tick, d.pollMs ?? 1_000);
  timer.unref();
  const readTimer = setInterval(read, d.pollMs ?? 1_000);
  readTimer.unref();
  tick();
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      clearInterval(readTimer);
      await Promise.all([round, reading]);
    },
  };
}

async function carryOut(d: ErasureRunnerDeps, e: Erasure, log: Logger): Promise<void> {
  const id = e.customerId;
  const partition = partitionOf(id, d.names.partitions);
  await d.save?.(id);
  const stored = await d.store.load(id);
  const tombstoned = stored !== undefined && isErasedActor(stored.value);
  // Begun, it waited for the actor already: a snapshot now is one a message started after the
  // links went (a round cut off before the tombstone), and it goes with the rest.
  if (!tombstoned && !e.begun) {
    // Keeping the targets, the erasure waits for nothing the actor would send: refused at once.
    if (!e.remote) d.refuse?.(id);
    const snapshot = stored ? decodeActor(id, stored.value, d.machine) : undefined;
    const subjects = await erasureSubjects(d.sql, id);
    // No actor yet, but messages for it still wait (an import's handover behind a backlog): its
    // deletion is decided once they are taken, not given up after the grace.
    if (!snapshot && e.remote && (await backlogged(d, id, partition)))
      return noteErasureWait(d.sql, e, 'waiting for the customer actor to take its messages');
    const done = targetsDone(e, snapshot, subjects.externalIds);
    if (typeof done === 'string') return noteErasureWait(d.sql, e, done);
    // Nothing decided before the erasure is sent after it; a call already sent is let finish (its
    // outcome may name an object to record) and the erasure waits for the next round.
    d.forget(id);
    if (d.busy(id)) return noteErasureWait(d.sql, e, 'waiting for a call in flight to end');
    // The lease may have gone while this waited for the mailbox: the next holder may hold a newer
    // state of the actor (a delete decided since), which is not to be refused from here.
    if (!d.holds(partition)) throw new LeaseLostError(partition);
    // From here nothing is sent for the actor, pending or new: its targets are done (not before,
    // or a delete that failed and is tried again would never be sent, and the erasure would wait
    // for it for ever); should the erasure not begin after all, the refusal is lifted.
    d.refuse?.(id);
    // Saved above, and no step runs meanwhile (this is the customer's mailbox): the actor leaves
    // memory before its links go, so that the inbound mapping, which drops an echo against the
    // actor it holds, sends each event about the customer through the erasure check instead.
    d.cache.delete(id);
    const begun = await beginErasure(d.sql, e, done).catch((err: unknown) => {
      if (e.remote) d.unrefuse?.(id);
      throw err;
    });
    return purge(d, e, begun, stored?.revision, partition, log);
  }
  // Cut off after it began: it recorded the ids and the targets' fates.
  d.refuse?.(id);
  d.forget(id);
  if (d.busy(id)) return noteErasureWait(d.sql, e, 'waiting for a call in flight to end');
  d.cache.delete(id);
  const begun = await beginErasure(d.sql, e, {});
  // Ids, never personal data: logged (not kept in the record, which keeps only hashes of them) so
  // that an operator can delete those objects.
  if (Object.keys(begun.late).length > 0)
    log.warn(
      { erasure_id: e.id, late_links: begun.late },
      'objects linked after the erasure began are left at the targets: delete them there',
    );
  return purge(d, e, begun, stored?.revision, partition, log);
}

async function purge(
  d: ErasureRunnerDeps,
  e: Erasure,
  begun: BegunErasure,
  revision: number | undefined,
  partition: number,
  log: Logger,
): Promise<void> {
  const id = e.customerId;
  const outbox = await dropPendingOutbox(d.sql, id);
  if (!d.holds(partition)) throw new LeaseLostError(partition);
  // First the actor: its links are gone, and a round cut off before this would let a later
  // message or a resume run its old snapshot, pending intents and all.
  const current = await d.store.load(id);
  if (!current || !isErasedActor(current.value)) {
    // The snapshot's bytes are overwritten, not only replaced (a bucket that keeps one revision
    // marks the old one removed, and its bytes stay in the files): the key is then new again.
    if (current) await deleteErasing(d.jsm, `KV_${d.names.bucket('ACTORS')}`, current.revision);
    await d.store.save(id, erasedActor(e.id, new Date()), current ? undefined : revision);
  }
  d.cache.delete(id);
  const streams = await eraseFromStreams(d.nats, d.jsm, d.names, {
    customerId: id,
    externalIds: Object.values(begun.externalIds).flat(),
    invoiceIds: begun.invoiceIds,
  });
  const removed = await finishErasure(d.sql, e, {
    ...begun.removed,
    streams: { ...streams, outbox_pending: outbox },
    kv: { actor_snapshot: current ? 1 : 0 },
  });
  log.info({ erasure_id: e.id, customer_id: id, removed }, 'customer erased');
}

/**
 * What became of the customer at each target, once the actor is done with them; while it is still
 * deleting, what it waits for (shown on the erasure, as its `last_error`: a paused target, say). With `remote`, the deletion must be decided (the captured deletion consumed)
 * and carried out; a target that gave up says so, and the erasure goes on (the object is then left
 * to the operator, as the record says).
 */
function targetsDone(
  e: Erasure,
  snapshot: CustomerSnapshot | undefined,
  externalIds: Record<string, string[]>,
): Record<string, string> | string {
  const linked = (t: string) => (externalIds[t]?.length ?? 0) > 0;
  if (!e.remote) {
    return Object.fromEntries(
      Object.keys(externalIds).map((t) => [t, 'left at the target (RTWS_ERASE_REMOTE=false)']),
    );
  }
  if (snapshot === undefined) {
    const linkedAnywhere = Object.keys(externalIds).some(linked);
    if (linkedAnywhere && Date.now() - e.requestedAt.getTime() < NO_ACTOR_GRACE_MS)
      return 'waiting for the customer actor to record the deletion';
    return Object.fromEntries(
      Object.keys(externalIds).map((t) => [t, 'left at the target: no actor state recorded']),
    );
  }
  if (snapshot.context.desired?.deleted !== true)
    return 'waiting for the customer actor to record the deletion';
  const due = pendingIntents(snapshot);
  if (due.length > 0)
    return `waiting for the deletion at ${due
      .map((p) => `${p.target} (${snapshot.context.targets[p.target].status})`)
      .join(', ')}`;
  const out: Record<string, string> = {};
  for (const t of TARGET_NAMES) {
    const state = snapshot.context.targets[t];
    if (state.status === 'off' && !linked(t)) continue;
    out[t] =
      state.status === 'deleted'
        ? linked(t) || state.externalId
          ? 'deleted'
          : 'never created'
        : `left at the target: ${state.status}${state.lastError ? ` (${state.lastError.failure})` : ''}`;
  }
  return out;
}

/** Whether the customer's subject holds a message its partition's consumer has not acked yet. */
async function backlogged(d: ErasureRunnerDeps, id: string, partition: number): Promise<boolean> {
  const stream = d.names.streams.changes;
  const last = await d.jsm.streams.getMessage(stream, {
    last_by_subj: d.names.customerSubject(id),
  });
  if (!last) return false;
  const floor = await ackFloorOf(d.jsm, stream, partitionConsumerName(d.names, partition));
  return floor === undefined || last.seq > floor;
}
