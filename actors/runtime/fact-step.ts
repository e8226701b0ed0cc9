// One step of an actor on a recorded message: take its state (cached, else from KV, else new),
// decide, and save the next state with revision CAS before the caller acks. The intents the step
// records are in the saved state; executors pick them up from there. Written once for every kind
// of actor.
import { ConcurrencyError } from '../../core/errors.ts';
import type { SnapshotStore } from '../../core/worker-ports.ts';
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
}

export interface FactStepResult<D> {
  readonly decision: D;
  /** False when the event changed nothing (a stale or repeated one): nothing was written. */
  readonly saved: boolean;
  readonly revision: number | undefined;
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
    const encoded = kind.encode(decision.snapshot);
    if (current && sameJson(encoded, kind.encode(base))) {
      return { decision, saved: false, revision: current.revision };
    }
    if (!deps.holds()) throw new LeaseLostError(deps.partition);
    try {
      const revision = await deps.store.save(id, encoded, current?.revision);
      deps.cache.set(id, decision.snapshot, revision);
      return { decision, saved: true, revision };
    } catch (err) {
      deps.cache.delete(id);
      if (!(err instanceof ConcurrencyError)) throw err;
      if (attempt >= attempts) throw new SnapshotContentionError(id, attempt, { cause: err });
    }
  }
}

async function loadActor<S, E, D extends KindDecision<S>>(
  store: SnapshotStore,
  id: string,
  kind: ActorKind<S, E, D>,
): Promise<CachedActor<S> | undefined> {
  const stored = await store.load(id);
  if (!stored) return undefined;
  if (isErasedActor(stored.value)) throw new ActorErasedError(id);
  return { snapshot: kind.decode(id, stored.value), revision: stored.revision };
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
