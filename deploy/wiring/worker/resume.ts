// After a takeover or a restart: the pending intents of a partition's actors are offered to the
// executors again, from the snapshots in KV (an intent is recorded there before its message is
// acked, so nothing recorded is lost with the process that recorded it). An actor this process
// has stepped since it took the partition is offered as it holds it: with write-behind its
// snapshot in KV may be older, and an intent that snapshot still shows would take the place of
// the one decided since, which then never ran.
import { partitionOf } from '../../../core/subjects.ts';
import type { SnapshotStore } from '../../../core/worker-ports.ts';
import type { ActorKind, KindDecision } from '../../../actors/runtime/actor-kind.ts';
import { isErasedActor } from '../../../actors/runtime/erased.ts';
import { SnapshotFormatError } from '../../../actors/runtime/errors.ts';

export interface ResumeDeps<S, E, D extends KindDecision<S>> {
  readonly store: SnapshotStore;
  readonly kind: ActorKind<S, E, D>;
  readonly partitions: number;
  /** Whether the partition is still held: a round stops as soon as it is not. */
  readonly holds: (partition: number) => boolean;
  readonly offer: (actorId: string, snapshot: S) => void;
  /** The actor as this process holds it (the actor cache), ahead of KV by its unsaved steps. */
  readonly held: (actorId: string) => S | undefined;
  /**
   * An actor whose stored snapshot cannot be read (damaged, foreign): it is skipped, so that the
   * rest of the round is resumed; its own messages fail on it and end in the DLQ.
   */
  readonly unreadable: (actorId: string, err: SnapshotFormatError) => void;
}

/** Offers every actor of the partition to its scheduler; resolves to how many there were. */
export async function resumePartition<S, E, D extends KindDecision<S>>(
  d: ResumeDeps<S, E, D>,
  partition: number,
  /** Skips loading actors that cannot be in the partition (known from the id alone). */
  mayHold: (actorId: string) => boolean = () => true,
): Promise<number> {
  let resumed = 0;
  for await (const id of d.store.keys()) {
    if (!d.holds(partition)) break;
    if (!mayHold(id)) continue;
    const stored = await d.store.load(id);
    if (!stored || isErasedActor(stored.value)) continue;
    // Looked at once the load is in: a step taken while it read counts too.
    const snapshot = d.held(id) ?? decoded(d, id, stored.value);
    if (snapshot === undefined) continue;
    if (partitionOf(d.kind.ownerOf(id, snapshot), d.partitions) !== partition) continue;
    d.offer(id, snapshot);
    resumed++;
  }
  return resumed;
}

function decoded<S, E, D extends KindDecision<S>>(
  d: ResumeDeps<S, E, D>,
  id: string,
  value: unknown,
): S | undefined {
  try {
    return d.kind.decode(id, value);
  } catch (err) {
    if (!(err instanceof SnapshotFormatError)) throw err;
    d.unreadable(id, err);
    return undefined;
  }
}

export interface RetryResumeOptions {
  readonly partition: number;
  /** Whether the partition is still held: once it is not, the next holder resumes it. */
  readonly holds: (partition: number) => boolean;
  /** Logs a failed round (it is retried). */
  readonly onError: (err: unknown, retryInMs: number) => void;
  readonly firstDelayMs?: number;
  readonly maxDelayMs?: number;
}

/**
 * Runs a partition's resume until one round completes, with backoff, while the partition is held.
 * A round that fails (its snapshots unreadable while NATS elects a leader, say) would otherwise
 * leave the partition's pending intents waiting for the next takeover, which may never come.
 * Rounds are safe to repeat: an intent offered again that is queued, running or done is left.
 */
export async function resumeUntilDone(
  round: () => Promise<void>,
  o: RetryResumeOptions,
): Promise<void> {
  let delay = o.firstDelayMs ?? 1_000;
  for (;;) {
    try {
      await round();
      return;
    } catch (err) {
      if (!o.holds(o.partition)) return;
      o.onError(err, delay);
      await new Promise((r) => setTimeout(r, delay));
      if (!o.holds(o.partition)) return;
      delay = Math.min(delay * 2, o.maxDelayMs ?? 30_000);
    }
  }
}
