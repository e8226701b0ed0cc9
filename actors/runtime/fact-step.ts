// One step of an actor on a recorded message: take its state (cached, else from KV, else new),
// decide, and save the next state with revision CAS before the caller acks. The intents the step
// records are in that state; executors pick them up from there. Written once for every kind of
// actor.
//
// Write-behind (`saveEvery` > 1): a step may instead stay in memory, ahead of the snapshot, and
// its message unacked, until a later step saves or the caller does (`WriteBehind`). The stream is
// the log: should the process die first, the unacked messages come again, in order, to whichever
// worker holds the partition next, and deciding them again on the saved snapshot gives the same
// state, the same intents and the same idempotency keys (decisions use recorded data only).
import { ConcurrencyError } from '../../core/errors.ts';
import { SnapshotJson, snapshotText, type SnapshotStore } from '../../core/worker-ports.ts';
import type { ActorCache, CachedActor } from './actor-cache.ts';
import type { ActorKind, KindDecision } from './actor-kind.ts';
import { ActorErasedError, isErasedActor } from './erased.ts';
import { LeaseLostError, SnapshotContentionError } from './errors.ts';

export interface FactStepDeps<S, E, D extends KindDecision<S>> {
  readonly store: SnapshotStore;
  readonly cache: ActorCache<S>;
  /** The partition's lease check, consulted right before the save. */
  readonly holds: () => boolean;
  readonly partition: number;
  readonly kind: ActorKind<S, E, D>;
  /** Saves that lost a CAS race before the step gives up (the message is then retried). */
  readonly maxConflicts?: number;
  /**
   * A step is saved once the actor is this many steps ahead of its snapshot, when the kind says it
   * must be (`mustSave`), or when it leaves the actor with nothing in flight (`settled`); otherwise
   * it stays in memory. Default 1: every step is saved. A function gives each actor its own.
   */
  readonly saveEvery?: number | ((actorId: string) => number);
}

export interface FactStepResult<D> {
  readonly decision: D;
  /** False when the event changed nothing (a stale or repeated one). */
  readonly saved: boolean;
  readonly revision: number | undefined;
  /** True when the actor is now ahead of its snapshot: the message is acked once that is saved. */
  readonly unsaved: boolean;
}

/** One recorded event (a fact, an executor's outcome, an operator's retry) through its actor. */
export async function applyEvent<S, E, D extends KindDecision<S>>(
  deps: FactStepDeps<S, E, D>,
  id: string,
  event: E,
): Promise<FactStepResult<D>> {
  const kind = deps.kind;
  const attempts = deps.maxConflicts ?? 5;
  for (let attempt = 1; ; attempt++) {
    const current = deps.cache.get(id) ?? (await loadActor(deps.store, id, kind));
    const base = current?.snapshot ?? kind.start(id);
    const decision = kind.decide(base, event);
    const decided = snapshotJson(kind, decision.snapshot);
    const ahead = current?.unsaved ?? 0;
    if (current && decided.text === snapshotJson(kind, base).text) {
      return { decision, saved: false, revision: current.revision, unsaved: ahead > 0 };
    }
    if (!deps.holds()) throw new LeaseLostError(deps.partition);
    if (ahead + 1 < saveEveryOf(deps.saveEvery, id) && !mustSaveNow(kind, decision)) {
      deps.cache.step(id, decision.snapshot, current?.revision);
      return { decision, saved: true, revision: current?.revision, unsaved: true };
    }
    try {
      const revision = await deps.store.save(id, decided, current?.revision);
      deps.cache.set(id, decision.snapshot, revision);
      return { decision, saved: true, revision, unsaved: false };
    } catch (err) {
      // Any other failure leaves the cached actor as it was: its unsaved steps are still its
      // latest state, and the step is tried again on it.
      if (!(err instanceof ConcurrencyError)) throw err;
      // A save that timed out may have landed: then the snapshot is ours.
      const landed = await landedAs(deps.store, id, decided);
      if (landed !== undefined) {
        deps.cache.set(id, decision.snapshot, landed);
        return { decision, saved: true, revision: landed, unsaved: false };
      }
      deps.cache.delete(id);
      // Someone else wrote the snapshot: deciding again on theirs would leave out the unsaved
      // steps (the write-behind decides their messages again first).
      if (ahead > 0 || attempt >= attempts)
        throw new SnapshotContentionError(id, attempt, { cause: err });
    }
  }
}

function saveEveryOf(every: FactStepDeps<unknown, unknown, never>['saveEvery'], id: string) {
  if (every === undefined) return 1;
  return typeof every === 'number' ? every : every(id);
}

function mustSaveNow<S, E, D extends KindDecision<S>>(
  kind: ActorKind<S, E, D>,
  decision: D,
): boolean {
  return (kind.mustSave?.(decision) ?? false) || (kind.settled?.(decision.snapshot) ?? false);
}

/** The revision at which the store holds exactly `encoded`, if it does. */
export async function landedAs(
  store: SnapshotStore,
  id: string,
  encoded: SnapshotJson,
): Promise<number | undefined> {
  const stored = await store.load(id);
  return stored && JSON.stringify(stored.value) === encoded.text ? stored.revision : undefined;
}

async function loadActor<S, E, D extends KindDecision<S>>(
  store: SnapshotStore,
  id: string,
  kind: ActorKind<S, E, D>,
): Promise<CachedActor<S> | undefined> {
  const stored = await store.load(id);
  if (!stored) return undefined;
  if (isErasedActor(stored.value)) throw new ActorErasedError(id);
  const snapshot = kind.decode(id, stored.value);
  return { snapshot, revision: stored.revision, unsaved: 0, unsavedSince: 0 };
}

/**
 * Each snapshot's encoded form as JSON, computed once: the snapshot a step decides is the base of
 * the actor's next step, is compared with what that step decides, and is what a save writes, now
 * or later (write-behind). Snapshots are never changed in place, so the identity of one stands for
 * its content.
 */
const encodedJsons = new WeakMap<object, SnapshotJson>();

export function snapshotJson<S>(kind: { encode(snapshot: S): unknown }, snapshot: S): SnapshotJson {
  const key = snapshot as object;
  let json = encodedJsons.get(key);
  if (json === undefined) {
    json = new SnapshotJson(snapshotText(kind.encode(snapshot)));
    encodedJsons.set(key, json);
  }
  return json;
}
