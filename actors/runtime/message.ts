// The bytes of a message on an actor's subject, as the event its kind reads from them. The live
// consumer and the rebuild both go through the kind's `check`, so both accept the same messages.
import { newerSchema } from '../../core/messages.ts';
import type { ActorKind, KindDecision, Parsed } from './actor-kind.ts';

const decoder = new TextDecoder('utf-8', { fatal: true });

export function parseMessage<S, E, D extends KindDecision<S>>(
  kind: Pick<ActorKind<S, E, D>, 'check'>,
  data: Uint8Array,
  actorId: string,
  at: number,
  correlation?: string,
): Parsed<E> {
  let message: unknown;
  try {
    message = JSON.parse(decoder.decode(data));
  } catch (err) {
    return { ok: false, reason: `not JSON: ${(err as Error).message}` };
  }
  const newer = newerSchema(message);
  if (newer) return { ok: false, newer: true, reason: newer };
  return kind.check(message, actorId, at, correlation);
}

/** The actor id token of a subject: its last (`<ns>.changes.customer.<partition>.<customerId>`). */
export function subjectActorId(subject: string): string {
  return subject.slice(subject.lastIndexOf('.') + 1);
}
