// An erased actor's snapshot: a tombstone that holds nothing of the customer, only that it was
// erased and by which erasure. It replaces the snapshot in KV (the bucket keeps one revision, so
// the old value is gone), and every message that reaches the actor afterwards (a call's late
// outcome, an event mapped just before the erasure) is dropped and removed from its stream.
import { RtwsError } from '../../core/errors.ts';

export interface ErasedActor {
  readonly erased: { readonly erasureId: string; readonly at: string };
}

export function erasedActor(erasureId: string, at: Date): ErasedActor {
  return { erased: { erasureId, at: at.toISOString() } };
}

export function isErasedActor(value: unknown): value is ErasedActor {
  return typeof value === 'object' && value !== null && 'erased' in value;
}

/** A message reached an erased actor: it is dropped, and removed from its stream. */
export class ActorErasedError extends RtwsError {
  constructor(actorId: string) {
    super('actor_erased', `${actorId} was erased`);
  }
}
