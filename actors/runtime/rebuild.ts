// Rebuilds an actor's state from what the stream recorded for it: a pure fold that calls nothing
// outside and reads no clock. Each recorded message is accepted exactly as the live consumer
// accepted it (through the kind's `check`), so the rebuild equals the snapshot the live run saved.
import type { ActorKind, KindDecision } from './actor-kind.ts';

/** A message as the stream recorded it, with the instant it was stored (ms) and its correlation. */
export interface RecordedEvent {
  readonly message: unknown;
  readonly at: number;
  readonly correlation?: string | undefined;
}

export function rebuild<S, E, D extends KindDecision<S>>(
  kind: ActorKind<S, E, D>,
  actorId: string,
  recorded: Iterable<RecordedEvent>,
): S {
  let snapshot = kind.start(actorId);
  for (const r of recorded) {
    // A message the live run dead-lettered or skipped changed nothing there either.
    const parsed = kind.check(r.message, actorId, r.at, r.correlation);
    if (parsed.ok) snapshot = kind.decide(snapshot, parsed.event).snapshot;
  }
  return snapshot;
}
