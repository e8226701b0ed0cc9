// What an actor's subject records besides captured changes (executors' outcomes, operator
// requests) travels in the shape of a fact, `{ type, data, metadata }`, for every kind of actor.
// The actor consumes it in the same shape, `{ type, data }` plus `at`; `at` is not carried: like a
// fact's, it is when the stream stored the message. `metadata` is checked when the message is read
// (which actor, which Stripe account) and not kept. Written once here, so both directions stay one
// shape for every kind.

import { MESSAGE_SCHEMA } from '../../core/messages.ts';

/** A recorded event as a message; `metadata` names the actor (and, per kind, more). */
export interface RecordedMessage<T extends string, M> {
  type: T;
  data: Record<string, unknown>;
  metadata: M;
}

/** A recorded event as the actor consumes it. */
export interface RecordedEventShape {
  type: string;
  data: object;
  at: number;
}

/** Stamped with the message format's version (`MESSAGE_SCHEMA`). */
export function toRecordedMessage<E extends RecordedEventShape, M>(
  event: E,
  metadata: M,
): RecordedMessage<E['type'], M & { schema: number }> {
  return {
    type: event.type,
    data: { ...event.data },
    metadata: { ...metadata, schema: MESSAGE_SCHEMA },
  };
}

/** The event a recorded message stands for, not yet checked against the kind's schema. */
export function fromRecordedMessage(
  message: { type: string; data: Record<string, unknown> },
  at: number,
): { type: string; data: Record<string, unknown>; at: number } {
  return { type: message.type, data: message.data, at };
}
